#include "features/registry.h"

#include <algorithm>

#include "features/cross/cross_families.h"
#include "features/families.h"
#include "features/labels.h"

namespace bqx::features {

const std::vector<FamilyDef>& per_pair_families() {
  // Explicit registration, in FEATURES.md order: the one greppable place.
  static const std::vector<FamilyDef> families = [] {
    std::vector<FamilyDef> all;
    for (auto make : {make_bqx_family, make_reg_rate_family, make_reg_bqx_family, make_regdiag_family,
                      make_ta_rate_family, make_ta_bqx_family, make_stats_rate_family, make_stats_bqx_family,
                      make_dist_rate_family, make_time_family, make_activity_family, make_ms_family}) {
      FamilyDef def = make();
      if (!def.columns.empty()) all.push_back(std::move(def));
    }
    return all;
  }();
  return families;
}

const FamilyDef* find_family(std::string_view name) {
  for (const auto& f : per_pair_families()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<ColumnInfo> per_pair_columns() {
  std::vector<ColumnInfo> out;
  for (const auto& f : per_pair_families()) out.insert(out.end(), f.columns.begin(), f.columns.end());
  return out;
}

const std::vector<CrossFamilyDef>& cross_families() {
  static const std::vector<CrossFamilyDef> families = [] {
    std::vector<CrossFamilyDef> all;
    for (auto make : {make_cur_family, make_basket_family, make_arb_family, make_corr_family}) {
      CrossFamilyDef def = make();
      if (!def.per_pair_columns.empty() || !def.global_columns.empty()) all.push_back(std::move(def));
    }
    return all;
  }();
  return families;
}

const std::vector<FamilyDef>& second_order_families() {
  static const std::vector<FamilyDef> families = [] {
    std::vector<FamilyDef> all;
    for (auto make : {make_lag_family, make_derived_family}) {
      FamilyDef def = make();
      if (!def.columns.empty()) all.push_back(std::move(def));
    }
    return all;
  }();
  return families;
}

std::vector<ColumnInfo> all_feature_columns() {
  // Collected in family order, then grouped by each column's own family: a cross kernel
  // may compute a column that the catalogue files under a later family (e.g. the cur
  // kernel computes derived_pair_vs_implied_*, which needs the grid history of strengths).
  std::vector<ColumnInfo> collected = per_pair_columns();
  std::vector<std::string> order;
  for (const auto& f : per_pair_families()) order.push_back(f.name);
  for (const auto& f : cross_families()) {
    collected.insert(collected.end(), f.per_pair_columns.begin(), f.per_pair_columns.end());
    collected.insert(collected.end(), f.global_columns.begin(), f.global_columns.end());
    order.push_back(f.name);
  }
  for (const auto& f : second_order_families()) {
    collected.insert(collected.end(), f.columns.begin(), f.columns.end());
    order.push_back(f.name);
  }
  std::vector<ColumnInfo> out;
  out.reserve(collected.size());
  for (const auto& family : order) {
    for (const auto& c : collected) {
      if (c.family == family) out.push_back(c);
    }
  }
  for (const auto& c : collected) {
    if (std::find(order.begin(), order.end(), c.family) == order.end()) out.push_back(c);  // never dropped
  }
  return out;
}

const std::vector<ColumnInfo>& label_columns() {
  static const std::vector<ColumnInfo> cols = make_label_columns();
  return cols;
}

}  // namespace bqx::features
