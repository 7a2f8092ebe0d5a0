#include "io/generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/currency.h"
#include "core/time.h"

namespace bqx {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Helpers.

class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    path_ = fs::temp_directory_path() /
            ("bqx_gen_" + name + "_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::remove_all(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> read_dir(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) out[entry.path().filename().string()] = read_all(entry.path());
  return out;
}

Pair P(const char* name) { return parse_pair(name).value(); }

const BarFrame* find_frame(const GeneratedMarket& m, Pair p) {
  for (const auto& f : m.frames) {
    if (f.pair == p) return &f;
  }
  return nullptr;
}

std::optional<size_t> index_at(const BarFrame& f, EpochMinute t) {
  const auto it = std::lower_bound(f.ts.begin(), f.ts.end(), t);
  if (it == f.ts.end() || *it != t) return std::nullopt;
  return static_cast<size_t>(it - f.ts.begin());
}

bool mispriced(const GeneratedMarket& m, Pair p, EpochMinute t) {
  for (const auto& e : m.mispricings) {
    if (e.pair == p && e.start <= t && t <= e.end) return true;
  }
  return false;
}

// ln of the X/Y rate from pair frames at minute t: ln(close_XY) or -ln(close_YX).
std::optional<double> lp(const GeneratedMarket& m, Currency x, Currency y, EpochMinute t) {
  for (bool direct : {true, false}) {
    const Pair p = direct ? Pair{x, y} : Pair{y, x};
    if (pair_index(p) < 0) continue;
    const BarFrame* f = find_frame(m, p);
    if (f == nullptr) return std::nullopt;
    const auto i = index_at(*f, t);
    if (!i) return std::nullopt;
    return direct ? std::log(f->close[*i]) : -std::log(f->close[*i]);
  }
  return std::nullopt;
}

Pair pair_of(Currency a, Currency b) { return pair_index(Pair{a, b}) >= 0 ? Pair{a, b} : Pair{b, a}; }

struct EpsStats {
  size_t n = 0;
  double mean = 0.0;
  double std_bp = 0.0;
  double max_abs_bp = 0.0;
};

// eps (bp) of triangle (a, b, c) over the minutes where its 3 pairs have bars and none of
// them is mispriced.
EpsStats triangle_stats(const GeneratedMarket& m, Currency a, Currency b, Currency c) {
  const Pair pab = pair_of(a, b), pbc = pair_of(b, c), pca = pair_of(c, a);
  std::vector<double> eps;
  for (EpochMinute t : find_frame(m, pab)->ts) {
    if (mispriced(m, pab, t) || mispriced(m, pbc, t) || mispriced(m, pca, t)) continue;
    const auto x = lp(m, a, b, t), y = lp(m, b, c, t), z = lp(m, c, a, t);
    if (!x || !y || !z) continue;
    eps.push_back(1e4 * (*x + *y + *z));
  }
  EpsStats s;
  s.n = eps.size();
  if (eps.empty()) return s;
  double sum = 0.0;
  for (double e : eps) sum += e;
  s.mean = sum / static_cast<double>(eps.size());
  double ss = 0.0;
  for (double e : eps) {
    ss += (e - s.mean) * (e - s.mean);
    s.max_abs_bp = std::max(s.max_abs_bp, std::fabs(e));
  }
  s.std_bp = std::sqrt(ss / static_cast<double>(eps.size()));
  return s;
}

// Independent restatement of the market hours (not synthetic_market_open).
bool closed_by_spec(EpochMinute t) {
  const int wd = weekday(t);
  const int mod = minute_of_day(t);
  const CivilDate d = to_civil(t).date;
  if ((d.month == 12 && d.day == 25) || (d.month == 1 && d.day == 1)) return true;
  return wd == 5 || (wd == 4 && mod >= 22 * 60) || (wd == 6 && mod < 22 * 60);
}

GeneratorOptions options_for(std::vector<Pair> pairs, MonthId start, int months, uint64_t seed, bool defects) {
  GeneratorOptions o;
  o.pairs = std::move(pairs);
  o.start = start;
  o.months = months;
  o.seed = seed;
  o.defects = defects;
  return o;
}

// 28 pairs, 2024-07, seed 42, no defects: shared by several tests.
const GeneratedMarket& july_all() {
  static const GeneratedMarket market = generate_market(options_for({}, make_month(2024, 7), 1, 42, false));
  return market;
}

// 28 pairs, 2024-07, seed 7, with defects.
const GeneratedMarket& july_defects() {
  static const GeneratedMarket market = generate_market(options_for({}, make_month(2024, 7), 1, 7, true));
  return market;
}

struct Line {
  std::string text;
  EpochMinute est = 0;
  double open = 0, high = 0, low = 0, close = 0;
  long volume = 0;
};

// Parses HistData Generic ASCII lines "YYYYMMDD HHMMSS;O;H;L;C;V".
std::vector<Line> parse_file(const std::string& content) {
  std::vector<Line> out;
  size_t pos = 0;
  while (pos < content.size()) {
    const size_t nl = content.find('\n', pos);
    EXPECT_NE(nl, std::string::npos) << "last line must end with \\n";
    if (nl == std::string::npos) break;
    Line l;
    l.text = content.substr(pos, nl - pos);
    pos = nl + 1;
    int y, mo, d, hh, mm, ss;
    char o[32], h[32], lo[32], c[32];
    long v;
    const int n = std::sscanf(l.text.c_str(), "%4d%2d%2d %2d%2d%2d;%31[^;];%31[^;];%31[^;];%31[^;];%ld", &y, &mo, &d,
                              &hh, &mm, &ss, o, h, lo, c, &v);
    EXPECT_EQ(n, 11) << l.text;
    EXPECT_EQ(ss, 0) << l.text;
    for (const char* s : {o, h, lo, c}) {
      const char* dot = std::strchr(s, '.');
      EXPECT_TRUE(dot != nullptr && std::strlen(dot + 1) == 6) << "6 decimals expected: " << l.text;
    }
    l.est = make_epoch_minute(y, mo, d, hh, mm);
    l.open = std::strtod(o, nullptr);
    l.high = std::strtod(h, nullptr);
    l.low = std::strtod(lo, nullptr);
    l.close = std::strtod(c, nullptr);
    l.volume = v;
    out.push_back(l);
  }
  return out;
}

std::string file_name(Pair p, int year, int month) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "DAT_ASCII_%s_M1_%04d%02d.csv", pair_name(p).c_str(), year, month);
  return buf;
}

