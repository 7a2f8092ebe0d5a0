// lag: the 61-minute rule (FEATURES.md 3.1). lag{L}_{feature} is the value `feature` had
// on this pair's row t-L (L counts the pair's own rows, like every per-pair window), for
// L in {61, 120, 240} and 16 features of the per-pair and cross-pair families.
// Columns: for each L (61, 120, 240), the 16 features in the order of kFeatures.
//
// A second-order family: MarketEngine runs it per pair over the full feature row
// (per-pair + cross-pair columns), after the cross kernels have written the row.
//
// Inputs that are not (yet) registered. The cross families are developed separately; an
// input column absent from the registry is resolved to index -1 and read as NULL, so the
// lag columns of that feature are always NULL but the family still runs. FamilyDef::inputs
// lists only the inputs that the registry has (MarketEngine::create rejects absent inputs);
// the kernel itself resolves every input by name in KernelContext::layout, so a hand-made
// layout (tests) works the same way.
//
// State: a ring of the last 240 input rows (16 values each, NULLs kept as NULL).
// Lookback: the input's lookback + L. For the cross inputs (cur_index_diff,
// arb_max_abs_eps_bp) the input lookback counts grid rows, so exact_lookback = false.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "features/cross/cross_families.h"
#include "features/registry.h"
#include "features/rolling.h"

namespace bqx::features {
namespace {

constexpr std::array<int, 3> kLags = {61, 120, 240};
constexpr int kMaxLag = 240;
constexpr std::array<const char*, 16> kFeatures = {
    "bqx_w15_return",          "bqx_w30_return",         "bqx_w60_return",          "bqx_w75_return",
    "reg_rate_w60_prediction", "reg_rate_w60_residual",  "reg_rate_w240_r2",        "reg_bqx_w60_prediction",
    "reg_bqx_w60_residual",    "ta_rate_rsi_14",         "ta_rate_macd_12_26_9_hist", "ta_rate_adx_14",
    "stats_rate_ret_std_60",   "cur_index_diff",         "arb_max_abs_eps_bp",      "activity_vol_z_60"};
constexpr size_t kF = kFeatures.size();

using Values = std::array<double, kF>;

// The catalogue entry of an input column among the families computed before the
// second-order ones (per-pair, then cross-pair); info == nullptr if it is not registered.
// (Not all_feature_columns(): that calls second_order_families(), whose initialisation
// is what calls this factory.)
struct Upstream {
  const ColumnInfo* info = nullptr;
  bool cross = false;  // computed by a cross-pair family: its lookback counts grid rows
};
Upstream upstream_column(const std::string& name) {
  for (const auto& f : per_pair_families()) {
    for (const auto& c : f.columns) {
      if (c.name == name) return {&c, false};
    }
  }
  for (const auto& f : cross_families()) {
    for (const auto* cols : {&f.per_pair_columns, &f.global_columns}) {
      for (const auto& c : *cols) {
        if (c.name == name) return {&c, true};
      }
    }
  }
  return {};
}

// The ring of input rows is indexed by the row count (slot = rows % 240; row t - 240 sits in
// the slot row t overwrites). An update touches exactly the rows it reads, t - 61, t - 120 and
// t - 240 (2 lines each, the ring is 64-byte aligned), and prefetch() fetches just those: a
// RingBuffer also fetched its newest row (never read here) and, on push, the slot of the next
// minute (evicted again before then). Snapshot layout as RingBuffer<Values>::save.
//
// Everything update() and prefetch() read sits in the object's first cache line (the vtable
// pointer, the row count, the ring's address, the column indices as int16): MarketEngine fetches
// that line a whole cross phase ahead, so prefetch() no longer waits on a second object line to
// find the ring. The slots of rows not yet seen hold kNull, so a lag reaching before the first
// row reads NULL from its slot (t + 240 - L >= t is unwritten) and every lag is one copy.
class alignas(kCacheLine) LagKernel final : public FamilyKernel {
 public:
  explicit LagKernel(const KernelContext& ctx) : offset_(ctx.offset), storage_(kMaxLag) {
    for (size_t f = 0; f < kF; ++f) {
      const int i = ctx.layout ? ctx.layout->index_of(kFeatures[f]) : -1;
      // int16 keeps the indices in the first line; a row that wide would need int32 here.
      if (i > std::numeric_limits<int16_t>::max()) throw std::length_error("lag: feature row too wide");
      input_[f] = static_cast<int16_t>(i);
    }
    ring_ = storage_.data();
    fill_unseen_with_null();
  }
  LagKernel(const LagKernel&) = delete;
  LagKernel& operator=(const LagKernel&) = delete;

