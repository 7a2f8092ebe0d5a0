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

// Rows of look-ahead the labels need (the longest horizon, H=60 rows of the pair).
inline constexpr size_t kLabelLookahead = 60;

// The same labels from series a streaming driver already has: per row of the pair, its
// ts, close and the engine's bqx_w60_return (NaN = NULL). Outputs the first `rows` rows
// (row-major); entries past `rows` are look-ahead only. compute_labels(frame) equals this
// with bqx_w60_return computed over the whole frame.
std::vector<double> compute_labels_from_series(const EpochMinute* ts, const double* close,
                                               const double* bqx_w60_return, size_t n, size_t rows);

}  // namespace bqx::features