// ---------------------------------------------------------------------------------------
// Determinism.

TEST(Generator, SameSeedGivesByteIdenticalFiles) {
  const auto opts = options_for({}, make_month(2024, 7), 1, 42, true);
  TempDir a("same_a"), b("same_b");
  auto ra = write_market(generate_market(opts), opts, a.path());
  ASSERT_TRUE(ra.ok()) << ra.error().message;
  auto rb = write_market(generate_market(opts), opts, b.path());
  ASSERT_TRUE(rb.ok()) << rb.error().message;
  const auto fa = read_dir(a.path()), fb = read_dir(b.path());
  ASSERT_EQ(fa.size(), 29u);  // 28 bar files + truth.json
  EXPECT_EQ(ra->files, 28u);
  ASSERT_EQ(fa.size(), fb.size());
  for (const auto& [name, content] : fa) {
    ASSERT_TRUE(fb.count(name)) << name;
    EXPECT_TRUE(content == fb.at(name)) << name << " differs between two runs with the same seed";
  }
}

TEST(Generator, DifferentSeedGivesDifferentFiles) {
  const auto o1 = options_for({P("EURUSD"), P("USDJPY")}, make_month(2024, 7), 1, 42, false);
  auto o2 = o1;
  o2.seed = 43;
  TempDir a("seed_a"), b("seed_b");
  ASSERT_TRUE(write_market(generate_market(o1), o1, a.path()).ok());
  ASSERT_TRUE(write_market(generate_market(o2), o2, b.path()).ok());
  const auto fa = read_dir(a.path()), fb = read_dir(b.path());
  ASSERT_EQ(fa.size(), 3u);
  for (const auto& [name, content] : fa) {
    ASSERT_TRUE(fb.count(name)) << name;
    EXPECT_NE(content, fb.at(name)) << name;
  }
}

