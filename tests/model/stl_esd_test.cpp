// Contract and behaviour of the `stl-esd` detector and its parts: the robust STL decomposition, the
// Student-t quantile and Rosner's ESD critical values, and the encoding of the ESD decision in the score.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "baseline_test_support.hpp"
#include "meterbench/model/baseline_stats.hpp"
#include "meterbench/model/baseline_stl.hpp"
#include "meterbench/model/registry.hpp"

namespace meterbench {
namespace {

using testing::OutputBuffers;
using testing::kNaN;

const auto stl_esd = testing::detector_factory("stl-esd");

// Student-t quantiles against the closed forms for 1 and 2 degrees of freedom (to 1e-9) and against
// tabulated values for 3 to 120 degrees of freedom (to the 1e-8 their 10 digits allow).
TEST(StudentT, QuantileMatchesTabulatedValues) {
  using baseline::student_t_upper_quantile;
  EXPECT_NEAR(student_t_upper_quantile(0.025, 1.0), 12.7062047361747, 1e-9);
  EXPECT_NEAR(student_t_upper_quantile(0.01, 2.0), 6.96455673428326, 1e-9);
  EXPECT_NEAR(student_t_upper_quantile(0.025, 3.0), 3.182446305, 1e-8);
  EXPECT_NEAR(student_t_upper_quantile(0.05, 4.0), 2.131846786, 1e-8);
  EXPECT_NEAR(student_t_upper_quantile(0.005, 5.0), 4.032142984, 1e-8);
  EXPECT_NEAR(student_t_upper_quantile(0.025, 10.0), 2.228138852, 1e-8);
  EXPECT_NEAR(student_t_upper_quantile(0.0005, 30.0), 3.645958635, 1e-8);
  EXPECT_NEAR(student_t_upper_quantile(0.025, 120.0), 1.979930405, 1e-8);
  EXPECT_NEAR(student_t_upper_quantile(0.975, 10.0), -2.228138852, 1e-8);
  EXPECT_EQ(student_t_upper_quantile(0.5, 7.0), 0.0);
}

// The generic solver (used for nu >= 3) inverts the tail to 1e-10 relative, also far out in the tail.
TEST(StudentT, QuantileInvertsTheTail) {
  for (const double nu : {3.0, 7.0, 52.0, 727.0, 40000.0})
    for (const double q : {0.4, 0.05, 1e-4, 3.4e-5, 1e-9}) {
      const double t = baseline::student_t_upper_quantile(q, nu);
      EXPECT_NEAR(baseline::student_t_upper_tail(t, nu) / q, 1.0, 1e-10) << nu << " " << q;
    }
}

// Rosner's critical values for n = 54, alpha = 0.05, i = 1..10 as tabulated in the NIST/SEMATECH
// e-Handbook (1.3.5.17.3, generalized ESD example), which truncates them to three decimals: each computed
// value lies in [table, table + 0.001). Sample sizes m = 54 - i + 1.
TEST(StudentT, EsdCriticalValuesMatchNist) {
  const double lambda[10] = {3.158, 3.151, 3.143, 3.136, 3.128, 3.120, 3.111, 3.103, 3.094, 3.085};
  for (int i = 1; i <= 10; ++i) {
    const double value = baseline::esd_critical_value(55.0 - i, 0.05);
    EXPECT_GE(value, lambda[i - 1]) << i;
    EXPECT_LT(value, lambda[i - 1] + 0.001) << i;
  }
}

// A noise-free periodic series (level + zero-mean weekly pattern) is decomposed into a constant trend and
// the pattern: both recovered to 1e-9 x amplitude.
TEST(Stl, RecoversSeasonalComponentOfNoiseFreeSeries) {
  const std::int64_t n = 728;
  const double pattern[7] = {3.0, 5.0, 4.0, 2.0, -1.0, -6.0, -7.0};  // sums to 0
  std::vector<double> y(n), prior(n, 1.0), trend(n), seasonal(n);
  for (std::int64_t i = 0; i < n; ++i) y[i] = 50.0 + pattern[i % 7];
  const auto settings = baseline::StlSettings::defaults(7, 13, 0, 2, 5);
  baseline::StlScratch scratch(n, 7);
  baseline::stl_decompose(y, prior, settings, scratch, trend, seasonal);
  for (std::int64_t i = 0; i < n; ++i) {
    EXPECT_NEAR(seasonal[i], pattern[i % 7], 1e-8) << i;
    EXPECT_NEAR(trend[i], 50.0, 1e-8) << i;
  }
}

// With a linear trend added, the seasonal component is still recovered to 1% of its amplitude away from the
// ends (first and last two periods excluded), and trend + seasonal reproduces y to 1% everywhere.
TEST(Stl, RecoversSeasonalComponentUnderLinearTrend) {
  const std::int64_t n = 730;
  const double pattern[7] = {3.0, 5.0, 4.0, 2.0, -1.0, -6.0, -7.0};
  std::vector<double> y(n), prior(n, 1.0), trend(n), seasonal(n);
  for (std::int64_t i = 0; i < n; ++i) y[i] = 50.0 + 0.05 * static_cast<double>(i) + pattern[i % 7];
  const auto settings = baseline::StlSettings::defaults(7, 13, 0, 2, 5);
  baseline::StlScratch scratch(n, 7);
  baseline::stl_decompose(y, prior, settings, scratch, trend, seasonal);
  for (std::int64_t i = 0; i < n; ++i) {
    if (i >= 14 && i < n - 14) {
      EXPECT_NEAR(seasonal[i], pattern[i % 7], 0.07) << i;
    }
    EXPECT_NEAR(trend[i] + seasonal[i], y[i], 0.07) << i;
  }
}

// Through the detector, on the noise-free series: expected = y to float precision, no flags.
TEST(StlEsd, NoiseFreePeriodicSeriesIsExpectedExactly) {
  const TimeGrid grid = testing::daily_grid(364);
  const auto y = testing::weekly_series(grid, 100.0, 0.0, 0);
  const auto detector = stl_esd(grid);
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    EXPECT_NEAR(out.expected[t], y[t], 1e-3) << t;
    EXPECT_LE(out.score[t], 3.0F) << t;
  }
}

// A planted spike on a noisy two-year daily series is flagged by ESD (score > z) and almost nothing else.
TEST(StlEsd, FlagsPlantedSpikeAndFewOthers) {
  const TimeGrid grid = testing::daily_grid(730);
  auto y = testing::weekly_series(grid, 100.0, 3.0, 41);
  y[400] += 40.0F;
  y[401] -= 35.0F;
  const auto detector = stl_esd(grid);
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  EXPECT_GT(out.score[400], 3.0F);
  EXPECT_GT(out.score[401], 3.0F);
  EXPECT_LE(testing::flags_outside(out.score, 3.0F, {400, 401}), 3);
}

// score > z exactly at the ESD anomalies: with max_anoms = 0 the ESD test flags nothing, so even the spike
// scores at most z (it is clamped to z), while its band still excludes it.
TEST(StlEsd, ScoreEncodesTheEsdDecision) {
  const TimeGrid grid = testing::daily_grid(365);
  auto y = testing::weekly_series(grid, 100.0, 3.0, 43);
  y[200] += 50.0F;
  const auto detector = stl_esd(grid, {"max_anoms=0"});
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  for (std::int64_t t = 0; t < grid.steps; ++t) EXPECT_LE(out.score[t], 3.0F) << t;
  EXPECT_EQ(out.score[200], 3.0F);
  EXPECT_GT(y[200], out.upper[200]);
}

// Hourly series: a weekly + daily pattern with the default one-week period, and a daily-only pattern with
// period=24. The spike is flagged, under 1% of the other steps are.
TEST(StlEsd, HourlySpikeIsFlaggedWithWeeklyAndDailyPeriods) {
  const TimeGrid grid = testing::hourly_grid(90);
  for (const bool daily_only : {false, true}) {
    auto y = testing::weekly_series(grid, 100.0, 2.0, 47);
    if (daily_only) {
      testing::TestRng rng(48);
      for (std::int64_t t = 0; t < grid.steps; ++t)
        y[t] = static_cast<float>(100.0 * (1.0 + 0.3 * std::sin(2.0 * std::numbers::pi * static_cast<double>(t % 24) / 24.0)) +
                                  2.0 * rng.normal());
    }
    y[1000] += 60.0F;
    const std::vector<std::string> settings = daily_only ? std::vector<std::string>{"period=24"} : std::vector<std::string>{};
    const auto detector = stl_esd(grid, settings);
    const auto ws = detector->make_workspace();
    OutputBuffers out(grid.steps);
    ASSERT_EQ(testing::run(*detector, *ws, y, DetectionWindow::retrospective(grid.steps), out), FitStatus::ok);
    EXPECT_GT(out.score[1000], 3.0F);
    EXPECT_LT(testing::flags_outside(out.score, 3.0F, {1000}), 0.01 * static_cast<double>(grid.steps)) << (settings.empty() ? "weekly" : "daily");
  }
}

// Gaps (random 20% and a 90-day outage): NaN score exactly at the gaps, finite expected and bounds at
// observed steps, and the filled values never flag a neighbour.
TEST(StlEsd, GapsGiveNaNScoreOnlyAtGaps) {
  const TimeGrid grid = testing::daily_grid(730);
  auto y = testing::weekly_series(grid, 100.0, 3.0, 53);
  testing::punch_gaps(y, 5, 0.2, 300, 390);
  const auto detector = stl_esd(grid);
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  int flagged = 0;
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    EXPECT_EQ(std::isnan(out.score[t]), std::isnan(y[t])) << t;
    EXPECT_TRUE(std::isfinite(out.expected[t]) && std::isfinite(out.lower[t]) && std::isfinite(out.upper[t])) << t;
    if (out.score[t] > 3.0F) ++flagged;
  }
  EXPECT_LE(flagged, 3);
}

