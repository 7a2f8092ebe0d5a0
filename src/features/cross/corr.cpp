// Placeholder: family not implemented yet (returns no columns).
#include "features/cross/cross_families.h"

namespace bqx::features {
CrossFamilyDef make_corr_family() { return CrossFamilyDef{"corr", {}, {}, {}}; }
}  // namespace bqx::features
