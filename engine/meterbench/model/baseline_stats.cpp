#include "meterbench/model/baseline_stats.hpp"


#include <cmath>
#include <limits>
#include <numbers>

#include "meterbench/core/check.hpp"
#include "meterbench/core/portable_math.hpp"

namespace meterbench::baseline {

namespace {

// Continued fraction for I_x(a, b) (the even/odd terms of DLMF 8.17.22), evaluated by the modified Lentz
// method. Converges quickly for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-15;
  constexpr int kMaxIterations = 5000;
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double dm = static_cast<double>(m);
    const double m2 = 2.0 * dm;
    double aa = dm * (b - dm) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + dm) * (qab + dm) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1.0) < kEps) break;
  }
  return h;
}

// log Gamma(x) for x > 0: pmath's own (glibc's lgamma calls its run-time-chosen FMA variants of log/exp/sin).
double log_gamma(double x) { return pmath::lgamma_positive(x); }

double log_beta(double a, double b) { return log_gamma(a) + log_gamma(b) - log_gamma(a + b); }

}  // namespace

double regularized_incomplete_beta(double a, double b, double x, double y) {
  METERBENCH_CHECK(a > 0.0 && b > 0.0);
  if (x <= 0.0) return 0.0;
  if (y <= 0.0) return 1.0;
  const double log_front = a * pmath::log(x) + b * pmath::log(y) - log_beta(a, b);
  if (x < (a + 1.0) / (a + b + 2.0)) return pmath::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1.0 - pmath::exp(log_front) * beta_continued_fraction(b, a, y) / b;
}

double student_t_upper_tail(double t, double nu) {
  METERBENCH_CHECK(nu > 0.0);
  if (t == 0.0) return 0.5;
  const double t2 = t * t;
  // P(|T| > |t|) = I_{nu / (nu + t^2)}(nu / 2, 1 / 2); both arguments computed without cancellation.
  const double two_sided = regularized_incomplete_beta(0.5 * nu, 0.5, nu / (nu + t2), t2 / (nu + t2));
  return t > 0.0 ? 0.5 * two_sided : 1.0 - 0.5 * two_sided;
}

double student_t_upper_quantile(double q, double nu) {
  METERBENCH_CHECK(q > 0.0 && q < 1.0 && nu > 0.0);
  if (q > 0.5) return -student_t_upper_quantile(1.0 - q, nu);
  if (q == 0.5) return 0.0;
  // Closed forms for one and two degrees of freedom.
  if (nu == 1.0) return 1.0 / pmath::tan(std::numbers::pi * q);
  if (nu == 2.0) return (1.0 - 2.0 * q) / std::sqrt(2.0 * q * (1.0 - q));
  // Bracket [lo, hi] with tail(lo) >= q > tail(hi), then Newton on log tail(t) - log q, falling back to
  // bisection whenever a Newton step leaves the bracket.
  double lo = 0.0;
  double hi = 1.0;
  while (student_t_upper_tail(hi, nu) >= q) {
    lo = hi;
    hi *= 2.0;
  }
  const double log_q = pmath::log(q);
  const double log_density_const =
      log_gamma(0.5 * (nu + 1.0)) - log_gamma(0.5 * nu) - 0.5 * pmath::log(nu * std::numbers::pi);
  double t = 0.5 * (lo + hi);
  for (int iteration = 0; iteration < 200; ++iteration) {
    const double tail = student_t_upper_tail(t, nu);
    const double g = pmath::log(tail) - log_q;
    if (g > 0.0)
      lo = t;
    else
      hi = t;
    const double log_density = log_density_const - 0.5 * (nu + 1.0) * pmath::log1p(t * t / nu);
    const double slope = -pmath::exp(log_density) / tail;  // d log tail / dt
    double next = t - g / slope;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    const double change = std::abs(next - t);
    t = next;
    if (change <= 1e-13 * t || hi - lo <= 1e-15 * hi) break;
  }
  return t;
}

double esd_critical_value(double m, double alpha) {
  METERBENCH_CHECK(m >= 3.0 && alpha > 0.0 && alpha < 1.0);
  const double t = student_t_upper_quantile(alpha / (2.0 * m), m - 2.0);
  return (m - 1.0) * t / std::sqrt((m - 2.0 + t * t) * m);
}

}  // namespace meterbench::baseline
