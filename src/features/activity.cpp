// activity: tick volume, bar range and spread activity (FEATURES.md 1.10).
//
// Windows count rows (bars of the pair) and end at t inclusive. z-scores are
// (v_t - mean) / std with the sample stdev (ddof 1) over the W values; they are NULL
// while any value in the window is missing (NaN volume, NaN bid/ask) and for a flat
// window (all W values equal, detected exactly with a run-length counter, so a HistData
// feed whose volume is always 0 gives NULL rather than a rounding-noise z-score).
// Moments use RollingMoments (shifted sums, deterministic re-anchoring); a missing value
// enters the sums as 0 and is tracked by a flag ring, so the result stays NULL until the
// missing value has left the window.
#include <array>
#include <cmath>
#include <string>

#include "features/families.h"
#include "features/rolling.h"

namespace bqx::features {
namespace {

// Rolling z-score of the newest value over the last W values, with exact missing,
// non-zero and flatness bookkeeping. O(1) per push.
class ZWindow {
 public:
  explicit ZWindow(size_t window = 2) : window_(window), moments_(window), flags_(window) {}

  void push(double v) {
    const bool missing = !std::isfinite(v);
    const uint8_t f = missing ? kMissing : (v != 0 ? kNonZero : 0);
    uint8_t old = 0;
    if (flags_.push(f, &old)) {
      missing_ -= (old & kMissing) ? 1 : 0;
      nonzero_ -= (old & kNonZero) ? 1 : 0;
    }
    missing_ += (f & kMissing) ? 1 : 0;
    nonzero_ += (f & kNonZero) ? 1 : 0;
    moments_.push(missing ? 0.0 : v);
    if (missing) {
      run_ = 0;
    } else {
      run_ = (run_ > 0 && v == last_) ? run_ + 1 : 1;
      last_ = v;
    }
  }
  // Full window without missing values.
  bool ready() const { return flags_.full() && missing_ == 0; }
  bool flat() const { return run_ >= window_; }
  uint64_t nonzero() const { return nonzero_; }
  double mean() const { return ready() ? moments_.mean() : kNull; }
  // z-score of v (the newest value) against the window.
  double z(double v) const {
    if (!ready() || flat()) return kNull;
    const double sd = std::sqrt(moments_.var_sample());
    if (!(sd > 0)) return kNull;
    return (v - moments_.mean()) / sd;
  }

  void prefetch() const {
    moments_.prefetch();
    flags_.prefetch();
  }

  void save(StateWriter& out) const {
    moments_.save(out);
    flags_.save(out);
    out.put(missing_);
    out.put(nonzero_);
    out.put(run_);
    out.put(last_);
  }
  void load(StateReader& in) {
    moments_.load(in);
    flags_.load(in);
    in.get(missing_);
    in.get(nonzero_);
    in.get(run_);
    in.get(last_);
  }

 private:
  static constexpr uint8_t kMissing = 1, kNonZero = 2;
  uint64_t window_;
  RollingMoments moments_;
  RingBuffer<uint8_t> flags_;
  uint64_t missing_ = 0, nonzero_ = 0;
  uint64_t run_ = 0;  // trailing count of equal non-missing values
  double last_ = 0;
};

// Timestamps of this pair's bars in (t - 60, t]: a monotonic queue of at most 60 entries
// (timestamps strictly increase, so at most 60 distinct minutes fit in the interval).
class RecentBars {
 public:
  static constexpr int64_t kSpan = 60;
  RecentBars() : ts_(kSpan) {}
  uint64_t push(EpochMinute t) {
    while (len_ > 0 && ts_[start_] <= t - kSpan) pop();
    if (len_ == ts_.size()) pop();  // defensive: only reachable with non-increasing ts
    ts_[(start_ + len_) % ts_.size()] = t;
    ++len_;
    return len_;
  }
  // The front (compared, maybe popped) and the slot the next push writes.
  void prefetch() const {
    prefetch_read(&ts_[start_], sizeof(EpochMinute));
    prefetch_write(&ts_[(start_ + len_) % ts_.size()], sizeof(EpochMinute));
  }
  void save(StateWriter& out) const {
    out.put_vector(ts_);
    out.put(start_);
    out.put(len_);
  }
  void load(StateReader& in) {
    in.get_vector(ts_);
    in.get(start_);
    in.get(len_);
    if (start_ >= ts_.size() || len_ > ts_.size()) in.fail();
  }

