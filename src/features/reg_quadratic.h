// O(1) rolling quadratic least squares (FEATURES.md 1.2) and the small rolling
// co-moment primitives used by the reg / regdiag families.
//
// RollingQuadraticFit fits y_k ~ a2*k^2 + a1*k + a0, k = 0..W-1 over the last W values
// (k = W-1 is the newest). Cost per push is O(1) amortised and independent of W.
//
// Basis. Instead of the monomials 1, k, k^2 (whose normal equations are badly
// conditioned for W = 630) the fit uses the discrete orthogonal polynomials of the
// window, scaled to integers:
//   C   = W - 1
//   v_k = 2k - C                    (integer, sum v = 0)
//   w_k = 3 v_k^2 - (W^2 - 1)       (integer, sum w = 0, sum v*w = 0)
// so y_k ~ ref + beta0 + beta1*v_k + beta2*w_k with independent coefficients
//   beta0 = U0 / W,   beta1 = U1 / Nv,   beta2 = V2 / Nw,
//   U0 = sum d_k, U1 = sum v_k d_k, V2 = sum w_k d_k, d_k = y_k - ref,
//   Nv = sum v^2 = W(W^2-1)/3, Nw = sum w^2 = 4W(W^2-1)(W^2-4)/5 (exact integers in
//   double for W <= 630). The normal matrix is diagonal in this basis, so its inverse
//   is three precomputed constants. Back in the monomial basis:
//   a2 (W-1)^2 = 12 C^2 beta2, a1 (W-1) = C (2 beta1 - 12 C beta2),
//   a0 = ref + beta0 - C beta1 + wC beta2, slope at t = 2 beta1 + 12 C beta2,
//   vertex offset = -beta1 / (12 beta2) - C/2.
//
// Sliding. When a new value n enters and the oldest a (at v = -C) leaves, every kept
// value moves one step back: v -> v - 2, w -> w - 12 v + 12. With the kept sums
//   K0 = U0 - a, K1 = U1 + C a, K2 = V2 - wC a, KQ = Q - a^2   (wC = 2(W-1)(W-2))
// the new sums are
//   U0' = K0 + n
//   U1' = K1 - 2 K0 + C n
//   V2' = K2 - 12 K1 + 12 K0 + wC n
//   Q'  = KQ + n^2                                     (Q = sum d_k^2)
//
// Shift and re-anchoring. d_k = y_k - ref with ref = the window mean at the last
// anchoring, so prices near 100 never enter a sum of squares. The sums are recomputed
// exactly from the ring buffer (oldest to newest, around the new window mean) when
//   - the window first fills, and then every W pushes (bounds the rounding drift of the
//     subtract-on-evict updates to W steps), or
//   - the window's dispersion has collapsed: its centred sum of squares m2 is more than
//     kCollapse times below the largest shifted sum of squares Q seen since the last
//     anchoring (a volatile stretch has left a quiet window; the absolute rounding error
//     of the sums scales with that peak, so without this a quiet window after a volatile
//     one would lose up to eps*peak/m2 relative precision). m2 below the scale-aware
//     floor W*(64*eps*|ref|)^2 (ulp-level dispersion) never triggers, so a flat window
//     triggers at most once.
// Both rules depend only on the data and the push count, so batch, stream and restored
// runs are bit-identical. A collapse trigger needs m2 to fall kCollapse-fold below the
// peak since the last anchoring, so it fires at most a few times per collapse (never on
// the 200,000-bar random walk of reg_test; twice on a walk-then-flat series at W = 630),
// keeping the amortised cost O(1) per push.
//
// Sums of squares. SStot = Q - U0*beta0, explained E = U1*beta1 + V2*beta2,
// SSres = SStot - E. Between anchorings Q <= kCollapse*SStot (or SStot is at ulp level),
// and the differences lose about eps_eff*Q in absolute terms (eps_eff ~ a few W*eps in
// the worst case, ~sqrt(W)*eps typically):
//   |SSres_hat - SSres| <= kNoise(W) * Q,    kNoise(W) = 16 * W * DBL_EPSILON.
// Values at or below that floor are indistinguishable from 0: SStot below it is treated
// as "SStot = 0" (r2 NULL) and SSres below it is reported as exactly 0 (rmse = 0, r2 = 1).
// r2 = E / SStot is clamped into [0, 1]. rmse has relative error about
// kNoise*Q / (2*SSres): 1e-9 relative whenever 1 - r2 >~ 1e-3 (all realistic FX
// windows); for smoother windows the stated bound is |rmse_hat^2 - rmse^2| <= 1e-9 rmse^2
// + kNoise * Q / W (tested on a sine + 1e-9 noise series, 1 - r2 down to ~6e-8, where
// rmse is good to ~1e-7 relative); an exactly quadratic series gives rmse = 0.
//
// The families do not call these classes per window: reg.cpp (RegWindowLanes) and
// regdiag.cpp (Lag1Lanes) run the same arithmetic for all 6 windows at once as SIMD lanes
// (structure-of-arrays), operation for operation, so their bits equal these classes'.
// A change to the arithmetic here must be made there too (reg_test / regdiag_test compare
// the families against independent references; the engine hashes catch any drift).
#pragma once

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "features/kernel.h"
#include "features/rolling.h"
#include "features/state_memory.h"

