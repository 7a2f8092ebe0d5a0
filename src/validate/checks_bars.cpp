// Bar data quality (issue 6, check 4): gaps in open market hours, stale runs, return
// outliers, OHLC violations, cross-rate inconsistencies, and what ingest dropped or
// quarantined (duplicates, rejected rows), located in the source files when they are
// still where ingest read them.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <unordered_map>

#include "io/generator.h"
#include "validate/context.h"

namespace bqx::validate {
namespace {

// Market hours of DESIGN.md: Sunday 22:00 - Friday 22:00 UTC, closed Dec 25 and Jan 1.
bool market_open(EpochMinute t) { return synthetic_market_open(t); }

// Open-market minutes strictly between two bar times.
int64_t open_minutes_between(EpochMinute a, EpochMinute b) {
  int64_t n = 0;
  for (EpochMinute t = a + 1; t < b; ++t) n += market_open(t) ? 1 : 0;
  return n;
}

std::string pair_str(Pair p) { return pair_name(p); }

int64_t utc_day(EpochMinute t) { return t >= 0 ? t / kMinutesPerDay : -((-t + kMinutesPerDay - 1) / kMinutesPerDay); }

// ---------------------------------------------------------------------------------------

void check_gaps(Context& ctx, Report& report) {
  const auto& th = ctx.options->thresholds;
  auto c = make_check("bars.gaps", "bars", "No long gaps in open market hours",
                      fmt::format("Holes between consecutive bars of a pair longer than {} open-market minutes "
                                  "(market open Sunday 22:00 - Friday 22:00 UTC, closed Dec 25 / Jan 1).",
                                  th.gap_minutes));
  for (const auto& pb : ctx.bars) {
    const auto& ts = pb.frame.ts;
    for (size_t i = 1; i < ts.size(); ++i) {
      ++c.checked;
      if (ts[i] - ts[i - 1] <= 1) continue;
      const int64_t open = open_minutes_between(ts[i - 1], ts[i]);
      if (open >= kCalendarGapMinutes) {
        report.gaps.push_back(Gap{pair_str(pb.pair), ts[i - 1] + 1, ts[i] - 1, open});
      }
      if (open > th.gap_minutes) {
        c.fail(Finding{pair_str(pb.pair), ts[i - 1] + 1, ts[i] - 1, "", std::to_string(open) + " min",
                       fmt::format("no bar from {} to {} ({} open-market minutes)", format_compact(ts[i - 1] + 1),
                                   format_compact(ts[i] - 1), open)},
               ctx.options->max_examples);
      }
    }
  }
  report.checks.push_back(std::move(c));
}

// Does any other pair change its close inside (a, b]?
bool others_move(const Context& ctx, Pair self, EpochMinute a, EpochMinute b) {
  for (const auto& pb : ctx.bars) {
    if (pb.pair == self) continue;
    const auto& ts = pb.frame.ts;
    auto lo = std::lower_bound(ts.begin(), ts.end(), a);
    auto hi = std::upper_bound(ts.begin(), ts.end(), b);
    for (auto it = lo; it != hi && it + 1 != hi; ++it) {
      const size_t k = static_cast<size_t>(it - ts.begin());
      if (pb.frame.close[k + 1] != pb.frame.close[k]) return true;
    }
  }
  return false;
}

void check_stale(Context& ctx, Report& report) {
  const auto& th = ctx.options->thresholds;
  auto c = make_check("bars.stale", "bars", "No stale prices",
                      fmt::format("A close unchanged for {} minutes or more while other pairs move.", th.stale_minutes));
  const bool single = ctx.bars.size() < 2;
  for (const auto& pb : ctx.bars) {
    const auto& f = pb.frame;
    size_t i = 0;
    while (i < f.size()) {
      size_t j = i;
      while (j + 1 < f.size() && f.close[j + 1] == f.close[i]) ++j;
      ++c.checked;
      // Duration in open-market minutes: a close unchanged over a weekend is not stale.
      const int64_t open = j > i ? open_minutes_between(f.ts[i], f.ts[j]) + 1 : 0;
      if (j > i && open >= th.stale_minutes && (single || others_move(ctx, pb.pair, f.ts[i], f.ts[j]))) {
        c.fail(Finding{pair_str(pb.pair), f.ts[i + 1], f.ts[j], "close", format_value(f.close[i]),
                       fmt::format("close {} unchanged for {} bars ({} open-market minutes) while other pairs moved",
                                   format_value(f.close[i]), j - i + 1, open)},
               ctx.options->max_examples);
      }
      i = j + 1;
    }
  }
  report.checks.push_back(std::move(c));
}

void check_outliers(Context& ctx, Report& report) {
  const auto& th = ctx.options->thresholds;
  auto c = make_check("bars.outliers", "bars", "No return outliers",
                      fmt::format("A 1-minute log return with robust z above {} (median / 1.4826 MAD of the pair's "
                                  "UTC day, per sqrt of open minutes elapsed) and larger than {} bp.",
                                  th.outlier_z, th.outlier_min_bp));
  for (const auto& pb : ctx.bars) {
    const auto& f = pb.frame;
    if (f.size() < 3) continue;
    std::vector<double> u(f.size(), std::nan(""));  // u[k]: normalised return into bar k
    std::vector<double> r(f.size(), std::nan(""));
    for (size_t k = 1; k < f.size(); ++k) {
      const double dt = std::max<double>(1.0, static_cast<double>(open_minutes_between(f.ts[k - 1], f.ts[k]) + 1));
      r[k] = std::log(f.close[k] / f.close[k - 1]);
      u[k] = r[k] / std::sqrt(dt);
    }
    std::vector<bool> flagged(f.size(), false);
    size_t day_begin = 1;
    std::vector<double> buf;
    while (day_begin < f.size()) {
      const int64_t day = utc_day(f.ts[day_begin]);
      size_t day_end = day_begin;
      while (day_end < f.size() && utc_day(f.ts[day_end]) == day) ++day_end;
      buf.assign(u.begin() + static_cast<std::ptrdiff_t>(day_begin), u.begin() + static_cast<std::ptrdiff_t>(day_end));
      if (buf.size() >= 30) {
        auto mid = buf.begin() + static_cast<std::ptrdiff_t>(buf.size() / 2);
        std::nth_element(buf.begin(), mid, buf.end());
        const double med = *mid;
        for (double& x : buf) x = std::fabs(x - med);
        std::nth_element(buf.begin(), mid, buf.end());
        const double sigma = 1.4826 * *mid;
        if (sigma > 0) {
          for (size_t k = day_begin; k < day_end; ++k) {
            ++c.checked;
            const double z = (u[k] - med) / sigma;
            if (std::fabs(z) > th.outlier_z && std::fabs(r[k]) * 1e4 > th.outlier_min_bp) flagged[k] = true;
          }
        }
      }
      day_begin = day_end;
    }
    for (size_t k = 1; k < f.size(); ++k) {
      if (!flagged[k] || flagged[k - 1]) continue;  // a spike flags the move in and the move out: one event
      size_t e = k;
      while (e + 1 < f.size() && flagged[e + 1]) ++e;
      c.fail(Finding{pair_str(pb.pair), f.ts[k], f.ts[e], "close", format_value(f.close[k]),
                     fmt::format("log return {:+.1f} bp from close {} to {}", r[k] * 1e4, format_value(f.close[k - 1]),
                                 format_value(f.close[k]))},
             ctx.options->max_examples);
    }
  }
  report.checks.push_back(std::move(c));
}

// The rejects file ingest wrote for a source file (default location: <db>.rejects/).
std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
  }
  return out;
}

