// stats_bqx: rolling statistics of the bqx series q_t = bqx_w15_return_t (FEATURES.md 1.7),
// 9 columns for each W in {15, 30, 60, 120, 240, 480, 1440} (63), window-major, named
// stats_bqx_<stat>_<W>.
//
// The bqx domain starts at the first non-NULL q (row 15): a row whose q is NULL is not
// pushed and gives NULL in every column. Windows hold the last W q values, t inclusive, so
// the lookback is (W - 1) + 15. autocorr1 is the Pearson correlation of the W-1 consecutive
// pairs (q_{i-1}, q_i) inside the window (pandas Series.autocorr(1)), same lookback.
// Same primitives as stats_rate (stats_moments.h); min / max of all windows from one
// monotonic deque each and the ranks of q_t in all windows by one counting pass over a
// shared ring (stats_rank.h).
#include <array>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>

#include "features/families.h"
#include "features/stats_moments.h"
#include "features/stats_rank.h"

namespace bqx::features {
namespace {

using stats::cat;


constexpr std::array<int, 7> kWindows = {15, 30, 60, 120, 240, 480, 1440};
constexpr int kMaxWindow = 1440;
constexpr int kCols = 9;
constexpr int kQLookback = 15;  // first non-NULL row of bqx_w15_return
constexpr const char* kInput = "bqx_w15_return";

#if defined(BQX_COUNT_LE_AVX2)
// The output formulas of the 7 windows as 8 SIMD lanes (lane i = window i, lane 7 unused);
// see stats_rate.cpp: same reasons, same bit-identity argument (the scalar form of each
// line is in update()).
struct OutputLanes {
  // The two parts of each window's aggregates, merged here as lanes: the left parts
  // (RingBlockWindows::left(); a window without one, and lane 7, point at kEmpty*) and
  // the heads (HeadLanes fields, already one vector per field).
  const void* m_left[8];
  const double (*m_head)[8];
  const void* pair_left[8];
  const double (*pair_head)[8];
  unsigned m_has_left = 0, pair_has_left = 0;  // bit i: window i
  double le[8], min[8], max[8];                // rank count, extremes
  unsigned full = 0;                           // bit i: window i is full
};
const stats::Moments4 kEmptyMoments{};
const stats::CoMoments kEmptyPair{};
static_assert(sizeof(stats::Moments4) == 6 * sizeof(double) && sizeof(stats::CoMoments) == 8 * sizeof(double),
              "aggregates are read as rows of doubles (stats::transpose_lanes)");

__attribute__((target("avx512f"))) void outputs_avx512(const OutputLanes& in, double q_t, double* out) {
  const __m512d null = _mm512_set1_pd(kNull);
  alignas(64) double col[kCols][8];
  // value() of every window: merge(left, head) where there is a left part, else the head.
  __m512d left[8], head[8];
  stats::transpose_lanes(in.m_left, 6, left);
  for (int k = 0; k < 6; ++k) head[k] = _mm512_load_pd(in.m_head[k]);
  const __mmask8 has_left = static_cast<__mmask8>(in.m_has_left);
  const stats::Moments4Lanes mm = stats::merge_lanes(stats::Moments4Lanes{left[0], left[1], left[2], left[3], left[4], left[5]},
                                                     stats::Moments4Lanes{head[0], head[1], head[2], head[3], head[4], head[5]});
  __m512d pl[8], ph[8];
  stats::transpose_lanes(in.pair_left, 8, pl);
  for (int k = 0; k < 8; ++k) ph[k] = _mm512_load_pd(in.pair_head[k]);
  const __mmask8 pair_has_left = static_cast<__mmask8>(in.pair_has_left);
  const stats::CoMomentsLanes pm = stats::merge_lanes(stats::CoMomentsLanes{pl[0], pl[1], pl[2], pl[3], pl[4], pl[5], pl[6], pl[7]},
                                                      stats::CoMomentsLanes{ph[0], ph[1], ph[2], ph[3], ph[4], ph[5], ph[6], ph[7]});

  const __mmask8 full = static_cast<__mmask8>(in.full);
  const __m512d n = _mm512_mask_blend_pd(has_left, head[0], mm.n), m2 = _mm512_mask_blend_pd(has_left, head[3], mm.m2);
  const __m512d anchor = _mm512_mask_blend_pd(has_left, head[1], mm.anchor);
  const __m512d off = _mm512_mask_blend_pd(has_left, head[2], mm.off);
  const __m512d m3 = _mm512_mask_blend_pd(has_left, head[4], mm.m3), m4 = _mm512_mask_blend_pd(has_left, head[5], mm.m4);
  const __m512d mean = _mm512_add_pd(anchor, off);
  const __m512d sd = stats::std_sample_lanes(n, m2);
  const __mmask8 sharp = stats::sharp_lanes(n, mean, m2, full);
  const __m512d v = _mm512_div_pd(m2, n);
  stats::put_column(col[0], null, full, mean);
  stats::put_column(col[1], null, full, sd);
  stats::put_column(col[2], null, full & sharp,
                    _mm512_div_pd(_mm512_div_pd(m3, n), _mm512_mul_pd(v, stats::sqrt_lanes(v))));
  stats::put_column(col[3], null, full & sharp,
                    _mm512_sub_pd(_mm512_div_pd(_mm512_div_pd(m4, n), _mm512_mul_pd(v, v)),
                                  _mm512_set1_pd(3.0)));
  const __m512d deviation = _mm512_sub_pd(_mm512_sub_pd(_mm512_set1_pd(q_t), anchor), off);
  stats::put_column(col[4], null, full & sharp, _mm512_div_pd(deviation, sd));
  stats::put_column(col[5], null, full, _mm512_div_pd(_mm512_loadu_pd(in.le), n));
  stats::put_column(col[6], null, full, _mm512_loadu_pd(in.min));
  stats::put_column(col[7], null, full, _mm512_loadu_pd(in.max));
  const __m512d pn = _mm512_mask_blend_pd(pair_has_left, ph[0], pm.n);
  const __m512d m2a = _mm512_mask_blend_pd(pair_has_left, ph[5], pm.m2a);
  const __m512d m2b = _mm512_mask_blend_pd(pair_has_left, ph[6], pm.m2b);
  const __m512d mean_a = _mm512_add_pd(_mm512_mask_blend_pd(pair_has_left, ph[1], pm.anchor_a),
                                       _mm512_mask_blend_pd(pair_has_left, ph[3], pm.off_a));
  const __m512d mean_b = _mm512_add_pd(_mm512_mask_blend_pd(pair_has_left, ph[2], pm.anchor_b),
                                       _mm512_mask_blend_pd(pair_has_left, ph[4], pm.off_b));
  const __m512d cab = _mm512_mask_blend_pd(pair_has_left, ph[7], pm.cab);
  const __mmask8 legs_sharp =
      static_cast<__mmask8>(stats::sharp_lanes(pn, mean_a, m2a, full) & stats::sharp_lanes(pn, mean_b, m2b, full));
  stats::put_column(col[8], null, full & legs_sharp,
                    _mm512_div_pd(cab, stats::sqrt_lanes(_mm512_mul_pd(m2a, m2b))));
  stats::store_window_rows(col, 0, 8, kWindows.size(), kCols, out);
  for (size_t i = 0; i < kWindows.size(); ++i) out[i * kCols + 8] = col[8][i];  // one column: no transpose
}
#endif

// The pairs (q_{i-1}, q_i) of a window of W values: W - 1.
constexpr std::array<int, kWindows.size()> pair_windows() {
  std::array<int, kWindows.size()> w{};
  for (size_t i = 0; i < kWindows.size(); ++i) w[i] = kWindows[i] - 1;
  return w;
}

// The windows' values by age, from the ring of the last 1440 q values (RingBlockWindows):
// the q pushed `age` pushes ago, and the pair (q_{i-1}, q_i) with q_i that q.
struct QSource {
  const stats::KeyedRankRing<kMaxWindow>* ring;
  double operator()(size_t age) const { return ring->back(age); }
};
struct PairSource {
  const stats::KeyedRankRing<kMaxWindow>* ring;
  stats::PairValue operator()(size_t age) const { return stats::PairValue{ring->back(age + 1), ring->back(age)}; }
};

class StatsBqxKernel final : public FamilyKernel {
 public:
  explicit StatsBqxKernel(const KernelContext& ctx)
      : offset_(ctx.offset), q_idx_(ctx.layout->index_of(kInput)), ms_(kWindows), pairs_(pair_windows()), min_(kWindows),
        max_(kWindows) {
    locate_arrays();
    note_positions();
  }