namespace bqx::features {

// Snapshot form of a ring of `capacity` slots (reg and regdiag): the slots as
// StateWriter::put_vector writes them, then head and size.
template <typename T>
void put_ring(StateWriter& out, const T* data, size_t capacity, size_t head, size_t size) {
  out.put<uint64_t>(capacity);
  for (size_t k = 0; k < capacity; ++k) out.put(data[k]);
  out.put<uint64_t>(head);
  out.put<uint64_t>(size);
}
// Reads put_ring's form and returns the ring's size; a ring still filling must have its
// head at its size (rings fill from slot 0, the only layout the kernels keep).
template <typename T, typename Head>
size_t get_ring(StateReader& in, T* data, size_t capacity, Head& head) {
  if (in.get<uint64_t>() != capacity) in.fail();
  for (size_t k = 0; k < capacity && in.ok(); ++k) in.get(data[k]);
  const uint64_t h = in.get<uint64_t>(), size = in.get<uint64_t>();
  if (h >= capacity || size > capacity || (size < capacity && h != size)) {
    in.fail();
    head = 0;
    return 0;
  }
  head = static_cast<Head>(h);
  return static_cast<size_t>(size);
}

// The nine fit columns of one window (FEATURES.md 1.2, in column order).
struct QuadColumns {
  double quadratic_term, linear_term, constant_term, prediction, residual, r2, rmse, slope_now, vertex_offset;
};

// Relative tolerance of the scale-aware zero tests on the fitted terms: a term whose
// magnitude is <= kRegZeroRel * (|y_t| + sd_W(y)) is reported as exactly 0 (far below
// one pip at index level 100, far above the rounding floor of the sums).
inline constexpr double kRegZeroRel = 1e-12;

// Dispersion-collapse factor that forces an exact recomputation (see above).
inline constexpr double kCollapse = 256.0;

// True when a shifted-sum accumulator should be recomputed exactly because its centred
// sum of squares m2 fell more than kCollapse-fold below the largest shifted sum of
// squares since the last recomputation (ulp-level dispersion excluded).
inline bool dispersion_collapsed(double peak, double m2, double n, double ref) {
  const double ulp_floor = n * (64.0 * DBL_EPSILON * ref) * (64.0 * DBL_EPSILON * ref);
  return peak > kCollapse * std::max(m2, ulp_floor);
}

// Fixed-capacity ring buffer for the reg primitives: like RingBuffer (rolling.h) but
// wraps with a compare instead of a modulo and walks the window in two contiguous
// runs, which matters at 12 windows x 2 domains per bar.
template <typename T>
class RegRing {
 public:
  explicit RegRing(size_t capacity = 1) : data_(capacity) {}
  size_t capacity() const { return data_.size(); }
  size_t size() const { return size_; }
  bool full() const { return size_ == data_.size(); }
  // Pushes a value; when the ring was full, the oldest value is written to *evicted.
  void push(const T& value, T* evicted = nullptr) {
    if (size_ == data_.size()) {
      if (evicted) *evicted = data_[head_];
    } else {
      ++size_;
    }
    data_[head_] = value;
    if (++head_ == data_.size()) head_ = 0;
    // The next push evicts data_[head_], written one window ago (cold): fetch it now.
    prefetch_write(&data_[head_], sizeof(T));
  }
  // Pushes a value and returns the evicted oldest value (T{} while the ring fills). By
  // value, so that callers can keep it in registers.
  __attribute__((always_inline)) inline T push_evict(const T& value) {
    T evicted{};
    push(value, &evicted);
    return evicted;
  }
  // front(0) = oldest, front(1) = second oldest (k < size()).
  const T& front(size_t k) const {
    size_t i = (size_ == data_.size() ? head_ : 0) + k;
    if (i >= data_.size()) i -= data_.size();
    return data_[i];
  }
  const T& back() const { return data_[head_ == 0 ? data_.size() - 1 : head_ - 1]; }
  // The next push reads back() and front(0..1) and writes data_[head_].
  __attribute__((always_inline)) inline void prefetch() const {
    prefetch_read(&back(), sizeof(T));
    prefetch_write(&data_[head_], sizeof(T));
    prefetch_read(&data_[head_ + 1 == data_.size() ? 0 : head_ + 1], sizeof(T));
  }
  // The whole ring (for readers of every value each push).
  __attribute__((always_inline)) inline void prefetch_all() const {
    const char* begin = reinterpret_cast<const char*>(data_.data());
    const char* end = begin + data_.size() * sizeof(T);
    prefetch_read(begin, static_cast<size_t>(end - begin));
  }
  // Calls f(value) for every value, oldest first.
  template <typename F>
  __attribute__((always_inline)) inline void for_each(F&& f) const {
    const size_t start = size_ == data_.size() ? head_ : 0;
    const size_t first_run = std::min(size_, data_.size() - start);
    for (size_t i = 0; i < first_run; ++i) f(data_[start + i]);
    for (size_t i = 0; i < size_ - first_run; ++i) f(data_[i]);
  }
  void save(StateWriter& out) const {
    out.put_vector(data_);
    out.put<uint64_t>(head_);
    out.put<uint64_t>(size_);
  }
  void load(StateReader& in) {
    in.get_vector(data_);
    head_ = in.get<uint64_t>();
    size_ = in.get<uint64_t>();
    if (head_ >= data_.size() || size_ > data_.size()) in.fail();
  }