TEST(Generator, StreamingWriterMatchesWholeMarketWriter) {
  const auto opts = options_for({P("EURUSD"), P("GBPUSD"), P("EURGBP"), P("NZDCHF")}, make_month(2024, 11), 2, 5, true);
  TempDir a("stream_a"), b("stream_b");
  auto ra = write_market(generate_market(opts), opts, a.path());
  ASSERT_TRUE(ra.ok()) << ra.error().message;
  auto rb = generate_to_dir(opts, b.path());
  ASSERT_TRUE(rb.ok()) << rb.error().message;
  EXPECT_EQ(ra->files, 8u);
  EXPECT_EQ(ra->files, rb->files);
  EXPECT_EQ(ra->bars, rb->bars);
  EXPECT_EQ(ra->mispricings, rb->mispricings);
  EXPECT_EQ(ra->defects, rb->defects);
  EXPECT_GT(ra->defects, 0u);
  ASSERT_EQ(ra->written.size(), rb->written.size());
  for (size_t i = 0; i < ra->written.size(); ++i) EXPECT_EQ(ra->written[i].filename(), rb->written[i].filename());
  EXPECT_EQ(read_dir(a.path()), read_dir(b.path()));
}

TEST(Generator, SubsetGivesSamePricesAsFullUniverse) {
  const GeneratedMarket one = generate_market(options_for({P("EURUSD")}, make_month(2024, 7), 1, 42, false));
  ASSERT_EQ(one.frames.size(), 1u);
  const BarFrame& a = one.frames[0];
  const BarFrame& b = *find_frame(july_all(), P("EURUSD"));
  ASSERT_GT(a.size(), 0u);
  EXPECT_EQ(a.ts, b.ts);
  EXPECT_EQ(a.open, b.open);
  EXPECT_EQ(a.high, b.high);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.close, b.close);
  EXPECT_EQ(a.volume, b.volume);
  EXPECT_EQ(a.bid, b.bid);
  EXPECT_EQ(a.ask, b.ask);
  // Its mispricings are the full run's EURUSD mispricings.
  std::vector<std::pair<EpochMinute, double>> ea, eb;
  for (const auto& e : one.mispricings) ea.emplace_back(e.start, e.shift_bp);
  for (const auto& e : july_all().mispricings) {
    if (e.pair == P("EURUSD")) eb.emplace_back(e.start, e.shift_bp);
  }
  EXPECT_EQ(ea, eb);
}

// ---------------------------------------------------------------------------------------
// Calendar, counts, levels.

TEST(Generator, EveryPairHas25kTo33kBarsInJuly) {
  const auto& m = july_all();
  ASSERT_EQ(m.frames.size(), 28u);
  for (size_t i = 0; i < m.frames.size(); ++i) {
    EXPECT_EQ(m.frames[i].pair, all_pairs()[i]);
    EXPECT_GE(m.frames[i].size(), 25000u) << pair_name(m.frames[i].pair);
    EXPECT_LE(m.frames[i].size(), 33000u) << pair_name(m.frames[i].pair);
  }
  // Liquidity ordering: a major keeps more bars than an illiquid cross.
  EXPECT_GT(find_frame(m, P("EURUSD"))->size(), find_frame(m, P("NZDCHF"))->size() + 2000);
}

