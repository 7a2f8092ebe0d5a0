// Sliding-window statistics over grid series that may contain NULLs (cur, basket).
// A window is usable only when it is full and holds no NULL. Sums are over the non-NULL
// values, shifted by a reference value, and recomputed exactly from the window every W
// pushes (the reference moving to the newest non-NULL value): the schedule depends only on
// the number of pushes, so batch, stream and restored runs are bit-identical.
// A window whose W values are all equal is detected exactly (run length of equal values),
// so its spread is exactly 0 rather than rounding residue of the sliding sums.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/currency.h"
#include "features/rolling.h"

namespace bqx::features::cur {

class NullableMoments {
 public:
  explicit NullableMoments(size_t window = 2) : window_(window), values_(window) {}

  void push(double x) {
    double old = 0;
    if (values_.push(x, &old)) {
      if (is_null(old)) {
        --nulls_;
      } else {
        const double o = old - ref_;
        s1_ -= o;
        s2_ -= o * o;
      }
    }
    if (is_null(x)) {
      ++nulls_;
      run_ = 0;
    } else {
      if (!has_ref_) {
        ref_ = x;
        has_ref_ = 1;
      }
      const double d = x - ref_;
      s1_ += d;
      s2_ += d * d;
      run_ = (run_ > 0 && x == last_) ? run_ + 1 : 1;
      last_ = x;
    }
    if (++since_anchor_ >= window_) reanchor();
  }

  size_t window() const { return window_; }
  // Full window without NULLs.
  bool ready() const { return values_.full() && nulls_ == 0; }
  // All W values equal (implies ready()).
  bool flat() const { return run_ >= window_; }
  // back(0) = newest value, back(k) = k pushes ago (k < window).
  double back(size_t k) const { return values_.back(k); }
  double front() const { return values_.front(0); }
  // Sum of squared deviations from the window mean (requires ready()).
  double m2() const {
    if (flat()) return 0.0;
    const double n = static_cast<double>(window_);
    const double v = s2_ - s1_ * s1_ / n;
    return v > 0 ? v : 0.0;
  }
  double mean() const { return ref_ + s1_ / static_cast<double>(window_); }

  void save(StateWriter& out) const {
    values_.save(out);
    out.put(ref_);
    out.put(s1_);
    out.put(s2_);
    out.put(last_);
    out.put<uint64_t>(nulls_);
    out.put<uint64_t>(run_);
    out.put<uint64_t>(since_anchor_);
    out.put<uint8_t>(has_ref_);
  }
  void load(StateReader& in) {
    values_.load(in);
    in.get(ref_);
    in.get(s1_);
    in.get(s2_);
    in.get(last_);
    nulls_ = in.get<uint64_t>();
    run_ = in.get<uint64_t>();
    since_anchor_ = in.get<uint64_t>();
    has_ref_ = in.get<uint8_t>();
    if (values_.capacity() != window_ || nulls_ > values_.size()) in.fail();
  }

 private:
  void reanchor() {
    since_anchor_ = 0;
    for (size_t k = 0; k < values_.size(); ++k) {
      if (!is_null(values_.back(k))) {
        ref_ = values_.back(k);
        has_ref_ = 1;
        break;
      }
    }
    s1_ = 0;
    s2_ = 0;
    for (size_t k = 0; k < values_.size(); ++k) {
      const double v = values_.back(k);
      if (is_null(v)) continue;
      const double d = v - ref_;
      s1_ += d;
      s2_ += d * d;
    }
  }

  size_t window_;
  RingBuffer<double> values_;
  double ref_ = 0, s1_ = 0, s2_ = 0, last_ = 0;
  uint64_t nulls_ = 0, run_ = 0, since_anchor_ = 0;
  uint8_t has_ref_ = 0;
};

// Sliding Pearson correlation of (x, y) over the last W rows; a row is NULL when x or y is.
class NullableCorrelation {
 public:
  explicit NullableCorrelation(size_t window = 2) : window_(window), x_(window), y_(window) {}

