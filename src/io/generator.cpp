// Synthetic market generator (DESIGN.md, "Synthetic market").
//
// Model (all constants below, one place):
//  * 8 latent currency log-values l_c (value of one unit of c in a common numeraire; USD
//    starts at 0). Every open minute: dl_c = s(t) * sum_f load[c][f] z_f + s(t) * idio[c] e_c
//    - kappa (l_c - l_c(0)), with z_f (4 common factors: dollar, risk-on/off, Europe,
//    commodity) and e_c (one per currency) i.i.d. Student-t(5) scaled to unit variance.
//    s(t) = per-minute scale * intraday session profile * daily volatility regime.
//    Each factor set comes from the "market" stream, each e_c from its currency's stream.
//  * Pair log price = l_base - l_quote, so crosses are consistent; each quote adds its own
//    i.i.d. microstructure noise (0.2 bp). Open = previous minute's latent close + its own
//    noise; high/low = exact Brownian-bridge extremes between open and close.
//    Prices are rounded to the pair's tick (1e-5, JPY pairs 1e-3) and OHLC consistency is
//    enforced on the integer ticks.
//  * Closed Fri 22:00 - Sun 22:00 UTC and on Dec 25 / Jan 1 (UTC days). The latent paths do
//    not move while closed; at each reopen they take one jump worth 20 minutes of trading
//    (the weekend gap), visible as the first bar's open versus the last close.
//  * Missing minutes per pair: average rate by liquidity (EURUSD 1.5 % ... NZDCHF/CADCHF/
//    NZDCAD 12 %), weighted by session (late NY / early Asia up to ~3x the average), 75 %
//    as single minutes and 25 % as gaps of 3-17 minutes. Even February keeps >= 25k bars.
//  * Tick volume (session- and |return|-dependent), spread in pips per pair (wider off-hours),
//    bid = close, ask = close + spread.
//  * Mispricings: Poisson(2) per pair and month, 1-5 minutes, whole bar shifted by 5-20 bp
//    (random sign); triangle eps noise is ~0.35 bp (sqrt(3) x 0.2 bp + rounding), so a shift
//    is > 14 sigma. The pair is forced to have bars during the event.
//  * Defects (--defects): 3 + (months - 1) / 4 of each kind per run, on the requested pairs,
//    inside one month, never overlapping another defect of the same pair (30-minute margin);
//    mispricings that would touch a defect are dropped.
//  All of it uses per-pair / per-currency streams: a pair's numbers never depend on which
//  other pairs are requested. Runs cover whole EST months (generation_period) and are
//  simulated one month at a time (generate_to_dir streams, generate_market concatenates).
#include "io/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <system_error>
#include <thread>

#include "io/generator_rng.h"

