// Merging several files' bars per pair (e.g. one file per month) into one frame each.
#pragma once

#include <vector>

#include "io/bar_reader.h"

namespace bqx {

// One frame per pair, in canonical pair order, sorted by ts. Identical bars present in
// several files are kept once; the same (pair, ts) with different values in two files
// is an error naming both files.
Result<std::vector<BarFrame>> merge_by_pair(const std::vector<BarFile>& files);

}  // namespace bqx