TEST(Generator, NoBarsOnWeekendsOrHolidays) {
  const auto period = generation_period(options_for({}, make_month(2024, 12), 1, 1, false));
  EXPECT_EQ(period.begin, make_epoch_minute(2024, 12, 1, 5, 0));
  EXPECT_EQ(period.end, make_epoch_minute(2025, 1, 1, 5, 0));
  const GeneratedMarket dec = generate_market(options_for({}, make_month(2024, 12), 1, 1, false));
  for (const GeneratedMarket* m : {&july_all(), &dec}) {
    for (const auto& f : m->frames) {
      size_t closed = 0;
      for (EpochMinute t : f.ts) closed += closed_by_spec(t) ? 1 : 0;
      EXPECT_EQ(closed, 0u) << pair_name(f.pair) << " has bars while the market is closed";
    }
  }
  // The December run covers Dec 25 and the first hours of Jan 1 (UTC): no bars there,
  // but bars on the days around them and right at the Sunday 22:00 reopen.
  const BarFrame& eu = *find_frame(dec, P("EURUSD"));
  auto count_in = [&](EpochMinute a, EpochMinute b) {
    return std::count_if(eu.ts.begin(), eu.ts.end(), [&](EpochMinute t) { return t >= a && t < b; });
  };
  EXPECT_EQ(count_in(make_epoch_minute(2024, 12, 25, 0, 0), make_epoch_minute(2024, 12, 26, 0, 0)), 0);
  EXPECT_EQ(count_in(make_epoch_minute(2025, 1, 1, 0, 0), make_epoch_minute(2025, 1, 2, 0, 0)), 0);
  EXPECT_GT(count_in(make_epoch_minute(2024, 12, 24, 0, 0), make_epoch_minute(2024, 12, 25, 0, 0)), 1300);
  EXPECT_GT(count_in(make_epoch_minute(2024, 12, 26, 0, 0), make_epoch_minute(2024, 12, 27, 0, 0)), 1300);
  EXPECT_GT(count_in(make_epoch_minute(2024, 12, 8, 22, 0), make_epoch_minute(2024, 12, 9, 0, 0)), 100);  // Sunday
  EXPECT_GT(count_in(make_epoch_minute(2024, 12, 6, 20, 0), make_epoch_minute(2024, 12, 6, 22, 0)), 100);  // Friday
  EXPECT_EQ(eu.ts.front() >= period.begin && eu.ts.back() < period.end, true);
}

TEST(Generator, OhlcValidAndPricesRealistic) {
  const auto& m = july_all();
  for (const auto& f : m.frames) {
    const bool jpy = f.pair.base == Currency::JPY || f.pair.quote == Currency::JPY;
    const double scale = jpy ? 1e3 : 1e5;
    size_t bad = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      if (i > 0 && f.ts[i] <= f.ts[i - 1]) ++bad;
      if (!(f.low[i] > 0 && f.low[i] <= std::min(f.open[i], f.close[i]) &&
            std::max(f.open[i], f.close[i]) <= f.high[i]))
        ++bad;
      for (double v : {f.open[i], f.high[i], f.low[i], f.close[i]}) {
        if (std::fabs(v * scale - std::round(v * scale)) > 1e-6) ++bad;  // tick precision
      }
      if (!(f.volume[i] >= 1 && f.volume[i] == std::round(f.volume[i]))) ++bad;
      if (!(f.bid[i] == f.close[i] && f.ask[i] > f.bid[i])) ++bad;
    }
    EXPECT_EQ(bad, 0u) << pair_name(f.pair);
  }
  struct Range {
    const char* pair;
    double lo, hi;
  };
  for (const Range& r : {Range{"EURUSD", 0.9, 1.3}, Range{"USDJPY", 120, 180}, Range{"GBPUSD", 1.1, 1.45},
                         Range{"AUDUSD", 0.55, 0.78}, Range{"NZDUSD", 0.5, 0.72}, Range{"USDCAD", 1.2, 1.52},
                         Range{"USDCHF", 0.75, 1.0}, Range{"EURJPY", 135, 190}, Range{"EURGBP", 0.75, 0.95}}) {
    const BarFrame& f = *find_frame(m, P(r.pair));
    const auto [lo, hi] = std::minmax_element(f.close.begin(), f.close.end());
    EXPECT_GE(*lo, r.lo) << r.pair;
    EXPECT_LE(*hi, r.hi) << r.pair;
  }
  // Month start close to the design levels (first bars of the run).
  EXPECT_NEAR(find_frame(m, P("EURUSD"))->open[0], 1.08, 0.01);
  EXPECT_NEAR(find_frame(m, P("USDJPY"))->open[0], 150.0, 1.5);
  EXPECT_NEAR(find_frame(m, P("EURJPY"))->open[0], 162.0, 1.6);
}

