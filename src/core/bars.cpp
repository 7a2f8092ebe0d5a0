#include "core/bars.h"

namespace bqx {

void BarFrame::reserve(size_t n) {
  ts.reserve(n);
  for (auto* col : {&open, &high, &low, &close, &volume, &bid, &ask}) col->reserve(n);
}

void BarFrame::push_back(const Bar& bar) {
  ts.push_back(bar.ts);
  open.push_back(bar.open);
  high.push_back(bar.high);
  low.push_back(bar.low);
  close.push_back(bar.close);
  volume.push_back(bar.volume);
  bid.push_back(bar.bid);
  ask.push_back(bar.ask);
}

Bar BarFrame::at(size_t i) const {
  return Bar{ts[i], open[i], high[i], low[i], close[i], volume[i], bid[i], ask[i]};
}

void BarFrame::clear() {
  ts.clear();
  for (auto* col : {&open, &high, &low, &close, &volume, &bid, &ask}) col->clear();
}

}  // namespace bqx
