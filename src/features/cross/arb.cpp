// Placeholder: family not implemented yet (returns no columns).
#include "features/cross/cross_families.h"

namespace bqx::features {
CrossFamilyDef make_arb_family() { return CrossFamilyDef{"arb", {}, {}, {}}; }
}  // namespace bqx::features