// HistData "YYYYMMDD HHMMSS;..." at UTC-05:00: the bar time of a raw line, if it has one.
std::optional<EpochMinute> histdata_time(const std::string& line) {
  if (line.size() < 15 || line[8] != ' ') return std::nullopt;
  for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (line[static_cast<size_t>(i)] < '0' || line[static_cast<size_t>(i)] > '9') return std::nullopt;
  }
  const auto num = [&](size_t at, size_t n) { return std::stoi(line.substr(at, n)); };
  return make_epoch_minute(num(0, 4), num(4, 2), num(6, 2), num(9, 2), num(11, 2)) - kHistDataTzOffsetMinutes;
}

struct LogEntry {
  std::string file;
  Pair pair{};
  int64_t duplicates = 0;
  int64_t rejected = 0;
};

std::filesystem::path locate(const Context& ctx, const std::string& file) {
  std::filesystem::path p(file);
  if (std::filesystem::exists(p)) return p;
  const auto rel = ctx.con->path().parent_path() / p;
  if (p.is_relative() && std::filesystem::exists(rel)) return rel;
  return {};
}

bool is_ohlc_problem(const std::string& message) {
  return message.find("high < low") != std::string::npos || message.find("outside [low, high]") != std::string::npos ||
         message.find("non-positive price") != std::string::npos;
}

