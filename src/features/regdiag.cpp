// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_regdiag_family() { return FamilyDef{"regdiag", {}, {}, {}}; }
}  // namespace bqx::features
