// Completeness (issue 6, check 1) and labels recomputed from the bars.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "features/labels.h"
#include "features/registry.h"
#include "store/bar_store.h"
#include "validate/context.h"

namespace bqx::validate {
namespace {

using CountKey = std::pair<std::string, std::string>;  // pair, month

Result<std::map<CountKey, int64_t>> counts_by_partition(Context& ctx, const std::string& table) {
  BQX_ASSIGN_OR_RETURN(auto t, ctx.con->query("SELECT pair, strftime(ts, '%Y-%m'), count(*) FROM " + table + " WHERE " +
                                              ctx.where() + " GROUP BY ALL"));
  std::map<CountKey, int64_t> out;
  for (const auto& row : t.rows) out[{row[0].value_or(""), row[1].value_or("")}] = std::stoll(row[2].value_or("0"));
  return out;
}

// Bars without a row in `table` (missing) and rows of `table` without a bar (orphans).
Status match_rows(Context& ctx, const std::string& table, CheckResult& c) {
  const std::string w = ctx.where();
  const size_t cap = ctx.options->max_examples;
  BQX_ASSIGN_OR_RETURN(const int64_t missing,
                       ctx.con->query_int("SELECT count(*) FROM (SELECT pair, ts FROM bars WHERE " + w +
                                          ") b ANTI JOIN (SELECT pair, ts FROM " + table + " WHERE " + w +
                                          ") f USING (pair, ts)"));
  BQX_ASSIGN_OR_RETURN(const int64_t orphans,
                       ctx.con->query_int("SELECT count(*) FROM (SELECT pair, ts FROM " + table + " WHERE " + w +
                                          ") f ANTI JOIN (SELECT pair, ts FROM bars WHERE " + w + ") b USING (pair, ts)"));
  const auto examples = [&](const std::string& a, const std::string& b, const std::string& what) -> Status {
    BQX_ASSIGN_OR_RETURN(auto t, ctx.con->query("SELECT pair, epoch(ts)::BIGINT // 60 FROM (SELECT pair, ts FROM " + a +
                                                " WHERE " + w + ") x ANTI JOIN (SELECT pair, ts FROM " + b + " WHERE " +
                                                w + ") y USING (pair, ts) ORDER BY pair, ts LIMIT " +
                                                std::to_string(cap)));
    for (const auto& row : t.rows) {
      c.examples.push_back(Finding{row[0].value_or(""), std::stoll(row[1].value_or("0")), kNoTime, table, "", what});
    }
    return Status::Ok();
  };
  if (missing > 0) BQX_TRY(examples("bars", table, "bar has no " + table + " row"));
  if (orphans > 0) BQX_TRY(examples(table, "bars", table + " row has no bar"));
  if (c.examples.size() > cap) c.examples.resize(cap);
  c.failed = missing + orphans;
  if (c.failed > 0) c.passed = false;
  return Status::Ok();
}

Status check_unique(Context& ctx, const std::string& table, CheckResult& c) {
  BQX_ASSIGN_OR_RETURN(auto t, ctx.con->query("SELECT pair, epoch(ts)::BIGINT // 60, count(*) FROM (SELECT pair, ts FROM " +
                                              table + " WHERE " + ctx.where() +
                                              ") GROUP BY pair, ts HAVING count(*) > 1 ORDER BY pair, ts"));
  for (const auto& row : t.rows) {
    c.fail(Finding{row[0].value_or(""), std::stoll(row[1].value_or("0")), kNoTime, table, row[2].value_or(""),
                   row[2].value_or("") + " " + table + " rows with the same (pair, ts)"},
           ctx.options->max_examples);
  }
  return Status::Ok();
}

}  // namespace

Status run_completeness_checks(Context& ctx, Report& report) {
  auto features = make_check("completeness.features", "completeness", "Every bar has one feature row",
                             "Each ingested bar has exactly one row in features and no feature row lacks a bar.");
  auto labels = make_check("completeness.labels", "completeness", "Every bar has one label row",
                           "Each ingested bar has exactly one row in labels and no label row lacks a bar.");
  auto unique = make_check("completeness.unique", "completeness", "No duplicate (pair, ts)",
                           "features and labels hold each (pair, ts) once.");
  auto manifest = make_check("completeness.manifest", "completeness", "Every partition in the manifest",
                             "Each (pair, month) with bars has features and labels manifest entries whose row counts "
                             "equal the stored rows.");
  BQX_ASSIGN_OR_RETURN(auto bar_counts, counts_by_partition(ctx, "bars"));
  std::map<CountKey, int64_t> feature_counts, label_counts;
  std::map<CountKey, int64_t> manifest_features, manifest_labels;
  if (!ctx.has_features) {
    features.skip("no features table in the store (run `bqx run`)");
    unique.skip("no features table in the store (run `bqx run`)");
  } else {
    BQX_ASSIGN_OR_RETURN(feature_counts, counts_by_partition(ctx, "features"));
    features.checked = report.bars;
    BQX_TRY(match_rows(ctx, "features", features));
    unique.checked = report.feature_rows + report.label_rows;
    BQX_TRY(check_unique(ctx, "features", unique));
  }
  if (!ctx.has_labels) {
    labels.skip("no labels table in the store (run `bqx run`)");
  } else {
    BQX_ASSIGN_OR_RETURN(label_counts, counts_by_partition(ctx, "labels"));
    labels.checked = report.bars;
    BQX_TRY(match_rows(ctx, "labels", labels));
    BQX_TRY(check_unique(ctx, "labels", unique));
  }
  if (!ctx.has_manifest || !ctx.has_features) {
    manifest.skip("no manifest table in the store (run `bqx run`)");
  } else {
    BQX_ASSIGN_OR_RETURN(auto t, ctx.con->query("SELECT kind, pair, month, rows FROM manifest"));
    for (const auto& row : t.rows) {
      auto& target = row[0].value_or("") == "features" ? manifest_features : manifest_labels;
      target[{row[1].value_or(""), row[2].value_or("")}] = std::stoll(row[3].value_or("0"));
    }
  }
  for (const auto& [key, n] : bar_counts) {
    CoverageCell cell;
    cell.pair = key.first;
    cell.month = key.second;
    cell.bars = n;
    cell.feature_rows = feature_counts.count(key) ? feature_counts[key] : 0;
    cell.label_rows = label_counts.count(key) ? label_counts[key] : 0;
    cell.manifest_features = manifest_features.count(key) && manifest_features[key] == cell.feature_rows;
    cell.manifest_labels = manifest_labels.count(key) && manifest_labels[key] == cell.label_rows;
    if (!manifest.skipped) {
      ++manifest.checked;
      for (const auto& [kind, table, stored] :
           {std::tuple{"features", &manifest_features, cell.feature_rows}, std::tuple{"labels", &manifest_labels, cell.label_rows}}) {
        auto it = table->find(key);
        if (it == table->end()) {
          manifest.fail(Finding{key.first, month_start(*parse_month(key.second)), kNoTime, kind, "missing",
                                fmt::format("partition {} {} has {} bars but no {} manifest entry", key.first,
                                            key.second, n, kind)},
                        ctx.options->max_examples);
        } else if (it->second != stored) {
          manifest.fail(Finding{key.first, month_start(*parse_month(key.second)), kNoTime, kind,
                                std::to_string(it->second),
                                fmt::format("manifest says {} {} rows, the table holds {}", it->second, kind, stored)},
                        ctx.options->max_examples);
        }
      }
    }
    report.coverage.push_back(cell);
  }
  report.checks.push_back(std::move(features));
  report.checks.push_back(std::move(labels));
  report.checks.push_back(std::move(unique));
  report.checks.push_back(std::move(manifest));
  return Status::Ok();
}

// Labels are a pure function of the pair's bars (FEATURES.md section 4): recompute them
// from the stored bars with the engine's own code and compare bit for bit.
Status run_label_checks(Context& ctx, Report& report) {
  auto c = make_check("ranges.labels", "ranges", "Labels equal labels recomputed from the bars",
                      "Every stored label value equals, bit for bit, the label recomputed from the stored bars "
                      "(NULL where t+H is beyond the data).");
  if (!ctx.has_labels || report.label_rows == 0) {
    c.skip("no labels in the store (run `bqx run`)");
    report.checks.push_back(std::move(c));
    return Status::Ok();
  }
  const auto& cols = features::label_columns();
  const size_t width = cols.size();
  // Margins: 60 rows of look-ahead and look-back even across a weekend plus holidays.
  constexpr EpochMinute kMargin = 10 * kMinutesPerDay;
  std::string select = "SELECT epoch(ts)::BIGINT // 60";
  for (const auto& col : cols) select += ", " + quote_ident(col.name);
  for (const auto& pb : ctx.bars) {
    BQX_ASSIGN_OR_RETURN(BarFrame frame, store::load_bars(*ctx.con, pb.pair, ctx.from - kMargin, ctx.to + kMargin));
    const std::vector<double> expected = features::compute_labels(frame, pb.baseline);
    BQX_ASSIGN_OR_RETURN(auto stream, ChunkStream::open(*ctx.con, select + " FROM labels WHERE pair = " +
                                                                      store::sql_quote(pair_name(pb.pair)) + " AND ts >= " +
                                                                      ts_literal(ctx.from) + " AND ts < " + ts_literal(ctx.to)));
    while (duckdb_data_chunk chunk = stream.next()) {
      const idx_t n = duckdb_data_chunk_get_size(chunk);
      const auto* ts = static_cast<const int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
      std::vector<const double*> data(width);
      std::vector<uint64_t*> valid(width);
      for (size_t j = 0; j < width; ++j) {
        duckdb_vector v = duckdb_data_chunk_get_vector(chunk, j + 1);
        data[j] = static_cast<const double*>(duckdb_vector_get_data(v));
        valid[j] = duckdb_vector_get_validity(v);
      }
      for (idx_t i = 0; i < n; ++i) {
        const auto it = std::lower_bound(frame.ts.begin(), frame.ts.end(), ts[i]);
        if (it == frame.ts.end() || *it != ts[i]) continue;  // no bar: completeness reports it
        const size_t k = static_cast<size_t>(it - frame.ts.begin());
        for (size_t j = 0; j < width; ++j) {
          ++c.checked;
          const bool stored_null = valid[j] && !duckdb_validity_row_is_valid(valid[j], i);
          const double want = expected[k * width + j];
          const bool want_null = std::isnan(want);
          bool same = stored_null == want_null;
          if (same && !stored_null) same = std::memcmp(&data[j][i], &want, sizeof want) == 0;
          if (!same) {
            c.fail(Finding{pair_name(pb.pair), ts[i], kNoTime, cols[j].name,
                           stored_null ? "NULL" : format_value(data[j][i]),
                           "recomputed from the bars: " + (want_null ? std::string("NULL") : format_value(want))},
                   ctx.options->max_examples);
          }
        }
      }
    }
    if (!stream.error().empty()) return make_error(stream.error());
  }
  report.checks.push_back(std::move(c));
  return Status::Ok();
}

}  // namespace bqx::validate