 private:
  StateVector<T> data_;
  size_t head_ = 0;
  size_t size_ = 0;
};

// A full ring inside a kernel's state block (RegStateBlock): `capacity` values from `data`,
// the oldest at `head` (the slot the next push overwrites). The lane kernels keep their
// rings' heads in the kernel object's first cache line and the values in one block, so a
// bar finds every line it touches from that one line (no ring objects to load first).
template <typename T>
struct RegRingView {
  const T* data;
  size_t capacity;
  size_t head;
  // Calls f(value) for every value, oldest first (as RegRing::for_each on a full ring).
  template <typename F>
  __attribute__((always_inline)) inline void for_each(F&& f) const {
    for (size_t i = head; i < capacity; ++i) f(data[i]);
    for (size_t i = 0; i < head; ++i) f(data[i]);
  }
  size_t size() const { return capacity; }
  // Requests every line, oldest first. An anchoring's passes over a cold ring otherwise
  // wait for one line after another (measured: ~40 cycles per value, a third of reg's
  // step); requested together, the lines arrive in parallel.
  void prefetch_all() const {
    prefetch_read(data + head, (capacity - head) * sizeof(T));
    if (head > 0) prefetch_read(data, head * sizeof(T));
  }
};

// One zeroed, 64-byte-aligned block of kernel state from the huge-page arena
// (state_memory.h; operator new where the arena declines): a lane kernel's lane state and
// all its rings together, so a bar's lines share a few TLB entries (the small rings on
// their own went to 4 KiB malloc pages) and are found from one pointer.
class RegStateBlock {
 public:
  static constexpr size_t kAlign = 64;
  RegStateBlock() = default;
  explicit RegStateBlock(size_t bytes) {
    if (bytes == 0) return;  // no state
    void* p = StateArena::instance().allocate(bytes);
    if (p == nullptr) p = ::operator new(bytes, std::align_val_t{kAlign});
    std::memset(p, 0, bytes);
    data_ = static_cast<std::byte*>(p);
  }
  RegStateBlock(const RegStateBlock&) = delete;
  RegStateBlock& operator=(const RegStateBlock&) = delete;
  ~RegStateBlock() {
    if (data_ != nullptr && !StateArena::instance().deallocate(data_)) ::operator delete(data_, std::align_val_t{kAlign});
  }
  std::byte* data() const { return data_; }

 private:
  std::byte* data_ = nullptr;
};

// SIMD across windows (reg.cpp, regdiag.cpp): the windows of a family side by side as the
// lanes of std::array<double, kRegLanes> (8 = one AVX-512 register), structure-of-arrays.
// Per-lane add/sub/mul/div/sqrt/compare/select are the scalar IEEE operations, so the lanes
// give the scalar classes' bits exactly.
inline constexpr size_t kRegLanes = 8;
using RegLanes = std::array<double, kRegLanes>;

// The lanes from up to 8 values (the rest 0), built in registers: a vector load of lanes
// just stored one by one would wait for those stores (store-forwarding stall).
template <size_t N>
inline __attribute__((always_inline)) void set_reg_lanes(RegLanes& out, const std::array<double, N>& v) {
  static_assert(N == 6, "the reg families have 6 windows");
  // Pairs, then halves, then the whole (GCC otherwise merges the halves through memory).
  typedef double Pair __attribute__((vector_size(2 * sizeof(double))));
  typedef double Half __attribute__((vector_size(4 * sizeof(double))));
  typedef double Whole __attribute__((vector_size(sizeof(RegLanes))));
  const Pair p0 = {v[0], v[1]}, p1 = {v[2], v[3]}, p2 = {v[4], v[5]}, p3 = {0.0, 0.0};
  const Half low = __builtin_shufflevector(p0, p1, 0, 1, 2, 3), high = __builtin_shufflevector(p2, p3, 0, 1, 2, 3);
  const Whole x = __builtin_shufflevector(low, high, 0, 1, 2, 3, 4, 5, 6, 7);
  __builtin_memcpy(out.data(), &x, sizeof x);
}

// dispersion_collapsed (above), branch-free for the lanes.
__attribute__((always_inline)) inline bool dispersion_collapsed_lane(double peak, double m2, double n, double ref) {
  const double ulp_floor = n * (64.0 * DBL_EPSILON * ref) * (64.0 * DBL_EPSILON * ref);
  return peak > kCollapse * (m2 < ulp_floor ? ulp_floor : m2);  // std::max(m2, ulp_floor)
}

// The lag-1 autocorrelation sums (RollingLag1Autocorr, below) of a family's 6 windows as
// lanes. Two kernels keep them: regdiag's Lag1Lanes (regdiag.cpp, its own residual rings)
// and reg's RegWindowLanes (reg.cpp, on its term-row rings, in an engine's row); both run
// the lag-1 arithmetic through lag1_lanes_push / lag1_lanes_value / lag1_lanes_anchor.
struct alignas(64) Lag1LaneSums {
  RegLanes ref, s, q, p, peak, since;
  // The raw values pushed since the last anchoring, summed in push order: when exactly W
  // pushes have passed (the periodic anchoring and the fill) they are the ring, oldest
  // first, so this is bit for bit the anchoring's first pass, which then needs no pass
  // over the ring (the add per bar is a lane op; the pass was W latency-bound adds). The
  // snapshots keep a 0 in its former place and load() recomputes it from the ring.
  RegLanes pushed_sum;
};
static_assert(sizeof(Lag1LaneSums) == 7 * sizeof(RegLanes));

// The per-window constants the lag-1 lanes need (lanes 6, 7 repeat window 0).
struct Lag1WindowLanes {
  const RegLanes& w;      // W
  const RegLanes& n;      // W - 1 (pairs in the window)
  const RegLanes& inv_n;  // 1 / (W - 1)
  const RegLanes& noise;  // 16 W eps
};

// RollingLag1Autocorr::push per lane after the ring push. oldest / second / newest: the
// ring's front(0), front(1) and back() before the push (0 where the ring was not full);
// e: the value pushed; take: 1 where a value was pushed, 0 where the lane keeps its sums
// (a select). due = 1 where the count or a collapse asks for an anchoring (the caller
// anchors where due on a full ring, and at the fill).
// The selected sums go to whole-array temporaries, then to the state: selecting in place
// compiled to masked stores, which do not forward to lag1_lanes_value's loads of the same
// lanes later in the bar (they waited for the stores to commit).
__attribute__((always_inline)) inline void lag1_lanes_push(Lag1LaneSums& st, const RegLanes& oldest,
                                                           const RegLanes& second, const RegLanes& newest,
                                                           const RegLanes& e, const RegLanes& take,
                                                           const Lag1WindowLanes& win, RegLanes& due) {
  alignas(64) RegLanes new_s, new_q, new_p, new_peak, new_since, new_pushed_sum;
  for (size_t l = 0; l < kRegLanes; ++l) {
    const double ref = st.ref[l];
    const double a = oldest[l] - ref, a1 = second[l] - ref;
    const double last = newest[l] - ref, n = e[l] - ref;
    const double s = st.s[l] + (n - a);
    const double q = st.q[l] + (n * n - a * a);
    const double p = st.p[l] + (last * n - a * a1);
    const double peak = st.peak[l] < q ? q : st.peak[l];  // std::max(peak, q)
    const double since = st.since[l] + 1.0;
    const bool pushed = take[l] != 0;
    new_s[l] = pushed ? s : st.s[l];
    new_q[l] = pushed ? q : st.q[l];
    new_p[l] = pushed ? p : st.p[l];
    new_peak[l] = pushed ? peak : st.peak[l];
    new_since[l] = pushed ? since : st.since[l];
    new_pushed_sum[l] = pushed ? st.pushed_sum[l] + e[l] : st.pushed_sum[l];
    due[l] = ((since >= win.w[l]) | dispersion_collapsed_lane(peak, q - s * (s / win.w[l]), win.w[l], ref)) ? 1.0
                                                                                                             : 0.0;
  }
  st.s = new_s;
  st.q = new_q;
  st.p = new_p;
  st.peak = new_peak;
  st.since = new_since;
  st.pushed_sum = new_pushed_sum;
}

// RollingLag1Autocorr::value per lane after lag1_lanes_push. first: the ring's front(0)
// after the push; e: the value pushed (the newest); level as in RollingLag1Autocorr::value;
// ready: 1 where the value is defined (pushed, ring full), else the lane gives NULL.
__attribute__((always_inline)) inline void lag1_lanes_value(const Lag1LaneSums& st, const RegLanes& first_raw,
                                                            const RegLanes& e, const RegLanes& level,
                                                            const RegLanes& ready, const Lag1WindowLanes& win,
                                                            RegLanes& value) {
  for (size_t l = 0; l < kRegLanes; ++l) {
    const double ref = st.ref[l];
    const double first = first_raw[l] - ref, last = e[l] - ref;
    const double n = win.n[l], inv_n = win.inv_n[l];
    const double sx = st.s[l] - last, sy = st.s[l] - first;
    const double sxx = st.q[l] - last * last, syy = st.q[l] - first * first;
    const double vx = sxx - sx * (sx * inv_n), vy = syy - sy * (sy * inv_n);
    const double cov = st.p[l] - sx * (sy * inv_n);
    const double floor = win.noise[l] * st.q[l];
    const double tiny = kRegZeroRel * level[l];
    // | rather than ||: no branches, so the loop vectorises (the tests have no side effects).
    const bool degenerate = !(vx > floor) | !(vy > floor) | !(vx > tiny * tiny * n) | !(vy > tiny * tiny * n);
    const double r = cov / std::sqrt(vx * vy);
    const double clamped = r < -1.0 ? -1.0 : (1.0 < r ? 1.0 : r);  // std::clamp(r, -1, 1)
    value[l] = (ready[l] == 0) | degenerate ? kNull : clamped;
  }
}

// RollingLag1Autocorr::anchor for window i of the lanes: ring is a full ring's view
// (RegRingView), value_of(element) its value. Called from the kernels' noinline,
// VEX-encoded anchor functions.
template <typename Ring, typename ValueOf>
__attribute__((always_inline)) inline void lag1_lanes_anchor(Lag1LaneSums& st, size_t i, const Ring& ring,
                                                             ValueOf value_of, double w) {
  ring.prefetch_all();
  double sum = 0;
  if (st.since[i] == w) {
    sum = st.pushed_sum[i];  // the ring's values, summed oldest first (see Lag1LaneSums)
  } else {
    ring.for_each([&](const auto& r) { sum += value_of(r); });
  }
  st.since[i] = 0;
  st.pushed_sum[i] = 0;
  const double ref = sum / static_cast<double>(ring.size());
  double s1 = 0, q = 0, p = 0, prev = 0;
  bool first = true;
  ring.for_each([&](const auto& r) {
    const double d = value_of(r) - ref;
    s1 += d;
    q += d * d;
    if (!first) p += prev * d;
    prev = d;
    first = false;
  });
  st.ref[i] = ref;
  st.s[i] = s1;
  st.q[i] = q;
  st.p[i] = p;
  st.peak[i] = q;
}

#if defined(__x86_64__)
inline bool reg_cpu_has_avx512f() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}
#endif

