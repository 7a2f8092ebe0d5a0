// Shared building blocks of the streaming TA kernels (FEATURES.md 1.4 / 1.5).
//
// Every kernel in src/features/ta/ is a small header-only class with plain members (no
// virtual calls), parameters fixed at construction, an O(1) (amortised) or documented
// O(period) `update`, and save/load of its whole state. They reproduce TA-Lib 0.6's
// arithmetic (same operations in the same order wherever that is cheap), with two
// deliberate differences that the catalogue documents:
//   * undefined values (0/0, flat window, missing volume) are NULL (NaN), never TA-Lib's
//     0 / 50 placeholders; zero tests are exact (TA-Lib treats |v| < 1e-14 as zero);
//   * long-running window sums are recomputed exactly from the window every `period`
//     updates (deterministic re-anchoring, DESIGN.md numerics policy) and level windows
//     are summed as deviations from a reference value, where TA-Lib keeps raw running
//     sums (and raw sums of squared levels in BBANDS/STDDEV).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "features/kernel.h"

namespace bqx::features::ta {

// TA-Lib's PER_TO_K: the EMA smoothing factor 2 / (period + 1).
inline double per_to_k(int period) { return 2.0 / static_cast<double>(period + 1); }

// TA-Lib's TRUE_RANGE / TA_TRANGE: max(h - l, |yc - h|, |yc - l|), same comparisons.
inline double true_range(double h, double l, double yc) {
  double out = h - l;
  const double a = std::fabs(yc - h);
  if (a > out) out = a;
  const double b = std::fabs(yc - l);
  if (b > out) out = b;
  return out;
}

// The last n values. The i-th push (0-based) lands in slot i % n, as TA-Lib's CIRCBUF does
// when a function starts at index 0, so a sum over slots 0..n-1 adds in TA-Lib's order.
class Ring {
 public:
  Ring() : v_(1, 0.0) {}
  explicit Ring(int n) : v_(static_cast<size_t>(n < 1 ? 1 : n), 0.0) {}
  size_t capacity() const { return v_.size(); }
  uint64_t pushes() const { return pushes_; }
  size_t size() const { return pushes_ < v_.size() ? static_cast<size_t>(pushes_) : v_.size(); }
  bool full() const { return pushes_ >= v_.size(); }
  // The value the next push overwrites (the oldest one once full).
  double next_out() const { return v_[pos_]; }
  void push(double x) {
    v_[pos_] = x;
    if (++pos_ == v_.size()) pos_ = 0;
    ++pushes_;
  }
  // back(0) = newest, back(k) = pushed k pushes ago; k < size().
  double back(size_t k) const {
    size_t i = pos_ + v_.size() - 1 - k;
    if (i >= v_.size()) i -= v_.size();
    return v_[i];
  }
  double slot(size_t j) const { return v_[j]; }
  const double* data() const { return v_.data(); }
  // Physical slot of the oldest value when full (the next one to be overwritten).
  size_t pos() const { return pos_; }
  void save(StateWriter& out) const {
    out.put_vector(v_);
    out.put<uint64_t>(pos_);
    out.put<uint64_t>(pushes_);
  }
  void load(StateReader& in) {
    in.get_vector(v_);
    pos_ = in.get<uint64_t>();
    pushes_ = in.get<uint64_t>();
    if (pos_ >= v_.size()) in.fail();
  }

  // Fetches the lines the next push and reads touch (a hint, no effect on results): the
  // whole ring when it spans at most 8 cache lines (the kernels read several lags or the
  // whole window), else the write slot and the newest value.
  void prefetch() const {
    const size_t bytes = v_.size() * sizeof(double);
    if (bytes <= 8 * kCacheLine) {
      prefetch_read(v_.data(), bytes);
      return;
    }
    prefetch_write(&v_[pos_], sizeof(double));
    prefetch_read(&v_[pos_ == 0 ? v_.size() - 1 : pos_ - 1], sizeof(double));
  }
  // Only the slot the next push reads (next_out) and writes: for the rings whose other
  // slots are read only by a periodic re-anchoring (a whole short ring is 2-3 lines).
  void prefetch_slot() const { prefetch_write(&v_[pos_], sizeof(double)); }
  // prefetch_slot() and the slot after it (next_out() once that push is done).
  void prefetch_slot_and_next() const {
    prefetch_write(&v_[pos_], sizeof(double));
    prefetch_read(&v_[pos_ + 1 == v_.size() ? 0 : pos_ + 1], sizeof(double));
  }

