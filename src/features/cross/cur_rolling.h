// Sliding-window statistics over grid series that may contain NULLs (cur, basket).
// A window is usable only when it is full and holds no NULL. Sums are over the non-NULL
// values, shifted by a reference value, and recomputed exactly from the window every W
// pushes (the reference moving to the newest non-NULL value): the schedule depends only on
// the number of pushes, so batch, stream and restored runs are bit-identical.
// A window whose W values are all equal is detected exactly (run length of equal values),
// so its spread is exactly 0 rather than rounding residue of the sliding sums.
#pragma once

#include <cmath>
#include <cstdint>

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

}  // namespace bqx::features::cur