// A weekday that never reports (its cycle-subseries is empty) is filled by full-series interpolation for
// the decomposition only: the other days are fitted as usual and nothing is NaN but the missing days' scores.
TEST(StlEsd, MissingWeekdayIsFilledForTheDecompositionOnly) {
  const TimeGrid grid = testing::daily_grid(365);
  auto y = testing::weekly_series(grid, 100.0, 3.0, 67);
  for (std::int64_t t = 6; t < grid.steps; t += 7) y[t] = kNaN;  // every Sunday
  y[100] += 40.0F;
  const auto detector = stl_esd(grid);
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    EXPECT_EQ(std::isnan(out.score[t]), t % 7 == 6) << t;
    EXPECT_TRUE(std::isfinite(out.expected[t])) << t;
  }
  EXPECT_GT(out.score[100], 3.0F);
  EXPECT_LE(testing::flags_outside(out.score, 3.0F, {100}), 3);
}

// Robustness: with 5% of the steps replaced by large outliers (+/- 30 sd), the expected values stay within
// 1.5 noise sd of those of the clean series everywhere, and the ESD test flags most of the outliers.
TEST(StlEsd, OutliersDoNotBendTheExpectedValues) {
  const TimeGrid grid = testing::daily_grid(730);
  const auto clean = testing::weekly_series(grid, 100.0, 3.0, 71);
  auto dirty = clean;
  testing::TestRng rng(72);
  std::vector<std::int64_t> outliers;
  for (std::int64_t t = 0; t < grid.steps; ++t)
    if (rng.uniform() < 0.05) {
      dirty[t] += (rng.uniform() < 0.5 ? -90.0F : 90.0F);
      outliers.push_back(t);
    }
  // 5% outliers: the ESD cap must allow that many (the shipped max_anoms is 0.02).
  const auto detector = stl_esd(grid, {"max_anoms=0.05"});
  const auto ws = detector->make_workspace();
  OutputBuffers a(grid.steps), b(grid.steps);
  ASSERT_EQ(testing::run(*detector, *ws, clean, DetectionWindow::retrospective(grid.steps), a), FitStatus::ok);
  ASSERT_EQ(testing::run(*detector, *ws, dirty, DetectionWindow::retrospective(grid.steps), b), FitStatus::ok);
  for (std::int64_t t = 0; t < grid.steps; ++t) EXPECT_NEAR(b.expected[t], a.expected[t], 4.5) << t;
  std::size_t flagged = 0;
  for (const auto t : outliers) flagged += b.score[t] > 3.0F ? 1 : 0;
  EXPECT_GE(flagged, outliers.size() * 9 / 10) << flagged << " of " << outliers.size();
}

