// `bqx export`: copies the computed store (features, labels) to Parquet files or PostgreSQL.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "store/export_parquet.h"
#include "store/export_postgres.h"

namespace bqx::cli {
namespace {

struct ExportOpts {
  std::string db = "bqx.duckdb";
  std::string parquet_dir;
  std::string postgres_url;
  std::string pairs;
  std::string months;
  bool force = false;
  bool quiet = false;
};

int run_export(const ExportOpts& o) {
  if (o.parquet_dir.empty() == o.postgres_url.empty()) {
    return fail("give exactly one target: --parquet DIR or --postgres URL (see bqx export --help)");
  }
  auto selection = store::parse_export_selection(o.pairs, o.months, o.force);
  if (!selection) return fail(selection.error().message);
  if (!std::filesystem::exists(o.db)) return fail(o.db + ": no such store (run `bqx ingest` and `bqx run` first)");
  auto con = store::Connection::open(o.db);
  if (!con) return fail(con.error().message);

  const bool tty = isatty(fileno(stderr));
  const bool parquet = !o.parquet_dir.empty();
  const std::string target = parquet ? o.parquet_dir : store::redact_postgres_url(o.postgres_url);
  auto progress = [&](const store::ExportProgress& p) {
    if (o.quiet) return;
    const double rows_per_s = p.seconds > 0 ? p.rows / p.seconds : 0.0;
    const double mb_per_s = p.seconds > 0 ? p.bytes / 1e6 / p.seconds : 0.0;
    std::fprintf(stderr, "%s[%zu/%zu] %s: %s (%.0f rows/s, %.1f MB/s)%s", tty ? "\r\033[K" : "", p.done, p.total,
                 p.what.c_str(), p.skipped ? "up to date, skipped" : "exported", rows_per_s, mb_per_s,
                 tty ? "" : "\n");
    std::fflush(stderr);
  };
  auto summary = parquet ? store::export_parquet(*con, o.parquet_dir, *selection, progress)
                         : store::export_postgres(*con, o.postgres_url, *selection, progress);
  if (tty && !o.quiet) std::fprintf(stderr, "\r\033[K");
  if (!summary) return fail(summary.error().message);
  const auto& s = *summary;
  const size_t total = s.exported + s.skipped;
  if (total == 0) {
    std::printf("nothing to export: the manifest of %s has no partition%s\n", o.db.c_str(),
                o.pairs.empty() && o.months.empty() ? "" : " matching --pairs/--months");
    return 0;
  }
  std::printf("exported %zu of %zu partition(s) to %s (%zu already up to date, skipped): %lld feature rows, %.1f MB, "
              "%.2f s, %.0f rows/s, %.1f MB/s\n",
              s.exported, total, target.c_str(), s.skipped, static_cast<long long>(s.rows), s.bytes / 1e6, s.seconds,
              s.seconds > 0 ? s.rows / s.seconds : 0.0, s.seconds > 0 ? s.bytes / 1e6 / s.seconds : 0.0);
  return 0;
}

}  // namespace

void register_export(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ExportOpts>();
  auto* cmd = app.add_subcommand(
      "export",
      "Copy computed features and labels to Parquet (hive layout) or PostgreSQL (schema bqx).\n"
      "Partitions (pair x month) come from the store's manifest; one that is already exported with the same\n"
      "checksum is skipped, so an interrupted export resumes when run again.\n"
      "  Parquet:    DIR/features/pair=EURUSD/month=2024-07/part-0.parquet and DIR/labels/..., ZSTD,\n"
      "              catalogue/code version and checksum in the file metadata\n"
      "  PostgreSQL: one table per feature family and bqx.labels (monthly partitions, primary key (pair, ts)),\n"
      "              the view bqx.features, bqx.export_manifest; one transaction per partition");
  cmd->add_option("--db", o->db, "DuckDB store file")->capture_default_str();
  auto* parquet = cmd->add_option("--parquet", o->parquet_dir, "Write Parquet files under this directory")->type_name("DIR");
  auto* postgres = cmd->add_option("--postgres", o->postgres_url,
                                   "Load into PostgreSQL, e.g. postgres://user@127.0.0.1:5432/db (a libpq URL)")
                       ->type_name("URL");
  parquet->excludes(postgres);
  cmd->add_option("--pairs", o->pairs, "all or a comma-separated list, e.g. EURUSD,GBPUSD (default: all)");
  cmd->add_option("--months", o->months, "Comma-separated months, e.g. 2024-07,2024-08 (default: all)");
  cmd->add_flag("--force", o->force, "Re-export partitions that are already up to date");
  cmd->add_flag("-q,--quiet", o->quiet, "No per-partition progress");
  cmd->callback([o, exit_code] { *exit_code = run_export(*o); });
}

}  // namespace bqx::cli
