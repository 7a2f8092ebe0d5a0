// Ultimate Oscillator as TA-Lib 0.6 (TA_ULTOSC): for each bar from bar 1,
// bp = close - min(low, prev close), tr = TA_TRANGE; with the periods sorted ascending
// (p1 < p2 < p3, as TA-Lib sorts them) and A_p, B_p the sums of bp and tr over the last p
// bars: ULTOSC = 100 * ((4 * (A1/B1) + 2 * (A2/B2) + A3/B3) / 7.0). Lookback p3.
// NULL when any B_p == 0 (flat window: TA-Lib silently drops that term), detected exactly
// by counting the non-zero true ranges per window. Each window sum is updated as TA-Lib does
// (oldest term out, new term in) and recomputed from the window every p3 updates.
#pragma once

#include <algorithm>
#include <array>

#include "features/ta/common.h"

namespace bqx::features::ta {

class UltOsc {
 public:
  UltOsc() : UltOsc(7, 14, 28) {}
  UltOsc(int p1, int p2, int p3) {
    std::array<int, 3> p = {p1, p2, p3};
    std::sort(p.begin(), p.end());
    p_ = p;
    bp_ = Ring(p_[2]);
    tr_ = Ring(p_[2]);
  }
  static int lookback(int p1, int p2, int p3) { return std::max(p1, std::max(p2, p3)); }

  double update(double h, double l, double c) {
    if (!started_) {
      started_ = true;
      prev_close_ = c;
      return kNull;
    }
    const double yc = prev_close_;
    prev_close_ = c;
    const double true_low = l < yc ? l : yc;
    const double bp = c - true_low;
    const double tr = true_range(h, l, yc);
    for (size_t w = 0; w < 3; ++w) {
      const size_t p = static_cast<size_t>(p_[w]);
      if (bp_.pushes() >= p) {
        const double ob = bp_.back(p - 1), ot = tr_.back(p - 1);
        a_[w] -= ob;
        b_[w] -= ot;
        nz_[w] -= ot != 0.0 ? 1 : 0;
      }
      a_[w] += bp;
      b_[w] += tr;
      nz_[w] += tr != 0.0 ? 1 : 0;
    }
    bp_.push(bp);
    tr_.push(tr);
    if (++since_ >= static_cast<uint64_t>(p_[2])) reanchor();
    if (!bp_.full()) return kNull;
    if (nz_[0] == 0 || nz_[1] == 0 || nz_[2] == 0) return kNull;
    double out = 0.0;
    out += 4.0 * (a_[0] / b_[0]);
    out += 2.0 * (a_[1] / b_[1]);
    out += a_[2] / b_[2];
    return 100.0 * (out / 7.0);
  }

  void save(StateWriter& out) const {
    out.put(started_);
    out.put(prev_close_);
    bp_.save(out);
    tr_.save(out);
    out.put(a_);
    out.put(b_);
    out.put(nz_);
    out.put(since_);
  }
  void load(StateReader& in) {
    in.get(started_);
    in.get(prev_close_);
    bp_.load(in);
    tr_.load(in);
    in.get(a_);
    in.get(b_);
    in.get(nz_);
    in.get(since_);
  }

  void prefetch() const {
    bp_.prefetch();
    tr_.prefetch();
  }

 private:
  void reanchor() {
    since_ = 0;
    for (size_t w = 0; w < 3; ++w) {
      const size_t p = std::min(static_cast<size_t>(p_[w]), bp_.size());
      a_[w] = 0;
      b_[w] = 0;
      for (size_t k = p; k-- > 0;) {
        a_[w] += bp_.back(k);
        b_[w] += tr_.back(k);
      }
    }
  }

  std::array<int, 3> p_{};
  bool started_ = false;
  double prev_close_ = 0;
  Ring bp_, tr_;
  std::array<double, 3> a_{}, b_{};
  std::array<int64_t, 3> nz_{};
  uint64_t since_ = 0;
};

}  // namespace bqx::features::ta