  void update(const BarInput&, double* row) override {
    double* out = row + offset_;
    const double q = row[q_idx_];
    if (is_null(q)) {
      for (size_t k = 0; k < kWindows.size() * kCols; ++k) out[k] = kNull;
      return;
    }
    const bool have_pair = q_seen_ > 0;
    const stats::PairValue pv{prev_q_, q};
    roll_due_windows(have_pair);  // before qs_.push: the rings' age 0 is the last value of the full blocks
    qs_.push(q);
    size_t full_windows = 0;
    while (full_windows < kWindows.size() && qs_.size() >= static_cast<size_t>(kWindows[full_windows])) ++full_windows;
    std::array<size_t, kWindows.size()> le{};  // count of window values <= q_t
    qs_.count_le_nested(kWindows, full_windows, q, le);
    min_.push(q);
    max_.push(q);
    grow_heads(q, have_pair, pv);
    ms_.advance();
    if (have_pair) pairs_.advance();
#if defined(BQX_COUNT_LE_AVX2)
    if (stats::cpu_has_avx512()) {
      OutputLanes in;
      in.m_head = m_heads_.f;
      in.pair_head = pair_heads_.f;
      in.full = ms_.full_mask();
      in.m_has_left = ms_.left_rows(in.m_left, &kEmptyMoments);
      in.pair_has_left = pairs_.left_rows(in.pair_left, &kEmptyPair);
      // Lanes of windows that are not full are never output (NULL): read without a branch.
      for (size_t i = 0; i < kWindows.size(); ++i) {
        in.le[i] = static_cast<double>(le[i]);
        in.min[i] = min_.value(i);
        in.max[i] = max_.value(i);
      }
      in.le[7] = in.min[7] = in.max[7] = 0.0;
      outputs_avx512(in, q, out);
      prev_q_ = q;
      ++q_seen_;
      note_positions();
      return;
    }
#endif
    for (size_t i = 0; i < kWindows.size(); ++i) {
      double* o = out + i * kCols;
      if (!ms_.full(i)) {
        for (int k = 0; k < kCols; ++k) o[k] = kNull;
        continue;
      }
      const stats::Moments4 m = ms_.value(i, m_heads_.get(i));
      const double sd = stats::std_sample(m.n, m.m2);
      o[0] = m.mean();
      o[1] = sd;
      o[2] = stats::skew_g1(m);
      o[3] = stats::kurt_excess(m);
      o[4] = stats::degenerate(m.n, m.mean(), m.m2) ? kNull : m.deviation(q) / sd;
      o[5] = static_cast<double>(le[i]) / m.n;
      o[6] = min_.value(i);
      o[7] = max_.value(i);
      o[8] = stats::pearson(pairs_.value(i, pair_heads_.get(i)));
    }
    prev_q_ = q;
    ++q_seen_;
    note_positions();
  }

