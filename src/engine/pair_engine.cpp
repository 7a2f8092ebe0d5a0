#include "engine/pair_engine.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "features/registry.h"

namespace bqx {

using features::ColumnInfo;
using features::FamilyDef;

PairEngine::PairEngine(PairEngine&&) noexcept = default;
PairEngine& PairEngine::operator=(PairEngine&&) noexcept = default;
PairEngine::~PairEngine() = default;

namespace {

// Families needed to compute `wanted`: the wanted ones plus every family owning a
// column they read, transitively. Returned in registry order.
Result<std::vector<const FamilyDef*>> dependency_closure(const std::vector<std::string>& wanted) {
  const auto& all = features::per_pair_families();
  std::set<std::string> need(wanted.begin(), wanted.end());
  for (const auto& name : need) {
    if (!features::find_family(name)) {
      std::string known;
      for (const auto& f : all) known += (known.empty() ? "" : ",") + f.name;
      return make_error("unknown feature family (" + name + "); known: " + known);
    }
  }
  // Walk backwards: a family's inputs belong to earlier families.
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (!need.count(it->name)) continue;
    for (const auto& input : it->inputs) {
      for (const auto& f : all) {
        for (const auto& c : f.columns) {
          if (c.name == input) need.insert(f.name);
        }
      }
    }
  }
  std::vector<const FamilyDef*> out;
  for (const auto& f : all) {
    if (need.count(f.name)) out.push_back(&f);
  }
  return out;
}

}  // namespace

Result<PairEngine> PairEngine::create(Pair pair, double baseline, const std::vector<std::string>& families) {
  if (!(baseline > 0) || !std::isfinite(baseline)) {
    return make_error("baseline must be a positive finite price (" + std::to_string(baseline) + ")");
  }
  std::vector<std::string> wanted = families;
  if (wanted.empty()) {
    for (const auto& f : features::per_pair_families()) wanted.push_back(f.name);
  }
  auto closure = dependency_closure(wanted);
  if (!closure) return closure.error();

  PairEngine engine;
  engine.pair_ = pair;
  engine.baseline_ = baseline;
  features::ColumnLayout layout;
  std::vector<int> offsets;
  for (const FamilyDef* f : *closure) {
    offsets.push_back(static_cast<int>(layout.size()));
    for (const auto& c : f->columns) layout.add(c.name);
  }
  const std::set<std::string> wanted_set(wanted.begin(), wanted.end());
  for (size_t k = 0; k < closure->size(); ++k) {
    const FamilyDef* f = (*closure)[k];
    for (const auto& input : f->inputs) {
      const int idx = layout.index_of(input);
      if (idx < 0 || idx >= offsets[k]) {
        return make_error("family " + f->name + " reads a column not computed before it (" + input + ")");
      }
    }
    engine.kernels_.push_back(f->make(features::KernelContext{offsets[k], &layout}));
    engine.kernel_columns_.push_back(ColumnRange{offsets[k], static_cast<int>(f->columns.size())});
    engine.family_names_.push_back(f->name);
    if (wanted_set.count(f->name)) {
      for (size_t c = 0; c < f->columns.size(); ++c) {
        engine.output_index_.push_back(offsets[k] + static_cast<int>(c));
        engine.output_columns_.push_back(f->columns[c]);
      }
    }
  }
  for (size_t k = 0; k < closure->size(); ++k) {
    ColumnRange& range = engine.kernel_columns_[k];
    for (size_t j = k + 1; j < closure->size() && !range.read_by_later; ++j) {
      for (const auto& input : (*closure)[j]->inputs) {
        const int idx = layout.index_of(input);
        if (idx >= range.offset && idx < range.offset + range.count) range.read_by_later = true;
      }
    }
  }
  engine.outputs_all_ = engine.output_index_.size() == layout.size();
  for (size_t i = 0; i < engine.output_index_.size() && engine.outputs_all_; ++i) {
    engine.outputs_all_ = engine.output_index_[i] == static_cast<int>(i);
  }
  if (!engine.outputs_all_) engine.internal_row_.assign(layout.size(), features::kNull);
  return engine;
}