 private:
  std::vector<double> v_;
  size_t pos_ = 0;
  uint64_t pushes_ = 0;
};

// Rolling mean (and, with kVar, population variance) of the last n values. Sums are kept
// as deviations from a reference value (never raw levels or raw squared levels) and are
// recomputed exactly from the window, with the reference moved to the newest value, every
// n pushes; the schedule depends only on the push count, so batch, stream and restored runs
// are bit-identical. A window whose n values are all equal is detected exactly by the
// length of the run of equal values: its mean is that value and its variance exactly 0.
template <bool kVar>
class RollingMean {
 public:
  RollingMean() : RollingMean(1) {}
  explicit RollingMean(int n) : n_(n < 1 ? 1 : n), inv_n_(1.0 / static_cast<double>(n_)), ring_(n) {}
  int period() const { return n_; }
  bool ready() const { return ring_.full(); }
  uint64_t pushes() const { return ring_.pushes(); }

  void push(double x) {
    if (ring_.pushes() == 0) {
      ref_ = x;
      last_ = x;
    }
    const bool evict = ring_.full();
    const double old = ring_.next_out();
    ring_.push(x);
    const double d = x - ref_;
    if (evict) {  // one add per sum on the loop-carried chain: s += (new - old)
      const double o = old - ref_;
      s1_ += d - o;
      if constexpr (kVar) s2_ += d * d - o * o;
    } else {
      s1_ += d;
      if constexpr (kVar) s2_ += d * d;
    }
    run_ = (x == last_) ? run_ + 1 : 1;
    last_ = x;
    if (++since_ >= static_cast<uint64_t>(n_)) reanchor();
  }
  bool flat() const { return run_ >= static_cast<uint64_t>(n_); }
  // Mean of the window (valid when ready()).
  double mean() const { return flat() ? last_ : ref_ + s1_ * inv_n_; }
  // x - mean, computed from the deviations (no cancellation between two levels).
  double deviation(double x) const { return flat() ? x - last_ : (x - ref_) - s1_ * inv_n_; }
  // Population variance (divide by n), exactly 0 for a flat window, clamped at 0.
  double var_population() const {
    static_assert(kVar, "variance needs RollingMean<true>");
    if (flat()) return 0.0;
    const double m2 = s2_ - s1_ * (s1_ * inv_n_);
    return m2 > 0 ? m2 * inv_n_ : 0.0;
  }
  const Ring& ring() const { return ring_; }
  // Mean and population variance together (one flat test).
  void mean_var(double& mean, double& var) const {
    static_assert(kVar, "variance needs RollingMean<true>");
    if (flat()) {
      mean = last_;
      var = 0.0;
      return;
    }
    const double dm = s1_ * inv_n_;
    mean = ref_ + dm;
    const double m2 = s2_ - s1_ * dm;
    var = m2 > 0 ? m2 * inv_n_ : 0.0;
  }

  void save(StateWriter& out) const {
    ring_.save(out);
    out.put(ref_);
    out.put(s1_);
    out.put(s2_);
    out.put(last_);
    out.put(run_);
    out.put(since_);
  }
  void load(StateReader& in) {
    ring_.load(in);
    in.get(ref_);
    in.get(s1_);
    in.get(s2_);
    in.get(last_);
    in.get(run_);
    in.get(since_);
  }

  // A push reads and writes one slot; only a push that re-anchors reads the whole window.
  void prefetch() const {
    if (since_ + 1 >= static_cast<uint64_t>(n_)) {
      ring_.prefetch();
    } else {
      ring_.prefetch_slot();
    }
  }

 private:
  void reanchor() {
    since_ = 0;
    ref_ = ring_.back(0);
    s1_ = 0;
    s2_ = 0;
    // Oldest to newest: a fixed order. Re-anchoring happens every n pushes, so the ring is
    // full (slots pos .. n-1 then 0 .. pos-1) or, on the first window, exactly full too.
    const size_t cap = ring_.capacity(), cnt = ring_.size();
    const double* v = ring_.data();
    size_t j = cnt == cap ? ring_.pos() : 0;
    for (size_t k = 0; k < cnt; ++k) {
      const double d = v[j] - ref_;
      s1_ += d;
      if constexpr (kVar) s2_ += d * d;
      if (++j == cap) j = 0;
    }
  }

