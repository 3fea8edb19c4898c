#include "host/research/stats.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/error.h"

namespace vkllm {

namespace {

// Continued fraction of the regularized incomplete beta function (modified Lentz).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
    c = 1 + aa / (std::fabs(c) < kTiny ? kTiny : c);
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
    c = 1 + aa / (std::fabs(c) < kTiny ? kTiny : c);
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < kEps) break;
  }
  return h;
}

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  return x < (a + 1) / (a + b + 2) ? front * beta_fraction(a, b, x) / a : 1 - front * beta_fraction(b, a, 1 - x) / b;
}

}  // namespace

double student_t_two_sided_p(double t, double dof) {
  if (!std::isfinite(t)) return 0;
  return incomplete_beta(dof / 2, 0.5, dof / (dof + t * t));
}

PairedStats paired_stats(std::span<const double> x, std::span<const double> baseline) {
  require(x.size() == baseline.size(), "paired statistics need as many values as baseline values");
  PairedStats s;
  s.n = int(x.size());
  if (s.n == 0) return s;
  std::vector<double> d(x.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = x[i] - baseline[i];
  double sum = 0;
  int wins = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    sum += d[i];
    wins += x[i] < baseline[i];
  }
  s.mean_delta = sum / s.n;
  s.win_rate = double(wins) / s.n;
  if (s.n < 2) return s;
  double ss = 0;
  for (double v : d) ss += (v - s.mean_delta) * (v - s.mean_delta);
  const double sd = std::sqrt(ss / (s.n - 1));
  if (sd > 0) {
    s.cohens_d = s.mean_delta / sd;
    s.t_test_p = student_t_two_sided_p(s.mean_delta / (sd / std::sqrt(double(s.n))), s.n - 1);
  } else {
    s.t_test_p = s.mean_delta == 0 ? 1.0 : 0.0;
  }
  // Wilcoxon: rank |d| over the non-zero differences (average ranks for ties).
  std::vector<double> nz;
  for (double v : d)
    if (v != 0) nz.push_back(v);
  const size_t m = nz.size();
  if (m == 0) return s;
  std::vector<size_t> order(m);
  for (size_t i = 0; i < m; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return std::fabs(nz[a]) < std::fabs(nz[b]); });
  std::vector<double> rank(m);
  double tie_term = 0;
  for (size_t i = 0; i < m;) {
    size_t j = i;
    while (j + 1 < m && std::fabs(nz[order[j + 1]]) == std::fabs(nz[order[i]])) ++j;
    const double r = (double(i) + double(j)) / 2 + 1;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    const double t = double(j - i + 1);
    tie_term += t * t * t - t;
    i = j + 1;
  }
  double w_plus = 0;
  for (size_t i = 0; i < m; ++i)
    if (nz[i] > 0) w_plus += rank[i];
  const double md = double(m);
  const double mean = md * (md + 1) / 4, var = md * (md + 1) * (2 * md + 1) / 24 - tie_term / 48;
  if (var > 0) {
    const double z = (std::fabs(w_plus - mean) - 0.5) / std::sqrt(var);  // continuity correction
    s.wilcoxon_p = std::min(1.0, std::erfc(std::max(z, 0.0) / std::sqrt(2.0)));
  }
  return s;
}

}  // namespace vkllm