namespace bqx {
namespace {

using gen::Rng;
using gen::stream_seed;

// ---------------------------------------------------------------------------------------
// Design constants.

constexpr int kEstShiftMinutes = -kHistDataTzOffsetMinutes;       // UTC = EST + 5 h
constexpr double kTradingMinutesPerYear = 52.0 * 5.0 * 1440.0;    // 374,400
constexpr double kTailDof = 5.0;                                   // Student-t tails
constexpr double kQuoteNoise = 0.2e-4;                             // per-quote log noise, 0.2 bp
constexpr double kBridgeScale = 0.75;    // tick-sampled bars show a smaller range than a continuous path
constexpr double kReopenGapMinutes = 20.0;                         // weekend / holiday gap
constexpr double kMeanReversionHalfLife = 0.5 * kTradingMinutesPerYear;  // keeps 12-month levels realistic
constexpr double kDayVolSigma = 0.25;                              // daily volatility regime, log sd
constexpr double kDayVolPersistence = 0.7;                         // AR(1) across trading days
constexpr double kGapShare = 0.25;                                 // part of missing minutes in short gaps
constexpr int kGapMinLen = 3;
constexpr int kGapMaxLen = 17;
constexpr double kMaxMissingProbability = 0.6;
constexpr double kMispricingsPerPairMonth = 2.0;                   // Poisson mean, per pair and month
constexpr double kMispricingMinBp = 5.0;
constexpr double kMispricingMaxBp = 20.0;
constexpr int kMispricingMaxMinutes = 5;
constexpr int kMispricingSpacing = 5;                              // minutes between events of a pair
constexpr int kDefectMargin = 30;                                  // minutes around a defect kept clean

// Stream domains.
enum : uint64_t { kStreamMarket = 1, kStreamCurrency, kStreamQuote, kStreamMissing, kStreamVolume, kStreamEvents,
                  kStreamDefects };

enum Factor { kDollar = 0, kRisk, kEurope, kCommodity, kFactorCount };

struct CurrencyModel {
  double usd_value;  // starting value of one unit in USD
  std::array<double, kFactorCount> load;  // annualised %, per unit factor shock
  double idio;                            // annualised %, own shock
};

// Order = Currency enum order (EUR USD GBP JPY AUD NZD CAD CHF). Resulting annualised pair
// vols: EURUSD 7.1, GBPUSD 7.5, USDJPY 9.3, AUDUSD 9.5, NZDUSD 10.0, USDCAD 6.8, USDCHF 7.7,
// EURGBP 4.6, EURCHF 4.2, AUDNZD 6.4, EURJPY 8.0, AUDJPY 12.6, NZDJPY 13.0 (%).
constexpr std::array<CurrencyModel, kCurrencyCount> kCurrencyModels = {{
    {1.08, {0.0, 0.0, 3.5, 0.0}, 1.5},          // EUR
    {1.0, {6.0, 0.0, 0.0, 0.0}, 0.0},           // USD: the dollar factor
    {1.27, {0.0, 1.0, 2.0, 0.0}, 4.0},          // GBP
    {1.0 / 150.0, {0.0, -5.0, 0.0, 0.0}, 5.0},  // JPY: safe haven
    {0.66, {0.0, 5.5, 0.0, 3.0}, 4.0},          // AUD: risk + commodity bloc
    {0.61, {0.0, 5.5, 0.0, 3.0}, 5.0},          // NZD
    {1.0 / 1.36, {0.0, 2.0, 0.0, 2.0}, 1.5},    // CAD
    {1.0 / 0.88, {0.0, -2.5, 3.0, 0.0}, 3.0},   // CHF: Europe + safe haven
}};

struct PairModel {
  std::string_view name;
  double missing;      // average probability that a minute has no bar (i.i.d. + gaps)
  double spread_pips;  // typical spread at session multiplier 1
  double volume;       // typical tick volume per minute at session multiplier 1
};

constexpr std::array<PairModel, kPairCount> kPairModels = {{
    {"EURUSD", 0.015, 0.6, 90}, {"USDJPY", 0.020, 0.7, 85}, {"GBPUSD", 0.025, 0.9, 75},
    {"AUDUSD", 0.035, 0.8, 55}, {"USDCAD", 0.040, 1.2, 50}, {"USDCHF", 0.040, 1.2, 50},
    {"NZDUSD", 0.050, 1.4, 40}, {"EURJPY", 0.035, 1.1, 55}, {"EURGBP", 0.040, 1.0, 50},
    {"EURCHF", 0.060, 1.5, 35}, {"GBPJPY", 0.050, 2.0, 45}, {"AUDJPY", 0.050, 1.5, 40},
    {"EURAUD", 0.070, 2.0, 30}, {"EURCAD", 0.070, 2.2, 28}, {"GBPCHF", 0.080, 2.5, 25},
    {"GBPAUD", 0.080, 2.8, 25}, {"CADJPY", 0.070, 2.0, 28}, {"CHFJPY", 0.080, 2.2, 25},
    {"NZDJPY", 0.080, 2.0, 25}, {"EURNZD", 0.090, 3.0, 22}, {"GBPCAD", 0.090, 3.0, 22},
    {"GBPNZD", 0.100, 3.8, 18}, {"AUDCAD", 0.080, 2.0, 25}, {"AUDCHF", 0.090, 2.2, 22},
    {"AUDNZD", 0.110, 2.5, 18}, {"NZDCAD", 0.120, 3.0, 14}, {"NZDCHF", 0.120, 3.5, 12},
    {"CADCHF", 0.120, 3.0, 12},
}};
constexpr double kLiquidMissing = 0.04;  // pairs at or below this are "liquid" (missing_stretch targets)

// Intraday volatility by UTC hour (value at the middle of the hour, linearly interpolated):
// Tokyo 00-07, London 07-16, New York 12-21; London-NY overlap highest, late NY / early
// Asia (20-23) lowest. Normalised to mean square 1 over the day.
constexpr std::array<double, 24> kSessionByHour = {0.75, 0.85, 0.85, 0.75, 0.65, 0.65, 0.80, 1.15,
                                                   1.30, 1.20, 1.05, 1.00, 1.25, 1.50, 1.60, 1.45,
                                                   1.10, 0.90, 0.80, 0.75, 0.60, 0.45, 0.45, 0.60};

struct SessionProfile {
  std::array<double, 1440> vol{};          // volatility multiplier (RMS 1)
  std::array<double, 1440> missing{};      // missing-minute weight (mean 1)
  std::array<double, 1440> spread{};       // spread multiplier
  std::array<double, 1440> volume{};       // tick volume multiplier
};

const SessionProfile& session_profile() {
  static const SessionProfile profile = [] {
    SessionProfile p;
    double sum_sq = 0.0;
    for (int m = 0; m < 1440; ++m) {
      const double x = (m + 0.5) / 60.0 - 0.5;  // hours since the middle of hour 0
      const double fl = std::floor(x);
      const double w = x - fl;
      const int h0 = (static_cast<int>(fl) + 24) % 24;
      const int h1 = (h0 + 1) % 24;
      p.vol[m] = kSessionByHour[h0] * (1.0 - w) + kSessionByHour[h1] * w;
      sum_sq += p.vol[m] * p.vol[m];
    }
    const double rms = std::sqrt(sum_sq / 1440.0);
    double miss_sum = 0.0;
    for (int m = 0; m < 1440; ++m) {
      p.vol[m] /= rms;
      p.missing[m] = std::pow(1.0 / p.vol[m], 1.5);
      miss_sum += p.missing[m];
      p.spread[m] = std::clamp(1.0 / p.vol[m], 0.8, 2.5);
      p.volume[m] = std::pow(p.vol[m], 1.5);
    }
    for (int m = 0; m < 1440; ++m) p.missing[m] /= (miss_sum / 1440.0);
    return p;
  }();
  return profile;
}

const PairModel& pair_model(Pair p) {
  static const std::array<int, kPairCount> by_index = [] {
    std::array<int, kPairCount> out{};
    for (int i = 0; i < kPairCount; ++i) {
      for (int j = 0; j < kPairCount; ++j) {
        if (kPairModels[j].name == pair_name(all_pairs()[i])) out[i] = j;
      }
    }
    return out;
  }();
  return kPairModels[by_index[pair_index(p)]];
}

bool is_jpy(Pair p) { return p.quote == Currency::JPY || p.base == Currency::JPY; }
double tick_scale(Pair p) { return is_jpy(p) ? 1e3 : 1e5; }
int64_t tick_to_micro(Pair p) { return is_jpy(p) ? 1000 : 10; }  // 6-decimal units per tick

double per_minute(double annual_pct) { return annual_pct / 100.0 / std::sqrt(kTradingMinutesPerYear); }

// Per-minute standard deviation of a pair's latent log price at session multiplier 1.
double pair_sigma(Pair p) {
  const auto& b = kCurrencyModels[static_cast<int>(p.base)];
  const auto& q = kCurrencyModels[static_cast<int>(p.quote)];
  double var = b.idio * b.idio + q.idio * q.idio;
  for (int f = 0; f < kFactorCount; ++f) var += (b.load[f] - q.load[f]) * (b.load[f] - q.load[f]);
  return per_minute(std::sqrt(var));
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }
int mod_of_day(EpochMinute t) { return static_cast<int>(t - floor_div(t, kMinutesPerDay) * kMinutesPerDay); }

// ---------------------------------------------------------------------------------------
// Latent currency paths.

struct ChunkLatent {
  std::vector<EpochMinute> ts;  // open minutes of the chunk
  std::vector<double> start;    // 8 per minute: l at the minute's open
  std::vector<double> end;      // 8 per minute: l at the minute's close
  std::vector<double> mult;     // session * daily regime multiplier
};

class LatentMarket {
 public:
  explicit LatentMarket(uint64_t seed) : market_(stream_seed(seed, kStreamMarket, 0)) {
    for (int c = 0; c < kCurrencyCount; ++c) {
      currency_[c] = Rng(stream_seed(seed, kStreamCurrency, static_cast<uint64_t>(c)));
      l0_[c] = std::log(kCurrencyModels[c].usd_value);
      l_[c] = l0_[c];
    }
    kappa_ = std::log(2.0) / kMeanReversionHalfLife;
  }