  // The windows that roll on this push, rolled together per aggregate kind (their suffix
  // chains interleave: RingBlockWindows::roll); the pushes then do not roll. Their heads
  // restart empty.
  void roll_due_windows(bool have_pair) {
    const unsigned ms_due = ms_.rolls_next();
    const unsigned pairs_due = have_pair ? pairs_.rolls_next() : 0u;
    for (size_t i = 0; i < kWindows.size(); ++i) {
      if (ms_due >> i & 1u) m_heads_.reset(i);
      if (pairs_due >> i & 1u) pair_heads_.reset(i);
    }
    ms_.roll(ms_due, QSource{&qs_});
    pairs_.roll(pairs_due, PairSource{&qs_});
  }

  // Each window's push appends q (and the pair) to its head (the windows' other part,
  // advance(), is in update()). SIMD across windows: the same value into 7 heads, per-lane
  // IEEE operations, bit-identical to the scalar appends (AVX-512, else generic vectors).
  void grow_heads(double q, bool have_pair, const stats::PairValue& pv) {
#if defined(BQX_COUNT_LE_AVX2)
    if (stats::cpu_has_avx512()) {
      grow_heads_avx512(q, have_pair, pv);
      return;
    }
#endif
    constexpr unsigned kAllWindows = (1u << kWindows.size()) - 1u;
    stats::portable::append_moments4_lanes(m_heads_.f, q, kAllWindows);
    if (have_pair) stats::portable::append_comoments_lanes(pair_heads_.f, pv.a, pv.b, kAllWindows);
  }
#if defined(BQX_COUNT_LE_AVX2)
  __attribute__((target("avx512f"))) void grow_heads_avx512(double q, bool have_pair, const stats::PairValue& pv) {
    constexpr __mmask8 kAllWindows = (1u << kWindows.size()) - 1u;
    stats::append_moments4_lanes(m_heads_.f, q, kAllWindows);
    if (have_pair) stats::append_comoments_lanes(pair_heads_.f, pv.a, pv.b, kAllWindows);
  }
#endif

