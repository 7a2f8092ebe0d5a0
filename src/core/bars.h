// A columnar frame of 1-minute bars for one pair (FEATURES.md section 0, "Bars").
// ts is the bar OPEN time in epoch minutes UTC, strictly increasing once validated.
// Optional columns (volume, bid, ask) hold NaN where the source has no value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/currency.h"
#include "core/time.h"

namespace bqx {

struct Bar {
  EpochMinute ts;
  double open, high, low, close;
  double volume;  // tick volume; NaN if unknown
  double bid;     // bid close; NaN if unknown
  double ask;     // ask close; NaN if unknown
};

struct BarFrame {
  Pair pair{};
  std::vector<EpochMinute> ts;
  std::vector<double> open, high, low, close, volume, bid, ask;

  size_t size() const { return ts.size(); }
  bool empty() const { return ts.empty(); }
  void reserve(size_t n);
  void push_back(const Bar& bar);
  Bar at(size_t i) const;
  void clear();
};

}  // namespace bqx
