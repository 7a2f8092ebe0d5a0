// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_stats_bqx_family() { return FamilyDef{"stats_bqx", {}, {}, {}}; }
}  // namespace bqx::features
