// Money Flow Index with TA-Lib 0.6's flow rule (TA_MFI): tp = (h + l + c) / 3.0; the flow
// tp * volume counts as positive when tp rose against the previous bar, negative when it
// fell, and not at all when unchanged; MFI = 100 * (pos / (pos + neg)) over the last n
// flows. Lookback n (the first flow needs a previous bar).
// NULL (documented deviation from TA-Lib, which prints 0 whenever pos + neg < 1.0):
//   * a window holding a bar whose volume is unknown (NaN), and
//   * pos + neg == 0 (volume all 0, e.g. HistData, or tp unchanged through the window),
//     detected exactly by counting the non-zero flows of each side in the window (a side
//     with no flow counts exactly 0, so MFI is exactly 0 or 100 at the extremes).
// The two sums are recomputed from the window every n updates (deterministic re-anchoring).
#pragma once

#include "features/ta/common.h"

namespace bqx::features::ta {

class Mfi {
 public:
  Mfi() : Mfi(14) {}
  explicit Mfi(int n) : n_(n), pos_(n), neg_(n), bad_(n) {}
  static int lookback(int n) { return n; }

  double update(double h, double l, double c, double volume) {
    const double tp = (h + l + c) / 3.0;
    if (!started_) {
      started_ = true;
      prev_tp_ = tp;
      return kNull;
    }
    const double d = tp - prev_tp_;
    prev_tp_ = tp;
    const bool bad = std::isnan(volume);
    const double flow = tp * volume;
    double p = 0.0, m = 0.0;
    if (!bad) {
      if (d < 0) {
        m = flow;
      } else if (d > 0) {
        p = flow;
      }
    }
    if (pos_.full()) {  // the oldest flow leaves the window first (TA-Lib's order)
      const double op = pos_.next_out(), om = neg_.next_out();
      pos_sum_ -= op;
      neg_sum_ -= om;
      npos_ -= op != 0.0 ? 1 : 0;
      nneg_ -= om != 0.0 ? 1 : 0;
      bad_count_ -= bad_.next_out() != 0.0 ? 1 : 0;
    }
    pos_.push(p);
    neg_.push(m);
    bad_.push(bad ? 1.0 : 0.0);
    pos_sum_ += p;
    neg_sum_ += m;
    npos_ += p != 0.0 ? 1 : 0;
    nneg_ += m != 0.0 ? 1 : 0;
    bad_count_ += bad ? 1 : 0;
    if (++since_ >= static_cast<uint64_t>(n_)) reanchor();
    if (!pos_.full() || bad_count_ > 0 || npos_ + nneg_ == 0) return kNull;
    // A side without a flow in the window is exactly 0 (no running-sum residue).
    const double ps = npos_ > 0 ? pos_sum_ : 0.0, ns = nneg_ > 0 ? neg_sum_ : 0.0;
    const double s = ps + ns;
    return s != 0.0 ? 100.0 * (ps / s) : kNull;
  }

  void save(StateWriter& out) const {
    out.put(started_);
    out.put(prev_tp_);
    pos_.save(out);
    neg_.save(out);
    bad_.save(out);
    out.put(pos_sum_);
    out.put(neg_sum_);
    out.put(npos_);
    out.put(nneg_);
    out.put(bad_count_);
    out.put(since_);
  }
  void load(StateReader& in) {
    in.get(started_);
    in.get(prev_tp_);
    pos_.load(in);
    neg_.load(in);
    bad_.load(in);
    in.get(pos_sum_);
    in.get(neg_sum_);
    in.get(npos_);
    in.get(nneg_);
    in.get(bad_count_);
    in.get(since_);
  }

  // The slot of each ring that the next update reads (the evicted flow) and writes; the
  // whole rings are read only by the re-anchoring every n updates.
  void prefetch() const {
    pos_.prefetch_slot();
    neg_.prefetch_slot();
    bad_.prefetch_slot();
  }

 private:
  void reanchor() {
    since_ = 0;
    pos_sum_ = 0;
    neg_sum_ = 0;
    for (size_t k = pos_.size(); k-- > 0;) {
      pos_sum_ += pos_.back(k);
      neg_sum_ += neg_.back(k);
    }
  }

  int n_;
  bool started_ = false;
  double prev_tp_ = 0;
  Ring pos_, neg_, bad_;
  double pos_sum_ = 0, neg_sum_ = 0;
  int64_t npos_ = 0, nneg_ = 0, bad_count_ = 0;  // non-zero flows per side, unknown volumes
  uint64_t since_ = 0;
};

}  // namespace bqx::features::ta