// Status paths: all missing -> NaN outputs; fewer than two periods -> too_short with the level fallback;
// constant and all-zero -> band of width 0 at the value.
TEST(StlEsd, StatusPaths) {
  const TimeGrid grid = testing::daily_grid(60);
  const auto detector = stl_esd(grid);
  const auto ws = detector->make_workspace();
  OutputBuffers out(grid.steps);
  const std::vector<float> missing(grid.steps, kNaN);
  EXPECT_EQ(testing::run(*detector, *ws, missing, DetectionWindow::retrospective(grid.steps), out), FitStatus::all_missing);
  EXPECT_TRUE(std::isnan(out.expected[10]) && std::isnan(out.score[10]));

  const auto y = testing::weekly_series(grid, 10.0, 1.0, 3);
  EXPECT_EQ(testing::run(*detector, *ws, y, {0, 13, 0, 13}, out), FitStatus::too_short);
  EXPECT_TRUE(std::isfinite(out.expected[5]) && std::isfinite(out.score[5]));
  auto sparse = y;
  for (std::int64_t t = 0; t < grid.steps; t += 1)
    if (t % 5 != 0) sparse[t] = kNaN;  // 12 observed < two periods of 7
  EXPECT_EQ(testing::run(*detector, *ws, sparse, DetectionWindow::retrospective(grid.steps), out), FitStatus::too_short);

  for (const float level : {2.5F, 0.0F}) {
    const std::vector<float> flat(grid.steps, level);
    EXPECT_EQ(testing::run(*detector, *ws, flat, DetectionWindow::retrospective(grid.steps), out), FitStatus::constant);
    EXPECT_EQ(out.expected[30], level);
    EXPECT_EQ(out.upper[30], level);
    EXPECT_EQ(out.score[30], 0.0F);
  }
}