  int n_;
  double inv_n_;
  Ring ring_;
  double ref_ = 0, s1_ = 0, s2_ = 0, last_ = 0;
  uint64_t run_ = 0, since_ = 0;
};

// Mean of the last n values of a series that may hold NULLs (a smoothing stage after a
// value that can be undefined, e.g. %K of a flat window): NULL unless all n are defined.
// Summed directly in chronological order (n is small: 3 in the catalogue).
class NullableMean {
 public:
  NullableMean() : NullableMean(1) {}
  explicit NullableMean(int n) : n_(n < 1 ? 1 : n), ring_(n) {}
  bool ready() const { return ring_.full(); }
  uint64_t pushes() const { return ring_.pushes(); }
  double push(double x) {
    const bool evict = ring_.full();
    if (evict && std::isnan(ring_.next_out())) --nulls_;
    if (std::isnan(x)) ++nulls_;
    ring_.push(x);
    if (!ring_.full() || nulls_ > 0) return kNull;
    const double* v = ring_.data();
    const size_t n = static_cast<size_t>(n_);
    double s = 0;
    for (size_t k = 0, j = ring_.pos(); k < n; ++k) {  // oldest to newest
      s += v[j];
      if (++j == n) j = 0;
    }
    return s / static_cast<double>(n_);
  }
  void save(StateWriter& out) const {
    ring_.save(out);
    out.put(nulls_);
  }
  void load(StateReader& in) {
    ring_.load(in);
    in.get(nulls_);
  }

  void prefetch() const { ring_.prefetch(); }

 private:
  int n_;
  Ring ring_;
  int64_t nulls_ = 0;
};

// Sliding maximum (kMax) or minimum of the last w values with the push index of the
// extreme; ties keep the NEWEST occurrence (TA-Lib AROON's >= / <= rule). Monotonic deque
// in power-of-two ring arrays (amortised O(1), no modulo).
template <bool kMax>
class MonoDeque {
 public:
  MonoDeque() : MonoDeque(1) {}
  explicit MonoDeque(int w) : w_(static_cast<uint64_t>(w < 1 ? 1 : w)) {
    size_t cap = 1;
    while (cap < w_) cap <<= 1;
    mask_ = cap - 1;
    entries_.assign(cap, Entry{});
  }
  void push(double x) {
    if (len_ > 0 && entries_[head_].idx + w_ <= count_) {
      head_ = (head_ + 1) & mask_;
      --len_;
    }
    while (len_ > 0) {
      const double b = entries_[(head_ + len_ - 1) & mask_].val;
      if (kMax ? (b <= x) : (b >= x)) {
        --len_;
      } else {
        break;
      }
    }
    entries_[(head_ + len_) & mask_] = Entry{x, count_};
    ++len_;
    ++count_;
  }
  bool full() const { return count_ >= w_; }
  double value() const { return entries_[head_].val; }
  uint64_t index() const { return entries_[head_].idx; }  // push index (0-based) of the extreme
  uint64_t count() const { return count_; }
  // Saved as two arrays (values, then push indices), the format of the two-array layout.
  void save(StateWriter& out) const {
    std::vector<double> vals(entries_.size());
    std::vector<uint64_t> idx(entries_.size());
    for (size_t j = 0; j < entries_.size(); ++j) {
      vals[j] = entries_[j].val;
      idx[j] = entries_[j].idx;
    }
    out.put_vector(vals);
    out.put_vector(idx);
    out.put<uint64_t>(head_);
    out.put<uint64_t>(len_);
    out.put(count_);
  }
  void load(StateReader& in) {
    std::vector<double> vals(entries_.size());
    std::vector<uint64_t> idx(entries_.size());
    in.get_vector(vals);
    in.get_vector(idx);
    head_ = in.get<uint64_t>();
    len_ = in.get<uint64_t>();
    in.get(count_);
    if (head_ > mask_ || len_ > mask_ + 1) {
      in.fail();
      head_ = len_ = 0;
      return;
    }
    for (size_t j = 0; j < entries_.size(); ++j) entries_[j] = Entry{vals[j], idx[j]};
  }

