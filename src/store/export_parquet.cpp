#include "store/export_parquet.h"

#include <chrono>
#include <system_error>

#include "features/registry.h"
#include "store/feature_store.h"

namespace bqx::store {

std::filesystem::path parquet_partition_path(const std::filesystem::path& dir, const std::string& kind,
                                             const std::string& pair, const std::string& month) {
  return dir / kind / ("pair=" + pair) / ("month=" + month) / "part-0.parquet";
}

Result<std::map<std::string, std::string>> read_parquet_kv_metadata(Connection& con,
                                                                    const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return make_error(file.string() + ": no such file");
  // Keys and values are BLOBs in parquet_kv_metadata(); decode() gives them back as text.
  auto t = con.query("SELECT decode(key), decode(value) FROM parquet_kv_metadata(" + sql_quote(file.string()) + ")");
  if (!t) return make_error(file.string() + ": " + t.error().message);
  std::map<std::string, std::string> kv;
  for (const auto& row : t->rows) kv[row[0].value_or("")] = row[1].value_or("");
  return kv;
}

namespace {

// True when `file` already holds exactly this partition (same checksum, same catalogue).
bool up_to_date(Connection& con, const std::filesystem::path& file, const ManifestPartition& p) {
  auto kv = read_parquet_kv_metadata(con, file);
  if (!kv) return false;  // missing, partial or foreign file: rewrite it
  auto get = [&](const char* key) {
    auto it = kv->find(key);
    return it == kv->end() ? std::string() : it->second;
  };
  return get("bqx_checksum") == p.checksum && get("bqx_catalogue_version") == features::kCatalogueVersion &&
         get("bqx_rows") == std::to_string(p.rows);
}

Status write_partition(Connection& con, const std::filesystem::path& file, const ManifestPartition& p,
                       uint64_t* bytes) {
  auto bounds = month_bounds(p.month);
  if (!bounds) return bounds.error();
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return make_error(file.parent_path().string() + ": cannot create directory: " + ec.message());
  const std::filesystem::path tmp = file.string() + ".tmp";
  std::filesystem::remove(tmp, ec);  // a leftover of an interrupted export

  const std::string kv = "bqx_catalogue_version: " + sql_quote(features::kCatalogueVersion) +
                         ", bqx_code_version: " + sql_quote(kCodeVersion) + ", bqx_kind: " + sql_quote(p.kind) +
                         ", bqx_pair: " + sql_quote(p.pair) + ", bqx_month: " + sql_quote(p.month) +
                         ", bqx_rows: " + sql_quote(std::to_string(p.rows)) +
                         ", bqx_checksum: " + sql_quote(p.checksum);
  // kind is 'features' or 'labels' (list_manifest_partitions filters), the table's name.
  const std::string sql = "COPY (SELECT * FROM " + p.kind + " WHERE pair = " + sql_quote(p.pair) +
                          " AND ts >= TIMESTAMP " + sql_quote(bounds->begin) + " AND ts < TIMESTAMP " +
                          sql_quote(bounds->end) + " ORDER BY ts) TO " + sql_quote(tmp.string()) +
                          " (FORMAT parquet, COMPRESSION zstd, KV_METADATA {" + kv + "})";
  auto written = con.query(sql);
  if (!written) {
    std::filesystem::remove(tmp, ec);
    return make_error(file.string() + ": " + written.error().message);
  }
  const int64_t rows = written->rows.empty() || !written->rows[0][0] ? -1 : std::stoll(*written->rows[0][0]);
  if (rows != p.rows) {
    std::filesystem::remove(tmp, ec);
    return make_error(p.kind + " " + p.pair + " " + p.month + ": the store holds " + std::to_string(rows) +
                      " rows but its manifest says " + std::to_string(p.rows) +
                      " (store damaged or written concurrently: recompute with `bqx run --force`)");
  }
  *bytes = std::filesystem::file_size(tmp, ec);
  std::filesystem::rename(tmp, file, ec);  // atomic replacement of any previous file
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return make_error(file.string() + ": cannot rename into place: " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

Result<ExportSummary> export_parquet(Connection& con, const std::filesystem::path& dir,
                                     const ExportSelection& selection, const ExportProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  auto parts = list_manifest_partitions(con, selection);
  if (!parts) return parts.error();
  BQX_TRY(ensure_feature_schema(con));  // refuses a store made by another catalogue
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(dir.string() + ": cannot create directory: " + ec.message());

  ExportSummary summary;
  ExportProgress pr;
  pr.total = parts->size();
  for (const auto& p : *parts) {
    const auto file = parquet_partition_path(dir, p.kind, p.pair, p.month);
    const bool skip = !selection.force && up_to_date(con, file, p);
    if (skip) {
      ++summary.skipped;
    } else {
      uint64_t bytes = 0;
      BQX_TRY(write_partition(con, file, p, &bytes));
      ++summary.exported;
      if (p.kind == "features") summary.rows += p.rows;  // a row = a feature row (+ its labels)
      summary.bytes += bytes;
    }
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (progress) {
      ++pr.done;
      pr.what = p.kind + " " + p.pair + " " + p.month;
      pr.skipped = skip;
      pr.rows = summary.rows;
      pr.bytes = summary.bytes;
      pr.seconds = summary.seconds;
      progress(pr);
    }
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace bqx::store
