#pragma once
// The count band of the `gam` detector (count_band=on; gam_detector.hpp, "Band"): Poisson quantiles about the
// expected value of a small-count series at the normal tail of z, and the normal equivalent of a value's tail
// probability as its score, in log space with the portable math (tails down to 1e-300 at any z).
#include <cstdint>

namespace meterbench {

/// log Q(x) = log P(N(0, 1) > x), for x >= 0 (portable erfc, an asymptotic series beyond x = 30).
double normal_log_upper_tail(double x);
/// The x >= 0 with log Q(x) = log_tail (0 when log_tail >= log 1/2, +inf at -inf): a tail probability as a z.
double normal_equivalent(double log_tail);

/// A Poisson distribution of mean lambda > 0, its tails and quantile band in log space.
class PoissonTails {
 public:
  explicit PoissonTails(double lambda);
  /// log P(X <= k) (-inf for k < 0).
  [[nodiscard]] double log_lower(std::int64_t k) const;
  /// log P(X >= k) (0 for k <= 0).
  [[nodiscard]] double log_upper(std::int64_t k) const;
  /// The band at log tail log_q: lower = the least k with P(X <= k) >= q, upper = the least k with P(X > k) < q,
  /// so that a value below lower or above upper has a one-sided tail probability below q, and one inside has
  /// at least q.
  void band(double log_q, std::int64_t& lower, std::int64_t& upper) const;
  /// The normal equivalent of the tail of `value` beyond the mean (P(X >= ceil v) above it, P(X <= floor v)
  /// below): 0 near the mean, > z exactly when the value lies outside band(log Q(z)).
  [[nodiscard]] double score(double value) const;

 private:
  [[nodiscard]] double log_pmf(std::int64_t k) const;
  double lambda_, log_lambda_;
  const double* log_factorial_;  // log k! below the table's end
};

}  // namespace meterbench
