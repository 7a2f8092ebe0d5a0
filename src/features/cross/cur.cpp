// Placeholder: family not implemented yet (returns no columns).
#include "features/cross/cross_families.h"

namespace bqx::features {
CrossFamilyDef make_cur_family() { return CrossFamilyDef{"cur", {}, {}, {}}; }
}  // namespace bqx::features