class RollingQuadraticFit {
 public:
  explicit RollingQuadraticFit(int window = 3) : w_(window), values_(static_cast<size_t>(window)) {
    const double W = window;
    c_ = W - 1;
    wc_ = 2.0 * (W - 1) * (W - 2);
    inv_w_ = 1.0 / W;
    inv_nv_ = 3.0 / (W * (W * W - 1));
    inv_nw_ = 5.0 / (4.0 * W * (W * W - 1) * (W * W - 4));
    noise_ = 16.0 * W * DBL_EPSILON;
  }
  int window() const { return w_; }
  bool ready() const { return values_.full(); }
  uint64_t anchors() const { return anchors_; }  // exact recomputations so far (diagnostic)
  __attribute__((always_inline)) inline void prefetch() const {
    prefetch_read(this, sizeof(*this));
    values_.prefetch();
  }

  void push(double y) {
    // Run length of equal values: an exactly flat window is recognised exactly.
    run_ = (values_.size() > 0 && y == values_.back()) ? run_ + 1 : 1;
    if (!values_.full()) {
      values_.push(y);
      if (values_.full()) anchor();
      return;
    }
    double a = 0;
    values_.push(y, &a);
    const double ad = a - ref_, nd = y - ref_;
    const double k0 = u0_ - ad;
    const double k1 = u1_ + c_ * ad;
    const double k2 = v2_ - wc_ * ad;
    const double kq = q_ - ad * ad;
    u0_ = k0 + nd;
    u1_ = (k1 - 2.0 * k0) + c_ * nd;
    v2_ = ((k2 - 12.0 * k1) + 12.0 * k0) + wc_ * nd;
    q_ = kq + nd * nd;
    peak_ = std::max(peak_, q_);
    if (++since_anchor_ >= static_cast<uint64_t>(w_) ||
        dispersion_collapsed(peak_, q_ - u0_ * (u0_ * inv_w_), static_cast<double>(w_), ref_)) {
      anchor();
    }
  }

