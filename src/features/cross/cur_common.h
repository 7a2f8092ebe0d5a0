// Shared by the currency families (cur, FEATURES.md 2.1; basket, 2.2): the currency/pair
// topology of the 28-pair universe and the currency groups of the `vs_*` columns.
#pragma once

#include <array>
#include <string>

#include "core/currency.h"
#include "features/cross/cross_kernel.h"

namespace bqx::features::cur {

// Pair slots (canonical 0..27) by currency: slot[a][b] is the slot of the pair made of
// currencies a and b in either orientation (-1 on the diagonal); base/quote of a slot.
struct Topology {
  std::array<std::array<int, kCurrencyCount>, kCurrencyCount> slot{};
  std::array<int, kPairCount> base{};
  std::array<int, kPairCount> quote{};
};

inline const Topology& topology() {
  static const Topology t = [] {
    Topology out;
    for (auto& row : out.slot) row.fill(-1);
    for (int p = 0; p < kPairCount; ++p) {
      const Pair pair = all_pairs()[p];
      out.base[p] = static_cast<int>(pair.base);
      out.quote[p] = static_cast<int>(pair.quote);
      out.slot[out.base[p]][out.quote[p]] = p;
      out.slot[out.quote[p]][out.base[p]] = p;
    }
    return out;
  }();
  return t;
}

// +1 if currency c is the base of slot p, -1 if its quote, 0 otherwise.
inline int dir(int p, int c) {
  const Topology& t = topology();
  return t.base[p] == c ? 1 : (t.quote[p] == c ? -1 : 0);
}

inline std::string lower_code(int c) {
  std::string s(currency_code(static_cast<Currency>(c)));
  for (char& ch : s) ch = static_cast<char>(ch - 'A' + 'a');
  return s;
}

// The currency groups of the `_vs_major`, `_vs_safe_haven`, `_vs_commodity` columns
// (FEATURES.md 2.1): majors {USD, EUR, JPY, GBP}, safe havens {CHF, JPY}, commodity
// currencies {AUD, NZD, CAD}. Index = Currency enum value (EUR USD GBP JPY AUD NZD CAD CHF).
inline constexpr int kGroupCount = 3;
inline constexpr std::array<const char*, kGroupCount> kGroupSuffix = {"vs_major", "vs_safe_haven",
                                                                      "vs_commodity"};
inline constexpr std::array<const char*, kGroupCount> kGroupText = {"{USD,EUR,JPY,GBP}", "{CHF,JPY}",
                                                                    "{AUD,NZD,CAD}"};
inline constexpr std::array<std::array<bool, kCurrencyCount>, kGroupCount> kGroups = {{
    //  EUR   USD    GBP    JPY    AUD    NZD    CAD    CHF
    {{true, true, true, true, false, false, false, false}},
    {{false, false, false, true, false, false, false, true}},
    {{false, false, false, false, true, true, true, false}},
}};

// v[c] minus the mean of v over the other members of group g that are not NULL (summed in
// currency order). NULL if v[c] is NULL or no other member has a value.
inline double vs_group(const std::array<double, kCurrencyCount>& v, int c, int g) {
  if (is_null(v[c])) return kNull;
  double sum = 0;
  int n = 0;
  for (int d = 0; d < kCurrencyCount; ++d) {
    if (d == c || !kGroups[g][d] || is_null(v[d])) continue;
    sum += v[d];
    ++n;
  }
  return n > 0 ? v[c] - sum / n : kNull;
}

}  // namespace bqx::features::cur
