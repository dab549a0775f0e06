// Contract of the `random` detector: P(score > z) = flag_rate, score > z exactly when the hashed uniform is
// below flag_rate, and every score a pure function of (seed, series index, grid step).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>
#include <vector>

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include "baseline_test_support.hpp"
#include "meterbench/model/baseline_common.hpp"
#include "meterbench/model/random_detector.hpp"
#include "meterbench/model/registry.hpp"

namespace meterbench {
namespace {

using testing::OutputBuffers;
using testing::kNaN;

const auto random_detector = testing::detector_factory("random");

// Over 1,000 series x 1,000 steps the share of scores above z is within 5 binomial standard deviations of
// flag_rate (0.01: 10,000 +/- 497), and the share above 2z within 5 sd of flag_rate^2 (the exponential tail).
TEST(RandomDetector, EmpiricalFlagRateMatches) {
  const TimeGrid grid = testing::daily_grid(1000);
  const auto detector = random_detector(grid, {"seed=7", "flag_rate=0.01"});
  const auto ws = detector->make_workspace();
  const auto y = testing::weekly_series(grid, 10.0, 1.0, 1);
  OutputBuffers out(grid.steps);
  long above_z = 0;
  long above_2z = 0;
  for (std::uint64_t s = 0; s < 1000; ++s) {
    ASSERT_EQ(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), out, s), FitStatus::ok);
    for (const float v : out.score) {
      above_z += v > 3.0 ? 1 : 0;
      above_2z += v > 6.0 ? 1 : 0;
    }
  }
  const double n = 1e6;
  EXPECT_NEAR(static_cast<double>(above_z), n * 0.01, 5.0 * std::sqrt(n * 0.01 * 0.99));
  EXPECT_NEAR(static_cast<double>(above_2z), n * 1e-4, 5.0 * std::sqrt(n * 1e-4));
}

// score > z exactly when u(seed, series, step) < flag_rate, bit for bit, including non-representable z.
TEST(RandomDetector, ScoreAboveZExactlyWhenUniformBelowRate) {
  const TimeGrid grid = testing::daily_grid(5000);
  for (const double z : {3.0, 2.576}) {
    const auto detector = random_detector(grid, {"seed=3", "flag_rate=0.2", "z=" + std::to_string(z)});
    const auto ws = detector->make_workspace();
    const auto y = testing::weekly_series(grid, 10.0, 1.0, 2);
    OutputBuffers out(grid.steps);
    ASSERT_EQ(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), out, 42), FitStatus::ok);
    for (std::int64_t t = 0; t < grid.steps; ++t)
      ASSERT_EQ(static_cast<double>(out.score[t]) > z, random_detector_uniform(3, 42, t) < 0.2) << t;
  }
}

// The same (seed, series, step) gives the same score whatever the window, the workspace history or the
// thread count; another series index or seed gives other scores.
TEST(RandomDetector, ReproducibleForAnyWindowWorkspaceAndThreads) {
  const TimeGrid grid = testing::daily_grid(400);
  const auto detector = random_detector(grid, {"seed=11"});
  const auto y = testing::weekly_series(grid, 10.0, 1.0, 3);
  const auto ws = detector->make_workspace();
  OutputBuffers retro(grid.steps), forward(grid.steps), other(grid.steps);
  ASSERT_EQ(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), retro, 5), FitStatus::ok);
  ASSERT_EQ(testing::run(*detector, *ws, y, DetectionWindow::forward(300, 307), forward, 5), FitStatus::ok);
  for (std::int64_t t = 300; t < 307; ++t) EXPECT_EQ(retro.score[t], forward.score[t]);
  ASSERT_EQ(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), other, 6), FitStatus::ok);
  int same = 0;
  for (std::int64_t t = 0; t < grid.steps; ++t) same += retro.score[t] == other.score[t] ? 1 : 0;
  EXPECT_LT(same, 10);
  const auto reseeded = random_detector(grid, {"seed=12"});
  ASSERT_EQ(testing::run(*reseeded, *ws, y, DetectionWindow::retrospective(grid.steps), other, 5), FitStatus::ok);
  same = 0;
  for (std::int64_t t = 0; t < grid.steps; ++t) same += retro.score[t] == other.score[t] ? 1 : 0;
  EXPECT_LT(same, 10);

  // 64 series scored with 1 and with 2 threads (a workspace per task) are bit-identical.
  const auto score_all = [&](int threads) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
    std::vector<float> scores(64 * static_cast<std::size_t>(grid.steps));
    tbb::parallel_for(std::size_t{0}, std::size_t{64}, [&](std::size_t s) {
      const auto local = detector->make_workspace();
      OutputBuffers out(grid.steps);
      (void)testing::run(*detector, *local, y, DetectionWindow::retrospective(grid.steps), out, s);
      std::copy(out.score.begin(), out.score.end(), scores.begin() + static_cast<std::ptrdiff_t>(s * grid.steps));
    });
    return scores;
  };
  EXPECT_EQ(score_all(1), score_all(2));
}