  // The window's fit columns; y_t is the newest value. Requires ready().
  void evaluate(QuadColumns& o) const {
    const double yt = values_.back();
    if (run_ >= static_cast<uint64_t>(w_)) {  // exactly flat window
      o.quadratic_term = 0;
      o.linear_term = 0;
      o.constant_term = yt;
      o.prediction = (o.quadratic_term + o.linear_term) + o.constant_term;
      o.residual = yt - o.prediction;
      o.r2 = kNull;
      o.rmse = 0;
      o.slope_now = 0;
      o.vertex_offset = kNull;
      return;
    }
    const double b0 = u0_ * inv_w_, b1 = u1_ * inv_nv_, b2 = v2_ * inv_nw_;
    const double floor = noise_ * q_;
    const double sstot = q_ - u0_ * b0;
    const double explained = u1_ * b1 + v2_ * b2;
    double ssres = sstot - explained;
    const bool sstot_zero = !(sstot > floor);
    if (!(ssres > floor)) ssres = 0;
    if (sstot_zero) {
      o.r2 = kNull;
    } else if (ssres == 0) {
      o.r2 = 1;
    } else {
      o.r2 = std::clamp(explained / sstot, 0.0, 1.0);
    }
    o.rmse = std::sqrt(ssres * inv_w_);

    const double zero = kRegZeroRel * (std::fabs(yt) + std::sqrt(std::max(sstot, 0.0) * inv_w_));
    double quad = 12.0 * c_ * c_ * b2;
    double lin = c_ * (2.0 * b1 - 12.0 * c_ * b2);
    double slope = 2.0 * b1 + 12.0 * c_ * b2;
    if (std::fabs(quad) <= zero) quad = 0;
    if (std::fabs(lin) <= zero) lin = 0;
    if (std::fabs(slope) * c_ <= zero) slope = 0;
    o.quadratic_term = quad;
    o.linear_term = lin;
    o.constant_term = ref_ + ((b0 - c_ * b1) + wc_ * b2);
    o.prediction = (o.quadratic_term + o.linear_term) + o.constant_term;
    o.residual = yt - o.prediction;
    o.slope_now = slope;
    if (quad == 0) {
      o.vertex_offset = kNull;
    } else {
      // -a1/(2 a2) - (W-1) = -beta1/(12 beta2) - C/2; the clip also maps +-inf to the bounds.
      const double v = -b1 / (12.0 * b2) - 0.5 * c_;
      const double lim = 10.0 * static_cast<double>(w_);
      o.vertex_offset = std::clamp(v, -lim, lim);
    }
  }

  void save(StateWriter& out) const {
    values_.save(out);
    out.put(ref_);
    out.put(u0_);
    out.put(u1_);
    out.put(v2_);
    out.put(q_);
    out.put(peak_);
    out.put<uint64_t>(since_anchor_);
    out.put<uint64_t>(run_);
    out.put<uint64_t>(anchors_);
  }
  void load(StateReader& in) {
    values_.load(in);
    in.get(ref_);
    in.get(u0_);
    in.get(u1_);
    in.get(v2_);
    in.get(q_);
    in.get(peak_);
    since_anchor_ = in.get<uint64_t>();
    run_ = in.get<uint64_t>();
    anchors_ = in.get<uint64_t>();
  }

 private:
  // Exact recomputation of the sums around ref = window mean (fixed order: oldest first).
  void anchor() {
    since_anchor_ = 0;
    ++anchors_;
    double s = 0;
    values_.for_each([&](double y) { s += y; });
    ref_ = s / static_cast<double>(values_.size());
    double u0 = 0, u1 = 0, v2 = 0, q = 0;
    const double wm = static_cast<double>(w_) * static_cast<double>(w_) - 1.0;
    double v = -c_;  // v_k = 2k - C, exact integers
    values_.for_each([&](double y) {
      const double d = y - ref_;
      const double w = 3.0 * v * v - wm;
      u0 += d;
      u1 += v * d;
      v2 += w * d;
      q += d * d;
      v += 2.0;
    });
    u0_ = u0;
    u1_ = u1;
    v2_ = v2;
    q_ = q;
    peak_ = q_;
  }

  int w_;
  double c_ = 0, wc_ = 0, inv_w_ = 0, inv_nv_ = 0, inv_nw_ = 0, noise_ = 0;
  RegRing<double> values_;
  double ref_ = 0, u0_ = 0, u1_ = 0, v2_ = 0, q_ = 0, peak_ = 0;
  uint64_t since_anchor_ = 0;
  uint64_t run_ = 0;
  uint64_t anchors_ = 0;
};

// Sample covariances (ddof 1) of every pair of N series over their last W rows, from
// shifted sums re-anchored exactly (around the window means) when the window first
// fills, every W pushes, and when a series' dispersion collapses (same rule as above).
// Pairs are in lexicographic order (0,1), (0,2), ..., (N-2,N-1). Scale-aware zero: a
// co-moment at or below its rounding floor 16*W*eps*sqrt(Qi*Qj) (Qi = shifted sum of
// squares of series i) is reported as exactly 0, so a constant series gives
// covariance 0 exactly.
template <size_t N>
class RollingCoMoments {
 public:
  static constexpr size_t kPairs = N * (N - 1) / 2;
  using Row = std::array<double, N>;

