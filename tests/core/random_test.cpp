// Contract: random streams are a function of their key alone, and the distributions have the right moments
// (tolerances are about 5 standard errors of each estimate, so a correct sampler fails with tiny probability
// and the seeds are fixed anyway).
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "meterbench/core/random.hpp"

namespace meterbench {
namespace {

struct Moments {
  double mean = 0.0, variance = 0.0;
};

template <typename Draw>
Moments moments(int n, Draw draw) {
  double sum = 0.0, sum2 = 0.0;
  for (int i = 0; i < n; ++i) {
    const double x = draw();
    sum += x;
    sum2 += x * x;
  }
  const double mean = sum / n;
  return {mean, sum2 / n - mean * mean};
}

TEST(Random, SameKeySameStreamDifferentKeyDifferentStream) {
  Rng a(stream_key(42, 7, 1)), b(stream_key(42, 7, 1)), c(stream_key(42, 8, 1)), d(stream_key(42, 7, 2));
  for (int i = 0; i < 1000; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
    EXPECT_NE(x, d.next());
  }
}

TEST(Random, UniformIsInRangeWithMeanHalf) {
  Rng rng(1);
  const Moments m = moments(1'000'000, [&] {
    const double u = rng.uniform();
    EXPECT_TRUE(u >= 0.0 && u < 1.0);
    return u;
  });
  EXPECT_NEAR(m.mean, 0.5, 5 * std::sqrt(1.0 / 12 / 1e6));
  EXPECT_NEAR(m.variance, 1.0 / 12, 1e-3);
}

TEST(Random, NormalHasUnitVarianceAndNormalTails) {
  Rng rng(2);
  int beyond3 = 0;
  const int n = 2'000'000;
  const Moments m = moments(n, [&] {
    const double x = rng.normal();
    beyond3 += std::fabs(x) > 3.0;
    return x;
  });
  EXPECT_NEAR(m.mean, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(m.variance, 1.0, 5 * std::sqrt(2.0 / n));
  const double expected = 0.0026997960632601866 * n;  // P(|Z| > 3)
  EXPECT_NEAR(beyond3, expected, 5 * std::sqrt(expected));
}

TEST(Random, PoissonMatchesMeanAndVarianceAcrossRegimes) {
  for (const double lambda : {0.3, 4.0, 35.0, 600.0, 20000.0}) {
    Rng rng(stream_key(3, static_cast<std::uint64_t>(lambda * 10)));
    const int n = 400'000;
    const Moments m = moments(n, [&] { return static_cast<double>(rng.poisson(lambda)); });
    EXPECT_NEAR(m.mean, lambda, 5 * std::sqrt(lambda / n)) << lambda;
    EXPECT_NEAR(m.variance / lambda, 1.0, 0.02) << lambda;
  }
}

TEST(Random, GammaMatchesMeanAndVariance) {
  for (const double shape : {0.5, 2.0, 30.0}) {
    Rng rng(stream_key(4, static_cast<std::uint64_t>(shape * 10)));
    const int n = 400'000;
    const Moments m = moments(n, [&] { return rng.gamma(shape); });
    EXPECT_NEAR(m.mean, shape, 5 * std::sqrt(shape / n)) << shape;
    EXPECT_NEAR(m.variance / shape, 1.0, 0.03) << shape;
  }
}

TEST(Random, IntegerCoversTheClosedRange) {
  Rng rng(5);
  std::vector<int> hits(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const auto k = rng.integer(3, 9);
    ASSERT_GE(k, 3);
    ASSERT_LE(k, 9);
    ++hits[static_cast<std::size_t>(k - 3)];
  }
  for (int h : hits) EXPECT_NEAR(h, 10000, 500);
}

}  // namespace
}  // namespace meterbench
