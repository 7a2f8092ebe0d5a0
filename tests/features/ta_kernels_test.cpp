// Hand-computed values for the streaming TA kernels (src/features/ta/), each derivation
// written beside it, plus the edge rules (flat windows, exact zeros, save/load). The
// TA-Lib golden comparisons over long series live in ta_rate_test.cpp / ta_bqx_test.cpp.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "features/ta/adx.h"
#include "features/ta/apo.h"
#include "features/ta/aroon.h"
#include "features/ta/atr.h"
#include "features/ta/bbands.h"
#include "features/ta/cci.h"
#include "features/ta/ema.h"
#include "features/ta/macd.h"
#include "features/ta/mfi.h"
#include "features/ta/roc.h"
#include "features/ta/rsi.h"
#include "features/ta/stoch.h"
#include "features/ta/trix.h"
#include "features/ta/ultosc.h"

namespace bqx::features::ta {
namespace {

constexpr double kTol = 1e-12;

TEST(TaKernels, RsiAndCmoByHand) {
  // x = 10, 11, 12, 11, 13, period 2. Changes: +1, +1, -1, +2.
  // Row 2 (seed): G = (1 + 1)/2 = 1, L = 0          -> RSI 100,           CMO 100
  // Row 3 (-1):   L = (0*1 + 1)/2 = 0.5, G = 1*1/2 = 0.5 -> RSI 50,       CMO 0
  // Row 4 (+2):   L = 0.5/2 = 0.25, G = (0.5 + 2)/2 = 1.25 -> RSI 100*1.25/1.5 = 83.333..,
  //               CMO 100*(1.25 - 0.25)/1.5 = 66.666..
  RsiCmo k(2);
  const std::vector<double> x = {10, 11, 12, 11, 13};
  const std::vector<double> rsi = {NAN, NAN, 100, 50, 250.0 / 3};
  const std::vector<double> cmo = {NAN, NAN, 100, 0, 200.0 / 3};
  for (size_t i = 0; i < x.size(); ++i) {
    k.update(x[i]);
    if (std::isnan(rsi[i])) {
      EXPECT_TRUE(std::isnan(k.rsi())) << i;
      EXPECT_TRUE(std::isnan(k.cmo())) << i;
    } else {
      EXPECT_NEAR(k.rsi(), rsi[i], kTol) << i;
      EXPECT_NEAR(k.cmo(), cmo[i], kTol) << i;
    }
  }
  // No change at all since the first value: G + L = 0 -> NULL (TA-Lib would print 0).
  RsiCmo flat(3);
  for (int i = 0; i < 10; ++i) flat.update(5.0);
  EXPECT_TRUE(std::isnan(flat.rsi()));
  EXPECT_TRUE(std::isnan(flat.cmo()));
}

TEST(TaKernels, EmaSeedsWithTheSmaByHand) {
  // EMA(3), k = 2/(3+1) = 0.5 on 1..5: row 2 = (1+2+3)/3 = 2; row 3 = (4-2)*0.5+2 = 3;
  // row 4 = (5-3)*0.5+3 = 4.
  Ema e(3);
  EXPECT_TRUE(std::isnan(e.update(1)));
  EXPECT_TRUE(std::isnan(e.update(2)));
  EXPECT_EQ(e.update(3), 2.0);
  EXPECT_EQ(e.update(4), 3.0);
  EXPECT_EQ(e.update(5), 4.0);
}

TEST(TaKernels, MacdAlignsFastAndSlowByHand) {
  // MACD(fast 2, slow 3, signal 2) on 1, 2, 4, 8, 16. Both EMAs start at row 2 (= slow-1):
  //   slow seed = (1+2+4)/3 = 7/3; fast seed = mean of the LAST 2 = (2+4)/2 = 3 -> macd 2/3.
  // Row 3: slow = (8 - 7/3)*0.5 + 7/3 = 31/6; fast (k = 2/3) = (8-3)*2/3 + 3 = 19/3;
  //   macd = 19/3 - 31/6 = 7/6; signal seed = (2/3 + 7/6)/2 = 11/12; hist = 3/12.
  // Row 4: slow = (16 - 31/6)/2 + 31/6 = 127/12; fast = (16 - 19/3)*2/3 + 19/3 = 115/9;
  //   macd = 115/9 - 127/12 = 79/36; signal = (79/36 - 11/12)*2/3 + 11/12 = 191/108;
  //   hist = 79/36 - 191/108 = 46/108.
  Macd m(2, 3, 2);
  EXPECT_EQ(Macd::lookback(2, 3, 2), 3);
  for (double x : {1.0, 2.0, 4.0}) EXPECT_TRUE(std::isnan(m.update(x).macd));
  auto r = m.update(8);
  EXPECT_NEAR(r.macd, 7.0 / 6, kTol);
  EXPECT_NEAR(r.signal, 11.0 / 12, kTol);
  EXPECT_NEAR(r.hist, 0.25, kTol);
  r = m.update(16);
  EXPECT_NEAR(r.macd, 79.0 / 36, kTol);
  EXPECT_NEAR(r.signal, 191.0 / 108, kTol);
  EXPECT_NEAR(r.hist, 46.0 / 108, kTol);
}

TEST(TaKernels, CciByHand) {
  // CCI(3) on tp = 1, 2, 6: mean 3, mean deviation (2+1+3)/3 = 2, CCI = (6-3)/(0.015*2) = 100.
  Cci k(3);
  EXPECT_TRUE(std::isnan(k.update(1, 1, 1)));
  EXPECT_TRUE(std::isnan(k.update(2, 2, 2)));
  EXPECT_NEAR(k.update(6, 6, 6), 100.0, 1e-10);
  // Flat window -> NULL (TA-Lib prints 0 or a rounding artefact); one change -> defined.
  Cci f(3);
  for (int i = 0; i < 5; ++i) f.update(1.1, 1.1, 1.1);
  EXPECT_TRUE(std::isnan(f.update(1.1, 1.1, 1.1)));
  EXPECT_FALSE(std::isnan(f.update(1.2, 1.2, 1.2)));
}

TEST(TaKernels, StochasticsAndWillrByHand) {
  // Window of 3: highs 3, 4, 5; lows 1, 2, 3; close 4 -> HH 5, LL 1:
  //   fast %K = (4-1)/((5-1)/100) = 75; %R = (5-4)/((5-1)/-100) = -25.
  EXPECT_NEAR(stoch_fastk(4, 5, 1), 75.0, kTol);
  EXPECT_NEAR(willr_value(4, 5, 1), -25.0, kTol);
  EXPECT_TRUE(std::isnan(stoch_fastk(4, 4, 4)));
  EXPECT_TRUE(std::isnan(willr_value(4, 4, 4)));
  // Stoch(3, 2, 2): %K rows 2.. ; fast %D = SMA2 from row 3; slow %D from row 4.
  // bars (h, l, c): (3,1,2) (4,2,3) (5,3,4) (6,4,6) (6,5,5)
  //   row 2: HH 5 LL 1 K = (4-1)/4*100 = 75
  //   row 3: HH 6 LL 2 K = (6-2)/4*100 = 100 -> fast %D = (75+100)/2 = 87.5
  //   row 4: HH 6 LL 3 K = (5-3)/3*100 = 66.67 -> fast %D = 83.33, slow %D = (87.5+83.33)/2 = 85.42
  Stoch s(3, 2, 2);
  s.update(3, 1, 2);
  s.update(4, 2, 3);
  auto o = s.update(5, 3, 4);
  EXPECT_NEAR(s.willr(4), -25.0, kTol);
  EXPECT_TRUE(std::isnan(o.fastk));  // aligned with fast %D, as TA_STOCHF
  o = s.update(6, 4, 6);
  EXPECT_NEAR(o.fastk, 100.0, kTol);
  EXPECT_NEAR(o.fastd, 87.5, kTol);
  EXPECT_TRUE(std::isnan(o.slowk));
  o = s.update(6, 5, 5);
  EXPECT_NEAR(o.fastd, (100.0 + 200.0 / 3) / 2, kTol);
  EXPECT_NEAR(o.slowd, (87.5 + (100.0 + 200.0 / 3) / 2) / 2, kTol);
  EXPECT_NEAR(o.slowk, o.fastd, 0.0);
}

TEST(TaKernels, AtrByHand) {
  // ATR(2). TR1 = max(11-9.5, |9.5-11|, |9.5-9.5|) = 1.5; TR2 = max(0.8, 0.3, 0.5) = 0.8
  //   -> ATR row 2 = (1.5+0.8)/2 = 1.15; TR3 = max(1.5, |10.2-12| = 1.8, 0.3) = 1.8
  //   -> ATR row 3 = (1.15*1 + 1.8)/2 = 1.475; NATR = 1.475/11.8*100.
  Atr a(2);
  EXPECT_TRUE(std::isnan(a.update(10, 9, 9.5)));
  EXPECT_TRUE(std::isnan(a.update(11, 9.5, 10.5)));
  EXPECT_NEAR(a.update(10.8, 10, 10.2), 1.15, kTol);
  const double v = a.update(12, 10.5, 11.8);
  EXPECT_NEAR(v, 1.475, kTol);
  EXPECT_NEAR(Atr::natr(v, 11.8), 1.475 / 11.8 * 100, kTol);
}

TEST(TaKernels, MfiByHand) {
  // MFI(2), h = l = c, volumes 1, 2, 3, 4, tp = 10, 11, 10.5, 12:
  //   flow 1: 11 up -> +22; flow 2: 10.5 down -> -31.5 -> MFI = 100*22/53.5 = 41.1214953..
  //   flow 3: 12 up -> +48; window flows 2..3 -> 100*48/(48+31.5) = 60.3773584..
  Mfi m(2);
  EXPECT_TRUE(std::isnan(m.update(10, 10, 10, 1)));
  EXPECT_TRUE(std::isnan(m.update(11, 11, 11, 2)));
  EXPECT_NEAR(m.update(10.5, 10.5, 10.5, 3), 100 * 22 / 53.5, 1e-10);
  EXPECT_NEAR(m.update(12, 12, 12, 4), 100 * 48 / 79.5, 1e-10);
  // Unchanged tp: no flow; two such bars leave no flow in the window -> NULL.
  m.update(12, 12, 12, 5);
  EXPECT_TRUE(std::isnan(m.update(12, 12, 12, 6)));
  // Zero volume (HistData) -> NULL; unknown volume -> NULL for its window.
  Mfi z(2);
  for (double px : {1.0, 2.0, 1.5, 3.0}) EXPECT_TRUE(std::isnan(z.update(px, px, px, 0.0)));
  Mfi u(2);
  u.update(1, 1, 1, 1);
  u.update(2, 2, 2, 1);
  EXPECT_FALSE(std::isnan(u.update(1.5, 1.5, 1.5, 1)));
  EXPECT_TRUE(std::isnan(u.update(3, 3, 3, NAN)));
  EXPECT_TRUE(std::isnan(u.update(2, 2, 2, 1)));  // NaN still in the 2-flow window
  EXPECT_NEAR(u.update(4, 4, 4, 1), 100 * 4 / 6.0, 1e-10);  // flows -2, +4
}

TEST(TaKernels, AroonByHand) {
  // AROON(2) over 3 bars: highs 1, 3, 2 -> highest at bar 1, 1 bar ago: up = 50*(2-1) = 50;
  // lows 0, 1, 1 -> lowest 0 at bar 0, 2 bars ago: down = 50*(2-2) = 0; osc = 50*(1-0) = 50.
  // Next bar high 3, low 1: highs 3, 2, 3 -> tie, latest (today): up 100; lows 1, 1, 1 ->
  // latest: down 100; osc 0.
  Aroon a(2);
  a.update(1, 0);
  a.update(3, 1);
  auto o = a.update(2, 1);
  EXPECT_EQ(o.up, 50.0);
  EXPECT_EQ(o.down, 0.0);
  EXPECT_EQ(o.osc, 50.0);
  o = a.update(3, 1);
  EXPECT_EQ(o.up, 100.0);
  EXPECT_EQ(o.down, 100.0);
  EXPECT_EQ(o.osc, 0.0);
}

TEST(TaKernels, BBandsByHand) {
  // BBANDS(3, 2) on 1, 2, 3: mean 2, population sd sqrt(2/3); upper 2 + 2 sqrt(2/3),
  // pctb = (3 - lower)/(4 sd) = (1 + 2 sd)/(4 sd), width = 4 sd / 2.
  BBands b(3, 2.0, false);
  b.update(1);
  b.update(2);
  const auto o = b.update(3);
  const double sd = std::sqrt(2.0 / 3);
  EXPECT_NEAR(o.middle, 2.0, kTol);
  EXPECT_NEAR(o.upper, 2 + 2 * sd, kTol);
  EXPECT_NEAR(o.lower, 2 - 2 * sd, kTol);
  EXPECT_NEAR(o.pctb, (1 + 2 * sd) / (4 * sd), kTol);
  EXPECT_NEAR(o.width, 4 * sd / 2, kTol);
  // A flat window after movement: sd exactly 0, bands = the value, pctb NULL, width 0.
  for (int i = 0; i < 3; ++i) b.update(7.3);
  const auto f = b.update(7.3);
  EXPECT_EQ(f.middle, 7.3);
  EXPECT_EQ(f.upper, 7.3);
  EXPECT_EQ(f.lower, 7.3);
  EXPECT_TRUE(std::isnan(f.pctb));
  EXPECT_EQ(f.width, 0.0);
  // bqx domain: width divides by |middle|, NULL when middle = 0.
  BBands q(2, 2.0, true);
  q.update(-1e-4);
  EXPECT_TRUE(std::isnan(q.update(1e-4).width));
  EXPECT_NEAR(q.update(3e-4).width, (4 * 1e-4) / 2e-4, 1e-9);
}

TEST(TaKernels, RocMomTrixUltoscApoBasics) {
  // ROC(2) on 100, 101, 103 = ((103/100) - 1)*100 = 3; MOM(2) = 3.
  LagHistory h(2);
  for (double x : {100.0, 101.0, 103.0}) h.push(x);
  EXPECT_NEAR(h.roc(2), 3.0, 1e-12);
  EXPECT_EQ(h.mom(2), 3.0);
  EXPECT_TRUE(std::isnan(LagHistory(5).roc(5)));
  // TRIX(2): lookback 3*(2-1)+1 = 4; on a geometric series x_t = 2^t every EMA stage is
  // geometric too (EMA_2 of 2^t after seeding tracks c*2^t), so TRIX tends to 100%/bar.
  Trix t(2);
  EXPECT_EQ(Trix::lookback(2), 4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(std::isnan(t.update(std::ldexp(1.0, i))));
  double last = 0;
  for (int i = 4; i < 40; ++i) last = t.update(std::ldexp(1.0, i));
  EXPECT_NEAR(last, 100.0, 1e-6);
  // ULTOSC(1, 2, 3) on a rising staircase where every close is the high and the low is the
  // previous close: bp = tr = 1 every bar, so every ratio is 1 and ULTOSC = 100*(4+2+1)/7 = 100.
  UltOsc u(3, 1, 2);  // sorted internally, as TA-Lib
  double uo = NAN;
  for (int i = 0; i < 6; ++i) uo = u.update(i + 1.0, i, i + 1.0);
  EXPECT_NEAR(uo, 100.0, kTol);
  // APO(2, 3) on 1, 2, 4: SMA2 = 3, SMA3 = 7/3 -> 2/3.
  Apo a(3, 2);
  a.update(1);
  a.update(2);
  EXPECT_NEAR(a.update(4), 2.0 / 3, kTol);
}

TEST(TaKernels, DmiFlatStartIsNullNotZero) {
  // No range and no directional move for the first bars: DI (TR sum 0) and ADX (DX 0/0)
  // are NULL (TA-Lib prints 0); the first move makes them defined.
  Dmi d(3);
  Dmi::Out o;
  for (int i = 0; i < 10; ++i) o = d.update(5, 5, 5);
  EXPECT_TRUE(std::isnan(o.plus_di));
  EXPECT_TRUE(std::isnan(o.adx));
  EXPECT_TRUE(std::isnan(o.adxr));
  o = d.update(6, 5, 6);  // +DM 1, TR 1
  EXPECT_NEAR(o.plus_di, 100.0, kTol);
  EXPECT_NEAR(o.minus_di, 0.0, kTol);
  EXPECT_FALSE(std::isnan(o.adx));
  EXPECT_EQ(Dmi::lookback_adx(14), 27);
  EXPECT_EQ(Dmi::lookback_adxr(14), 40);
}

TEST(TaKernels, RollingMeanReanchorsAndDetectsFlatExactly) {
  // Deviation sums around a moving reference stay exact enough on levels near 100.
  RollingMean<true> m(4);
  const std::vector<double> x = {100.00001, 100.00004, 100.00002, 100.00007, 100.00003, 100.00009, 100.00005};
  for (size_t i = 0; i < x.size(); ++i) {
    m.push(x[i]);
    if (i < 3) continue;
    long double s = 0, ss = 0;
    for (size_t j = i - 3; j <= i; ++j) s += x[j];
    const long double mean = s / 4;
    for (size_t j = i - 3; j <= i; ++j) ss += (x[j] - mean) * (x[j] - mean);
    EXPECT_NEAR(m.mean(), static_cast<double>(mean), 1e-13);
    EXPECT_NEAR(m.var_population(), static_cast<double>(ss / 4), 1e-20);
    EXPECT_NEAR(m.deviation(x[i]), static_cast<double>(x[i] - mean), 1e-15);
  }
  for (int i = 0; i < 4; ++i) m.push(100.00002);
  EXPECT_EQ(m.var_population(), 0.0);
  EXPECT_EQ(m.mean(), 100.00002);
  EXPECT_EQ(m.deviation(100.00002), 0.0);
}

TEST(TaKernels, SaveLoadContinuesBitIdentically) {
  // One kernel of each kind: run 500 bars, snapshot at 137, restore into a fresh kernel.
  auto bar = [](int i) {
    const double c = 100 + 0.3 * std::sin(i * 0.37) + 0.01 * (i % 7);
    return std::array<double, 4>{c + 0.02, c - 0.015, c, 1.0 + i % 5};
  };
  auto drive = [&](auto make, auto step) {
    auto a = make();
    std::vector<double> uninterrupted, resumed;
    for (int i = 0; i < 500; ++i) uninterrupted.push_back(step(a, bar(i)));
    auto b = make();
    for (int i = 0; i < 137; ++i) resumed.push_back(step(b, bar(i)));
    std::vector<uint8_t> bytes;
    StateWriter w(bytes);
    b.save(w);
    auto c = make();
    StateReader r(bytes.data(), bytes.size());
    c.load(r);
    EXPECT_TRUE(r.ok() && r.at_end());
    for (int i = 137; i < 500; ++i) resumed.push_back(step(c, bar(i)));
    ASSERT_EQ(uninterrupted.size(), resumed.size());
    for (size_t i = 0; i < resumed.size(); ++i) {
      EXPECT_TRUE(std::memcmp(&uninterrupted[i], &resumed[i], sizeof(double)) == 0) << i;
    }
  };
  drive([] { return Cci(20); }, [](Cci& k, auto b) { return k.update(b[0], b[1], b[2]); });
  drive([] { return Mfi(14); }, [](Mfi& k, auto b) { return k.update(b[0], b[1], b[2], b[3]); });
  drive([] { return Dmi(14); }, [](Dmi& k, auto b) { return k.update(b[0], b[1], b[2]).adxr; });
  drive([] { return UltOsc(7, 14, 28); }, [](UltOsc& k, auto b) { return k.update(b[0], b[1], b[2]); });
  drive([] { return BBands(20, 2.0, false); }, [](BBands& k, auto b) { return k.update(b[2]).pctb; });
  drive([] { return Stoch(14, 3, 3); }, [](Stoch& k, auto b) { return k.update(b[0], b[1], b[2]).slowd; });
  drive([] { return Aroon(25); }, [](Aroon& k, auto b) { return k.update(b[0], b[1]).osc; });
  drive([] { return Macd(12, 26, 9); }, [](Macd& k, auto b) { return k.update(b[2]).hist; });
  drive([] { return Trix(15); }, [](Trix& k, auto b) { return k.update(b[2]); });
}

}  // namespace
}  // namespace bqx::features::ta