  void update(const BarInput&, double* row) override {
    const uint64_t t = rows_;
    double* out = row + offset_;
    // The reads first: the L = 240 row sits in the slot row t overwrites.
    for (size_t l = 0; l < kLags.size(); ++l) {
      std::memcpy(out + l * kF, ring_[lag_slot(t, kLags[l])].data(), sizeof(Values));
    }
    Values& now = ring_[slot(t)];
    for (size_t f = 0; f < kF; ++f) now[f] = input_[f] >= 0 ? row[input_[f]] : kNull;
    rows_ = t + 1;
  }

  // The next update reads rows t - L (written L minutes ago: cold) and writes row t over row t - 240.
  void prefetch() const override {
    const uint64_t t = rows_;
    prefetch_write(&ring_[slot(t)], sizeof(Values));
    for (size_t l = 0; l + 1 < kLags.size(); ++l) prefetch_read(&ring_[lag_slot(t, kLags[l])], sizeof(Values));
  }
  // As RingBuffer<Values>::save: the ring, the next slot, the filled size, the push count.
  void save(StateWriter& out) const override {
    out.put_vector(storage_);
    out.put<uint64_t>(slot(rows_));
    out.put<uint64_t>(std::min<uint64_t>(rows_, kMaxLag));
    out.put<uint64_t>(rows_);
  }
  void load(StateReader& in) override {
    in.get_vector(storage_);  // (fails unless the size matches: the ring never moves)
    const uint64_t head = in.get<uint64_t>();
    const uint64_t size = in.get<uint64_t>();
    rows_ = in.get<uint64_t>();
    if (head != slot(rows_) || size != std::min<uint64_t>(rows_, kMaxLag)) in.fail();
    fill_unseen_with_null();
  }

 private:
  static_assert(kLags.back() == kMaxLag, "the longest lag reads the slot the update overwrites");
  static size_t slot(uint64_t row) { return static_cast<size_t>(row % kMaxLag); }
  // The slot of row t - L; before row L, an unseen slot (t + 240 - L >= t), which holds kNull.
  static size_t lag_slot(uint64_t t, int lag) { return slot(t + static_cast<uint64_t>(kMaxLag - lag)); }
  void fill_unseen_with_null() {
    for (uint64_t r = rows_; r < static_cast<uint64_t>(kMaxLag); ++r) storage_[slot(r)].fill(kNull);
  }

  // First line: everything update() and prefetch() read (8 + 8 + 8 + 4 + 32 bytes).
  uint64_t rows_ = 0;        // rows seen
  Values* ring_ = nullptr;   // storage_.data(): input row r in slot(r), rows t-240 .. t-1
  int offset_;
  std::array<int16_t, kF> input_{};
  StateVector<Values> storage_;
};

}  // namespace

FamilyDef make_lag_family() {
  FamilyDef def;
  def.name = "lag";
  for (const char* feature : kFeatures) {
    if (upstream_column(feature).info != nullptr) def.inputs.emplace_back(feature);
  }
  for (int lag : kLags) {
    const std::string l = std::to_string(lag);
    for (const char* feature : kFeatures) {
      const std::string name = feature;
      const Upstream up = upstream_column(name);
      const ColumnInfo* in = up.info;
      ColumnInfo c;
      c.name = "lag" + l + "_" + name;
      c.family = "lag";
      c.params = "L=" + l + " rows, feature=" + name;
      c.formula = name + " at this pair's row t-" + l + " (L counts the pair's own rows)";
      c.source = "FEATURES.md 3.1";
      if (in != nullptr) {
        c.unit = in->unit;
        c.lookback = in->lookback + lag;
        // A cross-pair input's lookback counts grid rows, not this pair's rows.
        c.exact_lookback = in->exact_lookback && !up.cross;
        if (up.cross) {
          c.formula += "; lookback = the input's " + std::to_string(in->lookback) + " grid rows + " + l + " rows";
        }
        c.null_when = "fewer than " + l + " earlier rows of the pair, or " + name + " was NULL at row t-" + l +
                      (in->null_when.empty() ? std::string() : " (" + in->null_when + ")");
      } else {
        c.unit = "as " + name;
        c.lookback = lag;
        c.exact_lookback = false;
        c.null_when = "always NULL: the input column " + name + " is not registered in this build";
      }
      def.columns.push_back(std::move(c));
    }
  }
  def.make = [](const KernelContext& ctx) { return std::make_unique<LagKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
