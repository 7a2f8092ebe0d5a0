#include "core/currency.h"

#include <algorithm>
#include <cctype>

namespace bqx {
namespace {

constexpr std::array<std::string_view, kCurrencyCount> kCodes = {"EUR", "USD", "GBP", "JPY",
                                                                 "AUD", "NZD", "CAD", "CHF"};

// FEATURES.md section 0 lists the universe in this (alphabetical) order.
constexpr std::array<std::string_view, kPairCount> kPairNames = {
    "AUDCAD", "AUDCHF", "AUDJPY", "AUDNZD", "AUDUSD", "CADCHF", "CADJPY", "CHFJPY",
    "EURAUD", "EURCAD", "EURCHF", "EURGBP", "EURJPY", "EURNZD", "EURUSD", "GBPAUD",
    "GBPCAD", "GBPCHF", "GBPJPY", "GBPNZD", "GBPUSD", "NZDCAD", "NZDCHF", "NZDJPY",
    "NZDUSD", "USDCAD", "USDCHF", "USDJPY"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

std::array<Pair, kPairCount> build_pairs() {
  std::array<Pair, kPairCount> pairs{};
  for (int i = 0; i < kPairCount; ++i) {
    pairs[i] = Pair{parse_currency(kPairNames[i].substr(0, 3)).value(),
                    parse_currency(kPairNames[i].substr(3, 3)).value()};
  }
  return pairs;
}

}  // namespace

std::string_view currency_code(Currency c) { return kCodes[static_cast<int>(c)]; }

Result<Currency> parse_currency(std::string_view code) {
  const std::string u = upper(code);
  for (int i = 0; i < kCurrencyCount; ++i) {
    if (kCodes[i] == u) return static_cast<Currency>(i);
  }
  return make_error("unknown currency (" + std::string(code) + ")");
}

std::array<Currency, kCurrencyCount> all_currencies() {
  std::array<Currency, kCurrencyCount> out{};
  for (int i = 0; i < kCurrencyCount; ++i) out[i] = static_cast<Currency>(i);
  return out;
}

const std::array<Pair, kPairCount>& all_pairs() {
  static const std::array<Pair, kPairCount> pairs = build_pairs();
  return pairs;
}

int pair_index(Pair p) {
  const auto& pairs = all_pairs();
  for (int i = 0; i < kPairCount; ++i) {
    if (pairs[i] == p) return i;
  }
  return -1;
}

std::string pair_name(Pair p) {
  return std::string(currency_code(p.base)) + std::string(currency_code(p.quote));
}

Result<Pair> parse_pair(std::string_view name) {
  const std::string u = upper(name);
  for (int i = 0; i < kPairCount; ++i) {
    if (kPairNames[i] == u) return all_pairs()[i];
  }
  return make_error("unknown pair (" + std::string(name) + ")");
}

Result<std::vector<Pair>> parse_pair_list(std::string_view text) {
  if (upper(text) == "ALL") return std::vector<Pair>(all_pairs().begin(), all_pairs().end());
  std::vector<Pair> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (!item.empty()) {
      auto pair = parse_pair(item);
      if (!pair) return pair.error();
      out.push_back(*pair);
    }
    start = comma + 1;
  }
  if (out.empty()) return make_error("empty pair list (" + std::string(text) + ")");
  return canonical_order(std::move(out));
}

bool operator<(const Pair& a, const Pair& b) { return pair_index(a) < pair_index(b); }

std::vector<Pair> canonical_order(std::vector<Pair> pairs) {
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  return pairs;
}

}  // namespace bqx
