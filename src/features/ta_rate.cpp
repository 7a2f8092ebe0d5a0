// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_ta_rate_family() { return FamilyDef{"ta_rate", {}, {}, {}}; }
}  // namespace bqx::features