// The extreme flag rates the backtest's random row can ask for: 1 flags every observed step, 1e-9 none.
TEST(RandomDetector, ExtremeFlagRates) {
  const TimeGrid grid = testing::daily_grid(300);
  const auto y = testing::weekly_series(grid, 10.0, 1.0, 6);
  for (const auto& [rate, all] : {std::pair{"flag_rate=1", true}, std::pair{"flag_rate=1e-9", false}}) {
    const auto detector = random_detector(grid, {rate, "seed=9007199254740991"});
    const auto ws = detector->make_workspace();
    OutputBuffers out(grid.steps);
    ASSERT_EQ(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), out), FitStatus::ok);
    for (std::int64_t t = 0; t < grid.steps; ++t) EXPECT_EQ(out.score[t] > 3.0F, all) << rate << " " << t;
  }
}

// Gaps score NaN; expected and bounds are finite everywhere (the series median and a MAD band).
TEST(RandomDetector, GapsAndTrivialBand) {
  const TimeGrid grid = testing::daily_grid(200);
  auto y = testing::weekly_series(grid, 10.0, 1.0, 4);
  for (std::int64_t t = 0; t < grid.steps; t += 4) y[t] = kNaN;
  const auto detector = random_detector(grid);
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    EXPECT_EQ(std::isnan(out.score[t]), std::isnan(y[t])) << t;
    EXPECT_TRUE(std::isfinite(out.expected[t]) && std::isfinite(out.lower[t]) && std::isfinite(out.upper[t]));
    EXPECT_LT(out.lower[t], out.expected[t]);
    EXPECT_EQ(out.expected[t], out.expected[0]);
  }
}

// Status paths: all missing -> NaN outputs; constant and all-zero -> status constant, still random scores
// with a band of width 0; one observed value is enough (no too_short).
TEST(RandomDetector, StatusPaths) {
  const TimeGrid grid = testing::daily_grid(50);
  const auto detector = random_detector(grid);
  const auto ws = detector->make_workspace();
  OutputBuffers out(grid.steps);
  std::vector<float> y(grid.steps, kNaN);
  EXPECT_EQ(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), out), FitStatus::all_missing);
  EXPECT_TRUE(std::isnan(out.expected[3]) && std::isnan(out.score[3]));
  for (const float level : {4.0F, 0.0F}) {
    std::fill(y.begin(), y.end(), level);
    EXPECT_EQ(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), out), FitStatus::constant);
    EXPECT_EQ(out.expected[3], level);
    EXPECT_EQ(out.lower[3], level);
    EXPECT_TRUE(std::isfinite(out.score[3]));
  }
  std::fill(y.begin(), y.end(), kNaN);
  y[7] = 1.0F;
  y[9] = 2.0F;
  EXPECT_EQ(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), out), FitStatus::ok);
}

// Results do not depend on what the workspace held before: A, B, A give bit-identical outputs for A.
TEST(RandomDetector, WorkspaceReuseIsInvisible) {
  const TimeGrid grid = testing::daily_grid(300);
  const auto a = testing::weekly_series(grid, 10.0, 1.0, 8);
  const auto b = testing::weekly_series(grid, 1000.0, 10.0, 9);
  const auto detector = random_detector(grid);
  testing::expect_workspace_reuse_invisible(*detector, a, b, 1, 2);
}

