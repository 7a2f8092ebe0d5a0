// Placeholder: family not implemented yet (returns no columns).
#include "features/cross/cross_families.h"

namespace bqx::features {
FamilyDef make_lag_family() { return FamilyDef{"lag", {}, {}, {}}; }
}  // namespace bqx::features
