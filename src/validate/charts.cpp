// SVG charts for report.html. Every chart is a fixed-size <svg> with a viewBox, so it
// scales with the page; hover titles (<title>) carry the exact numbers.
#include "validate/charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace bqx::validate::charts {
namespace {

constexpr const char* kCurrencyColors[kCurrencyCount] = {"#2563eb", "#16a34a", "#7c3aed", "#dc2626",
                                                         "#ea580c", "#0891b2", "#92400e", "#db2777"};

std::string num(double v) { return fmt::format("{:.1f}", v); }

std::string thousands(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return (v < 0 ? "-" : "") + s;
}

std::string day_label(EpochMinute t) {
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const CivilTime c = to_civil(t);
  return fmt::format("{} {}", c.date.day, months[c.date.month - 1]);
}

// Green (ok) .. red (bad) scale for a rate in [0, 1] where 1 is good.
std::string coverage_color(double good) {
  if (good >= 0.999999) return "#16a34a";
  if (good >= 0.99) return "#84cc16";
  if (good >= 0.9) return "#f59e0b";
  return "#dc2626";
}

// A "nice" tick step (1, 2 or 5 x 10^k) giving about `ticks` intervals over `range`.
double nice_step(double range, int ticks) {
  const double raw = range / ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10.0 * mag;
}

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(ch);
    }
  }
  return out;
}

std::string coverage_heatmap(const Report& r) {
  std::vector<std::string> pairs = r.pairs, months = r.months;
  std::map<std::pair<std::string, std::string>, const CoverageCell*> cells;
  for (const auto& c : r.coverage) cells[{c.pair, c.month}] = &c;
  const int label_w = 70, top = 34, cell_w = std::clamp(760 / std::max<int>(1, static_cast<int>(months.size())), 44, 110),
            cell_h = 20;
  const int w = label_w + cell_w * static_cast<int>(months.size()) + 10;
  const int h = top + cell_h * static_cast<int>(pairs.size()) + 8;
  std::string s = fmt::format(
      "<svg id=\"coverage-heatmap\" class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"pair by month coverage heatmap\">",
      w, h);
  for (size_t m = 0; m < months.size(); ++m) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{}</text>",
                     label_w + static_cast<int>(m) * cell_w + cell_w / 2, top - 12, escape(months[m]));
  }
  for (size_t p = 0; p < pairs.size(); ++p) {
    const int y = top + static_cast<int>(p) * cell_h;
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis mono\" text-anchor=\"end\">{}</text>", label_w - 8,
                     y + cell_h / 2 + 4, escape(pairs[p]));
    for (size_t m = 0; m < months.size(); ++m) {
      const int x = label_w + static_cast<int>(m) * cell_w;
      auto it = cells.find({pairs[p], months[m]});
      std::string fill = "#e5e7eb", label, title;
      if (it != cells.end()) {
        const CoverageCell& c = *it->second;
        if (!r.has_features) {
          fill = "#cbd5e1";
          title = fmt::format("{} {}: {} bars, no features computed", c.pair, c.month, thousands(c.bars));
        } else {
          const bool exact = c.feature_rows == c.bars && c.label_rows == c.bars;
          const bool manifest = c.manifest_features && c.manifest_labels;
          const double cov = c.bars ? static_cast<double>(std::min(c.feature_rows, c.label_rows)) / static_cast<double>(c.bars) : 0.0;
          fill = exact && manifest ? "#16a34a" : (exact ? "#f59e0b" : coverage_color(cov));
          if (c.feature_rows > c.bars || c.label_rows > c.bars) fill = "#dc2626";
          title = fmt::format("{} {}: {} bars, {} feature rows, {} label rows, manifest {}", c.pair, c.month,
                              thousands(c.bars), thousands(c.feature_rows), thousands(c.label_rows),
                              manifest ? "complete" : "missing or stale");
        }
        label = c.bars >= 1000 ? fmt::format("{:.1f}k", static_cast<double>(c.bars) / 1000.0) : std::to_string(c.bars);
      } else {
        title = pairs[p] + " " + months[m] + ": no bars";
      }
      s += fmt::format("<g><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"{}\"/>",
                       escape(title), x + 1, y + 1, cell_w - 2, cell_h - 2, fill);
      if (!label.empty()) {
        s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"cell\" text-anchor=\"middle\">{}</text>", x + cell_w / 2,
                         y + cell_h / 2 + 4, label);
      }
      s += "</g>";
    }
  }
  return s + "</svg>";
}

