// Rolling mean / sample variance / extremes over the last W grid rows of a series that may
// be NULL on some rows (used by arb_eps_z_60). NULL rows are skipped: the statistics are
// over the non-NULL values among the last W pushes.
//
// Numerics: sums of (x - ref) with a reference value, recomputed exactly from the window
// (reference moved to the window mean) every W pushes - a schedule that depends only on
// the push count (and immediately when a spike leaves the window), so batch, stream and
// restored runs are bit-identical. A flat window is
// detected exactly, not by comparing a rounded variance with 0: the window's non-NULL values
// are the last count() non-NULL values pushed, so they are all equal exactly when the run of
// equal non-NULL values ending at the newest one is at least count() long (one counter
// instead of a rolling max and min: the same answer as max == min over the window).
#pragma once

#include <cmath>
#include <cstdint>

#include "features/kernel.h"
#include "features/rolling.h"

namespace bqx::features {

class NullableWindowStats {
 public:
  // A value leaving the window with (x - ref)^2 above this multiple of the remaining sum of
  // squares leaves a rounding residue comparable to it: the sums are then recomputed at once.
  static constexpr double kCancellation = 1e3;

  explicit NullableWindowStats(size_t window = 2) : window_(window), values_(window) {}

  void push(double x) {
    double old = kNull;
    const bool dropped = values_.push(x, &old);
    bool spike_left = false;
    if (dropped && !is_null(old)) {
      --count_;
      const double o = old - ref_;
      s1_ -= o;
      s2_ -= o * o;
      spike_left = o * o > kCancellation * s2_;
    }
    if (count_ == 0) s1_ = s2_ = 0.0;  // nothing left: drop any rounding residue
    if (!is_null(x)) {
      if (count_ == 0) ref_ = x;
      ++count_;
      const double d = x - ref_;
      s1_ += d;
      s2_ += d * d;
      equal_run_ = (equal_run_ > 0 && x == last_) ? equal_run_ + 1 : 1;
      last_ = x;
    }
    if (++since_anchor_ >= window_ || (spike_left && count_ > 0)) reanchor();
  }

  uint64_t pushes() const { return values_.pushes(); }
  size_t count() const { return count_; }  // non-NULL values in the window
  double mean() const { return ref_ + s1_ / static_cast<double>(count_); }
  // Sample variance (ddof 1) of the non-NULL values; 0 exactly when they are all equal.
  double var_sample() const {
    if (count_ < 2) return kNull;
    if (equal_run_ >= count_) return 0.0;  // all equal (see the header)
    const double n = static_cast<double>(count_);
    const double m2 = s2_ - s1_ * s1_ / n;
    return (m2 > 0 ? m2 : 0.0) / (n - 1.0);
  }

  void save(StateWriter& out) const {
    values_.save(out);
    out.put<uint64_t>(equal_run_);
    out.put(last_);
    out.put<uint64_t>(count_);
    out.put(ref_);
    out.put(s1_);
    out.put(s2_);
    out.put<uint64_t>(since_anchor_);
  }
  void load(StateReader& in) {
    values_.load(in);
    equal_run_ = in.get<uint64_t>();
    in.get(last_);
    count_ = in.get<uint64_t>();
    in.get(ref_);
    in.get(s1_);
    in.get(s2_);
    since_anchor_ = in.get<uint64_t>();
    if (count_ > window_) in.fail();
  }

 private:
  // Reference = the mean of the window's non-NULL values (not the newest value, which may be a
  // spike), then the shifted sums from scratch, oldest to newest.
  void reanchor() {
    since_anchor_ = 0;
    if (count_ > 0) {
      double sum = 0.0;
      for (size_t k = 0; k < values_.size(); ++k) {
        if (!is_null(values_.front(k))) sum += values_.front(k);
      }
      ref_ = sum / static_cast<double>(count_);
    }
    s1_ = s2_ = 0.0;
    for (size_t k = 0; k < values_.size(); ++k) {
      const double v = values_.front(k);
      if (is_null(v)) continue;
      const double d = v - ref_;
      s1_ += d;
      s2_ += d * d;
    }
  }

  size_t window_;
  RingBuffer<double> values_;
  uint64_t equal_run_ = 0;  // run of equal non-NULL values ending at the newest one
  double last_ = 0;         // the newest non-NULL value
  size_t count_ = 0;
  double ref_ = 0, s1_ = 0, s2_ = 0;
  uint64_t since_anchor_ = 0;
};

}  // namespace bqx::features