// The scores and expected values are exactly those of the definition: score = encode(z log(u) / log(rate))
// with libm's log, expected = the median of the observed values (nth_element on doubles), for series with
// gaps, ties and an even or odd number of observed values, and for several rates and thresholds.
TEST(RandomDetector, OutputsEqualTheDefinitionBitForBit) {
  const TimeGrid grid = testing::daily_grid(731);
  testing::TestRng rng(5);
  for (const auto& [rate, z] : {std::pair{0.01, 3.0}, std::pair{0.2, 2.576}, std::pair{0.0334097806902, 3.0}, std::pair{0.999, 7.5}}) {
    const auto detector = random_detector(grid, {"seed=77", "flag_rate=" + std::to_string(rate), "z=" + std::to_string(z)});
    const auto ws = detector->make_workspace();
    const double flag_rate = std::stod(std::to_string(rate));
    const double z_value = std::stod(std::to_string(z));
    for (std::uint64_t s = 0; s < 60; ++s) {
      auto y = testing::weekly_series(grid, 10.0, s % 3 == 0 ? 0.0 : 3.0, s);  // every third series: few distinct values
      if (s % 2 == 1) y[0] = kNaN;                                               // even observed count
      for (std::int64_t t = 0; t < grid.steps; ++t)
        if (rng.uniform() < 0.1 * static_cast<double>(s % 4)) y[static_cast<std::size_t>(t)] = kNaN;
      if (s % 5 == 0)
        for (std::int64_t t = 0; t < grid.steps; t += 2) y[static_cast<std::size_t>(t)] = 0.0F;  // half zeros
      OutputBuffers out(grid.steps);
      ASSERT_NE(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), out, s), FitStatus::all_missing);
      std::vector<double> observed;
      for (const float v : y)
        if (std::isfinite(v)) observed.push_back(v);
      const double median = median_in_place(observed);
      for (std::int64_t t = 0; t < grid.steps; ++t) {
        const auto k = static_cast<std::size_t>(t);
        ASSERT_EQ(out.expected[k], static_cast<float>(median)) << s;
        if (!std::isfinite(y[k])) {
          ASSERT_TRUE(std::isnan(out.score[k]));
          continue;
        }
        const double u = random_detector_uniform(77, s, t);
        const float want = baseline::encode_flag_score(z_value * std::log(u) * (1.0 / std::log(flag_rate)), u < flag_rate, z_value);
        ASSERT_EQ(std::bit_cast<std::uint32_t>(out.score[k]), std::bit_cast<std::uint32_t>(want)) << rate << " " << s << " " << t;
      }
    }
  }
}

// The float median equals the double one (nth_element) on sorted, reversed, constant, tied, organ-pipe and
// random inputs of every small length and a few long ones, and leaves no trace in the next call.
TEST(BaselineMedian, FloatQuickselectEqualsNthElement) {
  testing::TestRng rng(3);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 1; n <= 70; ++n) lengths.push_back(n);
  for (const std::size_t n : {129, 364, 365, 730, 731, 2160, 5001}) lengths.push_back(n);
  for (const std::size_t n : lengths) {
    for (int pattern = 0; pattern < 7; ++pattern) {
      std::vector<float> v(n);
      for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<float>(i);
        switch (pattern) {
          case 0: v[i] = x; break;                                                        // ascending
          case 1: v[i] = -x; break;                                                       // descending
          case 2: v[i] = 4.5F; break;                                                     // constant
          case 3: v[i] = static_cast<float>(std::floor(rng.uniform() * 3.0)); break;      // three values
          case 4: v[i] = std::min(x, static_cast<float>(n) - x); break;                   // organ pipe
          case 5: v[i] = static_cast<float>(rng.normal() * 1e3); break;                   // random
          default: v[i] = rng.uniform() < 0.7 ? 0.0F : static_cast<float>(rng.uniform()); // mostly zeros
        }
      }
      std::vector<double> d(v.begin(), v.end());
      std::vector<float> scratch(n, 99.0F);
      const double want = median_in_place(d);
      ASSERT_EQ(median_in_place(std::span<float>(v), scratch), want) << n << " pattern " << pattern;
    }
  }
}

}  // namespace
}  // namespace meterbench
