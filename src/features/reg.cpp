// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_reg_rate_family() { return FamilyDef{"reg_rate", {}, {}, {}}; }
FamilyDef make_reg_bqx_family() { return FamilyDef{"reg_bqx", {}, {}, {}}; }
}  // namespace bqx::features