  void simulate(EpochMinute begin, EpochMinute end, ChunkLatent& out) {
    const auto& session = session_profile();
    out.ts.clear();
    out.start.clear();
    out.end.clear();
    out.mult.clear();
    for (EpochMinute t = begin; t < end; ++t) {
      if (!synthetic_market_open(t)) continue;
      if (started_ && t != last_open_ + 1) step(std::sqrt(kReopenGapMinutes), false);
      const int64_t day_key = floor_div(t + 120, kMinutesPerDay);  // trading day starts 22:00 UTC
      if (!started_ || day_key != day_key_) {
        day_key_ = day_key;
        day_x_ = kDayVolPersistence * day_x_ +
                 std::sqrt(1.0 - kDayVolPersistence * kDayVolPersistence) * kDayVolSigma * market_.normal();
        day_mult_ = std::exp(day_x_ - kDayVolSigma * kDayVolSigma);  // E[mult^2] = 1
      }
      started_ = true;
      last_open_ = t;
      const double mult = session.vol[mod_of_day(t)] * day_mult_;
      out.ts.push_back(t);
      out.start.insert(out.start.end(), l_.begin(), l_.end());
      step(mult, true);
      out.end.insert(out.end.end(), l_.begin(), l_.end());
      out.mult.push_back(mult);
    }
  }

 private:
  void step(double mult, bool revert) {
    std::array<double, kFactorCount> z{};
    for (auto& v : z) v = market_.student_t_unit(kTailDof);
    for (int c = 0; c < kCurrencyCount; ++c) {
      const auto& m = kCurrencyModels[c];
      const double e = currency_[c].student_t_unit(kTailDof);
      double d = m.idio * e;
      for (int f = 0; f < kFactorCount; ++f) d += m.load[f] * z[f];
      l_[c] += mult * per_minute(d);
      if (revert) l_[c] -= kappa_ * (l_[c] - l0_[c]);
    }
  }

