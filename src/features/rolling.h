// Rolling-window primitives shared by the feature families. All are O(1) (amortised for
// min/max) per update, allocate only at construction, and save/restore exactly.
#pragma once

#include <cassert>
#include <cmath>
#include <cstdint>
#include <vector>

#include "features/kernel.h"
#include "features/state_memory.h"

namespace bqx::features {

// Fixed-capacity ring buffer of the last `capacity` values. capacity comes from the
// window parameter, never a hard-coded cap.
template <typename T>
class RingBuffer {
 public:
  explicit RingBuffer(size_t capacity = 1) : data_(capacity) {}
  size_t capacity() const { return data_.size(); }
  size_t size() const { return size_; }
  bool full() const { return size_ == data_.size(); }
  // Pushes a value; returns true and sets *evicted when the oldest value fell out.
  bool push(T value, T* evicted = nullptr) {
    bool dropped = false;
    if (size_ == data_.size()) {
      if (evicted) *evicted = data_[head_];
      dropped = true;
    } else {
      ++size_;
    }
    data_[head_] = value;
    if (++head_ == data_.size()) head_ = 0;  // wrap by compare: a 64-bit modulo is a division
    ++count_;
    // The next push evicts data_[head_], written one window ago (cold): fetch it now.
    prefetch_write(&data_[head_], sizeof(T));
    return dropped;
  }
  // back(0) = newest, back(k) = k pushes ago; k < size().
  const T& back(size_t k = 0) const {
    assert(k < size_);
    const size_t i = head_ + data_.size() - 1 - k;  // < 2 * capacity
    return data_[i >= data_.size() ? i - data_.size() : i];
  }
  // front(0) = oldest in the window.
  const T& front(size_t k = 0) const { return back(size_ - 1 - k); }
  uint64_t pushes() const { return count_; }
  // The next push writes (and evicts) data_[head_]; back(0) is the slot before it.
  void prefetch() const {
    prefetch_write(&data_[head_], sizeof(T));
    prefetch_read(&data_[head_ == 0 ? data_.size() - 1 : head_ - 1], sizeof(T));
  }
  void save(StateWriter& out) const {
    out.put_vector(data_);
    out.put<uint64_t>(head_);
    out.put<uint64_t>(size_);
    out.put<uint64_t>(count_);
  }
  void load(StateReader& in) {
    in.get_vector(data_);
    head_ = in.get<uint64_t>();
    size_ = in.get<uint64_t>();
    count_ = in.get<uint64_t>();
    if (head_ >= data_.size() || size_ > data_.size()) in.fail();
  }

 private:
  StateVector<T> data_;
  size_t head_ = 0;
  size_t size_ = 0;
  uint64_t count_ = 0;
};

// Sliding mean / variance over the last W values using sums shifted by a reference
// value, so that prices near 100 do not lose precision to sum(x^2) (DESIGN.md numerics
// policy). The sums are recomputed exactly from the window every W updates (and the
// reference moved to the newest value); that schedule depends only on the number of
// updates, so batch, stream and restored runs are bit-identical.
class RollingMoments {
 public:
  explicit RollingMoments(size_t window = 2) : window_(window), values_(window) {}
  size_t window() const { return window_; }
  size_t size() const { return values_.size(); }
  bool full() const { return values_.full(); }

  void push(double x) {
    // Length of the run of equal values ending here: a window inside one run is flat, and
    // its variance is exactly 0 (shifted sums would leave a rounding residue).
    run_ = (values_.size() > 0 && x == values_.back(0)) ? run_ + 1 : 1;
    double old = 0;
    const bool dropped = values_.push(x, &old);
    if (values_.size() == 1 && !dropped) ref_ = x;
    const double d = x - ref_;
    s1_ += d;
    s2_ += d * d;
    if (dropped) {
      const double o = old - ref_;
      s1_ -= o;
      s2_ -= o * o;
    }
    if (++since_anchor_ >= window_) reanchor();
  }
  double mean() const { return ref_ + s1_ / static_cast<double>(values_.size()); }
  // Sum of squared deviations from the mean, clamped at 0; exactly 0 on a flat window.
  double m2() const {
    if (run_ >= values_.size()) return 0.0;
    const double n = static_cast<double>(values_.size());
    const double v = s2_ - s1_ * s1_ / n;
    return v > 0 ? v : 0.0;
  }
  double var_sample() const { return values_.size() > 1 ? m2() / static_cast<double>(values_.size() - 1) : kNull; }
  double var_population() const { return values_.size() > 0 ? m2() / static_cast<double>(values_.size()) : kNull; }
  double sum() const { return ref_ * static_cast<double>(values_.size()) + s1_; }
  const RingBuffer<double>& values() const { return values_; }
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    values_.prefetch();
  }

