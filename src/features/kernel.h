// The kernel contract (DESIGN.md, "The kernel contract"): a feature family is a small
// state machine constructed once from validated parameters, updated one bar at a time
// in O(1) or O(log W) with no allocation, I/O, locks or global state, and able to save
// and restore its whole state as bytes.
//
// A family writes its columns into a slice of the per-pair feature row and may read
// columns that earlier families (in registry order) wrote into the same row; this is how
// in-pair dependencies (bqx -> reg_bqx -> regdiag, ...) are expressed.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BQX_NULL_NON_FINITE_AVX2 1
#endif

#include "core/currency.h"
#include "core/result.h"
#include "core/time.h"
#include "features/state_memory.h"

namespace bqx::features {

inline constexpr double kNull = std::numeric_limits<double>::quiet_NaN();
inline bool is_null(double v) { return std::isnan(v); }

#if defined(BQX_NULL_NON_FINITE_AVX2)
// Eight lanes: fpclass marks NaN (quiet or signalling) and +-Inf, and only those lanes are
// overwritten with kNull (the rows are almost all finite, so the pass is a read-only scan:
// no store traffic). Same result bits as the scalar loop.
__attribute__((target("avx512f,avx512dq"))) inline size_t null_non_finite_avx512(double* v, size_t n) {
  constexpr int kNanOrInf = 0x01 | 0x08 | 0x10 | 0x80;  // QNaN, +Inf, -Inf, SNaN
  const __m512d null = _mm512_set1_pd(kNull);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __mmask8 bad = _mm512_fpclass_pd_mask(_mm512_loadu_pd(v + i), kNanOrInf);
    if (bad) _mm512_mask_storeu_pd(v + i, bad, null);
  }
  // The last n % 8 values by a masked load (lanes past the end are neither read nor
  // faulted): no scalar tail, no store unless a value is non-finite.
  if (i < n) {
    const __mmask8 tail = static_cast<__mmask8>((1u << (n - i)) - 1u);
    const __mmask8 bad = _mm512_mask_fpclass_pd_mask(tail, _mm512_maskz_loadu_pd(tail, v + i), kNanOrInf);
    if (bad) _mm512_mask_storeu_pd(v + i, bad, null);
  }
  return n;
}
// Four lanes, same mask and same result bits; stores only blocks holding a non-finite value.
__attribute__((target("avx"))) inline size_t null_non_finite_avx(double* v, size_t n) {
  const __m256d zero = _mm256_setzero_pd();
  const __m256d null = _mm256_set1_pd(kNull);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_loadu_pd(v + i);
    const __m256d finite = _mm256_cmp_pd(_mm256_sub_pd(x, x), zero, _CMP_EQ_OQ);
    // and/andnot/or rather than blendv: GCC 12 turned the blendv form into per-lane branches.
    if (_mm256_movemask_pd(finite) != 0xF) {
      _mm256_storeu_pd(v + i, _mm256_or_pd(_mm256_and_pd(finite, x), _mm256_andnot_pd(finite, null)));
    }
  }
  return i;
}
inline bool cpu_has_avx() {
  static const bool has = __builtin_cpu_supports("avx");
  return has;
}
inline bool cpu_has_avx512dq() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  return has;
}
#endif

// Undefined is NULL, never Inf (FEATURES.md section 0): v[i] = isfinite(v[i]) ? v[i] : kNull
// for i < n, in place. On x86-64 two lanes at a time: v - v is 0 exactly for finite v and
// NaN otherwise, so (v - v == 0) is the finite mask (same result bit for bit as the loop).
inline void null_non_finite(double* v, size_t n) {
  size_t i = 0;
#if defined(BQX_NULL_NON_FINITE_AVX2)
  if (cpu_has_avx512dq()) {
    i = null_non_finite_avx512(v, n);  // all n (masked tail)
  } else if (n >= 16 && cpu_has_avx()) {
    i = null_non_finite_avx(v, n);
  }
#endif
#if defined(__SSE2__)
  const __m128d zero = _mm_setzero_pd();
  const __m128d null = _mm_set1_pd(kNull);
  for (; i + 2 <= n; i += 2) {
    const __m128d x = _mm_loadu_pd(v + i);
    const __m128d finite = _mm_cmpeq_pd(_mm_sub_pd(x, x), zero);
    _mm_storeu_pd(v + i, _mm_or_pd(_mm_and_pd(finite, x), _mm_andnot_pd(finite, null)));
  }
#endif
  for (; i < n; ++i) v[i] = std::isfinite(v[i]) ? v[i] : kNull;
}

