// Placeholder: family not implemented yet (returns no columns).
#include "features/families.h"

namespace bqx::features {
FamilyDef make_ms_family() { return FamilyDef{"ms", {}, {}, {}}; }
}  // namespace bqx::features