  void push(double x, double y) {
    if (is_null(x) || is_null(y)) x = y = kNull;
    double ox = 0, oy = 0;
    x_.push(x, &ox);
    if (y_.push(y, &oy)) {
      if (is_null(ox)) {
        --nulls_;
      } else {
        const double dx = ox - rx_, dy = oy - ry_;
        sx_ -= dx;
        sy_ -= dy;
        sxx_ -= dx * dx;
        syy_ -= dy * dy;
        sxy_ -= dx * dy;
      }
    }
    if (is_null(x)) {
      ++nulls_;
      run_x_ = run_y_ = 0;
    } else {
      if (!has_ref_) {
        rx_ = x;
        ry_ = y;
        has_ref_ = 1;
      }
      const double dx = x - rx_, dy = y - ry_;
      sx_ += dx;
      sy_ += dy;
      sxx_ += dx * dx;
      syy_ += dy * dy;
      sxy_ += dx * dy;
      run_x_ = (run_x_ > 0 && x == last_x_) ? run_x_ + 1 : 1;
      run_y_ = (run_y_ > 0 && y == last_y_) ? run_y_ + 1 : 1;
      last_x_ = x;
      last_y_ = y;
    }
    if (++since_anchor_ >= window_) reanchor();
  }

  bool ready() const { return x_.full() && nulls_ == 0; }
  // Correlation over the window; NULL unless ready() and both series vary.
  double value() const {
    if (!ready() || run_x_ >= window_ || run_y_ >= window_) return kNull;
    const double n = static_cast<double>(window_);
    const double cxx = sxx_ - sx_ * sx_ / n;
    const double cyy = syy_ - sy_ * sy_ / n;
    const double cxy = sxy_ - sx_ * sy_ / n;
    if (!(cxx > 0) || !(cyy > 0)) return kNull;
    const double r = cxy / (std::sqrt(cxx) * std::sqrt(cyy));
    return r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);
  }

  void save(StateWriter& out) const {
    x_.save(out);
    y_.save(out);
    for (double v : {rx_, ry_, sx_, sy_, sxx_, syy_, sxy_, last_x_, last_y_}) out.put(v);
    for (uint64_t v : {nulls_, run_x_, run_y_, since_anchor_}) out.put(v);
    out.put<uint8_t>(has_ref_);
  }
  void load(StateReader& in) {
    x_.load(in);
    y_.load(in);
    for (double* v : {&rx_, &ry_, &sx_, &sy_, &sxx_, &syy_, &sxy_, &last_x_, &last_y_}) in.get(*v);
    for (uint64_t* v : {&nulls_, &run_x_, &run_y_, &since_anchor_}) in.get(*v);
    has_ref_ = in.get<uint8_t>();
    if (x_.capacity() != window_ || y_.capacity() != window_ || x_.size() != y_.size() || nulls_ > x_.size())
      in.fail();
  }

 private:
  void reanchor() {
    since_anchor_ = 0;
    for (size_t k = 0; k < x_.size(); ++k) {
      if (!is_null(x_.back(k))) {
        rx_ = x_.back(k);
        ry_ = y_.back(k);
        has_ref_ = 1;
        break;
      }
    }
    sx_ = sy_ = sxx_ = syy_ = sxy_ = 0;
    for (size_t k = 0; k < x_.size(); ++k) {
      if (is_null(x_.back(k))) continue;
      const double dx = x_.back(k) - rx_, dy = y_.back(k) - ry_;
      sx_ += dx;
      sy_ += dy;
      sxx_ += dx * dx;
      syy_ += dy * dy;
      sxy_ += dx * dy;
    }
  }

  size_t window_;
  RingBuffer<double> x_, y_;
  double rx_ = 0, ry_ = 0, sx_ = 0, sy_ = 0, sxx_ = 0, syy_ = 0, sxy_ = 0, last_x_ = 0, last_y_ = 0;
  uint64_t nulls_ = 0, run_x_ = 0, run_y_ = 0, since_anchor_ = 0;
  uint8_t has_ref_ = 0;
};