// Software prefetch of the cache lines holding [p, p + bytes) (a hint: no effect on any
// result). Why: in streaming use the state of 28 pairs (~40 MB) exceeds the last-level
// cache, so every window position a kernel reaches for the first time in a long while is a
// DRAM miss taken in series with the next one. The rolling structures know which element
// their next push will touch, and fetch it one push ahead; by then it is in cache.
//
// The empty volatile asm matters: GCC's pure/const analysis treats __builtin_prefetch as
// free of side effects, so a function whose only effect is prefetching (a ring's or a
// kernel's prefetch()) is deduced const and a call to it is deleted as dead code. In GCC 12
// that silently emptied the prefetch() of ta_rate, ta_bqx and dist_rate (objdump: a bare
// ret). The asm is a side effect that survives into every caller; it emits no instruction
// and, having no memory clobber, does not constrain the surrounding loads and stores.
inline constexpr size_t kCacheLine = 64;
inline void prefetch_read(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t off = 0; off < bytes; off += kCacheLine) __builtin_prefetch(c + off, 0, 3);
  if (bytes > 1) __builtin_prefetch(c + bytes - 1, 0, 3);  // the last line (unaligned start)
  asm volatile("");
}
inline void prefetch_write(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t off = 0; off < bytes; off += kCacheLine) __builtin_prefetch(c + off, 1, 3);
  if (bytes > 1) __builtin_prefetch(c + bytes - 1, 1, 3);
  asm volatile("");
}

// One bar of one pair in both domains. x* are the rate index 100 * price / B_p
// (FEATURES.md section 0, "Index series").
struct BarInput {
  EpochMinute ts = 0;
  double open = 0, high = 0, low = 0, close = 0;  // raw prices
  double volume = kNull;                          // tick volume; NaN if unknown
  double bid = kNull, ask = kNull;                // NaN if unknown
  double xo = 0, xh = 0, xl = 0, xc = 0;          // rate-index OHLC
};

// Everything the catalogue says about one output column.
struct ColumnInfo {
  std::string name;     // e.g. "ta_rate_rsi_14"
  std::string family;   // e.g. "ta_rate"
  std::string params;   // e.g. "period=14"
  std::string formula;  // human-readable definition
  std::string unit;     // e.g. "index points", "fraction", "0..100", "bars"
  int lookback = 0;     // rows before the first possible non-NULL value
  std::string source;   // FEATURES.md section / TA-Lib function
  std::string null_when;  // documented NULL condition beyond warm-up ("" if none)
  // False when the first non-NULL row is not a fixed row count (e.g. depends on
  // timestamps); lookback is then a lower bound.
  bool exact_lookback = true;
  // Non-empty when the column equals another column by definition (the uniqueness test
  // exempts it and the catalogue shows why): "<other column>: <reason>".
  std::string identical_to;
};

// Byte serialisation of kernel state. Writers append trivially-copyable values;
// readers consume them in the same order and flag underflow.
class StateWriter {
 public:
  explicit StateWriter(std::vector<uint8_t>& out) : out_(out) {}
  template <typename T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    append(&value, sizeof(T));
  }
  template <typename T, typename Alloc>
  void put_vector(const std::vector<T, Alloc>& values) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<uint64_t>(values.size());
    append(values.data(), values.size() * sizeof(T));
  }

 private:
  // resize + memcpy rather than insert(): GCC 12 reports a false -Wstringop-overflow on
  // vector<uint8_t>::insert of a small object.
  void append(const void* p, size_t n) {
    if (n == 0) return;
    const size_t at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, p, n);
  }
  std::vector<uint8_t>& out_;
};

class StateReader {
 public:
  StateReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value{};
    if (pos_ + sizeof(T) > size_) {
      ok_ = false;
      return value;
    }
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  template <typename T>
  void get(T& value) { value = get<T>(); }
  // Reads a vector written by put_vector; the size must equal the expected size
  // (state shapes are fixed by the parameters) or the reader is marked bad.
  template <typename T, typename Alloc>
  void get_vector(std::vector<T, Alloc>& values) {
    const auto n = get<uint64_t>();
    if (!ok_ || n != values.size() || pos_ + n * sizeof(T) > size_) {
      ok_ = false;
      return;
    }
    std::memcpy(values.data(), data_ + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == size_; }
  void fail() { ok_ = false; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Resolves column names to indices in the per-pair row.
class ColumnLayout {
 public:
  void add(const std::string& name) { names_.push_back(name); }
  int index_of(std::string_view name) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
};

// A family's running state machine. Objects live in the huge-page state arena.
class FamilyKernel : public ArenaPlaced {
 public:
  virtual ~FamilyKernel() = default;
  // Writes this family's columns into row[offset .. offset + width) (offset given at
  // construction) and may read columns of earlier families from `row`.
  virtual void update(const BarInput& bar, double* row) = 0;
  // Hint: fetch the state lines the next update() will touch (no effect on any result).
  // The engine calls it for the next pair's kernels while the current pair computes, so
  // the misses of the next pair overlap with useful work (see prefetch_read).
  virtual void prefetch() const {}
  virtual void save(StateWriter& out) const = 0;
  virtual void load(StateReader& in) = 0;
};

struct KernelContext {
  int offset = 0;               // index of this family's first column in the row
  const ColumnLayout* layout = nullptr;  // full row layout (for reading earlier columns)
  Pair pair{};                  // the pair whose rows this kernel computes
};

// A family: its catalogue entries (in output order), the earlier columns it reads,
// and a factory for its kernel.
struct FamilyDef {
  std::string name;
  std::vector<ColumnInfo> columns;
  std::vector<std::string> inputs;  // names of columns of earlier families it reads
  std::function<std::unique_ptr<FamilyKernel>(const KernelContext&)> make;
};

}  // namespace bqx::features
