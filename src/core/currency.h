// The currency universe: 8 currencies and the 28 market-convention pairs
// (FEATURES.md section 0, "Universe").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace bqx {

// Order matters: it is the currency order of FEATURES.md (EUR, USD, GBP, JPY, AUD, NZD, CAD, CHF).
enum class Currency : uint8_t { EUR = 0, USD, GBP, JPY, AUD, NZD, CAD, CHF };
inline constexpr int kCurrencyCount = 8;
inline constexpr int kPairCount = 28;

std::string_view currency_code(Currency c);                  // "EUR"
Result<Currency> parse_currency(std::string_view code);      // case-insensitive
std::array<Currency, kCurrencyCount> all_currencies();

struct Pair {
  Currency base;
  Currency quote;
  friend bool operator==(const Pair&, const Pair&) = default;
};

// Index of a pair in the canonical 28-pair list (alphabetical, as FEATURES.md lists them).
int pair_index(Pair p);                                      // -1 if not a canonical pair
std::string pair_name(Pair p);                               // "EURUSD"
Result<Pair> parse_pair(std::string_view name);              // "EURUSD" / "eurusd"; canonical pairs only
const std::array<Pair, kPairCount>& all_pairs();
// "all" or a comma separated list such as "EURUSD,gbpusd".
Result<std::vector<Pair>> parse_pair_list(std::string_view text);
// Pairs sorted in canonical order without duplicates.
std::vector<Pair> canonical_order(std::vector<Pair> pairs);

bool operator<(const Pair& a, const Pair& b);                // canonical order

}  // namespace bqx
