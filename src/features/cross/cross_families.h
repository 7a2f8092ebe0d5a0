// Factories of the cross-pair families (FEATURES.md section 2), one file each, and the
// second-order families (section 3) that read the full feature row.
#pragma once

#include "features/cross/cross_kernel.h"

namespace bqx::features {

CrossFamilyDef make_cur_family();     // cross/cur.cpp     (2.1)
CrossFamilyDef make_basket_family();  // cross/basket.cpp  (2.2)
CrossFamilyDef make_arb_family();     // cross/arb.cpp     (2.3)
CrossFamilyDef make_corr_family();    // cross/corr.cpp    (2.4)

// Second-order families are ordinary FamilyDefs over the full row (they read per-pair and
// cross-pair columns by name); KernelContext::pair tells them which pair the row is for.
FamilyDef make_lag_family();          // lag.cpp           (3.1)
FamilyDef make_derived_family();      // derived.cpp       (3.2)

}  // namespace bqx::features