Status check_ohlc_and_ingest(Context& ctx, Report& report) {
  const size_t cap = ctx.options->max_examples;
  auto ohlc = make_check("bars.ohlc", "bars", "OHLC consistent",
                         "Every bar has positive prices, low <= open, close <= high and bid <= ask; rows rejected at "
                         "ingest for the same reasons are located in the rejects file.");
  auto ingest = make_check("bars.ingest", "bars", "Nothing dropped at ingest",
                           "Source rows dropped as duplicates or quarantined at ingest (ingest_log), located in the "
                           "source file when it is still readable.");
  for (const auto& pb : ctx.bars) {
    const auto& f = pb.frame;
    for (size_t i = 0; i < f.size(); ++i) {
      ++ohlc.checked;
      std::string what;
      if (!(f.open[i] > 0 && f.high[i] > 0 && f.low[i] > 0 && f.close[i] > 0)) what = "non-positive price";
      else if (f.high[i] < f.low[i]) what = "high < low";
      else if (f.open[i] < f.low[i] || f.open[i] > f.high[i]) what = "open outside [low, high]";
      else if (f.close[i] < f.low[i] || f.close[i] > f.high[i]) what = "close outside [low, high]";
      else if (!std::isnan(f.bid[i]) && !std::isnan(f.ask[i]) && f.bid[i] > f.ask[i]) what = "bid > ask";
      if (!what.empty()) {
        ohlc.fail(Finding{pair_str(pb.pair), f.ts[i], kNoTime, "ohlc",
                          fmt::format("{} {} {} {}", format_value(f.open[i]), format_value(f.high[i]),
                                      format_value(f.low[i]), format_value(f.close[i])),
                          what},
                  cap);
      }
    }
  }
  // ingest_log: files of the selected pairs whose rows were dropped or quarantined.
  BQX_ASSIGN_OR_RETURN(auto t, ctx.con->query("SELECT file, pair, sum(duplicates_dropped), sum(rejected) FROM ingest_log "
                                              "GROUP BY file, pair HAVING sum(duplicates_dropped) > 0 OR sum(rejected) > 0 "
                                              "ORDER BY file"));
  const std::filesystem::path reject_dir = ctx.con->path().string() + ".rejects";
  BQX_ASSIGN_OR_RETURN(ingest.checked, ctx.con->query_int("SELECT coalesce(sum(rows_in_file), 0) FROM ingest_log"));
  for (const auto& row : t.rows) {
    auto pair = parse_pair(row[1].value_or(""));
    if (!pair || !ctx.find(*pair)) continue;
    LogEntry e{row[0].value_or(""), *pair, std::stoll(row[2].value_or("0")), std::stoll(row[3].value_or("0"))};
    const std::string fname = std::filesystem::path(e.file).filename().string();
    const auto in_selection = [&](std::optional<EpochMinute> ts) { return !ts || (*ts >= ctx.from && *ts < ctx.to); };
    // Quarantined rows: "line<TAB>message<TAB>raw line" per row in the rejects file.
    if (e.rejected > 0) {
      const auto rejects = reject_dir / (fname + ".rejects.tsv");
      int64_t located = 0;
      for (const auto& line : read_lines(rejects)) {
        const auto t1 = line.find('\t');
        const auto t2 = t1 == std::string::npos ? std::string::npos : line.find('\t', t1 + 1);
        if (t2 == std::string::npos) continue;
        const std::string message = line.substr(t1 + 1, t2 - t1 - 1);
        const std::string raw = line.substr(t2 + 1);
        const auto ts = histdata_time(raw);
        ++located;
        if (!in_selection(ts)) continue;
        Finding finding{pair_str(e.pair), ts.value_or(kNoTime), kNoTime, fname + ":" + line.substr(0, t1), raw,
                        "rejected at ingest: " + message};
        (is_ohlc_problem(message) ? ohlc : ingest).fail(std::move(finding), cap);
      }
      if (located < e.rejected) {
        ingest.fail(Finding{pair_str(e.pair), kNoTime, kNoTime, fname, std::to_string(e.rejected - located),
                            fmt::format("{} rows rejected at ingest; rejects file not found ({})", e.rejected - located,
                                        rejects.string())},
                    cap);
      }
    }
    // Identical duplicates: find them in the source file, group runs of consecutive minutes.
    if (e.duplicates > 0) {
      const auto src = locate(ctx, e.file);
      std::vector<EpochMinute> dup_ts;
      if (!src.empty()) {
        std::unordered_map<std::string, int> seen;
        for (const auto& line : read_lines(src)) {
          if (++seen[line] == 2) {
            if (auto ts = histdata_time(line)) dup_ts.push_back(*ts);
          }
        }
      }
      std::sort(dup_ts.begin(), dup_ts.end());
      size_t i = 0;
      int64_t located = 0;
      while (i < dup_ts.size()) {
        size_t j = i;
        while (j + 1 < dup_ts.size() && dup_ts[j + 1] - dup_ts[j] <= 5) ++j;
        located += static_cast<int64_t>(j - i + 1);
        if (in_selection(dup_ts[i])) {
          ingest.fail(Finding{pair_str(e.pair), dup_ts[i], dup_ts[j], fname, std::to_string(j - i + 1) + " rows",
                              fmt::format("{} rows repeated in the source file (identical duplicates dropped at ingest)",
                                          j - i + 1)},
                      cap);
        }
        i = j + 1;
      }
      if (located < e.duplicates) {
        ingest.fail(Finding{pair_str(e.pair), kNoTime, kNoTime, fname, std::to_string(e.duplicates - located),
                            fmt::format("{} duplicate rows dropped at ingest (source file {})",
                                        e.duplicates - located, src.empty() ? "no longer readable" : "has no HistData times")},
                    cap);
      }
    }
  }
  report.checks.push_back(std::move(ohlc));
  report.checks.push_back(std::move(ingest));
  return Status::Ok();
}

