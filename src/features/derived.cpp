// Placeholder: family not implemented yet (returns no columns).
#include "features/cross/cross_families.h"

namespace bqx::features {
FamilyDef make_derived_family() { return FamilyDef{"derived", {}, {}, {}}; }
}  // namespace bqx::features
