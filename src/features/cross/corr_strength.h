// Currency strengths (FEATURES.md 2.1) as the corr family needs them for
// corr_{base,quote}_strength_*: s solves min sum_p (l_p - (s_base - s_quote))^2 over the
// available pairs, with sum s_C = 0 within each connected set of currencies.
//
// NOTE: a deliberate, minimal duplicate of the cur family's strength computation (written
// concurrently in cur.cpp / cur_*.h); the two should be merged into one shared header.
//
// Method: the normal equations are L s = b, L = the graph Laplacian of the available pairs,
// b_C = sum_{p contains C} dir(p, C) l_p (sum in canonical pair order). Within a connected
// component of k currencies, b sums to 0 and (L + 1 1^T) s = b has the unique solution with
// L s = b and sum s = 0. When the component is complete (all k(k-1)/2 pairs available),
// L + 1 1^T = k I and s_C = b_C / k: for the full 28-pair universe this is the closed form
// s_C = (1/8) sum_p dir(p, C) l_p. Otherwise the k x k system is solved by Cholesky
// (fixed order, no allocation). Currencies without an available pair are NULL.
#pragma once

#include <array>
#include <cmath>

#include "core/currency.h"
#include "features/kernel.h"

namespace bqx::features {

inline void solve_currency_strengths(const std::array<bool, kPairCount>& available,
                                     const std::array<double, kPairCount>& log_index,
                                     std::array<double, kCurrencyCount>& strength) {
  const auto& pairs = all_pairs();
  std::array<double, kCurrencyCount> b{};
  std::array<int, kCurrencyCount> degree{};
  std::array<std::array<bool, kCurrencyCount>, kCurrencyCount> adj{};
  for (int p = 0; p < kPairCount; ++p) {
    if (!available[p] || !std::isfinite(log_index[p])) continue;
    const int i = static_cast<int>(pairs[p].base), j = static_cast<int>(pairs[p].quote);
    b[i] += log_index[p];
    b[j] -= log_index[p];
    ++degree[i];
    ++degree[j];
    adj[i][j] = adj[j][i] = true;
  }
  // All 28 pairs available (the usual case): one complete component of the 8 currencies, whose
  // solution below is b / 8; taken directly, without the component search.
  bool all_available = true;
  for (int c = 0; c < kCurrencyCount; ++c) all_available = all_available && degree[c] == kCurrencyCount - 1;
  if (all_available) {
    for (int c = 0; c < kCurrencyCount; ++c) strength[c] = b[c] / static_cast<double>(kCurrencyCount);
    return;
  }
  // Connected components by label propagation over at most 8 nodes.
  std::array<int, kCurrencyCount> comp{};
  comp.fill(-1);
  int ncomp = 0;
  for (int c = 0; c < kCurrencyCount; ++c) {
    if (degree[c] == 0 || comp[c] >= 0) continue;
    std::array<int, kCurrencyCount> stack{};
    int top = 0;
    stack[top++] = c;
    comp[c] = ncomp;
    while (top > 0) {
      const int u = stack[--top];
      for (int v = 0; v < kCurrencyCount; ++v) {
        if (adj[u][v] && comp[v] < 0) {
          comp[v] = ncomp;
          stack[top++] = v;
        }
      }
    }
    ++ncomp;
  }
  strength.fill(kNull);
  for (int k = 0; k < ncomp; ++k) {
    std::array<int, kCurrencyCount> members{};
    int m = 0, edges2 = 0;
    for (int c = 0; c < kCurrencyCount; ++c) {
      if (comp[c] == k) {
        members[m++] = c;
        edges2 += degree[c];
      }
    }
    if (edges2 == m * (m - 1)) {  // complete: (L + 11^T) = m I
      for (int i = 0; i < m; ++i) strength[members[i]] = b[members[i]] / static_cast<double>(m);
      continue;
    }
    // A = L + 1 1^T restricted to the component (symmetric positive definite).
    std::array<std::array<double, kCurrencyCount>, kCurrencyCount> a{};
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < m; ++j) {
        const int ci = members[i], cj = members[j];
        a[i][j] = (i == j ? static_cast<double>(degree[ci]) : (adj[ci][cj] ? -1.0 : 0.0)) + 1.0;
      }
    }
    // Cholesky A = G G^T (lower G stored in a).
    for (int j = 0; j < m; ++j) {
      double d = a[j][j];
      for (int t = 0; t < j; ++t) d -= a[j][t] * a[j][t];
      d = std::sqrt(d);
      a[j][j] = d;
      for (int i = j + 1; i < m; ++i) {
        double v = a[i][j];
        for (int t = 0; t < j; ++t) v -= a[i][t] * a[j][t];
        a[i][j] = v / d;
      }
    }
    std::array<double, kCurrencyCount> y{};
    for (int i = 0; i < m; ++i) {
      double v = b[members[i]];
      for (int t = 0; t < i; ++t) v -= a[i][t] * y[t];
      y[i] = v / a[i][i];
    }
    for (int i = m - 1; i >= 0; --i) {
      double v = y[i];
      for (int t = i + 1; t < m; ++t) v -= a[t][i] * y[t];
      y[i] = v / a[i][i];
    }
    for (int i = 0; i < m; ++i) strength[members[i]] = y[i];
  }
}

}  // namespace bqx::features