  // The lines the next update() touches. Their addresses come from hints_ (this object's
  // first cache line, which the engine fetches a whole family ahead) and from constant
  // offsets: reading the windows' own fields here (cold lines) stalled on their misses
  // (perf: ~1 % of the streaming step in this function). Hints only: no effect on values.
  void prefetch() const override {
    m_heads_.prefetch();
    pair_heads_.prefetch();
    ms_.prefetch_hot();
    pairs_.prefetch_hot();
    min_.prefetch_object();
    max_.prefetch_object();
    qs_.prefetch_object();
    if (!hints_.located) {  // the arrays lie too far from this object for 32-bit offsets
      ms_.prefetch();
      pairs_.prefetch();
      min_.prefetch();
      max_.prefetch();
      qs_.prefetch();
      return;
    }
    const uint64_t pushes = hints_.pushes;
    stats::RingBlockWindows<stats::Moments4Op, kWindows.size()>::prefetch_from(
        at<stats::Moments4>(hints_.ms_suffix), pushes, kWindows);
    stats::RingBlockWindows<stats::CoMomentsOp, kWindows.size()>::prefetch_from(
        at<stats::CoMoments>(hints_.pairs_suffix), pushes > 0 ? pushes - 1 : 0, pair_windows());
    stats::NestedExtremes<false, kWindows.size()>::prefetch_from(at<char>(hints_.min_entries), hints_.min_back, kWindows);
    stats::NestedExtremes<true, kWindows.size()>::prefetch_from(at<char>(hints_.max_entries), hints_.max_back, kWindows);
    stats::KeyedRankRing<kMaxWindow>::prefetch_from(at<double>(hints_.q_data), at<uint16_t>(hints_.q_keys), hints_.q_pos);
  }

  // The q ring comes first: the windows rebuild their suffixes from it at load().
  void save(StateWriter& out) const override {
    qs_.save(out);
    m_heads_.save(out);
    pair_heads_.save(out);
    for (size_t i = 0; i < kWindows.size(); ++i) {  // window-major, as one object per window saved
      ms_.save_counters(i, out);
      pairs_.save_counters(i, out);
    }
    min_.save(out);
    max_.save(out);
    out.put(prev_q_);
    out.put<uint64_t>(q_seen_);
  }
  void load(StateReader& in) override {
    qs_.load(in);
    m_heads_.load(in);
    pair_heads_.load(in);
    const size_t qs = qs_.size();
    for (size_t i = 0; i < kWindows.size(); ++i) {
      ms_.load_counters(i, in);
      pairs_.load_counters(i, in);
    }
    ms_.load_suffixes(in, QSource{&qs_}, qs);
    pairs_.load_suffixes(in, PairSource{&qs_}, qs > 0 ? qs - 1 : 0);
    min_.load(in);
    max_.load(in);
    in.get(prev_q_);
    q_seen_ = in.get<uint64_t>();
    locate_arrays();  // qs_.load() rebuilt the ring (new arrays)
    note_positions();
  }

