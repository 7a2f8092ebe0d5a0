#include "engine/market_engine.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "features/registry.h"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace bqx {

using features::ColumnInfo;
using features::kNull;

namespace {

// Whether features::null_non_finite(v, n) would leave every value as it is (each finite or
// already kNull's bits): then a later pass that maps them may be skipped. It reads lines
// just written (in L1); all finite, the usual case, is four lanes at a time (x - x == 0
// exactly when x is finite), anything else the exact test per value.
bool null_mapping_is_identity(const double* v, size_t n) {
  size_t i = 0;
#if defined(__AVX__)
  const __m256d zero = _mm256_setzero_pd();
  __m256d finite = _mm256_cmp_pd(zero, zero, _CMP_EQ_OQ);
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_loadu_pd(v + i);
    finite = _mm256_and_pd(finite, _mm256_cmp_pd(_mm256_sub_pd(x, x), zero, _CMP_EQ_OQ));
  }
  if (_mm256_movemask_pd(finite) != 0xF) i = 0;
#endif
  constexpr uint64_t kExponent = 0x7ff0000000000000ull;
  const uint64_t null_bits = std::bit_cast<uint64_t>(features::kNull);
  for (; i < n; ++i) {
    uint64_t bits;
    std::memcpy(&bits, v + i, sizeof bits);
    if ((bits & kExponent) == kExponent && bits != null_bits) return false;
  }
  return true;
}

// "BBQXMTK" + the state format version (the last byte, '1'..). Bump the version whenever
// any kernel's save()/load() layout changes, so that state written by another build is
// refused with a clear message instead of being misread. 2: stats families keep one
// shared value history per family (session 5). 3: derived keeps its state in one object (session 6). 4: dist_rate
// reads JB's moments from stats_rate, reg keeps regdiag's lag-1 residual sums (session 7).
// 5: reg keeps all of regdiag's histories when both are in the row (session 8).
constexpr uint64_t kMarketSnapshotMagicBase = 0x004B544D58514242ull;  // "BBQXMTK" + version byte
constexpr uint64_t kStateFormatVersion = 5;
constexpr uint64_t kMarketSnapshotMagic = kMarketSnapshotMagicBase | ((uint64_t{'0'} + kStateFormatVersion) << 56);

void put_bytes(features::StateWriter& out, const std::vector<uint8_t>& bytes) { out.put_vector(bytes); }
}  // namespace

struct MarketEngine::Impl {
  MarketOptions options;
  features::ColumnLayout layout;
  size_t per_pair_width = 0;  // the PairEngine part, at the start of the row
  int reg_bqx_w60_prediction = -1;  // index in the per-pair part, if computed

  struct Slot {
    bool in_universe = false;
    double baseline = 0;
    std::unique_ptr<PairEngine> engine;
    std::vector<std::unique_ptr<features::FamilyKernel>> second_order;
    std::vector<PairEngine::MemorySpan> second_order_spans;  // their objects (for prefetching)
    // as-of state
    bool has_bar = false;
    EpochMinute last_ts = 0;
    double last_close = kNull;
    double last_reg_bqx_w60_prediction = kNull;
  };
  std::array<Slot, kPairCount> slots;

  struct Cross {
    std::unique_ptr<features::CrossKernel> kernel;
    std::vector<int> pair_index;    // row index of each per-pair output
    std::vector<int> global_index;  // row index of each global output
    // Row index of the first output when the outputs are one contiguous run in the row
    // (the catalogue order makes them so), else -1: then one memcpy replaces the scatter.
    int pair_run = -1, global_run = -1;
    std::vector<double> global_values;  // the global columns of the current minute
  };
  std::vector<Cross> cross;
  // family_kernels[k * kPairCount + slot]: family k's kernel of the pair in `slot` (null
  // outside the universe). One flat table, hot in cache, so that the family-major loop and
  // its prefetches reach a kernel without a chain of loads through the pair engines.
  std::vector<features::FamilyKernel*> family_kernels;
  std::vector<PairEngine::ColumnRange> family_columns;  // family k's columns in the row (the same for every pair)
  size_t n_families = 0;
  // The columns after the per-pair part that are not global (cross per-pair and
  // second-order columns), as [begin, end) runs: the part of a row NULL-mapped per row
  // when the minute's global values are already mapped (they are the same on every row).
  std::vector<std::pair<size_t, size_t>> per_row_runs;
  std::vector<double> mapped_globals;  // scratch for that check
  std::vector<double> scratch;
  features::GridRow grid;
};