std::string null_rate_bars(const Report& r) {
  std::vector<FamilyNulls> fam = r.family_nulls;
  if (fam.empty()) return "<p class=\"muted\">No features in the store.</p>";
  const int label_w = 90, bar_w = 560, row_h = 22, top = 8;
  const int h = top + row_h * static_cast<int>(fam.size()) + 24;
  double max_rate = 0;
  for (const auto& f : fam) {
    if (f.cells) max_rate = std::max(max_rate, static_cast<double>(f.warmup + f.conditional + f.unexplained) / static_cast<double>(f.cells));
  }
  const double tick = nice_step(std::max(0.01, max_rate), 5);
  const double scale_max = tick * std::max(1.0, std::ceil(std::max(0.01, max_rate) / tick));
  std::string s = fmt::format(
      "<svg id=\"null-rate\" class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"NULL rate by family\">",
      label_w + bar_w + 90, h);
  for (double v = 0; v <= scale_max + tick / 2; v += tick) {
    const double x = label_w + bar_w * v / scale_max;
    s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" class=\"grid\"/>", num(x), top, h - 20);
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{:g}%</text>", num(x), h - 6,
                     std::round(v * 1000.0) / 10.0);
  }
  for (size_t i = 0; i < fam.size(); ++i) {
    const auto& f = fam[i];
    const int y = top + static_cast<int>(i) * row_h;
    const double cells = std::max<double>(1.0, static_cast<double>(f.cells));
    const double parts[3] = {f.warmup / cells, f.conditional / cells, f.unexplained / cells};
    const char* colors[3] = {"#94a3b8", "#f59e0b", "#dc2626"};
    const char* names[3] = {"warm-up", "documented condition", "unexplained"};
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis mono\" text-anchor=\"end\">{}</text>", label_w - 8,
                     y + row_h / 2 + 4, escape(f.family));
    double x = label_w;
    for (int k = 0; k < 3; ++k) {
      const double w = bar_w * parts[k] / scale_max;
      if (w <= 0) continue;
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {:.3f}% {}</title></rect>",
                       num(x), y + 4, num(std::max(w, 0.8)), row_h - 8, colors[k], escape(f.family), parts[k] * 100.0,
                       names[k]);
      x += w;
    }
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\">{:.2f}%</text>", num(x + 6), y + row_h / 2 + 4,
                     (parts[0] + parts[1] + parts[2]) * 100.0);
  }
  return s + "</svg>";
}

