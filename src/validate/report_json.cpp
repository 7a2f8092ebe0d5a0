// DIR/report.json: the whole report, machine-readable (times as ISO-8601 UTC).
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "validate/validate.h"

namespace bqx::validate {
namespace {

using Json = nlohmann::ordered_json;

Json time_or_null(EpochMinute t) { return t == kNoTime ? Json(nullptr) : Json(format_iso(t)); }
Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json check_json(const CheckResult& c) {
  Json j;
  j["id"] = c.id;
  j["area"] = c.area;
  j["title"] = c.title;
  j["description"] = c.description;
  j["severity"] = c.severity == Severity::Error ? "error" : "warning";
  j["status"] = c.skipped ? "skipped" : (c.passed ? (c.failed > 0 ? "warning" : "pass") : "fail");
  j["passed"] = c.passed;
  if (c.skipped) j["skip_reason"] = c.skip_reason;
  j["checked"] = c.checked;
  j["failed"] = c.failed;
  Json ex = Json::array();
  for (const auto& f : c.examples) {
    Json e;
    e["pair"] = f.pair;
    e["ts"] = time_or_null(f.ts);
    e["end"] = time_or_null(f.end);
    e["column"] = f.column;
    e["value"] = f.value;
    e["detail"] = f.detail;
    ex.push_back(std::move(e));
  }
  j["examples"] = std::move(ex);
  return j;
}

}  // namespace

std::string report_json_text(const Report& r) {
  Json j;
  j["verdict"] = r.passed() ? "pass" : "fail";
  j["failed_checks"] = r.failed_checks();
  j["db"] = r.db;
  j["generated_at"] = r.generated_at;
  j["pairs"] = r.pairs;
  j["months"] = r.months;
  j["bars"] = r.bars;
  j["feature_rows"] = r.feature_rows;
  j["label_rows"] = r.label_rows;
  Json secs;
  for (const auto& [k, v] : r.seconds) secs[k] = v;
  j["seconds"] = secs;
  Json checks = Json::array();
  for (const auto& c : r.checks) checks.push_back(check_json(c));
  j["checks"] = checks;
  Json cov = Json::array();
  for (const auto& c : r.coverage) {
    cov.push_back({{"pair", c.pair}, {"month", c.month}, {"bars", c.bars}, {"feature_rows", c.feature_rows},
                   {"label_rows", c.label_rows}, {"manifest_features", c.manifest_features},
                   {"manifest_labels", c.manifest_labels}});
  }
  j["coverage"] = cov;
  Json fam = Json::array();
  for (const auto& f : r.family_nulls) {
    fam.push_back({{"family", f.family}, {"cells", f.cells}, {"warmup", f.warmup}, {"conditional", f.conditional},
                   {"unexplained", f.unexplained},
                   {"null_rate", f.cells ? static_cast<double>(f.warmup + f.conditional + f.unexplained) / static_cast<double>(f.cells) : 0.0}});
  }
  j["null_rate_by_family"] = fam;
  Json part = Json::array();
  for (const auto& p : r.partition_nulls) {
    part.push_back({{"pair", p.pair}, {"month", p.month}, {"cells", p.cells}, {"nulls", p.nulls},
                    {"null_rate", p.cells ? static_cast<double>(p.nulls) / static_cast<double>(p.cells) : 0.0}});
  }
  j["null_rate_by_partition"] = part;
  Json gaps = Json::array();
  for (const auto& g : r.gaps) {
    gaps.push_back({{"pair", g.pair}, {"start", format_iso(g.start)}, {"end", format_iso(g.end)}, {"open_minutes", g.open_minutes}});
  }
  j["gaps"] = gaps;
  Json eps;
  eps["values"] = r.eps.values;
  eps["abs_p99_bp"] = r.eps.abs_p99;
  eps["abs_max_bp"] = r.eps.abs_max;
  eps["edges_bp"] = r.eps.edges;
  eps["counts"] = r.eps.counts;
  eps["beyond"] = r.eps.beyond;
  eps["opportunity_rows"] = r.eps.opportunity_rows;
  Json opp = Json::array();
  for (const auto& o : r.eps.opportunities) {
    opp.push_back({{"pair", o.pair}, {"ts", format_iso(o.ts)}, {"max_abs_eps_bp", number_or_null(o.max_abs_eps_bp)},
                   {"max_profit", number_or_null(o.profit_pct)}});
  }
  eps["opportunities"] = opp;
  j["triangle_eps"] = eps;
  Json st;
  st["bucket_minutes"] = r.strengths.bucket_minutes;
  Json ts = Json::array();
  for (EpochMinute t : r.strengths.ts) ts.push_back(format_iso(t));
  st["ts"] = ts;
  for (Currency c : all_currencies()) {
    Json v = Json::array();
    for (double x : r.strengths.values[static_cast<size_t>(c)]) v.push_back(number_or_null(x));
    st[std::string(currency_code(c))] = v;
  }
  j["currency_strength"] = st;
  Json cols = Json::array();
  for (const auto& c : r.columns) {
    cols.push_back({{"name", c.name}, {"family", c.family}, {"non_null", c.non_null}, {"nulls", c.nulls},
                    {"inf", c.inf}, {"nan", c.nan}, {"out_of_range", c.out_of_range}, {"min", c.min}, {"max", c.max},
                    {"checksum", fmt::format("{:016x}", c.checksum)}});
  }
  j["columns"] = cols;
  j["notes"] = r.notes;
  return j.dump(1) + "\n";
}

Status write_report_json(const Report& report, const std::filesystem::path& path) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << report_json_text(report);
    if (!out) return make_error(path.string() + ": cannot write the report");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(path.string() + ": cannot write the report (" + ec.message() + ")");
  return Status::Ok();
}

}  // namespace bqx::validate