  explicit RollingCoMoments(size_t window = 2)
      : window_(window),
        rows_(window),
        inv_n_(1.0 / static_cast<double>(window)),
        inv_n1_(1.0 / (static_cast<double>(window) - 1.0)),
        noise2_((16.0 * static_cast<double>(window) * DBL_EPSILON) * (16.0 * static_cast<double>(window) * DBL_EPSILON)) {}
  bool full() const { return rows_.full(); }
  __attribute__((always_inline)) inline void prefetch() const {
    prefetch_read(this, sizeof(*this));
    rows_.prefetch();
  }

  void push(const Row& x) {
    if (!rows_.full()) {
      rows_.push(x);
      if (rows_.full()) anchor();
      return;
    }
    Row old{};
    rows_.push(x, &old);
    Row dn{}, dold{};
    for (size_t i = 0; i < N; ++i) {
      dn[i] = x[i] - ref_[i];
      dold[i] = old[i] - ref_[i];
      s_[i] += dn[i] - dold[i];
      sq_[i] += dn[i] * dn[i] - dold[i] * dold[i];
    }
    size_t p = 0;
    for (size_t i = 0; i < N; ++i) {
      for (size_t j = i + 1; j < N; ++j, ++p) sxy_[p] += dn[i] * dn[j] - dold[i] * dold[j];
    }
    const double n = static_cast<double>(window_);
    bool collapsed = false;
    for (size_t i = 0; i < N; ++i) {
      peak_[i] = std::max(peak_[i], sq_[i]);
      collapsed = collapsed || dispersion_collapsed(peak_[i], sq_[i] - s_[i] * (s_[i] * inv_n_), n, ref_[i]);
    }
    if (++since_anchor_ >= window_ || collapsed) anchor();
  }

  // Covariances of the pairs, in pair order. Requires full().
  void covariances(std::array<double, kPairs>& out) const {
    size_t p = 0;
    for (size_t i = 0; i < N; ++i) {
      for (size_t j = i + 1; j < N; ++j, ++p) {
        const double m = sxy_[p] - s_[i] * (s_[j] * inv_n_);
        // |m| <= 16*W*eps*sqrt(Qi*Qj), compared squared.
        out[p] = m * m <= noise2_ * (sq_[i] * sq_[j]) ? 0.0 : m * inv_n1_;
      }
    }
  }

  void save(StateWriter& out) const {
    rows_.save(out);
    out.put(ref_);
    out.put(s_);
    out.put(sq_);
    out.put(peak_);
    out.put(sxy_);
    out.put<uint64_t>(since_anchor_);
  }
  void load(StateReader& in) {
    rows_.load(in);
    in.get(ref_);
    in.get(s_);
    in.get(sq_);
    in.get(peak_);
    in.get(sxy_);
    since_anchor_ = in.get<uint64_t>();
  }

 private:
  void anchor() {
    since_anchor_ = 0;
    Row sum{};
    rows_.for_each([&](const Row& r) {
      for (size_t i = 0; i < N; ++i) sum[i] += r[i];
    });
    for (size_t i = 0; i < N; ++i) ref_[i] = sum[i] / static_cast<double>(rows_.size());
    s_.fill(0);
    sq_.fill(0);
    sxy_.fill(0);
    rows_.for_each([&](const Row& r) {
      Row d{};
      for (size_t i = 0; i < N; ++i) {
        d[i] = r[i] - ref_[i];
        s_[i] += d[i];
        sq_[i] += d[i] * d[i];
      }
      size_t p = 0;
      for (size_t i = 0; i < N; ++i) {
        for (size_t j = i + 1; j < N; ++j, ++p) sxy_[p] += d[i] * d[j];
      }
    });
    peak_ = sq_;
  }

  size_t window_;
  RegRing<Row> rows_;
  double inv_n_, inv_n1_, noise2_;
  Row ref_{}, s_{}, sq_{}, peak_{};
  std::array<double, kPairs> sxy_{};
  uint64_t since_anchor_ = 0;
};

// Lag-1 autocorrelation of a series over its last W values: the Pearson correlation of
// the W-1 pairs (e_{i-1}, e_i) inside the window (numpy: corrcoef(e[:-1], e[1:])[0,1];
// pandas: Series.autocorr(1)). Shifted sums, re-anchored like the classes above.
class RollingLag1Autocorr {
 public:
  explicit RollingLag1Autocorr(size_t window = 3) : window_(window), values_(window) {}
  bool full() const { return values_.full(); }
  __attribute__((always_inline)) inline void prefetch() const {
    prefetch_read(this, sizeof(*this));
    values_.prefetch();
  }

  void push(double e) {
    if (!values_.full()) {
      values_.push(e);
      if (values_.full()) anchor();
      return;
    }
    const double a = values_.front(0) - ref_, a1 = values_.front(1) - ref_;
    const double last = values_.back() - ref_, n = e - ref_;
    values_.push(e);
    s_ += n - a;
    q_ += n * n - a * a;
    p_ += last * n - a * a1;
    peak_ = std::max(peak_, q_);
    const double w = static_cast<double>(window_);
    if (++since_anchor_ >= window_ || dispersion_collapsed(peak_, q_ - s_ * (s_ / w), w, ref_)) anchor();
  }

  // level: the magnitude of the underlying series (for the scale-aware zero test of the
  // variances). Returns NULL when either lagged variance is at or below its rounding
  // floor (16*W*eps of the shifted sum of squares) or its standard deviation is at or
  // below kRegZeroRel * level. Requires full().
  double value(double level) const {
    const double first = values_.front(0) - ref_, last = values_.back() - ref_;
    const double n = static_cast<double>(window_ - 1), inv_n = 1.0 / n;
    const double sx = s_ - last, sy = s_ - first;
    const double sxx = q_ - last * last, syy = q_ - first * first;
    const double vx = sxx - sx * (sx * inv_n), vy = syy - sy * (sy * inv_n);
    const double cov = p_ - sx * (sy * inv_n);
    const double floor = 16.0 * static_cast<double>(window_) * DBL_EPSILON * q_;
    const double tiny = kRegZeroRel * level;
    if (!(vx > floor) || !(vy > floor) || !(vx > tiny * tiny * n) || !(vy > tiny * tiny * n)) return kNull;
    return std::clamp(cov / std::sqrt(vx * vy), -1.0, 1.0);
  }