TEST(Generator, RealisticMinuteVolatilityAndSpreads) {
  const auto& m = july_all();
  auto minute_sd_bp = [&](const char* name) {
    const BarFrame& f = *find_frame(m, P(name));
    double ss = 0.0;
    size_t n = 0;
    for (size_t i = 1; i < f.size(); ++i) {
      if (f.ts[i] != f.ts[i - 1] + 1) continue;
      const double r = 1e4 * std::log(f.close[i] / f.close[i - 1]);
      ss += r * r;
      ++n;
    }
    return std::sqrt(ss / static_cast<double>(n));
  };
  // ~7 % a year is ~1.15 bp a minute; pairs with JPY/AUD/NZD move more than EURCHF/EURGBP.
  EXPECT_GT(minute_sd_bp("EURUSD"), 0.8);
  EXPECT_LT(minute_sd_bp("EURUSD"), 1.6);
  EXPECT_GT(minute_sd_bp("AUDJPY"), minute_sd_bp("EURUSD"));
  EXPECT_LT(minute_sd_bp("EURCHF"), minute_sd_bp("EURUSD"));
  const BarFrame& eu = *find_frame(m, P("EURUSD"));
  const BarFrame& nc = *find_frame(m, P("NZDCHF"));
  EXPECT_LT(eu.ask[100] - eu.bid[100], nc.ask[100] - nc.bid[100]);
}

// ---------------------------------------------------------------------------------------
// Cross consistency and mispricings.

TEST(Generator, CrossesConsistentWithinMicrostructureNoise) {
  // Design: each quote carries 0.2 bp i.i.d. noise, so eps ~ sqrt(3) * 0.2 = 0.35 bp plus
  // rounding to the tick (< 0.1 bp). Bound: std < 1 bp, max |eps| < 5 bp away from mispricings.
  const auto& m = july_all();
  for (const auto& tri : {std::array<Currency, 3>{Currency::EUR, Currency::USD, Currency::GBP},
                          std::array<Currency, 3>{Currency::EUR, Currency::USD, Currency::JPY}}) {
    const EpsStats s = triangle_stats(m, tri[0], tri[1], tri[2]);
    EXPECT_GT(s.n, 25000u);
    EXPECT_LT(s.std_bp, 1.0);
    EXPECT_GT(s.std_bp, 0.1);  // the noise exists
    EXPECT_LT(std::fabs(s.mean), 0.1);
    EXPECT_LT(s.max_abs_bp, 5.0);
  }
  // And every one of the 56 triangles.
  const auto cur = all_currencies();
  for (int a = 0; a < 8; ++a) {
    for (int b = a + 1; b < 8; ++b) {
      for (int c = b + 1; c < 8; ++c) {
        const EpsStats s = triangle_stats(m, cur[a], cur[b], cur[c]);
        const std::string name = std::string(currency_code(cur[a])) + std::string(currency_code(cur[b])) +
                                 std::string(currency_code(cur[c]));
        EXPECT_GT(s.n, 18000u) << name;
        EXPECT_LT(s.std_bp, 1.0) << name;
        EXPECT_LT(s.max_abs_bp, 5.0) << name;
      }
    }
  }
}

TEST(Generator, MispricingsAppearInTheData) {
  const auto& m = july_all();
  EXPECT_GE(m.mispricings.size(), 30u);
  EXPECT_LE(m.mispricings.size(), 80u);
  size_t checked = 0;
  for (const auto& e : m.mispricings) {
    EXPECT_GE(std::fabs(e.shift_bp), 5.0);
    EXPECT_LE(std::fabs(e.shift_bp), 20.0);
    EXPECT_GE(e.end, e.start);
    EXPECT_LE(e.end - e.start, 4);
    const BarFrame& f = *find_frame(m, e.pair);
    for (EpochMinute t = e.start; t <= e.end; ++t) {
      ASSERT_TRUE(index_at(f, t).has_value()) << pair_name(e.pair) << " has no bar during its mispricing";
      // ln(pair) minus the rate implied through each third currency: ~ shift_bp.
      size_t triangles = 0;
      for (Currency z : all_currencies()) {
        if (z == e.pair.base || z == e.pair.quote) continue;
        const Pair p1 = pair_of(e.pair.base, z), p2 = pair_of(z, e.pair.quote);
        if (mispriced(m, p1, t) || mispriced(m, p2, t)) continue;
        const auto direct = lp(m, e.pair.base, e.pair.quote, t);
        const auto leg1 = lp(m, e.pair.base, z, t), leg2 = lp(m, z, e.pair.quote, t);
        if (!direct || !leg1 || !leg2) continue;
        const double d_bp = 1e4 * (*direct - *leg1 - *leg2);
        EXPECT_NEAR(d_bp, e.shift_bp, 2.0) << pair_name(e.pair) << " at " << format_iso(t) << " via "
                                           << currency_code(z);
        ++triangles;
      }
      EXPECT_GE(triangles, 1u) << pair_name(e.pair) << " at " << format_iso(t);
      ++checked;
    }
    // Right after the event the pair is back in line.
    if (const auto i = index_at(f, e.end + 1)) {
      const auto d = lp(m, e.pair.base, e.pair.quote, e.end + 1);
      for (Currency z : all_currencies()) {
        if (z == e.pair.base || z == e.pair.quote) continue;
        if (mispriced(m, pair_of(e.pair.base, z), e.end + 1) || mispriced(m, pair_of(z, e.pair.quote), e.end + 1) ||
            mispriced(m, e.pair, e.end + 1))
          continue;
        const auto l1 = lp(m, e.pair.base, z, e.end + 1), l2 = lp(m, z, e.pair.quote, e.end + 1);
        if (d && l1 && l2) {
          EXPECT_LT(std::fabs(1e4 * (*d - *l1 - *l2)), 5.0);
        }
      }
    }
  }
  EXPECT_GE(checked, m.mispricings.size());
}