 private:
  void pop() {
    start_ = (start_ + 1) % ts_.size();
    --len_;
  }
  std::vector<EpochMinute> ts_;
  uint64_t start_ = 0, len_ = 0;
};

constexpr std::array<int, 3> kVolWindows = {15, 60, 240};
constexpr int kRangeWindow = 60;
constexpr int kSpreadWindow = 60;

class ActivityKernel final : public FamilyKernel {
 public:
  explicit ActivityKernel(const KernelContext& ctx)
      : offset_(ctx.offset), range_(kRangeWindow), spread_(kSpreadWindow) {
    for (size_t i = 0; i < kVolWindows.size(); ++i) vol_[i] = ZWindow(kVolWindows[i]);
  }

  void update(const BarInput& bar, double* row) override {
    double* o = row + offset_;
    const double v = bar.volume;
    for (size_t i = 0; i < kVolWindows.size(); ++i) {
      vol_[i].push(v);
      o[i] = vol_[i].z(v);
    }
    // mean(v, 15) / mean(v, 240): NULL with a missing volume in the 240 window or an all-zero one.
    const ZWindow& v15 = vol_[0];
    const ZWindow& v240 = vol_[2];
    o[3] = (v240.ready() && v240.nonzero() > 0) ? v15.mean() / v240.mean() : kNull;
    o[4] = static_cast<double>(recent_.push(bar.ts));
    const double r = (bar.high - bar.low) / bar.close;
    range_.push(r);
    o[5] = range_.z(r);
    double s = kNull;
    if (!std::isnan(bar.bid) && !std::isnan(bar.ask)) {
      const double mid = (bar.ask + bar.bid) / 2;
      s = (bar.ask - bar.bid) / mid * 1e4;
      if (!std::isfinite(s)) s = kNull;
    }
    o[6] = s;
    spread_.push(s);
    o[7] = spread_.z(s);
  }

  void prefetch() const override {
    for (const auto& v : vol_) v.prefetch();
    recent_.prefetch();
    range_.prefetch();
    spread_.prefetch();
  }

  void save(StateWriter& out) const override {
    for (const auto& z : vol_) z.save(out);
    recent_.save(out);
    range_.save(out);
    spread_.save(out);
  }
  void load(StateReader& in) override {
    for (auto& z : vol_) z.load(in);
    recent_.load(in);
    range_.load(in);
    spread_.load(in);
  }

 private:
  int offset_;
  std::array<ZWindow, kVolWindows.size()> vol_;
  RecentBars recent_;
  ZWindow range_;
  ZWindow spread_;
};

}  // namespace

FamilyDef make_activity_family() {
  FamilyDef def;
  def.name = "activity";
  const std::string src = "FEATURES.md 1.10";
  const std::string no_vol =
      "volume missing (NaN) anywhere in the window, or the window is flat (all W volumes equal, e.g. the "
      "all-0 volume of HistData feeds): std = 0";
  for (int w : kVolWindows) {
    def.columns.push_back({"activity_vol_z_" + std::to_string(w), "activity", "W=" + std::to_string(w),
                           "(v_t - mean(v over the W rows ending at t)) / stdev(same, ddof 1); v = tick volume",
                           "z-score", w - 1, src, no_vol, true});
  }
  def.columns.push_back({"activity_vol_ratio_15_240", "activity", "short=15, long=240",
                         "mean(v over the 15 rows ending at t) / mean(v over the 240 rows ending at t)", "ratio", 239,
                         src, "volume missing (NaN) in the 240-row window, or mean over 240 rows = 0 (all zero)",
                         true});
  def.columns.push_back({"activity_bars_last_60min", "activity", "span=60 min",
                         "number of this pair's bars with ts in (t - 60 min, t] (counts the current bar; 1..60)",
                         "bars", 0, src, "", true});
  def.columns.push_back({"activity_range_z_60", "activity", "W=60",
                         "z-score of (high - low)/close (raw prices) over the 60 rows ending at t, stdev ddof 1",
                         "z-score", kRangeWindow - 1, src, "flat window (all 60 values equal): std = 0", true});
  def.columns.push_back({"activity_spread_bp", "activity", "",
                         "(ask - bid) / mid * 1e4, mid = (ask + bid)/2 (bid/ask closes)", "basis points", 0, src,
                         "bid or ask missing", true});
  def.columns.push_back({"activity_spread_z_60", "activity", "W=60",
                         "z-score of activity_spread_bp over the 60 rows ending at t, stdev ddof 1", "z-score",
                         kSpreadWindow - 1, src,
                         "bid/ask missing anywhere in the window, or flat window (std = 0)", true});
  def.make = [](const KernelContext& ctx) { return std::make_unique<ActivityKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
