// The per-pair streaming engine: one bar in, one feature row out (DESIGN.md, "engine").
// The batch driver is the same step in a loop, so batch == stream by construction;
// tests still prove it for every chunking and across snapshot/restore.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/bars.h"
#include "core/result.h"
#include "features/kernel.h"

namespace bqx {

class PairEngine {
 public:
  // families: names to output (empty = all per-pair families). Families they depend on
  // are computed too but not output. baseline is B_p (> 0).
  static Result<PairEngine> create(Pair pair, double baseline, const std::vector<std::string>& families = {});

  PairEngine(PairEngine&&) noexcept;
  PairEngine& operator=(PairEngine&&) noexcept;
  ~PairEngine();

  Pair pair() const { return pair_; }
  double baseline() const { return baseline_; }
  size_t width() const { return output_index_.size(); }           // output columns
  const std::vector<features::ColumnInfo>& columns() const { return output_columns_; }
  uint64_t bars_seen() const { return bars_seen_; }
  EpochMinute last_ts() const { return last_ts_; }

  // One bar -> one row of width() doubles (NaN = NULL). Bars must arrive in strictly
  // increasing ts order (the readers guarantee it).
  void step(const Bar& bar, double* row_out);

  // Hint for multi-pair drivers: fetches the state lines the next step() touches, so a
  // driver can call it for the next pair while this one computes (no effect on results).
  void prefetch() const;

  // An (address, bytes) span of memory, for software prefetching.
  struct MemorySpan {
    const void* address;
    size_t bytes;
  };

  // Family-major stepping, for multi-pair drivers that run one family for all pairs
  // before the next family (each family's code and branch history stay hot across the
  // pairs). The same updates as step(), in the same order per pair, so the same results:
  //   in = bar_input(bar); for k: kernel(k)->update(in, row); finish_step(bar, row).
  // Only for engines whose rows are the computed rows (writes_rows_directly()).
  bool writes_rows_directly() const { return outputs_all_; }
  size_t kernel_count() const { return kernels_.size(); }
  features::FamilyKernel* kernel(size_t k) const { return kernels_[k].get(); }  // stable for the engine's life
  // The row columns kernel k writes: [offset, offset + count).
  struct ColumnRange {
    int offset = 0, count = 0;
    bool read_by_later = false;  // a later family reads some of these columns from the row
  };
  ColumnRange kernel_columns(size_t k) const { return kernel_columns_[k]; }
  features::BarInput bar_input(const Bar& bar) const;
  void finish_step(const Bar& bar, double* row);
  // finish_step for a driver that has NULL-mapped the row itself.
  void finish_step_mapped(const Bar& bar);

  // Rows [begin, end) of the frame, appended row-major to out.
  void run(const BarFrame& frame, size_t begin, size_t end, std::vector<double>& out);

  std::vector<uint8_t> snapshot() const;
  Status restore(const std::vector<uint8_t>& bytes);

 private:
  PairEngine() = default;

  Pair pair_{};
  double baseline_ = 0;
  std::vector<std::unique_ptr<features::FamilyKernel>> kernels_;
  std::vector<ColumnRange> kernel_columns_;       // per kernel: its columns in the computed row
  std::vector<double> internal_row_;              // only when some computed column is not output
  bool outputs_all_ = false;                      // output columns == computed row (identity)
  std::vector<int> output_index_;                 // output column -> internal row index
  std::vector<features::ColumnInfo> output_columns_;
  std::vector<std::string> family_names_;         // computed families (for snapshot checks)
  uint64_t bars_seen_ = 0;
  EpochMinute last_ts_ = 0;
};

// The span a driver prefetches for a kernel object: its first cache line (the vtable
// pointer each call loads first). The object's size is not known here: its dynamic type is
// not, and kernel objects live in the huge-page state arena (features::ArenaPlaced), where
// malloc_usable_size does not apply (ASan rejects it; glibc would read a foreign header).
PairEngine::MemorySpan kernel_object_span(const features::FamilyKernel* kernel);

// Store-free batch: all rows of a frame.
Result<std::vector<double>> compute_pair_features(const BarFrame& frame, double baseline,
                                                  const std::vector<std::string>& families,
                                                  std::vector<features::ColumnInfo>* columns = nullptr);

}  // namespace bqx
