// Generated multi-pair data for market-level tests: the synthetic market of
// `bqx generate`, cut to its first `days` days (UTC) to keep tests quick.
#pragma once

#include <vector>

#include "io/generator.h"

namespace bqx::testing_frames {

inline std::vector<BarFrame> generated_market(int days, std::vector<Pair> pairs = {}, uint64_t seed = 42,
                                              MonthId month = make_month(2024, 7)) {
  GeneratorOptions g;
  g.pairs = std::move(pairs);
  g.start = month;
  g.months = 1;
  g.seed = seed;
  auto market = generate_market(g);
  const EpochMinute end = month_start(month) + days * kMinutesPerDay;
  for (auto& f : market.frames) {
    size_t n = 0;
    while (n < f.size() && f.ts[n] < end) ++n;
    f.ts.resize(n);
    for (auto* col : {&f.open, &f.high, &f.low, &f.close, &f.volume, &f.bid, &f.ask}) col->resize(n);
  }
  return market.frames;
}


}  // namespace bqx::testing_frames