// ---------------------------------------------------------------------------------------
// Files and truth.

TEST(Generator, FilesAreHistDataFormatAndRoundTrip) {
  const auto opts = options_for({P("EURUSD"), P("USDJPY"), P("AUDNZD")}, make_month(2024, 7), 2, 11, false);
  const GeneratedMarket m = generate_market(opts);
  TempDir dir("format");
  auto r = write_market(m, opts, dir.path() / "nested" / "out");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const fs::path out = dir.path() / "nested" / "out";
  const auto files = read_dir(out);
  ASSERT_EQ(files.size(), 7u);
  EXPECT_EQ(r->files, 6u);
  ASSERT_EQ(r->written.size(), 7u);
  EXPECT_EQ(r->written.back().filename(), "truth.json");
  size_t total = 0;
  for (const auto& f : m.frames) {
    size_t row = 0;
    for (int month : {7, 8}) {
      const std::string name = file_name(f.pair, 2024, month);
      ASSERT_TRUE(files.count(name)) << name;
      const auto lines = parse_file(files.at(name));
      ASSERT_GT(lines.size(), 25000u) << name;
      for (size_t k = 0; k < lines.size(); ++k, ++row) {
        const Line& l = lines[k];
        ASSERT_LT(row, f.size());
        const EpochMinute utc = l.est + 300;
        ASSERT_EQ(utc, f.ts[row]) << name << ": " << l.text;
        EXPECT_EQ(to_civil(l.est).date.month, month) << name << ": " << l.text;  // EST month
        EXPECT_EQ(l.open, f.open[row]) << l.text;
        EXPECT_EQ(l.high, f.high[row]) << l.text;
        EXPECT_EQ(l.low, f.low[row]) << l.text;
        EXPECT_EQ(l.close, f.close[row]) << l.text;
        EXPECT_EQ(static_cast<double>(l.volume), f.volume[row]) << l.text;
        if (k > 0) {
          EXPECT_GT(l.est, lines[k - 1].est);
        }
      }
    }
    EXPECT_EQ(row, f.size());
    total += row;
  }
  EXPECT_EQ(r->bars, total);
  // The first line of July: 2024-07-01 00:00 EST = 05:00 UTC at the earliest.
  const std::string& eu = files.at(file_name(P("EURUSD"), 2024, 7));
  EXPECT_EQ(eu.substr(0, 9), "20240701 ");
  EXPECT_EQ(eu.find('\r'), std::string::npos);

  const auto truth = nlohmann::json::parse(files.at("truth.json"));
  EXPECT_EQ(truth["seed"].get<uint64_t>(), 11u);
  EXPECT_EQ(truth["start"].get<std::string>(), "2024-07");
  EXPECT_EQ(truth["months"].get<int>(), 2);
  EXPECT_EQ(truth["pairs"], nlohmann::json::array({"AUDNZD", "EURUSD", "USDJPY"}));
  ASSERT_EQ(truth["mispricings"].size(), m.mispricings.size());
  for (size_t i = 0; i < m.mispricings.size(); ++i) {
    const auto& j = truth["mispricings"][i];
    EXPECT_EQ(j["pair"].get<std::string>(), pair_name(m.mispricings[i].pair));
    EXPECT_EQ(j["start_utc"].get<std::string>(), format_iso(m.mispricings[i].start));
    EXPECT_EQ(j["end_utc"].get<std::string>(), format_iso(m.mispricings[i].end));
    EXPECT_EQ(j["shift_bp"].get<double>(), m.mispricings[i].shift_bp);
  }
  EXPECT_TRUE(truth["defects"].empty());
}