// Log of the value of currency x in currency y from pair p's close (p = x/y or y/x).
void check_cross_rates(Context& ctx, Report& report) {
  const auto& th = ctx.options->thresholds;
  auto c = make_check("bars.cross_rate", "bars", "Cross rates consistent",
                      fmt::format("For every triangle of currencies with all three pairs quoted in the same minute, "
                                  "|log(a/b) + log(b/c) - log(a/c)| stays within {} bp (injected mispricings are "
                                  "5-20 bp; the pair in most failing triangles of the minute is named).",
                                  th.cross_rate_bp));
  const auto& cur = all_currencies();
  // The selected pair for each ordered currency couple (index into ctx.bars), sign of the log.
  struct Leg {
    int bars = -1;
    double sign = 0;
  };
  std::array<std::array<Leg, kCurrencyCount>, kCurrencyCount> legs{};
  for (size_t i = 0; i < ctx.bars.size(); ++i) {
    const Pair p = ctx.bars[i].pair;
    legs[static_cast<int>(p.base)][static_cast<int>(p.quote)] = Leg{static_cast<int>(i), 1.0};
    legs[static_cast<int>(p.quote)][static_cast<int>(p.base)] = Leg{static_cast<int>(i), -1.0};
  }
  struct Triangle {
    int a, b, c;
  };
  std::vector<Triangle> triangles;
  for (int a = 0; a < kCurrencyCount; ++a) {
    for (int b = a + 1; b < kCurrencyCount; ++b) {
      for (int d = b + 1; d < kCurrencyCount; ++d) {
        if (legs[a][b].bars >= 0 && legs[b][d].bars >= 0 && legs[a][d].bars >= 0) triangles.push_back({a, b, d});
      }
    }
  }
  if (triangles.empty()) {
    c.skip("no triangle of currencies among the selected pairs");
    report.checks.push_back(std::move(c));
    return;
  }
  // Month by month on a minute grid of log closes (NaN: no bar that minute).
  for (MonthId m : ctx.months) {
    const EpochMinute m0 = month_start(m), m1 = month_start(m + 1);
    const size_t n = static_cast<size_t>(m1 - m0);
    std::vector<std::vector<double>> grid(ctx.bars.size(), std::vector<double>(n, std::nan("")));
    for (size_t i = 0; i < ctx.bars.size(); ++i) {
      const auto& f = ctx.bars[i].frame;
      for (size_t k = 0; k < f.size(); ++k) {
        if (f.ts[k] >= m0 && f.ts[k] < m1) grid[i][static_cast<size_t>(f.ts[k] - m0)] = std::log(f.close[k]);
      }
    }
    const auto r = [&](int x, int y, size_t t) {
      const Leg& l = legs[x][y];
      return l.sign * grid[static_cast<size_t>(l.bars)][t];
    };
    std::vector<int> votes(ctx.bars.size());
    for (size_t t = 0; t < n; ++t) {
      std::fill(votes.begin(), votes.end(), 0);
      double worst = 0;
      std::string worst_triangle;
      int failing = 0;
      for (const auto& tri : triangles) {
        const double eps = r(tri.a, tri.b, t) + r(tri.b, tri.c, t) - r(tri.a, tri.c, t);
        if (std::isnan(eps)) continue;
        ++c.checked;
        const double bp = eps * 1e4;
        if (std::fabs(bp) <= th.cross_rate_bp) continue;
        ++failing;
        for (const Leg& l : {legs[tri.a][tri.b], legs[tri.b][tri.c], legs[tri.a][tri.c]}) ++votes[static_cast<size_t>(l.bars)];
        if (std::fabs(bp) > std::fabs(worst)) {
          worst = bp;
          worst_triangle = fmt::format("{}/{}/{}", currency_code(cur[static_cast<size_t>(tri.a)]),
                                       currency_code(cur[static_cast<size_t>(tri.b)]),
                                       currency_code(cur[static_cast<size_t>(tri.c)]));
        }
      }
      if (failing == 0) continue;
      // The pair in most failing triangles; with a tie (e.g. a single triangle) all of them.
      const int top = *std::max_element(votes.begin(), votes.end());
      std::string suspects;
      for (size_t i = 0; i < votes.size(); ++i) {
        if (votes[i] == top) suspects += (suspects.empty() ? "" : ",") + pair_str(ctx.bars[i].pair);
      }
      c.fail(Finding{suspects, m0 + static_cast<EpochMinute>(t), kNoTime, worst_triangle, fmt::format("{:+.1f} bp", worst),
                     fmt::format("{} triangle(s) beyond {} bp; {} in {} of them", failing, th.cross_rate_bp, suspects,
                                 top)},
             ctx.options->max_examples);
    }
  }
  report.checks.push_back(std::move(c));
}