  Rng market_;
  std::array<Rng, kCurrencyCount> currency_{};
  std::array<double, kCurrencyCount> l_{};
  std::array<double, kCurrencyCount> l0_{};
  double kappa_ = 0.0;
  double day_x_ = 0.0;
  double day_mult_ = 1.0;
  int64_t day_key_ = 0;
  EpochMinute last_open_ = 0;
  bool started_ = false;
};

// ---------------------------------------------------------------------------------------
// Schedules: mispricings (per pair) and defects (per run).

struct Interval {
  EpochMinute start;
  EpochMinute end;  // inclusive
};

bool all_open(EpochMinute start, EpochMinute end) {
  for (EpochMinute t = start; t <= end; ++t) {
    if (!synthetic_market_open(t)) return false;
  }
  return true;
}

struct ScheduledDefect {
  Defect defect;
  double param = 0.0;  // spike: relative move
};

bool defect_blocks(const std::vector<ScheduledDefect>& defects, Pair pair, EpochMinute start, EpochMinute end,
                   int margin) {
  for (const auto& d : defects) {
    if (d.defect.pair == pair && start <= d.defect.end + margin && end + margin >= d.defect.start) return true;
  }
  return false;
}

struct PairState {
  Pair pair{};
  int index = 0;
  int base = 0;
  int quote = 0;
  const PairModel* model = nullptr;
  double sigma = 0.0;
  double scale = 0.0;
  double p_iid = 0.0;
  double p_gap = 0.0;
  Rng quote_rng, missing_rng, volume_rng, events_rng;
  int gap_left = 0;
};

struct Chunk {
  EpochMinute begin;
  EpochMinute end;  // exclusive
};

// Events of one pair in one chunk, drawn from the pair's own stream (so they do not depend
// on other pairs); sorted, non-overlapping, inside open hours and inside the chunk.
std::vector<Mispricing> draw_mispricings(PairState& ps, const Chunk& chunk) {
  Rng& rng = ps.events_rng;
  const int n = rng.poisson(kMispricingsPerPairMonth);
  std::vector<Mispricing> events;
  for (int i = 0; i < n; ++i) {
    EpochMinute start = 0;
    do {
      start = chunk.begin + rng.below(chunk.end - chunk.begin);
    } while (!synthetic_market_open(start));
    const int minutes = 1 + static_cast<int>(rng.below(kMispricingMaxMinutes));
    const double size = kMispricingMinBp + (kMispricingMaxBp - kMispricingMinBp) * rng.uniform();
    const double sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
    EpochMinute end = start;
    while (end - start + 1 < minutes && end + 1 < chunk.end && synthetic_market_open(end + 1)) ++end;
    events.push_back(Mispricing{ps.pair, start, end, sign * size});
  }
  std::sort(events.begin(), events.end(), [](const Mispricing& a, const Mispricing& b) { return a.start < b.start; });
  std::vector<Mispricing> kept;
  for (const auto& e : events) {
    if (!kept.empty() && e.start <= kept.back().end + kMispricingSpacing) continue;
    kept.push_back(e);
  }
  return kept;
}

const std::array<std::string_view, 5> kDefectKinds = {"spike", "stale_run", "duplicate_stretch", "missing_stretch",
                                                     "ohlc_violation"};

std::vector<ScheduledDefect> schedule_defects(const GeneratorOptions& options, const std::vector<Pair>& pairs,
                                              const std::vector<Chunk>& chunks) {
  std::vector<ScheduledDefect> out;
  if (!options.defects || pairs.empty() || chunks.empty()) return out;
  Rng rng(stream_seed(options.seed, kStreamDefects, 0));
  std::vector<Pair> liquid;
  for (Pair p : pairs) {
    if (pair_model(p).missing <= kLiquidMissing) liquid.push_back(p);
  }
  if (liquid.empty()) liquid = pairs;
  const int per_kind = 3 + (static_cast<int>(chunks.size()) - 1) / 4;
  for (std::string_view kind : kDefectKinds) {
    const auto& candidates = kind == "missing_stretch" ? liquid : pairs;
    for (int i = 0; i < per_kind; ++i) {
      for (int attempt = 0; attempt < 1000; ++attempt) {
        const Pair pair = candidates[static_cast<size_t>(rng.below(static_cast<int64_t>(candidates.size())))];
        const Chunk& chunk = chunks[static_cast<size_t>(rng.below(static_cast<int64_t>(chunks.size())))];
        int64_t len = 1;
        double param = 0.0;
        if (kind == "spike") {
          param = (rng.uniform() < 0.5 ? -1.0 : 1.0) * (0.02 + 0.03 * rng.uniform());
        } else if (kind == "stale_run") {
          len = 30 + rng.below(61);
        } else if (kind == "duplicate_stretch") {
          len = 5 + rng.below(26);
        } else if (kind == "missing_stretch") {
          len = 60 + rng.below(121);
        }
        const int64_t span = chunk.end - chunk.begin - len + 1;
        if (span <= 0) continue;
        const EpochMinute start = chunk.begin + rng.below(span);
        const EpochMinute end = start + len - 1;
        if (!all_open(start, end)) continue;
        if (defect_blocks(out, pair, start, end, kDefectMargin)) continue;
        out.push_back(ScheduledDefect{Defect{std::string(kind), pair, start, end, ""}, param});
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Pair bars.

int64_t to_ticks(double log_price, double scale) {
  return static_cast<int64_t>(std::llround(std::exp(log_price) * scale));
}

struct PairChunkPlan {
  std::vector<Mispricing> events;  // sorted
  std::vector<Interval> forced;    // minutes that must have a bar, sorted by start
};

void generate_pair_chunk(PairState& ps, const ChunkLatent& lat, const PairChunkPlan& plan, BarFrame& out) {
  const auto& session = session_profile();
  const PairModel& model = *ps.model;
  out.clear();
  out.pair = ps.pair;
  out.reserve(lat.ts.size());
  size_t fi = 0, ei = 0;
  for (size_t k = 0; k < lat.ts.size(); ++k) {
    const EpochMinute t = lat.ts[k];
    const int mod = mod_of_day(t);
    // Missing minute? (draws are made every open minute, whatever the outcome)
    const double u_missing = ps.missing_rng.uniform();
    const double u_gap = ps.missing_rng.uniform();
    bool missing = false;
    if (ps.gap_left > 0) {
      --ps.gap_left;
      missing = true;
    } else if (u_gap < ps.p_gap * session.missing[mod]) {
      ps.gap_left = kGapMinLen - 1 + static_cast<int>(ps.missing_rng.below(kGapMaxLen - kGapMinLen + 1));
      missing = true;
    } else {
      missing = u_missing < std::min(kMaxMissingProbability, ps.p_iid * session.missing[mod]);
    }
    while (fi < plan.forced.size() && plan.forced[fi].end < t) ++fi;
    if (fi < plan.forced.size() && plan.forced[fi].start <= t) missing = false;

    const double n_open = ps.quote_rng.normal();
    const double n_close = ps.quote_rng.normal();
    const double u_high = ps.quote_rng.uniform_open();
    const double u_low = ps.quote_rng.uniform_open();
    const double n_volume = ps.volume_rng.normal();
    if (missing) continue;

    while (ei < plan.events.size() && plan.events[ei].end < t) ++ei;
    const double shift =
        (ei < plan.events.size() && plan.events[ei].start <= t) ? plan.events[ei].shift_bp * 1e-4 : 0.0;

    const double* s = &lat.start[k * kCurrencyCount];
    const double* e = &lat.end[k * kCurrencyCount];
    const double x_open = (s[ps.base] - s[ps.quote]) + kQuoteNoise * n_open + shift;
    const double x_close = (e[ps.base] - e[ps.quote]) + kQuoteNoise * n_close + shift;
    const double sd = ps.sigma * lat.mult[k];
    const double sw = sd * kBridgeScale;
    const double h = x_close - x_open;
    const double v2 = 2.0 * sw * sw;
    const double x_high = x_open + 0.5 * (h + std::sqrt(h * h - v2 * std::log(u_high)));
    const double x_low = x_open + 0.5 * (h - std::sqrt(h * h - v2 * std::log(u_low)));

    const int64_t o = to_ticks(x_open, ps.scale);
    const int64_t c = to_ticks(x_close, ps.scale);
    const int64_t hi = std::max({to_ticks(x_high, ps.scale), o, c});
    const int64_t lo = std::min({to_ticks(x_low, ps.scale), o, c});
    const int64_t spread = std::max<int64_t>(1, std::llround(model.spread_pips * 10.0 * session.spread[mod]));
    const double z = std::fabs(h) / sd;
    const double volume = static_cast<double>(std::max<int64_t>(
        1, std::llround(model.volume * session.volume[mod] * (0.6 + 0.4 * z) *
                        std::exp(0.35 * n_volume - 0.5 * 0.35 * 0.35))));
    const double close = static_cast<double>(c) / ps.scale;
    out.ts.push_back(t);
    out.open.push_back(static_cast<double>(o) / ps.scale);
    out.high.push_back(static_cast<double>(hi) / ps.scale);
    out.low.push_back(static_cast<double>(lo) / ps.scale);
    out.close.push_back(close);
    out.volume.push_back(volume);
    out.bid.push_back(close);
    out.ask.push_back(static_cast<double>(c + spread) / ps.scale);
  }
}

// ---------------------------------------------------------------------------------------
// Formatting.

// Price in 6-decimal units (HistData prints 6 decimals for every pair).
int64_t to_micro(double price) { return std::llround(price * 1e6); }

// Digits written right to left in place (no reversed copy through a temporary: GCC 12
// vectorises that copy and then warns about 16-byte stores into the callers' small buffers).
char* put_uint(char* p, uint64_t v, int min_digits) {
  int digits = 1;
  for (uint64_t rest = v; rest >= 10; rest /= 10) ++digits;
  if (digits < min_digits) digits = min_digits;
  for (int i = digits - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + digits;
}

char* put_micro(char* p, int64_t micro) {
  if (micro < 0) {
    *p++ = '-';
    micro = -micro;
  }
  p = put_uint(p, static_cast<uint64_t>(micro / 1000000), 1);
  *p++ = '.';
  return put_uint(p, static_cast<uint64_t>(micro % 1000000), 6);
}

std::string format_price(double price) {
  char buf[40];
  char* end = put_micro(buf, to_micro(price));
  return std::string(buf, end);
}

// ohlc_violation as written in the file: variant by the parity of the minute.
// Even: high written one pip below the low. Odd: close written one pip above the high.
struct WrittenOhlc {
  int64_t open, high, low, close;
};

WrittenOhlc violate(Pair pair, EpochMinute ts, int64_t o, int64_t h, int64_t l, int64_t c) {
  const int64_t pip = 10 * tick_to_micro(pair);
  if (ts % 2 == 0) return {o, l - pip, l, c};
  return {o, h, l, h + pip};
}

std::string month_code(MonthId m) {
  const std::string s = format_month(m);  // "2024-07"
  return s.substr(0, 4) + s.substr(5, 2);
}

std::filesystem::path file_path(const std::filesystem::path& dir, Pair pair, MonthId m) {
  return dir / ("DAT_ASCII_" + pair_name(pair) + "_M1_" + month_code(m) + ".csv");
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return make_error(path.string() + ": cannot open for writing (" + std::strerror(errno) + ")");
  const size_t written = std::fwrite(content.data(), 1, content.size(), f);
  const int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (written != content.size() || !closed) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    return make_error(path.string() + ": write failed (" + std::strerror(err) + ")");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return make_error(path.string() + ": cannot rename temporary file (" + ec.message() + ")");
  }
  return Status::Ok();
}

// Writes the bars of one frame, split into EST-month files. Defects: those of this pair.
Status write_frame_files(const BarFrame& frame, const std::vector<Defect>& defects,
                         const std::filesystem::path& dir, GenerateSummary& summary, std::string& buffer) {
  std::vector<Interval> duplicates;
  std::vector<EpochMinute> violations;
  for (const auto& d : defects) {
    if (!(d.pair == frame.pair)) continue;
    if (d.kind == "duplicate_stretch") duplicates.push_back({d.start, d.end});
    if (d.kind == "ohlc_violation") violations.push_back(d.start);
  }
  std::sort(duplicates.begin(), duplicates.end(), [](const Interval& a, const Interval& b) { return a.start < b.start; });
  std::sort(violations.begin(), violations.end());

  size_t i = 0;
  const size_t n = frame.size();
  while (i < n) {
    const MonthId month = month_of(frame.ts[i] - kEstShiftMinutes);
    const EpochMinute month_end_est = month_start(month + 1);
    buffer.clear();
    int64_t cached_day = std::numeric_limits<int64_t>::min();
    char date[16] = {};
    size_t di = 0, vi = 0;
    size_t lines = 0;
    for (; i < n; ++i) {
      const EpochMinute est = frame.ts[i] - kEstShiftMinutes;
      if (est >= month_end_est) break;
      const int64_t day = floor_div(est, kMinutesPerDay);
      if (day != cached_day) {
        cached_day = day;
        const CivilDate cd = civil_from_days(day);
        char* p = put_uint(date, static_cast<uint64_t>(cd.year), 4);
        p = put_uint(p, static_cast<uint64_t>(cd.month), 2);
        put_uint(p, static_cast<uint64_t>(cd.day), 2);
      }
      const int mod = static_cast<int>(est - day * kMinutesPerDay);
      int64_t o = to_micro(frame.open[i]), h = to_micro(frame.high[i]), l = to_micro(frame.low[i]),
              c = to_micro(frame.close[i]);
      while (vi < violations.size() && violations[vi] < frame.ts[i]) ++vi;
      if (vi < violations.size() && violations[vi] == frame.ts[i]) {
        const WrittenOhlc w = violate(frame.pair, frame.ts[i], o, h, l, c);
        o = w.open, h = w.high, l = w.low, c = w.close;
      }
      char line[160];
      char* p = std::copy(date, date + 8, line);
      *p++ = ' ';
      p = put_uint(p, static_cast<uint64_t>(mod / 60), 2);
      p = put_uint(p, static_cast<uint64_t>(mod % 60), 2);
      *p++ = '0';
      *p++ = '0';
      for (int64_t v : {o, h, l, c}) {
        *p++ = ';';
        p = put_micro(p, v);
      }
      *p++ = ';';
      const double vol = frame.volume[i];
      p = put_uint(p, std::isfinite(vol) && vol > 0 ? static_cast<uint64_t>(std::llround(vol)) : 0, 1);
      *p++ = '\n';
      const std::string_view text(line, static_cast<size_t>(p - line));
      buffer.append(text);
      ++lines;
      while (di < duplicates.size() && duplicates[di].end < frame.ts[i]) ++di;
      if (di < duplicates.size() && duplicates[di].start <= frame.ts[i]) {
        buffer.append(text);
        ++lines;
      }
    }
    const auto path = file_path(dir, frame.pair, month);
    BQX_TRY(write_file_atomic(path, buffer));
    summary.files += 1;
    summary.bars += lines;
    summary.written.push_back(path);
  }
  return Status::Ok();
}

Status write_truth(const std::vector<Mispricing>& mispricings, const std::vector<Defect>& defects,
                   const GeneratorOptions& options, const std::vector<Pair>& pairs,
                   const std::filesystem::path& dir, GenerateSummary& summary) {
  using Json = nlohmann::ordered_json;
  const GenerationPeriod period = generation_period(options);
  Json j;
  j["generator"] = "bqx synthetic market v1";
  j["seed"] = options.seed;
  j["start"] = format_month(options.start);
  j["months"] = options.months;
  j["period_start_utc"] = format_iso(period.begin);
  j["period_end_utc"] = format_iso(period.end);
  j["file_tz_offset"] = "-05:00";
  j["defects_enabled"] = options.defects;
  Json names = Json::array();
  for (Pair p : pairs) names.push_back(pair_name(p));
  j["pairs"] = names;
  Json ms = Json::array();
  for (const auto& m : mispricings) {
    Json e;
    e["pair"] = pair_name(m.pair);
    e["start_utc"] = format_iso(m.start);
    e["end_utc"] = format_iso(m.end);
    e["minutes"] = m.end - m.start + 1;
    e["shift_bp"] = m.shift_bp;
    ms.push_back(e);
  }
  j["mispricings"] = ms;
  Json ds = Json::array();
  for (const auto& d : defects) {
    Json e;
    e["kind"] = d.kind;
    e["pair"] = pair_name(d.pair);
    e["start_utc"] = format_iso(d.start);
    e["end_utc"] = format_iso(d.end);
    e["detail"] = d.detail;
    ds.push_back(e);
  }
  j["defects"] = ds;
  summary.mispricings = mispricings.size();
  summary.defects = defects.size();
  const auto path = dir / "truth.json";
  BQX_TRY(write_file_atomic(path, j.dump(2) + "\n"));
  summary.written.push_back(path);
  return Status::Ok();
}

Status prepare_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(dir.string() + ": cannot create output directory (" + ec.message() + ")");
  return Status::Ok();
}

std::vector<Pair> requested_pairs(const GeneratorOptions& options) {
  std::vector<Pair> pairs;
  if (options.pairs.empty()) return std::vector<Pair>(all_pairs().begin(), all_pairs().end());
  for (Pair p : options.pairs) {
    if (pair_index(p) >= 0) pairs.push_back(p);
  }
  return canonical_order(std::move(pairs));
}

Status check_options(const GeneratorOptions& options) {
  if (options.months < 1) return make_error("generate: --months must be at least 1 (" + std::to_string(options.months) + ")");
  for (Pair p : options.pairs) {
    if (pair_index(p) < 0) return make_error("generate: not a canonical pair (" + pair_name(p) + ")");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// The simulator: one chunk (EST month) at a time, state carried across chunks.

class Simulator {
 public:
  explicit Simulator(const GeneratorOptions& options) : latent_(options.seed) {
    pairs_ = requested_pairs(options);
    const int months = std::max(0, options.months);
    for (int m = 0; m < months; ++m) {
      chunks_.push_back(Chunk{month_start(options.start + m) + kEstShiftMinutes,
                              month_start(options.start + m + 1) + kEstShiftMinutes});
    }
    for (Pair p : pairs_) {
      PairState ps;
      ps.pair = p;
      ps.index = pair_index(p);
      ps.base = static_cast<int>(p.base);
      ps.quote = static_cast<int>(p.quote);
      ps.model = &pair_model(p);
      ps.sigma = pair_sigma(p);
      ps.scale = tick_scale(p);
      ps.p_iid = (1.0 - kGapShare) * ps.model->missing;
      ps.p_gap = kGapShare * ps.model->missing / (0.5 * (kGapMinLen + kGapMaxLen));
      const auto idx = static_cast<uint64_t>(ps.index);
      ps.quote_rng = Rng(stream_seed(options.seed, kStreamQuote, idx));
      ps.missing_rng = Rng(stream_seed(options.seed, kStreamMissing, idx));
      ps.volume_rng = Rng(stream_seed(options.seed, kStreamVolume, idx));
      ps.events_rng = Rng(stream_seed(options.seed, kStreamEvents, idx));
      states_.push_back(ps);
    }
    defects_ = schedule_defects(options, pairs_, chunks_);
  }

  const std::vector<Pair>& pairs() const { return pairs_; }
  size_t chunk_count() const { return chunks_.size(); }

  // Generates chunk c into frames (one per pair), appending its events and defects.
  void run_chunk(size_t c, std::vector<BarFrame>& frames, std::vector<Mispricing>& mispricings,
                 std::vector<Defect>& defects) {
    const Chunk& chunk = chunks_[c];
    latent_.simulate(chunk.begin, chunk.end, latent_chunk_);
    frames.resize(states_.size());
    std::vector<PairChunkPlan> plans(states_.size());
    for (size_t i = 0; i < states_.size(); ++i) {
      PairChunkPlan& plan = plans[i];
      for (const auto& e : draw_mispricings(states_[i], chunk)) {
        if (defect_blocks(defects_, e.pair, e.start, e.end, kDefectMargin / 2)) continue;
        plan.events.push_back(e);
        plan.forced.push_back({e.start, e.end});
      }
      for (const auto& d : defects_) {
        if (d.defect.pair == states_[i].pair && d.defect.start >= chunk.begin && d.defect.end < chunk.end &&
            d.defect.kind != "missing_stretch") {
          plan.forced.push_back({d.defect.start, d.defect.end});
        }
      }
      std::sort(plan.forced.begin(), plan.forced.end(),
                [](const Interval& a, const Interval& b) { return a.start < b.start; });
    }
    // Pairs are independent given the latent paths: run them on up to 2 threads. Results do
    // not depend on the thread count (each pair has its own streams and output).
    const size_t n = states_.size();
    const size_t workers = std::min<size_t>(n, std::max(1u, std::min(2u, std::thread::hardware_concurrency())));
    auto work = [&](size_t w) {
      for (size_t i = w; i < n; i += workers) generate_pair_chunk(states_[i], latent_chunk_, plans[i], frames[i]);
    };
    if (workers <= 1) {
      work(0);
    } else {
      std::vector<std::thread> threads;
      for (size_t w = 1; w < workers; ++w) threads.emplace_back(work, w);
      work(0);
      for (auto& t : threads) t.join();
    }
    for (size_t i = 0; i < n; ++i) {
      mispricings.insert(mispricings.end(), plans[i].events.begin(), plans[i].events.end());
    }
    for (const auto& d : defects_) {
      if (d.defect.start < chunk.begin || d.defect.end >= chunk.end) continue;
      const size_t i = static_cast<size_t>(std::find(pairs_.begin(), pairs_.end(), d.defect.pair) - pairs_.begin());
      Defect applied = d.defect;
      apply_defect(applied, d.param, frames[i]);
      defects.push_back(std::move(applied));
    }
  }

 private:
  static std::pair<size_t, size_t> range_of(const BarFrame& f, EpochMinute start, EpochMinute end) {
    const auto b = std::lower_bound(f.ts.begin(), f.ts.end(), start);
    const auto e = std::upper_bound(f.ts.begin(), f.ts.end(), end);
    return {static_cast<size_t>(b - f.ts.begin()), static_cast<size_t>(e - f.ts.begin())};
  }

  static void apply_defect(Defect& d, double param, BarFrame& f) {
    const auto [b, e] = range_of(f, d.start, d.end);
    const double scale = tick_scale(f.pair);
    if (d.kind == "spike") {
      if (b >= e) return;
      const double old_close = f.close[b];
      const double spread = f.ask[b] - f.bid[b];
      const double c = std::llround(old_close * (1.0 + param) * scale) / scale;
      f.close[b] = c;
      f.high[b] = std::max(f.high[b], c);
      f.low[b] = std::min(f.low[b], c);
      f.bid[b] = c;
      f.ask[b] = std::llround((c + spread) * scale) / scale;
      d.detail = fmt::format("close {} -> {} ({:+.2f}%)", format_price(old_close), format_price(c), param * 100.0);
    } else if (d.kind == "stale_run") {
      if (b >= e) return;
      const double frozen = b > 0 ? f.close[b - 1] : f.open[b];
      const double spread = f.ask[b] - f.bid[b];
      const double ask = std::llround((frozen + spread) * scale) / scale;
      for (size_t i = b; i < e; ++i) {
        f.open[i] = f.high[i] = f.low[i] = f.close[i] = frozen;
        f.bid[i] = frozen;
        f.ask[i] = ask;
      }
      d.detail = fmt::format("open=high=low=close frozen at {} for {} bars", format_price(frozen), e - b);
    } else if (d.kind == "missing_stretch") {
      const auto erase = [b = b, e = e](auto& col) {
        col.erase(col.begin() + static_cast<std::ptrdiff_t>(b), col.begin() + static_cast<std::ptrdiff_t>(e));
      };
      erase(f.ts);
      for (auto* col : {&f.open, &f.high, &f.low, &f.close, &f.volume, &f.bid, &f.ask}) erase(*col);
      d.detail = fmt::format("{} bars removed ({} minutes)", e - b, d.end - d.start + 1);
    } else if (d.kind == "duplicate_stretch") {
      d.detail = fmt::format("{} rows written twice in the file (each line repeated)", e - b);
    } else if (d.kind == "ohlc_violation") {
      if (b >= e) return;
      const WrittenOhlc w = violate(f.pair, d.start, to_micro(f.open[b]), to_micro(f.high[b]), to_micro(f.low[b]),
                                    to_micro(f.close[b]));
      const auto p = [](int64_t micro) {
        char buf[40];
        return std::string(buf, put_micro(buf, micro));
      };
      d.detail = d.start % 2 == 0
                     ? fmt::format("file only: high {} written below low {}", p(w.high), p(w.low))
                     : fmt::format("file only: close {} written above high {}", p(w.close), p(w.high));
    }
  }

  LatentMarket latent_;
  ChunkLatent latent_chunk_;
  std::vector<Pair> pairs_;
  std::vector<Chunk> chunks_;
  std::vector<PairState> states_;
  std::vector<ScheduledDefect> defects_;
};

void sort_records(std::vector<Mispricing>& mispricings, std::vector<Defect>& defects) {
  std::sort(mispricings.begin(), mispricings.end(), [](const Mispricing& a, const Mispricing& b) {
    if (a.start != b.start) return a.start < b.start;
    return pair_index(a.pair) < pair_index(b.pair);
  });
  std::sort(defects.begin(), defects.end(), [](const Defect& a, const Defect& b) {
    if (a.start != b.start) return a.start < b.start;
    if (!(a.pair == b.pair)) return pair_index(a.pair) < pair_index(b.pair);
    return a.kind < b.kind;
  });
}

void append_frame(BarFrame& dst, const BarFrame& src) {
  dst.ts.insert(dst.ts.end(), src.ts.begin(), src.ts.end());
  dst.open.insert(dst.open.end(), src.open.begin(), src.open.end());
  dst.high.insert(dst.high.end(), src.high.begin(), src.high.end());
  dst.low.insert(dst.low.end(), src.low.begin(), src.low.end());
  dst.close.insert(dst.close.end(), src.close.begin(), src.close.end());
  dst.volume.insert(dst.volume.end(), src.volume.begin(), src.volume.end());
  dst.bid.insert(dst.bid.end(), src.bid.begin(), src.bid.end());
  dst.ask.insert(dst.ask.end(), src.ask.begin(), src.ask.end());
}

}  // namespace

GenerationPeriod generation_period(const GeneratorOptions& options) {
  const int months = std::max(0, options.months);
  return GenerationPeriod{month_start(options.start) + kEstShiftMinutes,
                          month_start(options.start + months) + kEstShiftMinutes};
}

bool synthetic_market_open(EpochMinute t) {
  const int wd = weekday(t);
  const int mod = mod_of_day(t);
  if (wd == 5) return false;                 // Saturday
  if (wd == 4 && mod >= 22 * 60) return false;  // Friday from 22:00
  if (wd == 6 && mod < 22 * 60) return false;   // Sunday before 22:00
  const CivilDate d = civil_from_days(floor_div(t, kMinutesPerDay));
  if ((d.month == 12 && d.day == 25) || (d.month == 1 && d.day == 1)) return false;
  return true;
}

GeneratedMarket generate_market(const GeneratorOptions& options) {
  GeneratedMarket market;
  Simulator sim(options);
  market.frames.resize(sim.pairs().size());
  for (size_t i = 0; i < sim.pairs().size(); ++i) market.frames[i].pair = sim.pairs()[i];
  std::vector<BarFrame> chunk_frames;
  for (size_t c = 0; c < sim.chunk_count(); ++c) {
    sim.run_chunk(c, chunk_frames, market.mispricings, market.defects);
    for (size_t i = 0; i < chunk_frames.size(); ++i) {
      if (c == 0) market.frames[i].reserve(chunk_frames[i].size() * sim.chunk_count() + 64);
      append_frame(market.frames[i], chunk_frames[i]);
    }
  }
  sort_records(market.mispricings, market.defects);
  return market;
}

Result<GenerateSummary> write_market(const GeneratedMarket& market, const GeneratorOptions& options,
                                     const std::filesystem::path& out_dir) {
  BQX_TRY(check_options(options));
  BQX_TRY(prepare_dir(out_dir));
  GenerateSummary summary;
  std::string buffer;
  for (const auto& frame : market.frames) BQX_TRY(write_frame_files(frame, market.defects, out_dir, summary, buffer));
  std::sort(summary.written.begin(), summary.written.end());
  std::vector<Pair> pairs;
  for (const auto& f : market.frames) pairs.push_back(f.pair);
  BQX_TRY(write_truth(market.mispricings, market.defects, options, pairs, out_dir, summary));
  return summary;
}

Result<GenerateSummary> generate_to_dir(const GeneratorOptions& options, const std::filesystem::path& out_dir) {
  BQX_TRY(check_options(options));
  BQX_TRY(prepare_dir(out_dir));
  GenerateSummary summary;
  std::string buffer;
  Simulator sim(options);
  std::vector<Mispricing> mispricings;
  std::vector<Defect> defects;
  std::vector<BarFrame> chunk_frames;
  for (size_t c = 0; c < sim.chunk_count(); ++c) {
    const size_t first_defect = defects.size();
    sim.run_chunk(c, chunk_frames, mispricings, defects);
    const std::vector<Defect> chunk_defects(defects.begin() + static_cast<std::ptrdiff_t>(first_defect), defects.end());
    for (const auto& frame : chunk_frames) BQX_TRY(write_frame_files(frame, chunk_defects, out_dir, summary, buffer));
  }
  std::sort(summary.written.begin(), summary.written.end());
  sort_records(mispricings, defects);
  BQX_TRY(write_truth(mispricings, defects, options, sim.pairs(), out_dir, summary));
  return summary;
}

}  // namespace bqx