MarketEngine::MarketEngine() : impl_(std::make_unique<Impl>()) {}
MarketEngine::MarketEngine(MarketEngine&&) noexcept = default;
MarketEngine& MarketEngine::operator=(MarketEngine&&) noexcept = default;
MarketEngine::~MarketEngine() = default;

Result<MarketEngine> MarketEngine::create(const std::vector<PairSetup>& universe, const MarketOptions& options) {
  if (universe.empty()) return make_error("the universe has no pairs");
  if (options.max_staleness_minutes < 0) {
    return make_error("max_staleness must be >= 0 minutes (" + std::to_string(options.max_staleness_minutes) + ")");
  }
  MarketEngine e;
  Impl& m = *e.impl_;
  m.options = options;
  e.columns_ = features::all_feature_columns();
  for (const auto& c : e.columns_) m.layout.add(c.name);
  m.per_pair_width = features::per_pair_columns().size();
  m.reg_bqx_w60_prediction = m.layout.index_of("reg_bqx_w60_prediction");

  features::CrossContext ctx;
  ctx.max_staleness_minutes = options.max_staleness_minutes;
  for (const auto& p : universe) {
    const int slot = pair_index(p.pair);
    if (slot < 0) return make_error("unknown pair (" + pair_name(p.pair) + ")");
    if (m.slots[slot].in_universe) return make_error("pair listed twice in the universe (" + pair_name(p.pair) + ")");
    auto engine = PairEngine::create(p.pair, p.baseline);
    if (!engine) return engine.error();
    // step_impl runs the families family-major straight into the output rows.
    if (!engine->writes_rows_directly()) return make_error("internal: a full per-pair engine must write its rows directly");
    Impl::Slot& s = m.slots[slot];
    s.in_universe = true;
    s.baseline = p.baseline;
    s.engine = std::make_unique<PairEngine>(std::move(*engine));
    ctx.in_universe[slot] = true;
    m.grid.in_universe[slot] = true;
  }
  for (int slot = 0; slot < kPairCount; ++slot) {
    const PairEngine* engine = m.slots[slot].engine.get();
    if (!engine) continue;
    if (m.family_kernels.empty()) {
      m.n_families = engine->kernel_count();
      m.family_kernels.assign(m.n_families * kPairCount, nullptr);
      for (size_t k = 0; k < m.n_families; ++k) m.family_columns.push_back(engine->kernel_columns(k));
    }
    for (size_t k = 0; k < m.n_families; ++k) m.family_kernels[k * kPairCount + slot] = engine->kernel(k);
  }
  for (const auto& f : features::cross_families()) {
    Impl::Cross c;
    c.kernel = f.make(ctx);
    for (const auto& col : f.per_pair_columns) c.pair_index.push_back(m.layout.index_of(col.name));
    for (const auto& col : f.global_columns) c.global_index.push_back(m.layout.index_of(col.name));
    m.scratch.resize(std::max({m.scratch.size(), c.pair_index.size(), c.global_index.size()}));
    auto run_start = [](const std::vector<int>& index) {
      for (size_t k = 0; k < index.size(); ++k) {
        if (index[k] < 0 || index[k] != index[0] + static_cast<int>(k)) return -1;
      }
      return index.empty() ? -1 : index[0];
    };
    c.pair_run = run_start(c.pair_index);
    c.global_run = run_start(c.global_index);
    c.global_values.assign(c.global_index.size(), kNull);
    m.cross.push_back(std::move(c));
  }
  {
    std::vector<bool> global(e.columns_.size(), false);
    for (const auto& c : m.cross) {
      for (int index : c.global_index) global[static_cast<size_t>(index)] = true;
    }
    for (size_t i = m.per_pair_width; i < global.size(); ++i) {
      if (global[i]) continue;
      if (!m.per_row_runs.empty() && m.per_row_runs.back().second == i) {
        m.per_row_runs.back().second = i + 1;
      } else {
        m.per_row_runs.emplace_back(i, i + 1);
      }
    }
  }
  for (int slot = 0; slot < kPairCount; ++slot) {
    Impl::Slot& s = m.slots[slot];
    if (!s.in_universe) continue;
    for (const auto& f : features::second_order_families()) {
      const int offset = m.layout.index_of(f.columns.front().name);
      for (const auto& input : f.inputs) {
        if (m.layout.index_of(input) < 0 || m.layout.index_of(input) >= offset) {
          return make_error("family " + f.name + " reads a column not computed before it (" + input + ")");
        }
      }
      s.second_order.push_back(f.make(features::KernelContext{offset, &m.layout, all_pairs()[slot]}));
      s.second_order_spans.push_back(kernel_object_span(s.second_order.back().get()));
    }
  }
  return e;
}

