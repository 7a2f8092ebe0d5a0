// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_time_family() { return FamilyDef{"time", {}, {}, {}}; }
}  // namespace bqx::features
