// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_dist_rate_family() { return FamilyDef{"dist_rate", {}, {}, {}}; }
}  // namespace bqx::features
