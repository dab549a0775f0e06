#include "meterbench/model/gam_count_band.hpp"

#include <algorithm>
#include <array>
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

constexpr std::int64_t kFactorialTable = 4096;  // log k! tabulated below this (the quantiles of small counts)

// log k! for k < kFactorialTable, summed once per process from the portable log (the same bits everywhere).
const std::array<double, kFactorialTable>& log_factorials() {
  static const std::array<double, kFactorialTable> table = [] {
    std::array<double, kFactorialTable> t{};
    for (std::size_t k = 1; k < t.size(); ++k) t[k] = t[k - 1] + pmath::log(static_cast<double>(k));
    return t;
  }();
  return table;
}

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
  const double log_sqrt_2pi = 0.5 * pmath::log(2.0 * std::numbers::pi);
  // Start from the leading terms of the asymptotic series, log Q(x) ~ -x^2 / 2 - log(x sqrt(2 pi)): a few steps remain.
  const double t = std::sqrt(-2.0 * log_tail);
  double x = log_tail < -2.0 ? std::sqrt(std::max(0.0, -2.0 * log_tail - 2.0 * (pmath::log(t) + log_sqrt_2pi))) : t;
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

PoissonTails::PoissonTails(double lambda) : lambda_(lambda), log_lambda_(pmath::log(lambda)), log_factorial_(log_factorials().data()) {}

double PoissonTails::log_pmf(std::int64_t k) const {
  const auto kd = static_cast<double>(k);
  const double log_factorial = k < kFactorialTable ? log_factorial_[k] : pmath::lgamma_positive(kd + 1.0);
  return -lambda_ + kd * log_lambda_ - log_factorial;
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

// The band by walks from the mean with the pmf updated by one ratio per step (log p_{k+1} = log p_k + log lambda -
// log(k + 1)): a one-sided tail is at least its first term, so the exact tail is summed only where that term has
// crossed log_q (once or twice per side). At wide bands (q >= 1/4) the mean's own neighbourhood decides: bisection.
void PoissonTails::band(double log_q, std::int64_t& lower, std::int64_t& upper) const {
  const auto log_ratio = [&](std::int64_t k) {  // log(lambda / k)
    return log_lambda_ - (k < kFactorialTable ? log_factorial_[k] - log_factorial_[k - 1]
                                              : pmath::log(static_cast<double>(k)));
  };
  const auto mode = static_cast<std::int64_t>(std::floor(lambda_));
  if (log_q >= -std::numbers::ln2 * 2.0) {
    std::int64_t lo = 0, hi = mode + 2;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (log_lower(mid) >= log_q) hi = mid;
      else lo = mid + 1;
    }
    lower = lo;
    lo = 0;
    hi = std::max<std::int64_t>(1, mode + 1);
    while (!(log_upper(hi + 1) < log_q)) lo = hi, hi *= 2;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (log_upper(mid + 1) < log_q) hi = mid;
      else lo = mid + 1;
    }
    upper = lo;
    return;
  }
  // lower: the least k with P(X <= k) >= q; below the mode P(X <= k - 1) >= p_{k-1}.
  std::int64_t k = mode;
  double lp = log_pmf(k);  // log p_k
  while (k > 0) {
    const double prev = lp - log_ratio(k);  // log p_{k-1}
    if (prev < log_q && log_lower(k - 1) < log_q) break;
    lp = prev;
    --k;
  }
  lower = k;
  // upper: the least k with P(X > k) < q, from the mode up; P(X > k) >= p_{k+1}.
  k = mode;
  lp = log_pmf(k + 1);  // log p_{k+1}
  while (!(lp < log_q && log_upper(k + 1) < log_q)) {
    lp += log_ratio(k + 2);
    ++k;
  }
  upper = k;
}

double PoissonTails::score(double value) const {
  if (!(value < 0x1p53)) return std::numeric_limits<double>::infinity();  // beyond any count a tail sum can tell apart
  if (value > lambda_) return normal_equivalent(log_upper(static_cast<std::int64_t>(std::ceil(value))));
  if (value < lambda_) return value < 0.0 ? kInf : normal_equivalent(log_lower(static_cast<std::int64_t>(std::floor(value))));
  return 0.0;
}

}  // namespace meterbench
