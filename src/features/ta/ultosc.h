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
#include <vector>

#include "features/ta/common.h"

namespace bqx::features::ta {

class UltOsc {
 public:
  UltOsc() : UltOsc(7, 14, 28) {}
  UltOsc(int p1, int p2, int p3) {
    std::array<int, 3> p = {p1, p2, p3};
    std::sort(p.begin(), p.end());
    p_ = p;
    terms_.assign(static_cast<size_t>(p_[2]), Term{});
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
      if (pushes_ >= p) {
        const Term& old = back(p - 1);
        a_[w] -= old.bp;
        b_[w] -= old.tr;
        nz_[w] -= old.tr != 0.0 ? 1 : 0;
      }
      a_[w] += bp;
      b_[w] += tr;
      nz_[w] += tr != 0.0 ? 1 : 0;
    }
    terms_[pos_] = Term{bp, tr};
    if (++pos_ == terms_.size()) pos_ = 0;
    ++pushes_;
    if (++since_ >= static_cast<uint64_t>(p_[2])) reanchor();
    if (pushes_ < terms_.size()) return kNull;
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
    save_ring(out, &Term::bp);
    save_ring(out, &Term::tr);
    out.put(a_);
    out.put(b_);
    out.put(nz_);
    out.put(since_);
  }
  void load(StateReader& in) {
    in.get(started_);
    in.get(prev_close_);
    load_ring(in, &Term::bp);
    load_ring(in, &Term::tr);
    in.get(a_);
    in.get(b_);
    in.get(nz_);
    in.get(since_);
  }

  // The terms the next push evicts (p - 1 pushes back for each period) and the slot it writes.
  void prefetch() const {
    prefetch_write(&terms_[pos_], sizeof(Term));
    for (size_t w = 0; w < 2; ++w) {
      if (pushes_ >= static_cast<uint64_t>(p_[w])) prefetch_read(&back(static_cast<size_t>(p_[w]) - 1), sizeof(Term));
    }
  }

 private:
  // bp and tr of one bar side by side (one ring of pairs: a push reads and writes one line
  // per term instead of one in each of two rings). Slot i % p3 holds push i, as Ring does.
  struct Term {
    double bp = 0, tr = 0;
  };
  // back(0) = newest, back(k) = pushed k pushes ago; k < the number of terms held.
  const Term& back(size_t k) const {
    size_t i = pos_ + terms_.size() - 1 - k;
    if (i >= terms_.size()) i -= terms_.size();
    return terms_[i];
  }
  size_t held() const { return pushes_ < terms_.size() ? static_cast<size_t>(pushes_) : terms_.size(); }
  // Ring::save / load of one of the two series (the format of the two-ring layout).
  void save_ring(StateWriter& out, double Term::*part) const {
    std::vector<double> v(terms_.size());
    for (size_t j = 0; j < terms_.size(); ++j) v[j] = terms_[j].*part;
    out.put_vector(v);
    out.put<uint64_t>(pos_);
    out.put<uint64_t>(pushes_);
  }
  void load_ring(StateReader& in, double Term::*part) {
    std::vector<double> v(terms_.size());
    in.get_vector(v);
    pos_ = in.get<uint64_t>();
    pushes_ = in.get<uint64_t>();
    if (pos_ >= terms_.size()) {
      in.fail();
      pos_ = 0;
      return;
    }
    for (size_t j = 0; j < terms_.size(); ++j) terms_[j].*part = v[j];
  }

  void reanchor() {
    since_ = 0;
    for (size_t w = 0; w < 3; ++w) {
      const size_t p = std::min(static_cast<size_t>(p_[w]), held());
      a_[w] = 0;
      b_[w] = 0;
      for (size_t k = p; k-- > 0;) {
        a_[w] += back(k).bp;
        b_[w] += back(k).tr;
      }
    }
  }

  std::array<int, 3> p_{};
  bool started_ = false;
  double prev_close_ = 0;
  std::vector<Term> terms_;
  size_t pos_ = 0;
  uint64_t pushes_ = 0;
  std::array<double, 3> a_{}, b_{};
  std::array<int64_t, 3> nz_{};
  uint64_t since_ = 0;
};

}  // namespace bqx::features::ta