  // The front (read, maybe evicted) and the back (compared, then written after it).
  void prefetch() const {
    const size_t back = (head_ + (len_ > 0 ? len_ - 1 : 0)) & mask_;
    const size_t next = (head_ + len_) & mask_;
    prefetch_read(&entries_[head_], sizeof(Entry));
    prefetch_write(&entries_[back], sizeof(Entry));
    prefetch_write(&entries_[next], sizeof(Entry));
  }

 private:
  // Value and push index side by side: the entries a push reads and writes are one line
  // each, not one line in each of two arrays.
  struct Entry {
    double val = 0;
    uint64_t idx = 0;
  };
  uint64_t w_;
  size_t mask_ = 0;
  std::vector<Entry> entries_;
  size_t head_ = 0, len_ = 0;
  uint64_t count_ = 0;
};

// Sliding maximum (kMax) or minimum of the last n values by the van Herk / Gil-Werman
// block method: pushes are cut into blocks of n; the running extreme of the current block
// (prefix) and the suffix extremes of the previous block (computed once when a block
// completes: O(n) every n pushes) give the window extreme as one comparison:
// window [t-n+1, t] = previous block's slots o+1..n-1 plus current block's slots 0..o.
// Amortised O(1), exact (comparisons only), deterministic in the push count.
template <bool kMax>
class WindowExtreme {
 public:
  WindowExtreme() : WindowExtreme(1) {}
  explicit WindowExtreme(int n) : n_(static_cast<size_t>(n < 1 ? 1 : n)), buf_(n_, 0.0), suf_(n_, 0.0) {}
  void push(double x) {
    buf_[pos_] = x;
    prefix_ = (pos_ == 0 || better(x, prefix_)) ? x : prefix_;
    if (pos_ + 1 == n_) {  // block complete: suffix extremes for the next block
      double e = buf_[n_ - 1];
      suf_[n_ - 1] = e;
      for (size_t j = n_ - 1; j-- > 0;) {
        if (better(buf_[j], e)) e = buf_[j];
        suf_[j] = e;
      }
      value_ = prefix_;
      pos_ = 0;
    } else {
      value_ = (count_ >= n_ && better(suf_[pos_ + 1], prefix_)) ? suf_[pos_ + 1] : prefix_;
      ++pos_;
    }
    ++count_;
  }
  bool full() const { return count_ >= n_; }
  double value() const { return value_; }  // extreme of the last n values (when full)
  void save(StateWriter& out) const {
    out.put_vector(buf_);
    out.put_vector(suf_);
    out.put<uint64_t>(pos_);
    out.put(count_);
    out.put(prefix_);
    out.put(value_);
  }
  void load(StateReader& in) {
    in.get_vector(buf_);
    in.get_vector(suf_);
    pos_ = in.get<uint64_t>();
    in.get(count_);
    in.get(prefix_);
    in.get(value_);
    if (pos_ >= n_) in.fail();
  }

  // The slot the next push writes and the suffix extreme it reads, or, when that push
  // completes a block, both whole arrays (the suffix pass reads and writes them all: with 28
  // pairs they are cold, and the pass waited on each line in turn).
  void prefetch() const {
    if (pos_ + 1 == n_) {
      prefetch_write(buf_.data(), n_ * sizeof(double));
      prefetch_write(suf_.data(), n_ * sizeof(double));
      return;
    }
    prefetch_write(&buf_[pos_], sizeof(double));
    prefetch_read(&suf_[pos_ + 1], sizeof(double));
  }

