// The registry: the single source of truth for every output column (DESIGN.md).
// The catalogue (`bqx catalog`, docs/FEATURES.md) is generated from it.
#pragma once

#include <string>
#include <vector>

#include "features/kernel.h"

namespace bqx::features {

// Per-pair families in catalogue (and computation) order; a family may read only
// columns of families before it.
const std::vector<FamilyDef>& per_pair_families();
const FamilyDef* find_family(std::string_view name);

// All per-pair feature columns, in catalogue order.
std::vector<ColumnInfo> per_pair_columns();

struct CrossFamilyDef;
// Cross-pair families (FEATURES.md section 2) in catalogue order.
const std::vector<CrossFamilyDef>& cross_families();
// Second-order families (section 3: lag, derived), computed per pair over the full row.
const std::vector<FamilyDef>& second_order_families();

// Every feature column of the full row, in catalogue order: per-pair families, then each
// cross family's per-pair and global columns, then the second-order families.
std::vector<ColumnInfo> all_feature_columns();

// Label columns (FEATURES.md section 4), stored separately from features.
const std::vector<ColumnInfo>& label_columns();

// Bumped whenever a definition changes; recorded with stored results.
inline constexpr const char* kCatalogueVersion = "bqx-catalogue-1";

}  // namespace bqx::features