// NullableMoments of the 8 currencies over several windows of one series v (cur's ds, basket's
// v), with NullableMoments' state and arithmetic per (window, currency) unchanged: remove the
// value leaving, add the new one, every W pushes recompute the sums from the window, newest to
// oldest, with the reference at the newest non-NULL value. The windows slide over the same
// series, so one ring serves them: push j (8 currencies, one cache line) in slot j % W_max. A
// push touches the new row and the rows leaving the windows, and the sums (structure of
// arrays): 48 NullableMoments (basket) touched about 240 lines, 16 (cur) about 48.
// Windows in ascending order; every currency is pushed on every row, so the windows' pushes
// and recomputation counters are shared by the currencies.
template <size_t kWindowCount>
class CurrencyWindows {
 public:
  using Row = std::array<double, kCurrencyCount>;
  static constexpr int K = kCurrencyCount;

  explicit CurrencyWindows(const std::array<int, kWindowCount>& windows)
      : ring_(static_cast<size_t>(windows.back())) {
    for (size_t w = 0; w < kWindowCount; ++w) {
      width_[w] = static_cast<uint64_t>(windows[w]);
      Sums& m = sums_[w];
      m.ref.fill(0.0);
      m.s1.fill(0.0);
      m.s2.fill(0.0);
      m.last.fill(0.0);
      m.nulls.fill(0);
      m.run.fill(0);
      m.has_ref.fill(0);
    }
  }

  void push(const Row& v) {
    const uint64_t j = pushes_;
    // The rows leaving the windows, read before v overwrites the oldest of them.
    std::array<Row, kWindowCount> leaving{};
    for (size_t w = 0; w < kWindowCount; ++w) {
      if (j >= width_[w]) leaving[w] = ring_[slot(j - width_[w])];
    }
    ring_[slot(j)] = v;
    pushes_ = j + 1;
    for (size_t w = 0; w < kWindowCount; ++w) {
      Sums& m = sums_[w];
      for (int c = 0; c < K; ++c) push_one(m, c, v[c], j >= width_[w], leaving[w][c]);
      if (++m.since >= width_[w]) reanchor(m, j, width_[w]);
    }
  }

  uint64_t pushes() const { return pushes_; }
  // Full window without NULLs (NullableMoments::ready).
  bool ready(size_t w, int c) const { return pushes_ >= width_[w] && sums_[w].nulls[c] == 0; }
  // NullableMoments::m2 (window ready).
  double m2(size_t w, int c) const {
    const Sums& m = sums_[w];
    if (m.run[c] >= width_[w]) return 0.0;
    const double n = static_cast<double>(width_[w]);
    const double v = m.s2[c] - m.s1[c] * m.s1[c] / n;
    return v > 0 ? v : 0.0;
  }
  // The row pushed k pushes ago (k < the longest window).
  const Row& back(uint64_t k) const { return ring_[slot(pushes_ - 1 - k)]; }
  // Fetches the row that will be back(k) after the next push (k <= the longest window; k = W is
  // the row that push removes from window W). Rows read W grid rows after they were written are
  // cold: fetched at the start of a kernel's update, their misses overlap.
  void prefetch_back_after_push(uint64_t k) const {
    if (k > 0 && pushes_ >= k) prefetch_read(&ring_[slot(pushes_ - k)], sizeof(Row));
  }

