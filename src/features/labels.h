// Labels (FEATURES.md section 4): the only look-ahead values; a separate table.
#pragma once

#include <vector>

#include "core/bars.h"
#include "features/kernel.h"

namespace bqx::features {

std::vector<ColumnInfo> make_label_columns();

// Label matrix, row-major (frame.size() rows x make_label_columns().size() columns),
// NULL (NaN) where t+H is beyond the data. `baseline` is B_p.
std::vector<double> compute_labels(const BarFrame& frame, double baseline);

}  // namespace bqx::features