PairEngine::MemorySpan kernel_object_span(const features::FamilyKernel* kernel) {
  return {kernel, features::kCacheLine};
}

features::BarInput PairEngine::bar_input(const Bar& bar) const {
  features::BarInput in;
  in.ts = bar.ts;
  in.open = bar.open;
  in.high = bar.high;
  in.low = bar.low;
  in.close = bar.close;
  in.volume = bar.volume;
  in.bid = bar.bid;
  in.ask = bar.ask;
  const double scale = 100.0 / baseline_;
  in.xo = bar.open * scale;
  in.xh = bar.high * scale;
  in.xl = bar.low * scale;
  in.xc = bar.close * scale;
  return in;
}

void PairEngine::finish_step(const Bar& bar, double* row) {
  features::null_non_finite(row, output_index_.size());
  finish_step_mapped(bar);
}

void PairEngine::finish_step_mapped(const Bar& bar) {
  ++bars_seen_;
  last_ts_ = bar.ts;
}

void PairEngine::step(const Bar& bar, double* row_out) {
  const features::BarInput in = bar_input(bar);
  if (outputs_all_) {
    // Every computed column is output, in row order: the kernels write row_out directly.
    for (auto& kernel : kernels_) kernel->update(in, row_out);
    features::null_non_finite(row_out, output_index_.size());
  } else {
    double* row = internal_row_.data();
    for (auto& kernel : kernels_) kernel->update(in, row);
    for (size_t i = 0; i < output_index_.size(); ++i) {
      const double v = row[output_index_[i]];
      // Undefined is NULL, never Inf (FEATURES.md section 0).
      row_out[i] = std::isfinite(v) ? v : features::kNull;
    }
  }
  ++bars_seen_;
  last_ts_ = bar.ts;
}

void PairEngine::prefetch() const {
  for (const auto& kernel : kernels_) {
    features::prefetch_read(kernel.get(), features::kCacheLine);  // the vtable pointer and first fields
    kernel->prefetch();
  }
}

void PairEngine::run(const BarFrame& frame, size_t begin, size_t end, std::vector<double>& out) {
  const size_t w = width();
  const size_t base = out.size();
  out.resize(base + (end - begin) * w);
  for (size_t i = begin; i < end; ++i) step(frame.at(i), out.data() + base + (i - begin) * w);
}

namespace {
constexpr uint64_t kSnapshotMagic = 0x31544E5358514242ull;  // "BBQXSNT1"
}

std::vector<uint8_t> PairEngine::snapshot() const {
  std::vector<uint8_t> bytes;
  features::StateWriter out(bytes);
  out.put(kSnapshotMagic);
  out.put<uint64_t>(kernels_.size());
  out.put(baseline_);
  out.put(bars_seen_);
  out.put(last_ts_);
  for (const auto& kernel : kernels_) kernel->save(out);
  return bytes;
}

Status PairEngine::restore(const std::vector<uint8_t>& bytes) {
  features::StateReader in(bytes.data(), bytes.size());
  if (in.get<uint64_t>() != kSnapshotMagic || in.get<uint64_t>() != kernels_.size()) {
    return make_error("engine snapshot does not match this engine's families");
  }
  const double baseline = in.get<double>();
  if (baseline != baseline_) return make_error("engine snapshot has a different baseline");
  bars_seen_ = in.get<uint64_t>();
  last_ts_ = in.get<EpochMinute>();
  for (auto& kernel : kernels_) kernel->load(in);
  if (!in.ok() || !in.at_end()) return make_error("engine snapshot is truncated or corrupt");
  return Status::Ok();
}

Result<std::vector<double>> compute_pair_features(const BarFrame& frame, double baseline,
                                                  const std::vector<std::string>& families,
                                                  std::vector<ColumnInfo>* columns) {
  auto engine = PairEngine::create(frame.pair, baseline, families);
  if (!engine) return engine.error();
  if (columns) *columns = engine->columns();
  std::vector<double> out;
  engine->run(frame, 0, frame.size(), out);
  return out;
}

}  // namespace bqx