// Forward schedule: the scored week continues the last trend and seasonal cycle; a spike in it is flagged,
// nothing outside it is written.
TEST(StlEsd, ForwardWindowFlagsSpikeInScoredWeek) {
  const TimeGrid grid = testing::daily_grid(400);
  auto y = testing::weekly_series(grid, 100.0, 3.0, 59);
  y[365] += 40.0F;
  const auto detector = stl_esd(grid);
  const auto ws = detector->make_workspace();
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run(*detector, *ws, y, DetectionWindow::forward(364, 371), out), FitStatus::ok);
  EXPECT_GT(out.score[365], 3.0F);
  for (std::int64_t t = 364; t < 371; ++t) {
    if (t != 365) {
      EXPECT_LE(out.score[t], 3.0F) << t;
    }
    EXPECT_NEAR(out.expected[t], y[t] - (t == 365 ? 40.0F : 0.0F), 12.0) << t;
  }
  EXPECT_EQ(out.expected[363], -12345.0F);
  EXPECT_EQ(out.expected[371], -12345.0F);
}

// Results do not depend on what the workspace held before: A, B, A give bit-identical outputs for A.
TEST(StlEsd, WorkspaceReuseIsInvisible) {
  const TimeGrid grid = testing::daily_grid(730);
  auto a = testing::weekly_series(grid, 100.0, 3.0, 61);
  a[100] += 50.0F;
  auto b = testing::weekly_series(grid, 7.0, 0.5, 62);
  for (std::int64_t t = 0; t < grid.steps; t += 3) b[t] = kNaN;
  const auto detector = stl_esd(grid);
  testing::expect_workspace_reuse_invisible(*detector, a, b);
}

// The automatic period (one week) and trend window (5 periods, odd) are reported resolved.
TEST(StlEsd, ParametersReportResolvedDefaults) {
  const auto find = [](const std::vector<std::pair<std::string, std::string>>& p, const std::string& key) {
    for (const auto& [k, v] : p)
      if (k == key) return v;
    return std::string("(missing)");
  };
  const auto daily = stl_esd(testing::daily_grid(100))->parameters();
  EXPECT_EQ(find(daily, "period"), "7");
  EXPECT_EQ(find(daily, "trend_window"), "35");
  const auto hourly = stl_esd(testing::hourly_grid(30))->parameters();
  EXPECT_EQ(find(hourly, "period"), "168");
  EXPECT_EQ(find(hourly, "trend_window"), "841");
  const auto daily_cycle = stl_esd(testing::hourly_grid(30), {"period=24"})->parameters();
  EXPECT_EQ(find(daily_cycle, "trend_window"), "121");
}

TEST(StlEsd, RejectsEvenWindows) {
  const TimeGrid grid = testing::daily_grid(100);
  try {
    (void)stl_esd(grid, {"seasonal_window=12"});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "stl-esd: parameter 'seasonal_window' has value '12', which is not odd (expected odd integer in [3, 100001])");
  }
  try {
    (void)stl_esd(grid, {"trend_window=4"});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "stl-esd: parameter 'trend_window' has value '4', which is not odd (expected 0 = 5 periods, or odd integer in [3, 1000001])");
  }
}

}  // namespace
}  // namespace meterbench