Status check_bar_duplicates(Context& ctx, Report& report) {
  auto c = make_check("bars.unique", "bars", "One bar per (pair, minute)", "No duplicate (pair, ts) in the bars table.");
  BQX_ASSIGN_OR_RETURN(auto t, ctx.con->query("SELECT pair, epoch(ts)::BIGINT // 60, count(*) FROM bars WHERE " +
                                              ctx.where() + " GROUP BY pair, ts HAVING count(*) > 1 ORDER BY pair, ts"));
  c.checked = report.bars;
  for (const auto& row : t.rows) {
    c.fail(Finding{row[0].value_or(""), std::stoll(row[1].value_or("0")), kNoTime, "", row[2].value_or(""),
                   row[2].value_or("") + " bars with the same (pair, ts)"},
           ctx.options->max_examples);
  }
  report.checks.push_back(std::move(c));
  return Status::Ok();
}

}  // namespace

Status run_bar_checks(Context& ctx, Report& report) {
  check_gaps(ctx, report);
  check_stale(ctx, report);
  check_outliers(ctx, report);
  BQX_TRY(check_ohlc_and_ingest(ctx, report));
  check_cross_rates(ctx, report);
  BQX_TRY(check_bar_duplicates(ctx, report));
  return Status::Ok();
}

}  // namespace bqx::validate
