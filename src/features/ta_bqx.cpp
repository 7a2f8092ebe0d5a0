// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_ta_bqx_family() { return FamilyDef{"ta_bqx", {}, {}, {}}; }
}  // namespace bqx::features
