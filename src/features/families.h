// Factories of the per-pair feature families, one file each (FEATURES.md section 1).
// The registry (registry.cpp) is the one place that lists them, in catalogue order.
#pragma once

#include "features/kernel.h"

namespace bqx::features {

FamilyDef make_bqx_family();          // bqx.cpp        (1.1)
FamilyDef make_reg_rate_family();     // reg.cpp        (1.2, rate domain)
FamilyDef make_reg_bqx_family();      // reg.cpp        (1.2, bqx domain)
FamilyDef make_regdiag_family();      // regdiag.cpp    (1.3)
FamilyDef make_ta_rate_family();      // ta_rate.cpp    (1.4)
FamilyDef make_ta_bqx_family();       // ta_bqx.cpp     (1.5)
FamilyDef make_stats_rate_family();   // stats_rate.cpp (1.6)
FamilyDef make_stats_bqx_family();    // stats_bqx.cpp  (1.7)
FamilyDef make_dist_rate_family();    // dist_rate.cpp  (1.8)
FamilyDef make_time_family();         // time.cpp       (1.9)
FamilyDef make_activity_family();     // activity.cpp   (1.10)
FamilyDef make_ms_family();           // ms.cpp         (1.11)

}  // namespace bqx::features
