// DIR/report.html: one self-contained page (inline CSS and SVG; no script, no font or
// image from anywhere). Verdict first, then what failed, then the charts.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "validate/charts.h"
#include "validate/validate.h"

namespace bqx::validate {
namespace {

using charts::escape;

constexpr const char* kStyle = R"CSS(
:root{--ok:#16a34a;--bad:#dc2626;--warn:#d97706;--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 28px 60px}
h1{font-size:22px;margin:0 0 2px;letter-spacing:-.01em}
h2{font-size:17px;margin:34px 0 10px}
.sub{color:var(--muted);font-size:13px}
.verdict{display:flex;align-items:center;gap:18px;border-radius:14px;padding:20px 24px;margin:18px 0 14px;color:#fff}
.verdict.pass{background:linear-gradient(135deg,#15803d,#22c55e)}
.verdict.fail{background:linear-gradient(135deg,#b91c1c,#ef4444)}
.verdict .big{font-size:34px;font-weight:800;letter-spacing:.02em}
.verdict .what{font-size:16px;opacity:.95}
.tiles{display:grid;grid-template-columns:repeat(6,1fr);gap:10px}
.tile{background:#fff;border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.tile b{display:block;font-size:19px}
.tile span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.card{background:#fff;border:1px solid var(--line);border-radius:12px;padding:16px 18px;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid #f1f5f9;padding:5px 8px;vertical-align:top;overflow-wrap:anywhere}
td.nowrap{white-space:nowrap}td.value{max-width:280px}
.mono,td.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.pill{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600}
.pill.pass{background:#dcfce7;color:#166534}.pill.fail{background:#fee2e2;color:#991b1b}
.pill.skipped{background:#f1f5f9;color:#475569}.pill.warning{background:#fef3c7;color:#92400e}
.failed-check{margin:0 0 18px}
.failed-check h3{font-size:15px;margin:0 0 4px;color:var(--bad)}
.failed-check p{margin:0 0 8px;color:var(--muted);font-size:13px}
.chart{max-width:100%;height:auto;display:block}
.chart text{font-family:inherit}
.axis{font-size:11px;fill:#475569}.cell{font-size:10px;fill:#fff;font-weight:600}
.grid{stroke:#e2e8f0;stroke-width:1}.zero{stroke:#94a3b8;stroke-width:1}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:13px;margin:8px 0 0}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:5px;vertical-align:-1px}
.muted{color:var(--muted)}
.two{display:grid;grid-template-columns:1fr 1fr;gap:16px}
footer{margin-top:36px;color:var(--muted);font-size:12px}
)CSS";

std::string thousands(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return (v < 0 ? "-" : "") + s;
}

std::string status_of(const CheckResult& c) {
  if (c.skipped) return "skipped";
  if (!c.passed) return "fail";
  return c.failed > 0 ? "warning" : "pass";
}

std::string when(const Finding& f) {
  if (f.ts == kNoTime) return "";
  std::string s = format_compact(f.ts);
  if (f.end != kNoTime && f.end != f.ts) s += " &rarr; " + format_compact(f.end);
  return s;
}

std::string examples_table(const CheckResult& c, size_t max_rows) {
  std::string s = "<table><thead><tr><th>pair</th><th>time (UTC)</th><th>column</th><th>value</th><th>detail</th></tr></thead><tbody>";
  for (size_t i = 0; i < c.examples.size() && i < max_rows; ++i) {
    const Finding& f = c.examples[i];
    s += fmt::format("<tr><td class=\"mono nowrap\">{}</td><td class=\"mono nowrap\">{}</td><td class=\"mono\">{}</td>"
                     "<td class=\"mono value\">{}</td><td>{}</td></tr>",
                     escape(f.pair), when(f), escape(f.column), escape(f.value), escape(f.detail));
  }
  s += "</tbody></table>";
  if (c.failed > static_cast<int64_t>(std::min(max_rows, c.examples.size()))) {
    s += fmt::format("<p class=\"muted\">{} more not shown (report.json keeps the first {}).</p>",
                     thousands(c.failed - static_cast<int64_t>(std::min(max_rows, c.examples.size()))), c.examples.size());
  }
  return s;
}

}  // namespace

std::string report_html_text(const Report& r) {
  const bool pass = r.passed();
  int run = 0, skipped = 0;
  for (const auto& c : r.checks) (c.skipped ? skipped : run) += 1;
  const double total = r.seconds.count("total") ? r.seconds.at("total") : 0.0;
  std::string h;
  h += "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
       "<title>BQX validation: " + std::string(pass ? "PASS" : "FAIL") + "</title><style>" + kStyle + "</style></head><body><main>";
  h += "<h1>BQX validation report</h1>";
  h += fmt::format("<div class=\"sub\">{} &middot; {} pairs &middot; {} &middot; generated {}</div>", escape(r.db),
                   r.pairs.size(),
                   r.months.empty() ? std::string() : escape(r.months.front() + (r.months.size() > 1 ? " to " + r.months.back() : "")),
                   escape(r.generated_at));
  h += fmt::format(
      "<section id=\"verdict\" class=\"verdict {}\"><div class=\"big\">{}</div><div class=\"what\">{}</div></section>",
      pass ? "pass" : "fail", pass ? "PASS" : "FAIL",
      pass ? fmt::format("All {} checks passed{}.", run, skipped ? fmt::format(" ({} not applicable)", skipped) : "")
           : fmt::format("{} of {} checks failed.", r.failed_checks(), run));
  h += "<div class=\"tiles\">";
  const auto tile = [&](const std::string& v, const std::string& k) {
    h += "<div class=\"tile\"><b>" + v + "</b><span>" + k + "</span></div>";
  };
  tile(std::to_string(r.pairs.size()), "pairs");
  tile(std::to_string(r.months.size()), "months");
  tile(thousands(r.bars), "bars");
  tile(thousands(r.feature_rows), "feature rows");
  tile(r.columns.empty() ? "&mdash;" : std::to_string(r.columns.size()), "feature columns");
  tile(fmt::format("{:.1f} s", total), "validation time");
  h += "</div>";

  // Failed checks first: what people need to act on.
  h += "<h2>Failed checks</h2><section id=\"failed-checks\" class=\"card\">";
  if (pass) {
    h += "<p class=\"muted\">No check failed.</p><table><tbody></tbody></table>";
  } else {
    for (const auto& c : r.checks) {
      if (c.passed) continue;
      h += fmt::format("<div class=\"failed-check\" data-check=\"{}\"><h3>{} <span class=\"mono muted\">{}</span></h3>"
                       "<p>{} &mdash; {} of {} failed.</p>",
                       escape(c.id), escape(c.title), escape(c.id), escape(c.description), thousands(c.failed),
                       thousands(c.checked));
      h += examples_table(c, 10) + "</div>";
    }
  }
  h += "</section>";

  h += "<h2>Coverage: pair &times; month</h2><section class=\"card\">" + charts::coverage_heatmap(r) +
       "<div class=\"legend\"><span><i style=\"background:#16a34a\"></i>every bar has a feature and a label row, manifest "
       "complete</span><span><i style=\"background:#f59e0b\"></i>rows complete, manifest missing or partly computed</span>"
       "<span><i style=\"background:#dc2626\"></i>rows missing or extra</span><span><i style=\"background:#cbd5e1\"></i>bars "
       "only</span></div><p class=\"muted\">Cell text: bars in the partition.</p></section>";

  h += "<h2>NULL rate by family</h2><section class=\"card\">" + charts::null_rate_bars(r) +
       "<div class=\"legend\"><span><i style=\"background:#94a3b8\"></i>inside the published lookback (warm-up)</span>"
       "<span><i style=\"background:#f59e0b\"></i>under the documented NULL condition</span><span><i "
       "style=\"background:#dc2626\"></i>unexplained</span></div></section>";

  h += fmt::format("<h2>Currency strengths</h2><section class=\"card\">{}{}<p class=\"muted\">cur_*_strength, mean per "
                   "{}-minute bucket (least-squares currency strengths, log units; they sum to 0).</p></section>",
                   charts::strength_lines(r), charts::strength_legend(), r.strengths.bucket_minutes);

  h += fmt::format("<h2>Triangular eps</h2><section class=\"card\">{}<p class=\"muted\">|eps| of every triangle "
                   "(arb_*_eps_bp), one value per grid minute, log count scale: {} values, p99 {:.2f} bp, max {:.2f} bp. "
                   "<span style=\"color:#dc2626\">Red ticks</span>: rows the arb family flagged as opportunities "
                   "(arb_opportunity = 1, at arb_max_abs_eps_bp), {} rows.</p></section>",
                   charts::eps_histogram(r), thousands(r.eps.values), r.eps.abs_p99, r.eps.abs_max,
                   thousands(r.eps.opportunity_rows));

  int gap_limit = 45;
  for (const auto& c : r.checks) {
    if (c.id == "bars.gaps") {
      const auto p = c.description.find("longer than ");
      if (p != std::string::npos) gap_limit = std::atoi(c.description.c_str() + p + 12);
    }
  }
  h += fmt::format("<h2>Gap calendar</h2><section class=\"card\">{}<div class=\"legend\"><span><i style=\"background:#dcfce7\">"
                   "</i>no gap of {}+ minutes</span><span><i style=\"background:#fde68a\"></i><i style=\"background:#f59e0b\"></i>"
                   "<i style=\"background:#b45309\"></i>open-market minutes missing (all pairs)</span><span><i style=\"border:2.5px "
                   "solid #dc2626\"></i>a gap beyond {} minutes</span></div>",
                   charts::gap_calendar(r, gap_limit), kCalendarGapMinutes, gap_limit);
  std::vector<Gap> longest = r.gaps;
  std::sort(longest.begin(), longest.end(), [](const Gap& a, const Gap& b) { return a.open_minutes > b.open_minutes; });
  if (!longest.empty()) {
    h += "<table style=\"margin-top:12px\"><thead><tr><th>longest gaps</th><th>from (UTC)</th><th>to</th><th>open minutes</th></tr></thead><tbody>";
    for (size_t i = 0; i < longest.size() && i < 8; ++i) {
      h += fmt::format("<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                       escape(longest[i].pair), format_compact(longest[i].start), format_compact(longest[i].end),
                       longest[i].open_minutes);
    }
    h += "</tbody></table>";
  }
  h += "</section>";

  h += "<h2>All checks</h2><section id=\"checks\" class=\"card\"><table><thead><tr><th>status</th><th>check</th><th>area</th>"
       "<th>checked</th><th>failed</th><th>rule</th></tr></thead><tbody>";
  for (const auto& c : r.checks) {
    const std::string st = status_of(c);
    h += fmt::format("<tr><td><span class=\"pill {0}\">{0}</span></td><td><b>{1}</b><br><span class=\"mono muted\">{2}</span>"
                     "</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{6}</td></tr>",
                     st, escape(c.title), escape(c.id), escape(c.area), thousands(c.checked), thousands(c.failed),
                     escape(c.skipped ? c.skip_reason : c.description));
  }
  h += "</tbody></table></section>";

  h += "<footer>";
  for (const auto& [k, v] : r.seconds) h += fmt::format("{} {:.2f} s &middot; ", escape(k), v);
  for (const auto& n : r.notes) h += "<br>" + escape(n);
  h += "<br>Generated by <span class=\"mono\">bqx validate</span>; the same data is in report.json.</footer>";
  h += "</main></body></html>\n";
  return h;
}

Status write_report_html(const Report& report, const std::filesystem::path& path) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << report_html_text(report);
    if (!out) return make_error(path.string() + ": cannot write the report");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(path.string() + ": cannot write the report (" + ec.message() + ")");
  return Status::Ok();
}

}  // namespace bqx::validate