 private:
  static bool better(double a, double b) { return kMax ? a > b : a < b; }
  size_t n_;
  std::vector<double> buf_, suf_;
  size_t pos_ = 0;
  uint64_t count_ = 0;
  double prefix_ = 0, value_ = 0;
};

// Highest high and lowest low of the last n bars (STOCH, STOCHF, WILLR): two
// WindowExtreme (max of the highs, min of the lows) with the same block position, their
// arrays interleaved slot by slot, so a push touches one or two cache lines (the written
// slot and the suffix slot after it) instead of four arrays. The same comparisons as
// WindowExtreme<true> / WindowExtreme<false>; saved in their format (hi, then lo).
class HighLow {
 public:
  HighLow() : HighLow(1) {}
  explicit HighLow(int n) : n_(static_cast<size_t>(n < 1 ? 1 : n)), slots_(n_) {}
  void push(double h, double l) {
    Slot& w = slots_[pos_];
    w.hi_buf = h;
    w.lo_buf = l;
    hi_prefix_ = (pos_ == 0 || h > hi_prefix_) ? h : hi_prefix_;
    lo_prefix_ = (pos_ == 0 || l < lo_prefix_) ? l : lo_prefix_;
    if (pos_ + 1 == n_) {  // block complete: suffix extremes for the next block
      double eh = slots_[n_ - 1].hi_buf, el = slots_[n_ - 1].lo_buf;
      slots_[n_ - 1].hi_suf = eh;
      slots_[n_ - 1].lo_suf = el;
      for (size_t j = n_ - 1; j-- > 0;) {
        if (slots_[j].hi_buf > eh) eh = slots_[j].hi_buf;
        if (slots_[j].lo_buf < el) el = slots_[j].lo_buf;
        slots_[j].hi_suf = eh;
        slots_[j].lo_suf = el;
      }
      hi_value_ = hi_prefix_;
      lo_value_ = lo_prefix_;
      pos_ = 0;
    } else {
      const Slot& next = slots_[pos_ + 1];
      const bool full = count_ >= n_;
      hi_value_ = (full && next.hi_suf > hi_prefix_) ? next.hi_suf : hi_prefix_;
      lo_value_ = (full && next.lo_suf < lo_prefix_) ? next.lo_suf : lo_prefix_;
      ++pos_;
    }
    ++count_;
  }
  bool ready() const { return count_ >= n_; }
  double highest() const { return hi_value_; }
  double lowest() const { return lo_value_; }
  void save(StateWriter& out) const {
    save_side(out, &Slot::hi_buf, &Slot::hi_suf, hi_prefix_, hi_value_);
    save_side(out, &Slot::lo_buf, &Slot::lo_suf, lo_prefix_, lo_value_);
  }
  void load(StateReader& in) {
    load_side(in, &Slot::hi_buf, &Slot::hi_suf, hi_prefix_, hi_value_);
    const size_t hi_pos = pos_;
    const uint64_t hi_count = count_;
    load_side(in, &Slot::lo_buf, &Slot::lo_suf, lo_prefix_, lo_value_);
    if (pos_ != hi_pos || count_ != hi_count) in.fail();  // one position for both sides
  }

  // The slot the next push writes and the suffix slot it reads, or, when that push
  // completes a block, the whole array (the suffix pass reads and writes every slot: with 28
  // pairs it is cold, and the pass waited on each line in turn).
  void prefetch() const {
    if (pos_ + 1 == n_) {
      prefetch_write(slots_.data(), n_ * sizeof(Slot));
      return;
    }
    prefetch_write(&slots_[pos_], sizeof(Slot));
    prefetch_read(&slots_[pos_ + 1], sizeof(Slot));
  }

 private:
  struct Slot {
    double hi_buf = 0, lo_buf = 0, hi_suf = 0, lo_suf = 0;
  };
  // WindowExtreme::save / load of one side.
  void save_side(StateWriter& out, double Slot::*buf, double Slot::*suf, double prefix, double value) const {
    std::vector<double> b(n_), s(n_);
    for (size_t j = 0; j < n_; ++j) {
      b[j] = slots_[j].*buf;
      s[j] = slots_[j].*suf;
    }
    out.put_vector(b);
    out.put_vector(s);
    out.put<uint64_t>(pos_);
    out.put(count_);
    out.put(prefix);
    out.put(value);
  }
  void load_side(StateReader& in, double Slot::*buf, double Slot::*suf, double& prefix, double& value) {
    std::vector<double> b(n_), s(n_);
    in.get_vector(b);
    in.get_vector(s);
    pos_ = in.get<uint64_t>();
    in.get(count_);
    in.get(prefix);
    in.get(value);
    if (pos_ >= n_) {
      in.fail();
      pos_ = 0;
      return;
    }
    for (size_t j = 0; j < n_; ++j) {
      slots_[j].*buf = b[j];
      slots_[j].*suf = s[j];
    }
  }

  size_t n_;
  std::vector<Slot> slots_;
  size_t pos_ = 0;
  uint64_t count_ = 0;
  double hi_prefix_ = 0, lo_prefix_ = 0, hi_value_ = 0, lo_value_ = 0;
};

}  // namespace bqx::features::ta