  // NullableMoments::save of (window w, currency c): its ring (push j in slot j % W, 0 before
  // the first push), next slot, size, push count, then the sums and counters.
  void save(StateWriter& out, size_t w, int c) const {
    const uint64_t width = width_[w];
    const Sums& m = sums_[w];
    std::vector<double> window_ring(width, 0.0);
    const uint64_t from = pushes_ > width ? pushes_ - width : 0;
    for (uint64_t j = from; j < pushes_; ++j) window_ring[j % width] = ring_[slot(j)][c];
    out.put_vector(window_ring);
    out.put<uint64_t>(pushes_ % width);
    out.put<uint64_t>(std::min(pushes_, width));
    out.put<uint64_t>(pushes_);
    out.put(m.ref[c]);
    out.put(m.s1[c]);
    out.put(m.s2[c]);
    out.put(m.last[c]);
    out.put<uint64_t>(m.nulls[c]);
    out.put<uint64_t>(m.run[c]);
    out.put<uint64_t>(m.since);
    out.put<uint8_t>(m.has_ref[c]);
  }
  // The inverse; (w, c) = (0, 0) first, and for each c its longest window (which holds the
  // shared ring's column c: the same slots, j % W_max).
  void load(StateReader& in, size_t w, int c) {
    const uint64_t width = width_[w];
    Sums& m = sums_[w];
    std::vector<double> window_ring(width, 0.0);
    in.get_vector(window_ring);
    const uint64_t head = in.get<uint64_t>();
    const uint64_t size = in.get<uint64_t>();
    const uint64_t count = in.get<uint64_t>();
    if (c == 0 && w == 0) pushes_ = count;
    if (count != pushes_ || head != count % width || size != std::min(count, width)) in.fail();
    if (w + 1 == kWindowCount) {
      for (size_t i = 0; i < ring_.size(); ++i) ring_[i][c] = window_ring[i];
    }
    in.get(m.ref[c]);
    in.get(m.s1[c]);
    in.get(m.s2[c]);
    in.get(m.last[c]);
    m.nulls[c] = in.get<uint64_t>();
    m.run[c] = in.get<uint64_t>();
    const uint64_t since = in.get<uint64_t>();
    if (c == 0) m.since = since;
    if (since != m.since || m.nulls[c] > size) in.fail();
    m.has_ref[c] = in.get<uint8_t>();
  }

 private:
  struct Sums {
    Row ref, s1, s2, last;
    std::array<uint64_t, K> nulls, run;
    std::array<uint8_t, K> has_ref;
    uint64_t since = 0;
  };

  size_t slot(uint64_t j) const { return static_cast<size_t>(j % ring_.size()); }

  // NullableMoments::push of x into currency c (old = the value leaving, when dropped).
  static void push_one(Sums& m, int c, double x, bool dropped, double old) {
    if (dropped) {
      if (is_null(old)) {
        --m.nulls[c];
      } else {
        const double o = old - m.ref[c];
        m.s1[c] -= o;
        m.s2[c] -= o * o;
      }
    }
    if (is_null(x)) {
      ++m.nulls[c];
      m.run[c] = 0;
    } else {
      if (!m.has_ref[c]) {
        m.ref[c] = x;
        m.has_ref[c] = 1;
      }
      const double d = x - m.ref[c];
      m.s1[c] += d;
      m.s2[c] += d * d;
      m.run[c] = (m.run[c] > 0 && x == m.last[c]) ? m.run[c] + 1 : 1;
      m.last[c] = x;
    }
  }

  // NullableMoments::reanchor of all 8 currencies over the window ending at push j.
  void reanchor(Sums& m, uint64_t j, uint64_t width) {
    m.since = 0;
    const uint64_t size = std::min(j + 1, width);
    std::array<bool, K> found{};
    for (uint64_t k = 0; k < size; ++k) {
      const Row& r = ring_[slot(j - k)];
      bool all = true;
      for (int c = 0; c < K; ++c) {
        if (!found[c] && !is_null(r[c])) {
          m.ref[c] = r[c];
          m.has_ref[c] = 1;
          found[c] = true;
        }
        all = all && found[c];
      }
      if (all) break;
    }
    m.s1.fill(0.0);
    m.s2.fill(0.0);
    for (uint64_t k = 0; k < size; ++k) {
      const Row& r = ring_[slot(j - k)];
      for (int c = 0; c < K; ++c) {
        if (is_null(r[c])) continue;
        const double d = r[c] - m.ref[c];
        m.s1[c] += d;
        m.s2[c] += d * d;
      }
    }
  }

  std::array<uint64_t, kWindowCount> width_{};
  uint64_t pushes_ = 0;
  StateVector<Row> ring_;  // push j in slot j % W_max
  std::array<Sums, kWindowCount> sums_;
};

}  // namespace bqx::features::cur
