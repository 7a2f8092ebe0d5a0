#include "io/bar_merge.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace bqx {

Result<std::vector<BarFrame>> merge_by_pair(const std::vector<BarFile>& files) {
  std::map<int, std::vector<const BarFile*>> by_pair;
  for (const auto& f : files) by_pair[pair_index(f.bars.pair)].push_back(&f);
  std::vector<BarFrame> out;
  for (auto& [index, group] : by_pair) {
    if (group.size() == 1) {
      out.push_back(group[0]->bars);
      continue;
    }
    struct Ref {
      EpochMinute ts;
      size_t file, row;
    };
    std::vector<Ref> refs;
    for (size_t f = 0; f < group.size(); ++f) {
      for (size_t r = 0; r < group[f]->bars.size(); ++r) refs.push_back(Ref{group[f]->bars.ts[r], f, r});
    }
    std::stable_sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) { return a.ts < b.ts; });
    BarFrame merged;
    merged.pair = group[0]->bars.pair;
    merged.reserve(refs.size());
    for (size_t i = 0; i < refs.size(); ++i) {
      const Bar bar = group[refs[i].file]->bars.at(refs[i].row);
      if (i > 0 && refs[i].ts == refs[i - 1].ts) {
        const Bar prev = group[refs[i - 1].file]->bars.at(refs[i - 1].row);
        auto same = [](double a, double b) { return a == b || (a != a && b != b); };
        if (!(same(bar.open, prev.open) && same(bar.high, prev.high) && same(bar.low, prev.low) &&
              same(bar.close, prev.close) && same(bar.volume, prev.volume) && same(bar.bid, prev.bid) &&
              same(bar.ask, prev.ask))) {
          return make_error(group[refs[i].file]->path.string() + ": bar " + format_iso(bar.ts) + " of " +
                            pair_name(merged.pair) + " differs from the same bar in " +
                            group[refs[i - 1].file]->path.string() + " (" + format_iso(bar.ts) + ")");
        }
        continue;
      }
      merged.push_back(bar);
    }
    out.push_back(std::move(merged));
  }
  return out;
}

}  // namespace bqx
