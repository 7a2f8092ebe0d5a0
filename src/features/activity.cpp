// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_activity_family() { return FamilyDef{"activity", {}, {}, {}}; }
}  // namespace bqx::features