template <class Rows>
Status MarketEngine::append_rows(EpochMinute g, std::span<const PairBar> bars, const double* const* pair_rows,
                                 Rows& rows, std::vector<Pair>& row_pairs) {
  const size_t first = rows.size();
  const size_t n = bars.size() * columns_.size();
  rows.resize(first + n);
#if !defined(NDEBUG) || defined(BQX_CHECKED_BUILD)
  // Every column of every appended row must be written (a RowBuffer is not zero-filled):
  // debug and sanitizer builds (BQX_CHECKED_BUILD) check it.
  constexpr uint64_t kPoisonBits = 0x7FF4DEADBEEF0B5Aull;  // a signalling NaN no kernel produces
  double poison;
  std::memcpy(&poison, &kPoisonBits, sizeof poison);
  std::fill(rows.begin() + static_cast<std::ptrdiff_t>(first), rows.end(), poison);
#endif
  Status st = step_impl(g, bars, pair_rows, rows.data() + first, row_pairs);
  if (!st) {
    rows.resize(first);
    return st;
  }
#if !defined(NDEBUG) || defined(BQX_CHECKED_BUILD)
  for (size_t i = first; i < rows.size(); ++i) {
    uint64_t bits;
    std::memcpy(&bits, &rows[i], sizeof bits);
    if (bits == kPoisonBits) {
      return make_error("internal: column " + columns_[(i - first) % columns_.size()].name + " was not written");
    }
  }
#endif
  return st;
}

Status MarketEngine::step(EpochMinute g, std::span<const PairBar> bars, std::vector<double>& rows,
                          std::vector<Pair>& row_pairs) {
  return append_rows(g, bars, nullptr, rows, row_pairs);
}

Status MarketEngine::step(EpochMinute g, std::span<const PairBar> bars, RowBuffer& rows, std::vector<Pair>& row_pairs) {
  return append_rows(g, bars, nullptr, rows, row_pairs);
}

PairEngine& MarketEngine::pair_engine(Pair pair) { return *impl_->slots[pair_index(pair)].engine; }

size_t MarketEngine::per_pair_width() const { return impl_->per_pair_width; }

Status MarketEngine::step_with_pair_rows(EpochMinute g, std::span<const PairBar> bars,
                                         std::span<const double* const> pair_rows, std::vector<double>& rows,
                                         std::vector<Pair>& row_pairs) {
  if (pair_rows.size() != bars.size()) return make_error("step_with_pair_rows: one per-pair row per bar is required");
  return append_rows(g, bars, pair_rows.data(), rows, row_pairs);
}

