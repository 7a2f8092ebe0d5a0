// Placeholder: family not implemented yet (returns no columns).
#include "features/cross/cross_families.h"

namespace bqx::features {
CrossFamilyDef make_basket_family() { return CrossFamilyDef{"basket", {}, {}, {}}; }
}  // namespace bqx::features