std::string strength_lines(const Report& r) {
  const auto& st = r.strengths;
  if (st.ts.size() < 2) return "<p class=\"muted\">No currency strengths in the store.</p>";
  const int w = 1000, h = 300, l = 56, rgt = 16, top = 12, bot = 28;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& v : st.values) {
    for (double x : v) {
      if (std::isfinite(x)) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
    }
  }
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const double pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const EpochMinute t0 = st.ts.front(), t1 = st.ts.back();
  const auto X = [&](EpochMinute t) { return l + (w - l - rgt) * static_cast<double>(t - t0) / std::max<double>(1.0, static_cast<double>(t1 - t0)); };
  const auto Y = [&](double v) { return top + (h - top - bot) * (hi - v) / (hi - lo); };
  std::string s = fmt::format(
      "<svg id=\"currency-strength\" class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"currency strengths\">",
      w, h);
  const double ystep = nice_step(hi - lo, 5);
  for (double v = std::ceil(lo / ystep) * ystep; v <= hi; v += ystep) {
    s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" class=\"grid\"/><text x=\"{3}\" y=\"{4}\" class=\"axis\" "
                     "text-anchor=\"end\">{5:g}</text>",
                     l, w - rgt, num(Y(v)), l - 6, num(Y(v) + 4), std::fabs(v) < ystep * 1e-6 ? 0.0 : v);
  }
  if (lo < 0 && hi > 0) s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" class=\"zero\"/>", l, w - rgt, num(Y(0)));
  // Day ticks: at most ~10 labels.
  const int64_t days = std::max<int64_t>(1, (t1 - t0) / kMinutesPerDay);
  const int64_t step_days = std::max<int64_t>(1, days / 10);
  for (EpochMinute t = (t0 / kMinutesPerDay + 1) * kMinutesPerDay; t <= t1; t += step_days * kMinutesPerDay) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{}</text>", num(X(t)), h - 8, day_label(t));
  }
  for (int c = 0; c < kCurrencyCount; ++c) {
    const auto& v = st.values[static_cast<size_t>(c)];
    std::string path;
    bool pen = false;
    for (size_t i = 0; i < st.ts.size(); ++i) {
      if (!std::isfinite(v[i])) {
        pen = false;
        continue;
      }
      path += fmt::format("{}{} {} ", pen ? "L" : "M", num(X(st.ts[i])), num(Y(v[i])));
      pen = true;
    }
    const std::string code(currency_code(static_cast<Currency>(c)));
    s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" stroke-linejoin=\"round\"><title>{}</title></path>",
                     path, kCurrencyColors[c], code);
  }
  return s + "</svg>";
}

std::string strength_legend() {
  std::string s = "<div class=\"legend\">";
  for (int c = 0; c < kCurrencyCount; ++c) {
    s += fmt::format("<span><i style=\"background:{}\"></i>{}</span>", kCurrencyColors[c],
                     currency_code(static_cast<Currency>(c)));
  }
  return s + "</div>";
}

std::string eps_histogram(const Report& r) {
  const auto& e = r.eps;
  if (e.values == 0) return "<p class=\"muted\">No triangle eps in the store.</p>";
  const int w = 1000, h = 300, l = 56, rgt = 16, top = 30, bot = 30;
  const double xmax = e.edges.back();
  int64_t cmax = 1;
  for (int64_t c : e.counts) cmax = std::max(cmax, c);
  const double lmax = std::log10(static_cast<double>(cmax) * 1.5);
  const auto X = [&](double bp) { return l + (w - l - rgt) * std::min(bp, xmax) / xmax; };
  const auto Y = [&](int64_t c) { return c <= 0 ? static_cast<double>(h - bot) : (h - bot) - (h - top - bot) * (std::log10(static_cast<double>(c)) + 0.3) / (lmax + 0.3); };
  std::string s = fmt::format(
      "<svg id=\"eps-histogram\" class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"triangular eps distribution\">",
      w, h);
  for (int k = 0; k <= static_cast<int>(lmax); ++k) {
    const int64_t c = static_cast<int64_t>(std::pow(10.0, k));
    s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" class=\"grid\"/><text x=\"{3}\" y=\"{4}\" class=\"axis\" "
                     "text-anchor=\"end\">{5}</text>",
                     l, w - rgt, num(Y(c)), l - 6, num(Y(c) + 4), k <= 3 ? std::to_string(c) : fmt::format("1e{}", k));
  }
  for (int bp = 0; bp <= static_cast<int>(xmax); bp += 5) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{} bp</text>", num(X(bp)), h - 10, bp);
  }
  for (size_t b = 0; b < e.counts.size(); ++b) {
    if (e.counts[b] == 0) continue;
    const double x0 = X(e.edges[b]), x1 = X(e.edges[b + 1]);
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#3b82f6\"><title>|eps| {:.2f}-{:.2f} bp: {} "
                     "values</title></rect>",
                     num(x0), num(Y(e.counts[b])), num(std::max(0.6, x1 - x0 - 0.6)), num(h - bot - Y(e.counts[b])),
                     e.edges[b], e.edges[b + 1], thousands(e.counts[b]));
  }
  // p99 marker and detected opportunities (rug on top).
  s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#64748b\" stroke-dasharray=\"4 3\"/>"
                   "<text x=\"{3}\" y=\"{4}\" class=\"axis\">p99 {5:.2f} bp</text>",
                   num(X(e.abs_p99)), top - 4, h - bot, num(X(e.abs_p99) + 4), top + 10, e.abs_p99);
  std::set<int> drawn;
  for (const auto& o : e.opportunities) {
    if (!std::isfinite(o.max_abs_eps_bp)) continue;
    const int px = static_cast<int>(std::lround(X(o.max_abs_eps_bp)));
    if (!drawn.insert(px).second) continue;
    s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#dc2626\" stroke-width=\"2\"><title>{3} "
                     "{4}: |eps| {5:.2f} bp</title></line>",
                     px, 4, 22, escape(o.pair), format_iso(o.ts), o.max_abs_eps_bp);
  }
  return s + "</svg>";
}