Status MarketEngine::step_with_pair_rows(EpochMinute g, std::span<const PairBar> bars,
                                         std::span<const double* const> pair_rows, RowBuffer& rows,
                                         std::vector<Pair>& row_pairs) {
  if (pair_rows.size() != bars.size()) return make_error("step_with_pair_rows: one per-pair row per bar is required");
  return append_rows(g, bars, pair_rows.data(), rows, row_pairs);
}

Status MarketEngine::step_impl(EpochMinute g, std::span<const PairBar> bars, const double* const* pair_rows,
                               double* out, std::vector<Pair>& row_pairs) {
  Impl& m = *impl_;
  if (grid_row_ > 0 && g <= last_g_) {
    return make_error("bars must arrive in increasing time order (" + format_iso(g) + " after " + format_iso(last_g_) + ")");
  }
  // 1. Per-pair families for the pairs with a bar at g.
  std::array<bool, kPairCount> has_bar{};
  std::array<const Bar*, kPairCount> bar_of{};
  std::array<const double*, kPairCount> pair_row_of{};
  for (size_t i = 0; i < bars.size(); ++i) {
    const PairBar& pb = bars[i];
    const int slot = pair_index(pb.pair);
    if (slot < 0 || !m.slots[slot].in_universe) return make_error("pair not in the universe (" + pair_name(pb.pair) + ")");
    if (pb.bar.ts != g) return make_error("bar time differs from the step's minute (" + format_iso(pb.bar.ts) + ")");
    if (has_bar[slot]) return make_error("two bars for one pair in one minute (" + pair_name(pb.pair) + ")");
    has_bar[slot] = true;
    bar_of[slot] = &pb.bar;
    pair_row_of[slot] = pair_rows ? pair_rows[i] : nullptr;
  }
  // Rows are built in place at `out` (one per bar, canonical pair order = slot order):
  // no per-pair row is kept between minutes, since every column is rewritten at each bar.
  const size_t width = columns_.size();
  std::array<double*, kPairCount> row_of{};
  {
    size_t ordinal = 0;
    for (int slot = 0; slot < kPairCount; ++slot) {
      if (has_bar[slot]) row_of[slot] = out + (ordinal++) * width;
    }
  }
  // Family-major order: each per-pair family runs for all pairs before the next family
  // (per pair, the families still run in registry order, so every value is the one
  // PairEngine::step gives). One family's code and branch history then serve 28 pairs
  // in a row. The per-pair state of 28 pairs exceeds the data caches: two-stage software
  // prefetch. While family k runs for pair i, the first line of pair i's family k + 1
  // kernel object is fetched (its vtable pointer, the first load of every call; a whole
  // family's run of lead time), and family k's own prefetch() runs two pairs ahead (it
  // reads the kernel's fields to find the window lines its next update touches). Fetching
  // whole kernel objects (up to 4 KiB each, ~1,800 lines per family) instead filled the
  // miss queue: the next demand load then waited on it (perf: the stall moved there).
  std::array<int, kPairCount> compute_order{};
  std::array<PairEngine*, kPairCount> compute_engine{};
  std::array<features::BarInput, kPairCount> compute_input;
  size_t n_compute = 0;
  for (int slot = 0; slot < kPairCount; ++slot) {
    if (has_bar[slot] && !pair_row_of[slot]) {
      compute_order[n_compute] = slot;
      compute_engine[n_compute] = m.slots[slot].engine.get();
      compute_input[n_compute] = compute_engine[n_compute]->bar_input(*bar_of[slot]);
      ++n_compute;
    }
  }
  const size_t n_kernels = n_compute > 0 ? m.n_families : 0;
  std::array<bool, kPairCount> map_after_families{};  // by compute index: a read_by_later range needs mapping
  constexpr size_t kWindowPrefetchDistance = 2;  // pairs
  auto kernels_of = [&](size_t k) { return m.family_kernels.data() + k * kPairCount; };
  if (n_kernels > 0) {
    for (size_t i = 0; i < n_compute; ++i) __builtin_prefetch(kernels_of(0)[compute_order[i]], 0, 3);
  }
  for (size_t k = 0; k < n_kernels; ++k) {
    features::FamilyKernel* const* kernels = kernels_of(k);
    features::FamilyKernel* const* next_kernels = k + 1 < n_kernels ? kernels_of(k + 1) : nullptr;
    const PairEngine::ColumnRange columns = m.family_columns[k];
    // The kernel's window lines and the row lines it is about to write (a row is 136
    // lines; by the time a late family writes its part, the state streamed through the
    // caches since the previous minute has evicted it: each store would miss).
    auto prefetch_for = [&](size_t i) {
      const int slot = compute_order[i];
      kernels[slot]->prefetch();
      features::prefetch_write(row_of[slot] + columns.offset, static_cast<size_t>(columns.count) * sizeof(double));
    };
    for (size_t i = 0; i < std::min(kWindowPrefetchDistance, n_compute); ++i) prefetch_for(i);
    for (size_t i = 0; i < n_compute; ++i) {
      const int slot = compute_order[i];
      if (next_kernels) __builtin_prefetch(next_kernels[slot], 0, 3);
      if (i + kWindowPrefetchDistance < n_compute) prefetch_for(i + kWindowPrefetchDistance);
      kernels[slot]->update(compute_input[i], row_of[slot]);
      // Undefined is NULL, never Inf: mapped while the family's columns are still in L1,
      // unless a later family reads them (it must see them as written: mapped below, and
      // only where the mapping changes a value -- an Inf, or a NaN without kNull's bits --
      // which this read of the lines still in L1 tells; a pass over them after the last
      // family fetched them again: ~90 lines a minute, bench/cache_lines.sh).
      double* const written = row_of[slot] + columns.offset;
      if (!columns.read_by_later) {
        features::null_non_finite(written, static_cast<size_t>(columns.count));
      } else if (!null_mapping_is_identity(written, static_cast<size_t>(columns.count))) {
        map_after_families[i] = true;
      }
    }
  }
  for (size_t i = 0; i < n_compute; ++i) {
    double* row = row_of[compute_order[i]];
    for (size_t k = 0; k < n_kernels && map_after_families[i]; ++k) {
      const PairEngine::ColumnRange columns = m.family_columns[k];
      if (columns.read_by_later) features::null_non_finite(row + columns.offset, static_cast<size_t>(columns.count));
    }
    compute_engine[i]->finish_step_mapped(*bar_of[compute_order[i]]);
  }
  for (int slot = 0; slot < kPairCount; ++slot) {
    if (!has_bar[slot]) continue;
    Impl::Slot& s = m.slots[slot];
    double* row = row_of[slot];
    if (pair_row_of[slot]) std::memcpy(row, pair_row_of[slot], m.per_pair_width * sizeof(double));
    s.has_bar = true;
    s.last_ts = g;
    s.last_close = bar_of[slot]->close;
    s.last_reg_bqx_w60_prediction = m.reg_bqx_w60_prediction >= 0 ? row[m.reg_bqx_w60_prediction] : kNull;
  }
  // 2. The as-of grid row.
  features::GridRow& grid = m.grid;
  grid.g = g;
  grid.row = grid_row_;
  for (int slot = 0; slot < kPairCount; ++slot) {
    const Impl::Slot& s = m.slots[slot];
    const bool fresh = s.in_universe && s.has_bar && g - s.last_ts <= m.options.max_staleness_minutes;
    grid.available[slot] = fresh;
    grid.has_bar[slot] = has_bar[slot];
    grid.close[slot] = fresh ? s.last_close : kNull;
    grid.log_index[slot] = fresh ? std::log(s.last_close / s.baseline) : kNull;
    grid.log_close[slot] = fresh ? std::log(s.last_close) : kNull;
    grid.reg_bqx_w60_prediction[slot] = fresh ? s.last_reg_bqx_w60_prediction : kNull;
  }
  // 3. Cross-pair kernels, then their columns on the rows of the pairs with a bar.
  // The global columns are the same on every row of the minute: written once here.
  // Second-order kernels run after them, in slot order. Their objects' first lines (the
  // vtable pointer and hot fields) are fetched now, a whole cross phase ahead; their
  // window lines (virtual prefetch, which reads the objects) one pair ahead.
  std::array<int, kPairCount> bar_order{};
  size_t n_bars = 0;
  for (int slot = 0; slot < kPairCount; ++slot) {
    if (has_bar[slot]) bar_order[n_bars++] = slot;
  }
  for (size_t k = 0; k < n_bars; ++k) {
    for (const auto& span : m.slots[bar_order[k]].second_order_spans) {
      features::prefetch_read(span.address, features::kCacheLine);
    }
  }
  // Whether NULL-mapping leaves every global value as it is (the usual case): then each
  // row maps only its non-global runs. Otherwise (an Inf, or a NaN that is not kNull's
  // bits) the whole part is mapped per row, after the second-order kernels read it, as
  // always: the result is the same either way.
  bool globals_mapped = true;
  for (auto& c : m.cross) {
    c.kernel->update(grid);
    c.kernel->write_global(c.global_values.data());
    if (c.global_values.empty()) continue;  // (memcmp must not see the null data() of an empty vector)
    m.mapped_globals.assign(c.global_values.begin(), c.global_values.end());
    features::null_non_finite(m.mapped_globals.data(), m.mapped_globals.size());
    globals_mapped = globals_mapped && std::memcmp(m.mapped_globals.data(), c.global_values.data(),
                                                   c.global_values.size() * sizeof(double)) == 0;
  }
  auto prefetch_second_order_windows = [&](size_t k) {
    if (k >= n_bars) return;
    for (const auto& kernel : m.slots[bar_order[k]].second_order) kernel->prefetch();
  };
  prefetch_second_order_windows(0);
  for (size_t k = 0; k < n_bars; ++k) {
    const int slot = bar_order[k];
    Impl::Slot& s = m.slots[slot];
    double* row = row_of[slot];
    prefetch_second_order_windows(k + 1);
    for (auto& c : m.cross) {
      if (c.pair_run >= 0) {
        c.kernel->write_pair(slot, row + c.pair_run);
      } else {
        c.kernel->write_pair(slot, m.scratch.data());
        for (size_t i = 0; i < c.pair_index.size(); ++i) row[c.pair_index[i]] = m.scratch[i];
      }
      if (c.global_run >= 0) {
        std::memcpy(row + c.global_run, c.global_values.data(), c.global_values.size() * sizeof(double));
      } else {
        for (size_t i = 0; i < c.global_index.size(); ++i) row[c.global_index[i]] = c.global_values[i];
      }
    }
    // 4. Second-order families read the whole row.
    features::BarInput in;
    const Bar& b = *bar_of[slot];
    in.ts = b.ts;
    in.open = b.open;
    in.high = b.high;
    in.low = b.low;
    in.close = b.close;
    in.volume = b.volume;
    in.bid = b.bid;
    in.ask = b.ask;
    const double scale = 100.0 / s.baseline;
    in.xo = b.open * scale;
    in.xh = b.high * scale;
    in.xl = b.low * scale;
    in.xc = b.close * scale;
    for (auto& kernel : s.second_order) kernel->update(in, row);
    // Undefined is NULL, never Inf (the per-pair part is already mapped).
    if (globals_mapped) {
      for (const auto& [begin, end] : m.per_row_runs) features::null_non_finite(row + begin, end - begin);
    } else {
      features::null_non_finite(row + m.per_pair_width, width - m.per_pair_width);
    }
    row_pairs.push_back(all_pairs()[slot]);
  }
  last_g_ = g;
  ++grid_row_;
  return Status::Ok();
}

