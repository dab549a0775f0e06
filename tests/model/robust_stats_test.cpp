// Contract of radix_select_pair (engine/meterbench/model/robust_stats.hpp): the exact order statistics x_(k-1)
// and x_(k), whatever the spread of the values: residuals spread over many octaves, values crowded about a level
// (the radix steps go down to the last bits), ties, signs and zeros, gross outliers, +inf (the unobserved rows of
// the gam's scales), with the AVX2 and the baseline compaction.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "meterbench/core/kernels.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/model/robust_stats.hpp"

namespace meterbench {
namespace {

TEST(RadixSelect, ExactOrderStatisticsWhateverTheSpread) {
  for (const auto level : {kernels::Level::baseline, kernels::Level::avx2}) {
  if (!kernels::supported(level)) continue;
  const kernels::Level previous = kernels::force_level(level);
  Rng rng(stream_key(16, 7));
  for (int shape = 0; shape < 7; ++shape) {
    for (std::int64_t m : {1, 2, 3, 16, 17, 40, 104, 365, 730, 2000}) {
      std::vector<float> data(static_cast<std::size_t>(m));
      for (auto& v : data) {
        switch (shape) {
          case 0: v = static_cast<float>(rng.normal() * std::exp(rng.normal() * 4.0)); break;  // residuals
          case 1: v = static_cast<float>(300.0 * (1.0 + 0.01 * rng.normal())); break;           // about a level
          case 2: v = static_cast<float>(300.0 + 1e-4 * std::floor(rng.uniform() * 50.0)); break;  // last bits only
          case 3: v = static_cast<float>(std::floor(rng.uniform() * 3.0)); break;                 // ties, zeros
          case 4: v = static_cast<float>(std::abs(rng.normal()) * (rng.uniform() < 0.01 ? 1000.0 : 1.0)); break;
          case 5: v = rng.uniform() < 0.2 ? std::numeric_limits<float>::infinity() : static_cast<float>(std::abs(rng.normal())); break;
          default: v = rng.uniform() < 0.5 ? -0.0F : static_cast<float>(rng.normal()); break;
        }
      }
      std::vector<float> sorted = data;
      std::sort(sorted.begin(), sorted.end());
      for (std::int64_t k : {std::int64_t{0}, m / 3, m / 2, m - 1}) {
        std::vector<float> copy = data, scratch(data.size());
        const auto [lower, upper] = radix_select_pair(copy.data(), m, k, scratch.data());
        EXPECT_EQ(upper, sorted[static_cast<std::size_t>(k)]) << kernels::name(level) << " shape " << shape << " m " << m << " k " << k;
        EXPECT_EQ(lower, sorted[static_cast<std::size_t>(k > 0 ? k - 1 : 0)]) << kernels::name(level) << " shape " << shape << " m " << m << " k " << k;
      }
    }
  }
  kernels::force_level(previous);
  }
}

}  // namespace
}  // namespace meterbench
