// Warm-up / NULL policy (issue 6, check 2) and ranges and identities (check 3) in one
// streaming pass over the wide features table: each chunk is walked column by column, so
// 1,088 columns x 1 M rows cost one scan. The same pass gathers the report's NULL rates,
// the currency strength series, the triangle eps distribution and per-column checksums.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <cctype>
#include <cstdlib>
#include <unordered_map>

#include "features/registry.h"
#include "validate/context.h"

namespace bqx::validate {
namespace {

struct Bounds {
  bool has = false;
  double lo = 0, hi = 0;
  bool discrete = false;       // only the listed values
  std::vector<double> values;
};

// Bounds implied by a catalogue unit ("0..100", "-1..1", "correlation", "0/1 flag", ...).
Bounds bounds_of_column(const std::string& /*name*/, const std::string& unit) {
  Bounds b;
  if (unit == "-1/0/+1") return Bounds{true, -1, 1, true, {-1, 0, 1}};
  if (unit.find("0/1") != std::string::npos) return Bounds{true, 0, 1, true, {0, 1}};
  if (unit.find("correlation") != std::string::npos) return Bounds{true, -1, 1, false, {}};
  if (unit.find("0..log2 10") != std::string::npos) return Bounds{true, 0, std::log2(10.0), false, {}};
  // "<lo>..<hi>" anywhere in the unit, e.g. "0..100 index points" or "-50..50".
  // (Hand-parsed: GCC 12's <regex> trips -Wmaybe-uninitialized in the sanitizer build.)
  const size_t dots = unit.find("..");
  if (dots != std::string::npos && dots > 0) {
    size_t start = dots;
    while (start > 0 && (std::isdigit(static_cast<unsigned char>(unit[start - 1])) || unit[start - 1] == '.')) --start;
    if (start > 0 && unit[start - 1] == '-') --start;
    const char* hi_begin = unit.c_str() + dots + 2;
    char* hi_end = nullptr;
    const double hi = std::strtod(hi_begin, &hi_end);
    if (start < dots && hi_end != hi_begin) {
      b.has = true;
      b.lo = std::stod(unit.substr(start, dots - start));
      b.hi = hi;
    }
  }
  return b;
}

struct ColumnSpec {
  features::ColumnInfo info;
  int family = 0;
  Bounds bounds;
  bool conditional = false;  // NULL allowed past the lookback (documented condition or inexact lookback)
};

struct ColumnAcc {
  int64_t non_null = 0, nulls = 0, inf = 0, nan = 0, out_of_range = 0, early = 0, unexplained = 0;
  double min = INFINITY, max = -INFINITY;
  uint64_t checksum = 0;
};

// reg identity: prediction = quadratic_term + linear_term + constant_term, summed in that order.
struct RegIdentity {
  int prediction, quad, lin, constant;
};

}  // namespace

Status run_feature_checks(Context& ctx, Report& report) {
  const auto& th = ctx.options->thresholds;
  const size_t cap = ctx.options->max_examples;
  auto early = make_check("nulls.warmup", "nulls", "No value inside the warm-up",
                          "Columns with an exact lookback are NULL on the pair's first `lookback` rows (rows "
                          "counted from the pair's first bar in the store).");
  auto unexplained = make_check("nulls.unexplained", "nulls", "No unexplained NULL",
                                "Past its lookback a column is NULL only under its documented condition "
                                "(catalogue null_when); a column without one is never NULL there.");
  auto finite = make_check("ranges.finite", "ranges", "No Inf or NaN anywhere",
                           "Every stored feature value is finite (NULL is NULL, never NaN).");
  auto bounds = make_check("ranges.bounds", "ranges", "Bounded features within bounds",
                           "Columns whose unit is bounded (RSI, STOCH, WILLR, MFI, CMO, ADX, AROON, r2, correlations, "
                           "percentiles, ranks, flags) stay inside the bounds.");
  auto identity = make_check("ranges.reg_identity", "ranges", "reg prediction = quadratic + linear + constant",
                             "For every reg window, prediction equals quadratic_term + linear_term + constant_term "
                             "summed in that order, bit for bit.");
  auto strength = make_check("ranges.strength_sum", "ranges", "Currency strengths sum to 0",
                             fmt::format("The 8 cur_*_strength values of a row sum to 0 (|sum| <= {} x (1 + sum |s|)).",
                                         th.strength_sum_tolerance));
  std::vector<CheckResult*> all = {&early, &unexplained, &finite, &bounds, &identity, &strength};
  if (!ctx.has_features || report.feature_rows == 0) {
    for (auto* c : all) c->skip("no features in the store (run `bqx run`)");
    for (auto* c : all) report.checks.push_back(std::move(*c));
    return Status::Ok();
  }

  // Column specs, families, identities and the columns the charts read.
  const auto infos = features::all_feature_columns();
  std::vector<ColumnSpec> specs;
  std::vector<std::string> families;
  std::unordered_map<std::string, int> index;
  for (const auto& info : infos) {
    ColumnSpec s;
    s.info = info;
    auto it = std::find(families.begin(), families.end(), info.family);
    if (it == families.end()) {
      families.push_back(info.family);
      it = families.end() - 1;
    }
    s.family = static_cast<int>(it - families.begin());
    s.bounds = bounds_of_column(info.name, info.unit);
    s.conditional = !info.null_when.empty() || !info.exact_lookback;
    index[info.name] = static_cast<int>(specs.size());
    specs.push_back(std::move(s));
  }
  const auto col = [&](const std::string& name) {
    auto it = index.find(name);
    return it == index.end() ? -1 : it->second;
  };
  std::vector<RegIdentity> identities;
  for (const auto& s : specs) {
    const std::string& n = s.info.name;
    const std::string suffix = "_prediction";
    if (n.rfind("reg_", 0) == 0 && n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string stem = n.substr(0, n.size() - suffix.size());
      RegIdentity r{col(n), col(stem + "_quadratic_term"), col(stem + "_linear_term"), col(stem + "_constant_term")};
      if (r.quad >= 0 && r.lin >= 0 && r.constant >= 0) identities.push_back(r);
    }
  }
  std::array<int, kCurrencyCount> strength_cols{};
  bool have_strengths = true;
  for (Currency cur : all_currencies()) {
    std::string code(currency_code(cur));
    std::transform(code.begin(), code.end(), code.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    strength_cols[static_cast<size_t>(cur)] = col("cur_" + code + "_strength");
    have_strengths = have_strengths && strength_cols[static_cast<size_t>(cur)] >= 0;
  }
  std::vector<int> eps_cols;
  // arb_<3 currencies, 9 lowercase letters>_eps_bp: one column per triangle.
  auto is_triplet_eps = [](const std::string& name) {
    if (name.size() != 4 + 9 + 7 || name.rfind("arb_", 0) != 0 || name.substr(13) != "_eps_bp") return false;
    return std::all_of(name.begin() + 4, name.begin() + 13, [](char ch) { return ch >= 'a' && ch <= 'z'; });
  };
  for (size_t j = 0; j < specs.size(); ++j) {
    if (is_triplet_eps(specs[j].info.name)) eps_cols.push_back(static_cast<int>(j));
  }
  const int opp_col = col("arb_opportunity"), max_eps_col = col("arb_max_abs_eps_bp"), profit_col = col("arb_max_profit");

  // Partitions (pair x month) for NULL rates.
  const size_t n_months = ctx.months.size();
  std::vector<int64_t> part_cells(ctx.bars.size() * n_months, 0), part_nulls(ctx.bars.size() * n_months, 0);
  std::vector<FamilyNulls> fam(families.size());
  for (size_t f = 0; f < families.size(); ++f) fam[f].family = families[f];
  std::vector<ColumnAcc> acc(specs.size());

  // Chart accumulators: global columns are equal in every pair's row of a minute, so each
  // minute is taken once.
  std::vector<uint8_t> minute_seen(static_cast<size_t>(ctx.to - ctx.from), 0);
  const int64_t span = ctx.to - ctx.from;
  int bucket = 60;
  while (span / bucket > 1500) bucket *= 2;
  const size_t n_buckets = static_cast<size_t>((span + bucket - 1) / bucket);
  std::array<std::vector<double>, kCurrencyCount> s_sum;
  std::array<std::vector<int>, kCurrencyCount> s_n;
  for (int c = 0; c < kCurrencyCount; ++c) {
    s_sum[static_cast<size_t>(c)].assign(n_buckets, 0.0);
    s_n[static_cast<size_t>(c)].assign(n_buckets, 0);
  }
  EpsDistribution& eps = report.eps;
  constexpr double kEpsMax = 30.0, kEpsBin = 0.25;  // |eps| in bp, 0.25 bp bins
  for (double e = 0; e <= kEpsMax + 1e-9; e += kEpsBin) eps.edges.push_back(e);
  eps.counts.assign(eps.edges.size() - 1, 0);

  std::string sql = "SELECT pair, epoch(ts)::BIGINT // 60";
  for (const auto& s : specs) sql += ", " + quote_ident(s.info.name);
  sql += " FROM features WHERE " + ctx.where();
  BQX_ASSIGN_OR_RETURN(auto stream, ChunkStream::open(*ctx.con, sql));

  std::unordered_map<std::string, int> pair_slot;
  for (size_t i = 0; i < ctx.bars.size(); ++i) pair_slot[pair_name(ctx.bars[i].pair)] = static_cast<int>(i);
  std::vector<int> slot, part;
  std::vector<int64_t> rn;
  std::vector<uint64_t> key;
  std::vector<uint8_t> first_of_minute;
  std::vector<std::string> names;
  std::vector<const double*> data(specs.size());
  std::vector<uint64_t*> valid(specs.size());

  while (duckdb_data_chunk chunk = stream.next()) {
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    auto* pairs = static_cast<duckdb_string_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
    const auto* ts = static_cast<const int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 1)));
    slot.assign(n, -1);
    part.assign(n, -1);
    rn.assign(n, -1);
    key.assign(n, 0);
    first_of_minute.assign(n, 0);
    names.resize(n);
    for (idx_t i = 0; i < n; ++i) {
      names[i].assign(duckdb_string_t_data(&pairs[i]), duckdb_string_t_length(pairs[i]));
      key[i] = row_key(names[i], ts[i]);
      auto it = pair_slot.find(names[i]);
      if (it == pair_slot.end()) continue;
      slot[i] = it->second;
      const PairBars& pb = ctx.bars[static_cast<size_t>(it->second)];
      const auto pos = std::lower_bound(pb.frame.ts.begin(), pb.frame.ts.end(), ts[i]);
      if (pos != pb.frame.ts.end() && *pos == ts[i]) rn[i] = pb.bars_before + (pos - pb.frame.ts.begin());
      const auto m = std::lower_bound(ctx.months.begin(), ctx.months.end(), month_of(ts[i]));
      if (m != ctx.months.end() && *m == month_of(ts[i])) {
        part[i] = it->second * static_cast<int>(n_months) + static_cast<int>(m - ctx.months.begin());
      }
      const size_t minute = static_cast<size_t>(ts[i] - ctx.from);
      if (minute < minute_seen.size() && !minute_seen[minute]) {
        minute_seen[minute] = 1;
        first_of_minute[i] = 1;
      }
    }
    for (size_t j = 0; j < specs.size(); ++j) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, j + 2);
      data[j] = static_cast<const double*>(duckdb_vector_get_data(v));
      valid[j] = duckdb_vector_get_validity(v);
    }
    for (size_t j = 0; j < specs.size(); ++j) {
      const ColumnSpec& s = specs[j];
      ColumnAcc& a = acc[j];
      FamilyNulls& fn = fam[static_cast<size_t>(s.family)];
      const double* d = data[j];
      const uint64_t* val = valid[j];
      const double slack = th.bound_tolerance * std::max(1.0, s.bounds.hi - s.bounds.lo);
      for (idx_t i = 0; i < n; ++i) {
        const bool is_null = val && !duckdb_validity_row_is_valid(const_cast<uint64_t*>(val), i);
        a.checksum += value_hash(key[i], d[i], is_null);
        const bool warm = rn[i] >= 0 && rn[i] < s.info.lookback;
        if (is_null) {
          ++a.nulls;
          if (part[i] >= 0) ++part_nulls[static_cast<size_t>(part[i])];
          if (rn[i] < 0 || warm) {
            ++fn.warmup;
          } else if (s.conditional) {
            ++fn.conditional;
          } else {
            ++fn.unexplained;
            ++a.unexplained;
            unexplained.fail(Finding{names[i], ts[i], kNoTime, s.info.name, "NULL",
                                     fmt::format("row {} of the pair, lookback {}, no documented NULL condition", rn[i],
                                                 s.info.lookback)},
                             cap);
          }
          continue;
        }
        const double x = d[i];
        if (std::isnan(x) || std::isinf(x)) {
          (std::isnan(x) ? a.nan : a.inf) += 1;
          finite.fail(Finding{names[i], ts[i], kNoTime, s.info.name, format_value(x),
                              std::isnan(x) ? "NaN stored instead of NULL" : "infinite value"},
                      cap);
          continue;
        }
        ++a.non_null;
        a.min = std::min(a.min, x);
        a.max = std::max(a.max, x);
        if (warm && s.info.exact_lookback) {
          ++a.early;
          early.fail(Finding{names[i], ts[i], kNoTime, s.info.name, format_value(x),
                             fmt::format("value on row {} of the pair, inside the lookback of {} rows", rn[i],
                                         s.info.lookback)},
                     cap);
        }
        if (s.bounds.has) {
          bool ok = x >= s.bounds.lo - slack && x <= s.bounds.hi + slack;
          if (ok && s.bounds.discrete) {
            ok = std::find(s.bounds.values.begin(), s.bounds.values.end(), x) != s.bounds.values.end();
          }
          if (!ok) {
            ++a.out_of_range;
            bounds.fail(Finding{names[i], ts[i], kNoTime, s.info.name, format_value(x), "outside " + s.info.unit}, cap);
          }
        }
      }
    }
    for (size_t j = 0; j < specs.size(); ++j) {
      fam[static_cast<size_t>(specs[j].family)].cells += static_cast<int64_t>(n);
      if (specs[j].bounds.has) bounds.checked += static_cast<int64_t>(n);
    }
    for (idx_t i = 0; i < n; ++i) {
      if (part[i] >= 0) part_cells[static_cast<size_t>(part[i])] += static_cast<int64_t>(specs.size());
    }
    early.checked += static_cast<int64_t>(n * specs.size());
    unexplained.checked += static_cast<int64_t>(n * specs.size());
    finite.checked += static_cast<int64_t>(n * specs.size());

    const auto get = [&](int j, idx_t i, double* out) {
      const uint64_t* val = valid[static_cast<size_t>(j)];
      if (val && !duckdb_validity_row_is_valid(const_cast<uint64_t*>(val), i)) return false;
      *out = data[static_cast<size_t>(j)][i];
      return true;
    };
    for (idx_t i = 0; i < n; ++i) {
      for (const auto& r : identities) {
        double p, q, l, c0;
        if (!get(r.prediction, i, &p) || !get(r.quad, i, &q) || !get(r.lin, i, &l) || !get(r.constant, i, &c0)) continue;
        ++identity.checked;
        const double sum = q + l + c0;
        if (std::memcmp(&sum, &p, sizeof p) != 0) {
          identity.fail(Finding{names[i], ts[i], kNoTime, specs[static_cast<size_t>(r.prediction)].info.name,
                                format_value(p), "quadratic + linear + constant = " + format_value(sum)},
                        cap);
        }
      }
      if (have_strengths) {
        double sum = 0, mag = 0, v = 0;
        bool all = true;
        for (int c = 0; c < kCurrencyCount && all; ++c) {
          all = get(strength_cols[static_cast<size_t>(c)], i, &v);
          sum += v;
          mag += std::fabs(v);
          if (all && first_of_minute[i]) {
            const size_t b = static_cast<size_t>((ts[i] - ctx.from) / bucket);
            s_sum[static_cast<size_t>(c)][b] += v;
            ++s_n[static_cast<size_t>(c)][b];
          }
        }
        if (all) {
          ++strength.checked;
          if (!(std::fabs(sum) <= th.strength_sum_tolerance * (1.0 + mag))) {
            strength.fail(Finding{names[i], ts[i], kNoTime, "cur_*_strength", format_value(sum),
                                  "sum of the 8 strengths is not 0"},
                          cap);
          }
        }
      }
      if (first_of_minute[i]) {
        for (int j : eps_cols) {
          double e;
          if (!get(j, i, &e) || !std::isfinite(e)) continue;
          ++eps.values;
          const double ae = std::fabs(e);
          eps.abs_max = std::max(eps.abs_max, ae);
          const auto b = static_cast<size_t>(ae / kEpsBin);
          if (b < eps.counts.size()) ++eps.counts[b];
          else ++eps.beyond;
        }
      }
      double o = 0;
      if (opp_col >= 0 && get(opp_col, i, &o) && o == 1.0) {
        ++eps.opportunity_rows;
        if (eps.opportunities.size() < 2000) {
          double me = NAN, pr = NAN;
          if (max_eps_col >= 0) get(max_eps_col, i, &me);
          if (profit_col >= 0) get(profit_col, i, &pr);
          eps.opportunities.push_back({names[i], ts[i], me, pr});
        }
      }
    }
  }
  if (!stream.error().empty()) return make_error(stream.error());

  // p99 of |eps| from the histogram.
  if (eps.values > 0) {
    const int64_t target = static_cast<int64_t>(std::ceil(0.99 * static_cast<double>(eps.values)));
    int64_t run = 0;
    eps.abs_p99 = eps.edges.back();
    for (size_t b = 0; b < eps.counts.size(); ++b) {
      run += eps.counts[b];
      if (run >= target) {
        eps.abs_p99 = eps.edges[b + 1];
        break;
      }
    }
  }
  if (eps_cols.empty()) report.notes.push_back("no arb_*_eps_bp columns: eps distribution not drawn");

  StrengthSeries& ss = report.strengths;
  ss.bucket_minutes = bucket;
  for (size_t b = 0; b < n_buckets; ++b) {
    bool any = false;
    for (int c = 0; c < kCurrencyCount; ++c) any = any || s_n[static_cast<size_t>(c)][b] > 0;
    if (!any) continue;
    ss.ts.push_back(ctx.from + static_cast<EpochMinute>(b) * bucket);
    for (int c = 0; c < kCurrencyCount; ++c) {
      const auto cc = static_cast<size_t>(c);
      ss.values[cc].push_back(s_n[cc][b] > 0 ? s_sum[cc][b] / s_n[cc][b] : std::nan(""));
    }
  }
  report.family_nulls = fam;
  for (size_t p = 0; p < ctx.bars.size(); ++p) {
    for (size_t m = 0; m < n_months; ++m) {
      const size_t k = p * n_months + m;
      if (part_cells[k] == 0) continue;
      report.partition_nulls.push_back(
          PartitionNulls{pair_name(ctx.bars[p].pair), format_month(ctx.months[m]), part_cells[k], part_nulls[k]});
    }
  }
  for (size_t j = 0; j < specs.size(); ++j) {
    const ColumnAcc& a = acc[j];
    report.columns.push_back(ColumnStats{specs[j].info.name, specs[j].info.family, a.non_null, a.nulls, a.inf, a.nan,
                                         a.out_of_range, a.non_null ? a.min : 0.0, a.non_null ? a.max : 0.0,
                                         a.checksum});
  }
  if (identities.empty()) identity.skip("no reg prediction columns in the catalogue");
  if (!have_strengths) strength.skip("no cur_*_strength columns in the catalogue");
  else if (strength.checked == 0) strength.skip("no row has all 8 strengths (a currency without pairs in the store)");
  for (auto* c : all) report.checks.push_back(std::move(*c));
  return Status::Ok();
}

}  // namespace bqx::validate
