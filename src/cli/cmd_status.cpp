#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "store/bar_store.h"

namespace bqx::cli {

void register_status(CLI::App& app, int* exit_code) {
  auto db = std::make_shared<std::string>("bqx.duckdb");
  auto* cmd = app.add_subcommand("status", "Pairs, bars per pair and month, first/last bar, gaps");
  cmd->add_option("--db", *db, "DuckDB store file")->capture_default_str();
  cmd->callback([db, exit_code] {
    if (!std::filesystem::exists(*db)) {
      *exit_code = fail(*db + ": no such store (run `bqx ingest` first)");
      return;
    }
    auto con = store::Connection::open(*db);
    if (!con) {
      *exit_code = fail(con.error().message);
      return;
    }
    if (auto st = store::ensure_schema(*con); !st) {
      *exit_code = fail(st.error().message);
      return;
    }
    auto pairs = store::list_pairs(*con);
    auto months = store::month_counts(*con);
    if (!pairs || !months) {
      *exit_code = fail(!pairs ? pairs.error().message : months.error().message);
      return;
    }
    int64_t total = 0;
    EpochMinute first = 0, last = 0;
    for (const auto& m : *months) {
      if (total == 0 || m.first < first) first = m.first;
      if (total == 0 || m.last > last) last = m.last;
      total += m.bars;
    }
    std::printf("%s: %zu pair(s), %lld bars", db->c_str(), pairs->size(), static_cast<long long>(total));
    if (total > 0) std::printf(", %s .. %s UTC", format_compact(first).c_str(), format_compact(last).c_str());
    std::printf("\n\n%-7s %-8s %8s  %-16s  %-16s  %6s  %s\n", "pair", "month", "bars", "first bar (UTC)",
                "last bar (UTC)", "gaps", "longest gap (min)");
    for (const auto& m : *months) {
      std::printf("%-7s %-8s %8lld  %-16s  %-16s  %6lld  %lld\n", pair_name(m.pair).c_str(),
                  format_month(m.month).c_str(), static_cast<long long>(m.bars), format_compact(m.first).c_str(),
                  format_compact(m.last).c_str(), static_cast<long long>(m.gaps),
                  static_cast<long long>(m.longest_gap));
    }
    std::printf("\n%-7s %12s  %s\n", "pair", "baseline", "baseline bar (UTC)");
    for (const auto& p : *pairs) {
      std::printf("%-7s %12.6f  %s\n", pair_name(p.pair).c_str(), p.baseline, format_compact(p.baseline_ts).c_str());
    }
    std::printf("\ngaps: breaks of more than one minute while the market is open (weekly close excluded)\n");
    // Computed features (bqx run): partitions, rows and one checksum over every partition's
    // checksum, so two stores with the same results print the same line.
    auto computed = con->query(
        "SELECT kind, count(*), sum(rows), min(month), max(month), "
        "string_agg(checksum, ',' ORDER BY pair, month) FROM manifest GROUP BY kind ORDER BY kind");
    if (computed && !computed->rows.empty()) {
      std::printf("\ncomputed (bqx run):\n");
      for (const auto& row : computed->rows) {
        uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the partition checksums' text
        for (const char c : row[5].value_or("")) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
        std::printf("  %-8s %4s partitions, %10s rows, %s .. %s, checksum %016llx\n", row[0].value_or("").c_str(),
                    row[1].value_or("0").c_str(), row[2].value_or("0").c_str(), row[3].value_or("").c_str(),
                    row[4].value_or("").c_str(), static_cast<unsigned long long>(h));
      }
    } else {
      std::printf("\nno features computed yet (run `bqx run`)\n");
    }
    *exit_code = 0;
  });
}

}  // namespace bqx::cli