std::string gap_calendar(const Report& r, int gap_fail_minutes) {
  if (r.bars == 0) return "";
  // The days that have data: from the first to the last bar of the selection.
  const int64_t d0 = r.first_bar / kMinutesPerDay, d1 = r.last_bar / kMinutesPerDay + 1;
  std::map<int64_t, int64_t> missing;  // day -> open minutes missing (sum over pairs)
  std::map<int64_t, int> fails;        // day -> gaps beyond the threshold
  std::map<int64_t, std::string> detail;
  for (const auto& g : r.gaps) {
    const int64_t day = g.start / kMinutesPerDay;
    missing[day] += g.open_minutes;
    if (g.open_minutes > gap_fail_minutes) {
      ++fails[day];
      detail[day] += fmt::format(" {} {} min;", g.pair, g.open_minutes);
    }
  }
  int64_t mmax = 1;
  for (const auto& [d, m] : missing) mmax = std::max(mmax, m);
  // Weeks as columns (Monday first), weekdays as rows.
  const int cell = 20, gapx = 4, l = 34, top = 22;
  const int64_t first_monday = d0 - ((d0 + 3) % 7);  // 1970-01-01 was a Thursday
  const int64_t weeks = (d1 - first_monday + 6) / 7;
  const int w = l + static_cast<int>(weeks) * (cell + gapx) + 10, h = top + 7 * (cell + gapx) + 6;
  std::string s = fmt::format(
      "<svg id=\"gap-calendar\" class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"gap calendar\">",
      w, h);
  const char* wd[] = {"Mon", "", "Wed", "", "Fri", "", "Sun"};
  for (int k = 0; k < 7; ++k) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{}</text>", l - 4,
                     top + k * (cell + gapx) + cell - 3, wd[k]);
  }
  int last_month = -1;
  for (int64_t d = d0; d < d1; ++d) {
    const int64_t week = (d - first_monday) / 7, dow = (d - first_monday) % 7;
    const int x = l + static_cast<int>(week) * (cell + gapx), y = top + static_cast<int>(dow) * (cell + gapx);
    const CivilDate cd = civil_from_days(d);
    if (cd.month != last_month && dow == 0) {
      static const char* mn[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
      s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\">{}</text>", x, top - 8, mn[cd.month - 1]);
      last_month = cd.month;
    }
    const bool weekend = dow == 5;  // Saturday: the market is closed all day
    const int64_t m = missing.count(d) ? missing[d] : 0;
    std::string fill = weekend ? "#f1f5f9" : "#dcfce7";
    if (m > 0) {
      const double k = std::sqrt(static_cast<double>(m) / static_cast<double>(mmax));
      fill = k > 0.66 ? "#b45309" : (k > 0.33 ? "#f59e0b" : "#fde68a");
    }
    const bool failed = fails.count(d) > 0;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"{}\"{}><title>{:04d}-{:02d}-{:02d}: {} "
                     "open minutes missing in gaps of {}+ min{}{}</title></rect>",
                     x, y, cell, cell, fill, failed ? " stroke=\"#dc2626\" stroke-width=\"2.5\"" : "", cd.year, cd.month,
                     cd.day, m, kCalendarGapMinutes, failed ? "; beyond the limit:" : "", escape(detail[d]));
  }
  return s + "</svg>";
}

}  // namespace bqx::validate::charts