std::vector<uint8_t> MarketEngine::snapshot() const {
  const Impl& m = *impl_;
  std::vector<uint8_t> bytes;
  features::StateWriter out(bytes);
  out.put(kMarketSnapshotMagic);
  out.put<uint64_t>(columns_.size());
  out.put(last_g_);
  out.put(grid_row_);
  for (const auto& s : m.slots) {
    out.put<uint8_t>(s.in_universe ? 1 : 0);
    if (!s.in_universe) continue;
    put_bytes(out, s.engine->snapshot());
    out.put<uint8_t>(s.has_bar ? 1 : 0);
    out.put(s.last_ts);
    out.put(s.last_close);
    out.put(s.last_reg_bqx_w60_prediction);
    for (const auto& k : s.second_order) k->save(out);
  }
  for (const auto& c : m.cross) c.kernel->save(out);
  return bytes;
}

Status MarketEngine::restore(const std::vector<uint8_t>& bytes) {
  Impl& m = *impl_;
  features::StateReader in(bytes.data(), bytes.size());
  const uint64_t magic = in.get<uint64_t>();
  if (magic != kMarketSnapshotMagic && (magic & 0x00FFFFFFFFFFFFFFull) == kMarketSnapshotMagicBase) {
    const int version = static_cast<int>((magic >> 56) & 0xFF) - '0';
    return make_error("market snapshot has state format " + std::to_string(version) + ", this build reads format " +
                      std::to_string(kStateFormatVersion) +
                      " (written by another version of bqx): recompute from the first month (bqx run --force)");
  }
  if (magic != kMarketSnapshotMagic || in.get<uint64_t>() != columns_.size()) {
    return make_error("market snapshot does not match this engine (catalogue or version differs)");
  }
  last_g_ = in.get<EpochMinute>();
  grid_row_ = in.get<uint64_t>();
  for (auto& s : m.slots) {
    const bool present = in.get<uint8_t>() != 0;
    if (present != s.in_universe) return make_error("market snapshot was taken with a different universe");
    if (!present) continue;
    const auto n = in.get<uint64_t>();
    if (!in.ok()) break;
    std::vector<uint8_t> pair_bytes(n);
    // get_vector needs the size in front: rebuild it from the already-consumed length.
    for (auto& b : pair_bytes) b = in.get<uint8_t>();
    if (auto st = s.engine->restore(pair_bytes); !st) return st;
    s.has_bar = in.get<uint8_t>() != 0;
    s.last_ts = in.get<EpochMinute>();
    s.last_close = in.get<double>();
    s.last_reg_bqx_w60_prediction = in.get<double>();
    for (auto& k : s.second_order) k->load(in);
  }
  for (auto& c : m.cross) c.kernel->load(in);
  if (!in.ok() || !in.at_end()) return make_error("market snapshot is truncated or corrupt");
  return Status::Ok();
}

