// Currency strengths (FEATURES.md 2.1): s solves
//     min sum_{available p} (l_p - (s_base(p) - s_quote(p)))^2
// with sum s_C = 0 within each connected set of currencies (the graph whose edges are the
// available pairs). Currencies without an available pair have no strength (NULL).
//
// Normal equations: L s = b, with L the graph Laplacian of the available pairs and
// b_C = sum_{p contains C} dir(p,C) * l_p. On a connected component K (k currencies),
// L + 1 1^T is symmetric positive definite and its solution satisfies 1^T s = 1^T b / k = 0
// (every pair adds +l_p and -l_p to b), so (L + 1 1^T) s = b is solved by a k x k Cholesky
// factorisation in a fixed order; the component mean of the solution (0 up to rounding) is
// then subtracted. For the full 28-pair universe L + 1 1^T = 8 I, hence the closed form
// s_C = b_C / 8 used as the fast path.
#pragma once

#include <array>
#include <cmath>

#include "features/cross/cur_common.h"

namespace bqx::features::cur {

using Strengths = std::array<double, kCurrencyCount>;
using PairValues = std::array<double, kPairCount>;
using PairMask = std::array<bool, kPairCount>;

// b_C = sum over available pairs, in canonical slot order, of dir(p,C) * l_p.
inline Strengths strength_rhs(const PairMask& avail, const PairValues& l) {
  const Topology& t = topology();
  Strengths b{};
  for (int p = 0; p < kPairCount; ++p) {
    if (!avail[p]) continue;
    b[t.base[p]] += l[p];
    b[t.quote[p]] -= l[p];
  }
  return b;
}

// Closed form for the full universe (all 28 pairs available): s_C = b_C / 8.
inline Strengths strengths_closed_form(const PairValues& l) {
  PairMask all;
  all.fill(true);
  Strengths s = strength_rhs(all, l);
  for (double& v : s) v *= 1.0 / kCurrencyCount;  // exact: a power of two
  return s;
}

// The general least-squares solution for any set of available pairs. component[c] is the
// smallest currency index of c's connected component, or -1 (then s[c] is NULL).
inline Strengths strengths_laplacian(const PairMask& avail, const PairValues& l,
                                     std::array<int, kCurrencyCount>* component_out = nullptr) {
  constexpr int K = kCurrencyCount;
  const Topology& t = topology();
  const Strengths b = strength_rhs(avail, l);
  std::array<int, K> deg{};
  std::array<std::array<bool, K>, K> adj{};
  for (int p = 0; p < kPairCount; ++p) {
    if (!avail[p]) continue;
    ++deg[t.base[p]];
    ++deg[t.quote[p]];
    adj[t.base[p]][t.quote[p]] = adj[t.quote[p]][t.base[p]] = true;
  }
  // Connected components, labelled by their smallest currency (depth-first, fixed order).
  std::array<int, K> comp;
  comp.fill(-1);
  for (int root = 0; root < K; ++root) {
    if (deg[root] == 0 || comp[root] >= 0) continue;
    std::array<int, K> stack{};
    int top = 0;
    stack[top++] = root;
    comp[root] = root;
    while (top > 0) {
      const int a = stack[--top];
      for (int c = 0; c < K; ++c) {
        if (adj[a][c] && comp[c] < 0) {
          comp[c] = root;
          stack[top++] = c;
        }
      }
    }
  }
  Strengths s;
  s.fill(kNull);
  for (int root = 0; root < K; ++root) {
    if (comp[root] != root) continue;
    std::array<int, K> m{};
    int k = 0;
    for (int c = 0; c < K; ++c) {
      if (comp[c] == root) m[k++] = c;
    }
    // A = L + 1 1^T on the component, lower triangle factorised in place: A = R R^T.
    std::array<std::array<double, K>, K> a{};
    for (int i = 0; i < k; ++i) {
      for (int j = 0; j < k; ++j) {
        const double lap = i == j ? static_cast<double>(deg[m[i]]) : (adj[m[i]][m[j]] ? -1.0 : 0.0);
        a[i][j] = lap + 1.0;
      }
    }
    for (int j = 0; j < k; ++j) {
      double d = a[j][j];
      for (int q = 0; q < j; ++q) d -= a[j][q] * a[j][q];
      a[j][j] = std::sqrt(d);
      for (int i = j + 1; i < k; ++i) {
        double v = a[i][j];
        for (int q = 0; q < j; ++q) v -= a[i][q] * a[j][q];
        a[i][j] = v / a[j][j];
      }
    }
    std::array<double, K> x{};
    for (int i = 0; i < k; ++i) {  // R y = b
      double v = b[m[i]];
      for (int q = 0; q < i; ++q) v -= a[i][q] * x[q];
      x[i] = v / a[i][i];
    }
    for (int i = k - 1; i >= 0; --i) {  // R^T s = y
      double v = x[i];
      for (int q = i + 1; q < k; ++q) v -= a[q][i] * x[q];
      x[i] = v / a[i][i];
    }
    double mean = 0;
    for (int i = 0; i < k; ++i) mean += x[i];
    mean /= k;
    for (int i = 0; i < k; ++i) s[m[i]] = x[i] - mean;
  }
  if (component_out) *component_out = comp;
  return s;
}

// The solver the kernel uses: the closed form when all 28 pairs are available, the
// Laplacian solve otherwise.
inline Strengths solve_strengths(const PairMask& avail, const PairValues& l, bool* closed_form = nullptr) {
  bool all = true;
  for (bool a : avail) all = all && a;
  if (closed_form) *closed_form = all;
  return all ? strengths_closed_form(l) : strengths_laplacian(avail, l);
}

}  // namespace bqx::features::cur