 private:
  // Where prefetch() finds the next update's lines without loading cold fields: the
  // windows' arrays as byte offsets from this object (fixed until load()) and the positions
  // their next push uses (written at the end of each update()). First in the object: in
  // its first cache line, with the vtable pointer.
  struct Hints {
    int32_t ms_suffix = 0, pairs_suffix = 0, min_entries = 0, max_entries = 0, q_data = 0, q_keys = 0;
    uint64_t pushes = 0;  // q values pushed (ms_.count())
    uint16_t q_pos = 0, min_back = 0, max_back = 0;
    bool located = false;  // every offset fits in 32 bits (else prefetch() reads the fields)
  };
  static_assert(sizeof(Hints) <= 64 - sizeof(void*), "the hints share the first cache line with the vtable pointer");
  template <class T>
  const T* at(int32_t offset) const {
    return reinterpret_cast<const T*>(reinterpret_cast<uintptr_t>(this) + static_cast<uintptr_t>(static_cast<intptr_t>(offset)));
  }
  void locate_arrays() {
    const void* arrays[] = {ms_.suffix_base(), pairs_.suffix_base(), min_.entries(), max_.entries(), qs_.data(), qs_.keys()};
    int32_t* offsets[] = {&hints_.ms_suffix, &hints_.pairs_suffix, &hints_.min_entries, &hints_.max_entries, &hints_.q_data,
                          &hints_.q_keys};
    hints_.located = true;
    for (size_t k = 0; k < std::size(arrays); ++k) {
      const intptr_t d = static_cast<intptr_t>(reinterpret_cast<uintptr_t>(arrays[k]) - reinterpret_cast<uintptr_t>(this));
      if (d < INT32_MIN || d > INT32_MAX) hints_.located = false;
      *offsets[k] = static_cast<int32_t>(d);
    }
  }
  void note_positions() {
    hints_.pushes = ms_.count();
    hints_.q_pos = static_cast<uint16_t>(qs_.position());
    hints_.min_back = static_cast<uint16_t>(min_.back_slot());
    hints_.max_back = static_cast<uint16_t>(max_.back_slot());
  }

  Hints hints_;
  int offset_;
  int q_idx_;
  // The windows' moments and pair co-moments (RingBlockWindows: counters of all 7 in one line).
  stats::RingBlockWindows<stats::Moments4Op, kWindows.size()> ms_;
  stats::RingBlockWindows<stats::CoMomentsOp, kWindows.size()> pairs_;
  stats::NestedExtremes<false, kWindows.size()> min_;  // of each window (one deque)
  stats::NestedExtremes<true, kWindows.size()> max_;
  stats::KeyedRankRing<kMaxWindow> qs_;  // the last 1440 q values (q_t = back(0) once pushed)
  stats::HeadLanes<stats::Moments4> m_heads_;      // lane i: head of window i's moments
  stats::HeadLanes<stats::CoMoments> pair_heads_;  // lane i: head of window i's pairs
  double prev_q_ = 0;
  uint64_t q_seen_ = 0;
};

}  // namespace

FamilyDef make_stats_bqx_family() {
  FamilyDef def;
  def.name = "stats_bqx";
  def.inputs = {kInput};
  const std::string src = "FEATURES.md 1.7";
  const std::string fam = "stats_bqx";
  const std::string flat = "window flat: population std <= 1e-12*|mean| (exactly constant window)";
  for (int w : kWindows) {
    const std::string s = cat("_", std::to_string(w));
    const std::string par = cat("W=", std::to_string(w), ", q=bqx_w15_return");
    const std::string win = " over the W values q_{t-W+1}..q_t (t inclusive; q = bqx_w15_return)";
    const int lb = w - 1 + kQLookback;
    auto add = [&](const std::string& stat, const std::string& formula, const std::string& unit,
                   const std::string& null_when) {
      def.columns.push_back({"stats_bqx_" + stat + s, fam, par, formula + win, unit, lb, src, null_when, true});
    };
    add("mean", "mean of q", "fraction", "");
    add("std", "sample stdev (ddof 1) of q", "fraction", "");
    add("skew", "biased skewness g1 = m3 / m2^1.5 (scipy.stats.skew bias=True) of q", "dimensionless", flat);
    add("kurt", "biased excess kurtosis m4 / m2^2 - 3 (scipy.stats.kurtosis bias=True) of q", "dimensionless", flat);
    add("z", "(q_t - mean q) / std q, std ddof 1,", "z-score", flat);
    add("pctrank", "share of window values <= q_t", "fraction (0..1]", "");
    add("min", "min of q", "fraction", "");
    add("max", "max of q", "fraction", "");
    add("autocorr1", "lag-1 autocorrelation: Pearson correlation of the W-1 pairs (q_{i-1}, q_i)",
        "correlation (-1..1)", "either leg flat (population std <= 1e-12*|mean|)");
  }
  def.make = [](const KernelContext& ctx) { return std::make_unique<StatsBqxKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