TEST(Generator, InvalidOptionsAreErrors) {
  TempDir dir("invalid");
  auto opts = options_for({}, make_month(2024, 7), 0, 1, false);
  auto r = write_market(GeneratedMarket{}, opts, dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("months"), std::string::npos);
  opts = options_for({Pair{Currency::USD, Currency::EUR}}, make_month(2024, 7), 1, 1, false);
  EXPECT_FALSE(generate_to_dir(opts, dir.path()).ok());
  EXPECT_FALSE(fs::exists(dir.path() / "truth.json"));
}

// ---------------------------------------------------------------------------------------
// Defects.

TEST(Generator, DefectsAreInjectedAndRecorded) {
  const auto& m = july_defects();
  std::map<std::string, int> kinds;
  for (const auto& d : m.defects) kinds[d.kind]++;
  for (const char* kind : {"spike", "stale_run", "duplicate_stretch", "missing_stretch", "ohlc_violation"}) {
    EXPECT_GE(kinds[kind], 1) << kind;
  }
  EXPECT_EQ(kinds.size(), 5u);

  for (const auto& d : m.defects) {
    EXPECT_FALSE(d.detail.empty()) << d.kind;
    const BarFrame& f = *find_frame(m, d.pair);
    const std::string where = d.kind + " " + pair_name(d.pair) + " " + format_iso(d.start);
    if (d.kind == "stale_run") {
      EXPECT_GE(d.end - d.start + 1, 30);
      EXPECT_LE(d.end - d.start + 1, 90);
      const auto b = index_at(f, d.start), e = index_at(f, d.end);
      ASSERT_TRUE(b && e) << where;
      ASSERT_GT(*b, 0u);
      for (size_t i = *b; i <= *e; ++i) {
        EXPECT_EQ(f.close[i], f.close[*b - 1]) << where;
        EXPECT_EQ(f.open[i], f.close[i]) << where;
        EXPECT_EQ(f.high[i], f.close[i]) << where;
        EXPECT_EQ(f.low[i], f.close[i]) << where;
      }
      // ... while the market moves: another pair sharing a currency does not stay flat.
      Currency z = Currency::EUR;
      while (z == d.pair.base || z == d.pair.quote) z = static_cast<Currency>(static_cast<int>(z) + 1);
      const BarFrame& other = *find_frame(m, pair_of(d.pair.base, z));
      std::set<double> closes;
      for (EpochMinute t = d.start; t <= d.end; ++t) {
        if (const auto i = index_at(other, t)) closes.insert(other.close[*i]);
      }
      EXPECT_GT(closes.size(), 3u) << where;
    } else if (d.kind == "spike") {
      const auto i = index_at(f, d.start);
      ASSERT_TRUE(i && *i > 0) << where;
      const double move = std::fabs(std::log(f.close[*i] / f.close[*i - 1]));
      EXPECT_GT(move, 0.015) << where;
      EXPECT_LT(move, 0.06) << where;
      EXPECT_LE(f.low[*i], std::min(f.open[*i], f.close[*i])) << where;
      EXPECT_GE(f.high[*i], std::max(f.open[*i], f.close[*i])) << where;
    } else if (d.kind == "missing_stretch") {
      EXPECT_GE(d.end - d.start + 1, 60);
      EXPECT_LE(d.end - d.start + 1, 180);
      const auto it = std::lower_bound(f.ts.begin(), f.ts.end(), d.start);
      EXPECT_TRUE(it == f.ts.end() || *it > d.end) << where;
      for (EpochMinute t = d.start; t <= d.end; ++t) EXPECT_FALSE(closed_by_spec(t)) << where;
      const auto& model_liquid = std::set<std::string>{"EURUSD", "USDJPY", "GBPUSD", "AUDUSD", "USDCAD",
                                                       "USDCHF", "EURJPY", "EURGBP"};
      EXPECT_TRUE(model_liquid.count(pair_name(d.pair))) << where;
    } else {
      // File-only defects: the frame keeps a valid bar.
      for (EpochMinute t = d.start; t <= d.end; ++t) EXPECT_TRUE(index_at(f, t).has_value()) << where;
    }
  }

  // Bars outside spikes are valid (file-only defects do not touch the frames).
  for (const auto& f : m.frames) {
    for (size_t i = 0; i < f.size(); ++i) {
      ASSERT_TRUE(f.low[i] <= std::min(f.open[i], f.close[i]) && std::max(f.open[i], f.close[i]) <= f.high[i])
          << pair_name(f.pair) << " " << format_iso(f.ts[i]);
    }
  }
}