  void save(StateWriter& out) const {
    values_.save(out);
    out.put(ref_);
    out.put(s1_);
    out.put(s2_);
    out.put<uint64_t>(since_anchor_);
    out.put<uint64_t>(run_);
  }
  void load(StateReader& in) {
    values_.load(in);
    in.get(ref_);
    in.get(s1_);
    in.get(s2_);
    since_anchor_ = in.get<uint64_t>();
    run_ = in.get<uint64_t>();
    if (values_.capacity() != window_) in.fail();
  }

 private:
  void reanchor() {
    since_anchor_ = 0;
    ref_ = values_.back(0);
    s1_ = 0;
    s2_ = 0;
    for (size_t k = 0; k < values_.size(); ++k) {
      const double d = values_.back(k) - ref_;
      s1_ += d;
      s2_ += d * d;
    }
  }

  size_t window_;
  RingBuffer<double> values_;
  double ref_ = 0, s1_ = 0, s2_ = 0;
  uint64_t since_anchor_ = 0;
  uint64_t run_ = 0;
};

// Sliding maximum (or minimum with Less = greater) over the last W values:
// monotonic deque stored in a ring of capacity W (amortised O(1)). Each entry keeps its
// value and push index side by side (one cache line per end of the deque), and ring
// positions wrap by compare (no integer division on the hot path).
template <bool kMax>
class RollingExtreme {
 public:
  explicit RollingExtreme(size_t window = 1) : window_(window), entries_(window) {}
  void push(double x) {
    // Expire the front first if it leaves the window with this push (frees a slot).
    if (len_ > 0 && entries_[start_].idx + window_ <= count_) {
      start_ = next(start_);
      --len_;
    }
    // Drop dominated entries from the back (ties: the newest wins).
    while (len_ > 0) {
      const double b = entries_[wrap(start_ + len_ - 1)].value;
      if (kMax ? (b <= x) : (b >= x)) --len_; else break;
    }
    entries_[wrap(start_ + len_)] = Entry{x, count_};
    ++len_;
    ++count_;
    // The next push reads the front (or the entry after it, if the front expires) and
    // writes after the back: fetch those lines now (see prefetch_read in kernel.h).
    prefetch_read(&entries_[next(start_)], sizeof(Entry));
    prefetch_write(&entries_[wrap(start_ + len_)], sizeof(Entry));
  }
  double value() const { return entries_[start_].value; }
  uint64_t count() const { return count_; }
  // The next push reads the front (and the entry after it), the back, and writes after it.
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    prefetch_read(&entries_[start_], sizeof(Entry));
    prefetch_read(&entries_[next(start_)], sizeof(Entry));
    const size_t back = wrap(start_ + (len_ > 0 ? len_ - 1 : 0));
    prefetch_write(&entries_[back], sizeof(Entry));
    prefetch_write(&entries_[next(back)], sizeof(Entry));
  }
  // Rows since the extreme: 0 if it is the newest value.
  uint64_t age() const { return count_ - 1 - entries_[start_].idx; }
  // Snapshot layout: all values, all push indices, start, length, count.
  void save(StateWriter& out) const {
    out.put<uint64_t>(window_);
    for (const Entry& e : entries_) out.put(e.value);
    out.put<uint64_t>(window_);
    for (const Entry& e : entries_) out.put(e.idx);
    out.put<uint64_t>(start_);
    out.put<uint64_t>(len_);
    out.put<uint64_t>(count_);
  }
  void load(StateReader& in) {
    if (in.get<uint64_t>() != window_) in.fail();
    for (Entry& e : entries_) e.value = in.get<double>();
    if (in.get<uint64_t>() != window_) in.fail();
    for (Entry& e : entries_) e.idx = in.get<uint64_t>();
    start_ = in.get<uint64_t>();
    len_ = in.get<uint64_t>();
    count_ = in.get<uint64_t>();
    if (!in.ok() || start_ >= window_ || len_ > window_) {
      in.fail();
      start_ = len_ = 0;
    }
  }

 private:
  struct Entry {
    double value;
    uint64_t idx;
  };
  size_t wrap(size_t i) const { return i >= window_ ? i - window_ : i; }  // i < 2 * window_
  size_t next(size_t i) const { return i + 1 == window_ ? 0 : i + 1; }

  size_t window_;
  StateVector<Entry> entries_;
  size_t start_ = 0, len_ = 0;
  uint64_t count_ = 0;
};
using RollingMax = RollingExtreme<true>;
using RollingMin = RollingExtreme<false>;

}  // namespace bqx::features