Status run_market(MarketEngine& engine, const std::vector<BarFrame>& frames, const RowCallback& on_row,
                  EpochMinute from, EpochMinute to) {
  std::vector<size_t> pos(frames.size(), 0);
  for (size_t f = 0; f < frames.size(); ++f) {
    pos[f] = static_cast<size_t>(std::lower_bound(frames[f].ts.begin(), frames[f].ts.end(), from) - frames[f].ts.begin());
  }
  std::vector<PairBar> minute;
  RowBuffer rows;
  std::vector<Pair> row_pairs;
  for (;;) {
    EpochMinute g = INT64_MAX;
    for (size_t f = 0; f < frames.size(); ++f) {
      if (pos[f] < frames[f].size()) g = std::min(g, frames[f].ts[pos[f]]);
    }
    if (g == INT64_MAX || g >= to) break;
    minute.clear();
    for (size_t f = 0; f < frames.size(); ++f) {
      if (pos[f] < frames[f].size() && frames[f].ts[pos[f]] == g) {
        minute.push_back(PairBar{frames[f].pair, frames[f].at(pos[f])});
        ++pos[f];
      }
    }
    rows.clear();
    row_pairs.clear();
    BQX_TRY(engine.step(g, minute, rows, row_pairs));
    for (size_t r = 0; r < row_pairs.size(); ++r) BQX_TRY(on_row(row_pairs[r], g, rows.data() + r * engine.width()));
  }
  return Status::Ok();
}

}  // namespace bqx