  void save(StateWriter& out) const {
    values_.save(out);
    out.put(ref_);
    out.put(s_);
    out.put(q_);
    out.put(p_);
    out.put(peak_);
    out.put<uint64_t>(since_anchor_);
  }
  void load(StateReader& in) {
    values_.load(in);
    in.get(ref_);
    in.get(s_);
    in.get(q_);
    in.get(p_);
    in.get(peak_);
    since_anchor_ = in.get<uint64_t>();
  }

 private:
  void anchor() {
    since_anchor_ = 0;
    double s = 0;
    values_.for_each([&](double e) { s += e; });
    ref_ = s / static_cast<double>(values_.size());
    double s1 = 0, q = 0, p = 0, prev = 0;
    bool first = true;
    values_.for_each([&](double e) {
      const double d = e - ref_;
      s1 += d;
      q += d * d;
      if (!first) p += prev * d;
      prev = d;
      first = false;
    });
    s_ = s1;
    q_ = q;
    p_ = p;
    peak_ = q_;
  }

  size_t window_;
  RegRing<double> values_;
  double ref_ = 0, s_ = 0, q_ = 0, p_ = 0, peak_ = 0;
  uint64_t since_anchor_ = 0;
};

// ---------------------------------------------------------------------------------------
// regdiag's 40 columns of one domain (FEATURES.md 1.3) from the domain's reg columns.
// regdiag.cpp computes them from the row; in an engine's row the reg kernels compute them
// themselves right after writing their own columns (reg.cpp, RegWindowLanes::enable_diag),
// reading those back while they are in L1. Both run these functions: the same bits.
namespace regdiag_columns {

inline constexpr size_t kNW = 6;  // windows 60, 90, 150, 240, 390, 630
inline constexpr int kPerWindow = 5;
inline constexpr int kCross = 10;
inline constexpr int kDomainColumns = static_cast<int>(kNW) * kPerWindow + kCross;  // 40
inline constexpr int kStdRows = 10;
inline constexpr int kAccelLag = 5;
// The per-window columns in order; resid_autocorr is the fifth.
inline constexpr std::array<const char*, kPerWindow> kPerWindowNames = {"pred_error_ratio", "r2_rank", "term_ratio",
                                                                        "r2_std10", "resid_autocorr"};
inline constexpr std::array<const char*, kCross> kCrossNames = {
    "quad_sign_agree", "lin_sign_agree",    "slope_dispersion",   "curvature_flip", "r2_spread_60_630",
    "r2_mean",         "rmse_ratio_60_630", "pred_spread_60_630", "slope_accel",    "vertex_near"};

// The reg columns each window needs, in this order.
enum Input { kQuad, kLin, kPred, kResid, kR2, kRmse, kSlope, kVertex, kNumInputs };

// Branch-free (the signs of the windows' terms are data: branches on them mispredict).
inline double sgn(double v) { return static_cast<double>(static_cast<int>(v > 0) - static_cast<int>(v < 0)); }

// Sample stdev (ddof 1) of each window's last 10 r2 values, two-pass, oldest first; the six
// windows are accumulated side by side (SIMD lanes). NULL where any value is NULL (NaN
// propagates).
template <typename Row>
__attribute__((always_inline)) inline void sample_std10(const RegRingView<Row>& r, Row& out) {
  const double n = static_cast<double>(r.size());
  Row s{}, m2{};
  r.for_each([&](const Row& v) __attribute__((always_inline)) {
    for (size_t i = 0; i < s.size(); ++i) s[i] += v[i];
  });
  for (size_t i = 0; i < s.size(); ++i) s[i] /= n;  // means
  r.for_each([&](const Row& v) __attribute__((always_inline)) {
    for (size_t i = 0; i < s.size(); ++i) m2[i] += (v[i] - s[i]) * (v[i] - s[i]);
  });
  for (size_t i = 0; i < s.size(); ++i) out[i] = std::sqrt(m2[i] / (n - 1));
}

// reg's column layout (reg.cpp): per domain 6 windows x 15 columns in window order, the
// nine fit columns first (quadratic_term, linear_term, constant_term, prediction,
// residual, r2, rmse, slope_now, vertex_offset). The kernel reads its inputs at these
// offsets from the domain's first reg column when the layout is reg's (checked at
// construction; otherwise, e.g. in a test's layout, through a table of row indices).
constexpr size_t kRegColumnsPerWindow = 15;
constexpr std::array<size_t, kNumInputs> kRegInputOffset = {0, 1, 3, 4, 5, 6, 7, 8};

// The reg columns one domain reads, per window and as lanes.
struct Inputs {
  std::array<std::array<double, kNumInputs>, kNW> v;
  alignas(64) RegLanes quad, lin, pred, resid, r2, rmse, level;
};

// The row index of every input of a domain (for a layout other than reg's own, e.g. a
// test's; cold).
using InputIndex = std::array<std::array<int, kNumInputs>, kNW>;

// reg: the domain's first reg column; index: nullptr for reg's own layout, else every
// input's row index.
__attribute__((always_inline)) inline Inputs read_inputs(const double* row, int reg, const InputIndex* index) {
  Inputs in;
  auto& v = in.v;
  if (index == nullptr) {
    for (size_t i = 0; i < kNW; ++i) {
      for (size_t k = 0; k < kNumInputs; ++k) v[i][k] = row[reg + static_cast<int>(i * kRegColumnsPerWindow + kRegInputOffset[k])];
    }
  } else {
    for (size_t i = 0; i < kNW; ++i) {
      for (size_t k = 0; k < kNumInputs; ++k) v[i][k] = row[(*index)[i][k]];
    }
  }
  // The per-window inputs as lanes.
  auto lanes_of = [&](Input k, RegLanes& out) __attribute__((always_inline)) {
    set_reg_lanes<kNW>(out, {v[0][k], v[1][k], v[2][k], v[3][k], v[4][k], v[5][k]});
  };
  lanes_of(kQuad, in.quad);
  lanes_of(kLin, in.lin);
  lanes_of(kPred, in.pred);
  lanes_of(kResid, in.resid);
  lanes_of(kR2, in.r2);
  lanes_of(kRmse, in.rmse);
  for (size_t l = 0; l < kRegLanes; ++l) in.level[l] = std::fabs(in.pred[l]) + in.rmse[l];
  return in;
}

// The per-domain history of the cross-window columns: w60 slope_now of the last 6 rows
// (a ring that fills from slot 0) and the previous w60 quadratic_term.
struct DomainHistory {
  std::array<double, kAccelLag + 1> slope60;
  double prev_quad60;
};

// The 40 columns of the domain; r2std: r2_std10 of the 6 windows (lanes); slope_head /
// slope_size: the slope60 ring's position (kernel header).
__attribute__((always_inline)) inline void finish_domain(const Inputs& in, const RegLanes& r2std,
                                                         const RegLanes& autocorr, bool write_autocorr,
                                                         DomainHistory& history,
                                                         uint8_t& slope_head, uint8_t& slope_size, double* out) {
  using Lanes = RegLanes;
  const auto& v = in.v;
  const Lanes &quad = in.quad, &lin = in.lin, &resid = in.resid, &r2 = in.r2, &rmse = in.rmse;
  auto all = [&](Input k) __attribute__((always_inline)) {
    bool none_null = true;
    for (size_t i = 0; i < kNW; ++i) none_null &= !is_null(v[i][k]);  // & rather than an early exit: no branches
    return none_null;
  };
  const bool all_r2 = all(kR2);

  // Per-window columns, all windows at once.
  alignas(64) Lanes error_ratio, rank, term_ratio;
  for (size_t l = 0; l < kRegLanes; ++l) {
    // pred_error_ratio
    const double ratio = std::fabs(resid[l]) / rmse[l];
    error_ratio[l] = (is_null(resid[l]) || is_null(rmse[l]) || rmse[l] == 0) ? kNull : ratio;
    // r2_rank: competition ranking, 1 = highest, ties share the smaller rank number.
    double above = 0;
    for (size_t j = 0; j < kNW; ++j) above += r2[j] > r2[l] ? 1.0 : 0.0;
    rank[l] = all_r2 ? 1.0 + above : kNull;
    // term_ratio
    const double terms = quad[l] / (std::fabs(quad[l]) + std::fabs(lin[l]));
    term_ratio[l] = (is_null(quad[l]) || is_null(lin[l]) || (quad[l] == 0 && lin[l] == 0)) ? kNull : terms;
  }
  for (size_t i = 0; i < kNW; ++i) {
    double* o = out + i * kPerWindow;
    o[0] = error_ratio[i];
    o[1] = rank[i];
    o[2] = term_ratio[i];
    o[3] = r2std[i];
    if (write_autocorr) o[4] = autocorr[i];
  }

  double* c = out + kNW * kPerWindow;
  const size_t last = kNW - 1;  // w630
  auto sign_agree = [&](Input k) __attribute__((always_inline)) {
    int n = 0;
    for (size_t j = 1; j < kNW; ++j) n += sgn(v[j][k]) == sgn(v[0][k]) ? 1 : 0;
    return all(k) ? static_cast<double>(n) : kNull;
  };
  c[0] = sign_agree(kQuad);
  c[1] = sign_agree(kLin);
  // slope_dispersion: population stdev (ddof 0) of the 6 slopes / mean |slope|.
  if (all(kSlope)) {
    double s = 0, sa = 0;
    for (size_t j = 0; j < kNW; ++j) {
      s += v[j][kSlope];
      sa += std::fabs(v[j][kSlope]);
    }
    const double mean = s / kNW, mean_abs = sa / kNW;
    double m2 = 0;
    for (size_t j = 0; j < kNW; ++j) {
      const double d = v[j][kSlope] - mean;
      m2 += d * d;
    }
    c[2] = mean_abs == 0 ? kNull : std::sqrt(m2 / kNW) / mean_abs;
  } else {
    c[2] = kNull;
  }
  // curvature_flip
  const double q60 = v[0][kQuad];
  c[3] = (is_null(q60) || is_null(history.prev_quad60)) ? kNull : (sgn(q60) != sgn(history.prev_quad60) ? 1.0 : 0.0);
  history.prev_quad60 = q60;
  c[4] = v[0][kR2] - v[last][kR2];
  if (all_r2) {
    double s = 0;
    for (size_t j = 0; j < kNW; ++j) s += v[j][kR2];
    c[5] = s / kNW;
  } else {
    c[5] = kNull;
  }
  c[6] = (is_null(v[0][kRmse]) || is_null(v[last][kRmse]) || v[last][kRmse] == 0) ? kNull
                                                                                    : v[0][kRmse] / v[last][kRmse];
  c[7] = v[0][kPred] - v[last][kPred];
  // slope_accel: t minus t-5 (the ring's newest minus its oldest once full).
  constexpr size_t kSlopeCap = kAccelLag + 1;
  history.slope60[slope_head] = v[0][kSlope];
  slope_head = static_cast<uint8_t>(slope_head + 1 == kSlopeCap ? 0 : slope_head + 1);
  if (slope_size < kSlopeCap) ++slope_size;
  c[8] = slope_size == kSlopeCap ? v[0][kSlope] - history.slope60[slope_head] : kNull;
  const double vx = v[0][kVertex];
  c[9] = is_null(vx) ? kNull : (std::fabs(vx) <= 5.0 ? 1.0 : 0.0);
}

}  // namespace regdiag_columns

}  // namespace bqx::features
