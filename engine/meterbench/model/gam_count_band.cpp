#include "meterbench/model/gam_count_band.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "meterbench/core/portable_math.hpp"

namespace meterbench {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kAsymptoticFrom = 30.0;  // normal tail by its asymptotic series beyond (erfc nears underflow)
constexpr double kRelativeTerm = 1e-17;   // a tail sum stops when a term adds less than this share
constexpr std::int64_t kMaxTerms = 100000;

}  // namespace

double normal_log_upper_tail(double x) {
  if (x < kAsymptoticFrom) return pmath::log(0.5 * pmath::erfc(x / std::numbers::sqrt2));
  const double r = 1.0 / (x * x);
  // Q(x) = phi(x) / x (1 - 1/x^2 + 3/x^4 - 15/x^6 + ...): at x >= 30 the next term is below 2e-10.
  return -0.5 * x * x - pmath::log(x) - 0.5 * pmath::log(2.0 * std::numbers::pi) + pmath::log1p(r * (-1.0 + r * (3.0 - 15.0 * r)));
}

// Newton on the concave, decreasing log Q: from any start the first step lands at or beyond the root, and the
// iterates then fall to it monotonically.
double normal_equivalent(double log_tail) {
  if (!(log_tail < -std::numbers::ln2)) return 0.0;
  if (log_tail == -kInf) return kInf;
  double x = std::sqrt(-2.0 * log_tail);
  const double log_sqrt_2pi = 0.5 * pmath::log(2.0 * std::numbers::pi);
  for (int it = 0; it < 60; ++it) {
    const double lq = normal_log_upper_tail(x);
    const double slope = -pmath::exp(-0.5 * x * x - log_sqrt_2pi - lq);  // d log Q / dx = -phi / Q
    const double next = std::max(0.0, x - (lq - log_tail) / slope);
    const bool done = std::abs(next - x) <= 1e-13 * std::max(1.0, x);
    x = next;
    if (done) break;
  }
  return x;
}

PoissonTails::PoissonTails(double lambda) : lambda_(lambda), log_lambda_(pmath::log(lambda)) {}

double PoissonTails::log_pmf(std::int64_t k) const {
  const auto kd = static_cast<double>(k);
  return -lambda_ + kd * log_lambda_ - pmath::lgamma_positive(kd + 1.0);
}

// Below the mean the terms fall going down (p_{j-1} / p_j = j / lambda < 1): summed from k down, relative to p_k.
// At or above it, the complement of the upper tail from k + 1, which is then at most about a half.
double PoissonTails::log_lower(std::int64_t k) const {
  if (k < 0) return -kInf;
  if (static_cast<double>(k) >= lambda_) {
    const double upper = log_upper(k + 1);
    return pmath::log1p(-pmath::exp(upper));
  }
  double sum = 1.0, term = 1.0;
  for (std::int64_t j = k; j > 0 && k - j < kMaxTerms; --j) {
    term *= static_cast<double>(j) / lambda_;
    sum += term;
    if (term < kRelativeTerm * sum) break;
  }
  return log_pmf(k) + pmath::log(sum);
}

double PoissonTails::log_upper(std::int64_t k) const {
  if (k <= 0) return 0.0;
  if (static_cast<double>(k) <= lambda_) {
    const double lower = log_lower(k - 1);
    return pmath::log1p(-pmath::exp(lower));
  }
  double sum = 1.0, term = 1.0;
  for (std::int64_t j = k + 1; j - k < kMaxTerms; ++j) {
    term *= lambda_ / static_cast<double>(j);
    sum += term;
    if (term < kRelativeTerm * sum) break;
  }
  return log_pmf(k) + pmath::log(sum);
}

void PoissonTails::band(double log_q, std::int64_t& lower, std::int64_t& upper) const {
  // lower: the least k with log P(X <= k) >= log_q (increasing in k; P(X <= ceil(lambda) + 1) > 1/2 > q).
  std::int64_t lo = 0, hi = static_cast<std::int64_t>(std::ceil(lambda_)) + 1;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (log_lower(mid) >= log_q) hi = mid;
    else lo = mid + 1;
  }
  lower = lo;
  // upper: the least k with log P(X >= k + 1) < log_q (decreasing in k); the bracket doubles until it holds.
  lo = 0;
  hi = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(lambda_)));
  while (!(log_upper(hi + 1) < log_q)) {
    lo = hi;
    hi *= 2;
  }
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (log_upper(mid + 1) < log_q) hi = mid;
    else lo = mid + 1;
  }
  upper = lo;
}

double PoissonTails::score(double value) const {
  if (value > lambda_) return normal_equivalent(log_upper(static_cast<std::int64_t>(std::ceil(value))));
  if (value < lambda_) return value < 0.0 ? kInf : normal_equivalent(log_lower(static_cast<std::int64_t>(std::floor(value))));
  return 0.0;
}

}  // namespace meterbench