TEST(Generator, FileOnlyDefectsAreInTheFiles) {
  const auto& m = july_defects();
  const auto opts = options_for({}, make_month(2024, 7), 1, 7, true);
  TempDir dir("defects");
  auto r = write_market(m, opts, dir.path());
  ASSERT_TRUE(r.ok()) << r.error().message;
  size_t frame_bars = 0;
  for (const auto& f : m.frames) frame_bars += f.size();
  std::map<std::string, std::vector<Line>> files;
  for (const auto& f : m.frames) files[pair_name(f.pair)] = parse_file(read_all(dir.path() / file_name(f.pair, 2024, 7)));
  size_t duplicated = 0;
  for (const auto& d : m.defects) {
    const auto& lines = files.at(pair_name(d.pair));
    const std::string where = d.kind + " " + pair_name(d.pair) + " " + format_iso(d.start);
    if (d.kind == "duplicate_stretch") {
      std::map<EpochMinute, std::vector<std::string>> by_ts;
      for (const auto& l : lines) {
        if (l.est + 300 >= d.start && l.est + 300 <= d.end) by_ts[l.est + 300].push_back(l.text);
      }
      EXPECT_EQ(by_ts.size(), static_cast<size_t>(d.end - d.start + 1)) << where;
      for (const auto& [t, texts] : by_ts) {
        ASSERT_EQ(texts.size(), 2u) << where;
        EXPECT_EQ(texts[0], texts[1]) << where;
        ++duplicated;
      }
      // Sorted (non-decreasing) file.
      for (size_t k = 1; k < lines.size(); ++k) EXPECT_GE(lines[k].est, lines[k - 1].est);
    } else if (d.kind == "ohlc_violation") {
      size_t found = 0;
      for (const auto& l : lines) {
        if (l.est + 300 != d.start) continue;
        ++found;
        EXPECT_TRUE(l.high < l.low || l.close > l.high) << where << ": " << l.text;
      }
      EXPECT_EQ(found, 1u) << where;
    }
  }
  EXPECT_GT(duplicated, 0u);
  EXPECT_EQ(r->bars, frame_bars + duplicated);

  // Outside the recorded ohlc violations every line is OHLC-valid.
  std::set<std::pair<std::string, EpochMinute>> violations;
  for (const auto& d : m.defects) {
    if (d.kind == "ohlc_violation") violations.insert({pair_name(d.pair), d.start});
  }
  for (const auto& f : m.frames) {
    for (const auto& l : files.at(pair_name(f.pair))) {
      if (violations.count({pair_name(f.pair), l.est + 300})) continue;
      ASSERT_TRUE(l.low <= std::min(l.open, l.close) && std::max(l.open, l.close) <= l.high) << l.text;
    }
  }

  const auto truth = nlohmann::json::parse(read_all(dir.path() / "truth.json"));
  ASSERT_EQ(truth["defects"].size(), m.defects.size());
  std::set<std::string> kinds;
  for (const auto& d : truth["defects"]) {
    kinds.insert(d["kind"].get<std::string>());
    EXPECT_TRUE(parse_pair(d["pair"].get<std::string>()).ok());
    EXPECT_EQ(d["start_utc"].get<std::string>().size(), 20u);
    EXPECT_FALSE(d["detail"].get<std::string>().empty());
  }
  EXPECT_EQ(kinds.size(), 5u);
  EXPECT_TRUE(truth["defects_enabled"].get<bool>());
}

TEST(Generator, DefectsOffMeansNoDefects) {
  EXPECT_TRUE(july_all().defects.empty());
  EXPECT_FALSE(july_defects().defects.empty());
}

}  // namespace
}  // namespace bqx
