// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_stats_rate_family() { return FamilyDef{"stats_rate", {}, {}, {}}; }
}  // namespace bqx::features
