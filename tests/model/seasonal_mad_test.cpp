// Contract and behaviour of the `seasonal-mad` detector: a robust z-score against the median and MAD of the
// same phase of the week over the nearest `weeks` weeks, never including the step itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "meterbench/model/baseline_common.hpp"
#include "meterbench/model/registry.hpp"
#include "baseline_test_support.hpp"

namespace meterbench {
namespace {

using testing::OutputBuffers;
using testing::kNaN;

const auto seasonal_mad = testing::detector_factory("seasonal-mad");

// A spike of `size` at step `spike` of a noisy weekly series (level 100) on `grid` is flagged (score > 3);
// fewer than 10% of the other steps are. `out` receives the run's outputs.
void expect_spike_flagged_and_few_others(const TimeGrid& grid, double noise, std::uint64_t seed, std::int64_t spike, float size,
                                         OutputBuffers& out) {
  auto y = testing::weekly_series(grid, 100.0, noise, seed);
  y[spike] += size;
  ASSERT_EQ(testing::run_retrospective(*seasonal_mad(grid), y, out), FitStatus::ok);
  EXPECT_GT(out.score[spike], 3.0F);
  EXPECT_LT(testing::flags_outside(out.score, 3.0F, {spike}), 0.10 * static_cast<double>(grid.steps));
}

// A +60% spike on one weekday of a noisy two-year daily series is flagged (score > z = 3) and has the
// largest score. Fewer than 10% of the other (Gaussian noise) steps exceed z: a median and MAD of only 12
// values make the score heavy-tailed (about 4% above 3 in simulations), by design of the method.
TEST(SeasonalMad, FlagsPlantedSpikeAndFewOthers) {
  const TimeGrid grid = testing::daily_grid(730);
  OutputBuffers out(grid.steps);
  ASSERT_NO_FATAL_FAILURE(expect_spike_flagged_and_few_others(grid, 3.0, 11, 400, 60.0F, out));
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    if (t == 400) continue;
    EXPECT_LT(out.score[t], out.score[400]);
  }
}

// The spike must not widen the band of later same-weekday steps: their expected value stays near the
// clean pattern (the median ignores one outlier among 12).
TEST(SeasonalMad, SpikeDoesNotMoveLaterReferences) {
  const TimeGrid grid = testing::daily_grid(365);
  const auto clean = testing::weekly_series(grid, 100.0, 0.0, 1);
  auto y = clean;
  y[200] += 500.0F;
  const auto detector = seasonal_mad(grid);
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  for (std::int64_t t = 201; t < grid.steps; ++t) EXPECT_NEAR(out.expected[t], clean[t], 1e-3) << t;
}

// A step's reference never contains its own value: changing y[t] leaves expected[t] and the band as they were.
TEST(SeasonalMad, StepIsNotInItsOwnReference) {
  const TimeGrid grid = testing::daily_grid(120);
  auto y = testing::weekly_series(grid, 50.0, 2.0, 3);
  const auto detector = seasonal_mad(grid);
  const auto ws = detector->make_workspace();
  const auto window = DetectionWindow::retrospective(grid.steps);
  OutputBuffers before(grid.steps);
  ASSERT_EQ(testing::run(*detector, *ws, y, window, before), FitStatus::ok);
  for (const std::int64_t t : {0L, 3L, 30L, 119L}) {
    auto changed = y;
    changed[t] = 1e6F;
    OutputBuffers after(grid.steps);
    ASSERT_EQ(testing::run(*detector, *ws, changed, window, after), FitStatus::ok);
    EXPECT_EQ(after.expected[t], before.expected[t]) << t;
    EXPECT_EQ(after.upper[t], before.upper[t]) << t;
  }
}

// A noise-free weekly series (MAD 0 in every reference) scores 0 everywhere instead of 0/0, and a departure
// gets a finite score from the documented floor: 0.01 x the median non-zero absolute deviation of the series
// from its median.
TEST(SeasonalMad, PerfectlyRegularSeriesHasFiniteScores) {
  const TimeGrid grid = testing::daily_grid(140);
  auto y = testing::weekly_series(grid, 100.0, 0.0, 0);
  const auto detector = seasonal_mad(grid);
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    EXPECT_EQ(out.score[t], 0.0F) << t;
    EXPECT_EQ(out.expected[t], y[t]) << t;
  }
  y[70] += 10.0F;
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  EXPECT_TRUE(std::isfinite(out.score[70]));
  EXPECT_GT(out.score[70], 3.0F);
}

// Status paths: all missing -> NaN outputs; too short -> level fallback (finite); constant and all-zero ->
// band of width 0, score 0 at the value, +inf for another value in the scored week.
TEST(SeasonalMad, StatusPaths) {
  const TimeGrid grid = testing::daily_grid(100);
  const auto detector = seasonal_mad(grid);
  const auto ws = detector->make_workspace();
  const auto retro = DetectionWindow::retrospective(grid.steps);
  OutputBuffers out(grid.steps);

  const std::vector<float> missing(grid.steps, kNaN);
  EXPECT_EQ(testing::run(*detector, *ws, missing, retro, out), FitStatus::all_missing);
  for (std::int64_t t = 0; t < grid.steps; ++t) EXPECT_TRUE(std::isnan(out.expected[t]) && std::isnan(out.score[t]));

  auto y = testing::weekly_series(grid, 10.0, 1.0, 5);
  EXPECT_EQ(testing::run(*detector, *ws, y, {0, 30, 0, 30}, out), FitStatus::too_short);  // 30 days < 5 weeks
  for (std::int64_t t = 0; t < 30; ++t) EXPECT_TRUE(std::isfinite(out.expected[t]) && std::isfinite(out.score[t]));

  for (const float level : {7.5F, 0.0F}) {
    std::vector<float> flat(grid.steps, level);
    flat[95] = level + 1.0F;
    EXPECT_EQ(testing::run(*detector, *ws, flat, DetectionWindow::forward(91, 98), out), FitStatus::constant);
    EXPECT_EQ(out.expected[92], level);
    EXPECT_EQ(out.lower[92], level);
    EXPECT_EQ(out.upper[92], level);
    EXPECT_EQ(out.score[92], 0.0F);
    EXPECT_TRUE(std::isinf(out.score[95]));
  }
}

// Gaps: NaN score exactly at NaN steps; expected and bounds finite at every observed step.
TEST(SeasonalMad, GapsGiveNaNScoreOnlyAtGaps) {
  const TimeGrid grid = testing::daily_grid(365);
  auto y = testing::weekly_series(grid, 100.0, 3.0, 7);
  testing::punch_gaps(y, 99, 0.2, 150, 240);  // and a 90-day outage
  const auto detector = seasonal_mad(grid);
  OutputBuffers out(grid.steps);
  ASSERT_EQ(testing::run_retrospective(*detector, y, out), FitStatus::ok);
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    EXPECT_EQ(std::isnan(out.score[t]), std::isnan(y[t])) << t;
    if (!std::isnan(y[t])) {
      EXPECT_TRUE(std::isfinite(out.expected[t]) && std::isfinite(out.lower[t]) && std::isfinite(out.upper[t])) << t;
      EXPECT_LE(out.lower[t], out.expected[t]);
      EXPECT_LE(out.expected[t], out.upper[t]);
    }
  }
}

// The forward schedule writes only the scored week and uses nothing after the fit window.
TEST(SeasonalMad, ForwardWindowUsesOnlyHistory) {
  const TimeGrid grid = testing::daily_grid(200);
  auto y = testing::weekly_series(grid, 100.0, 3.0, 13);
  const auto detector = seasonal_mad(grid);
  const auto ws = detector->make_workspace();
  const auto window = DetectionWindow::forward(140, 147);
  OutputBuffers a(grid.steps);
  ASSERT_EQ(testing::run(*detector, *ws, y, window, a), FitStatus::ok);
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    const bool scored = t >= 140 && t < 147;
    EXPECT_EQ(a.expected[t] == -12345.0F, !scored) << t;
  }
  for (std::int64_t t = 140; t < grid.steps; ++t) y[t] += 1000.0F;  // future and scored values do not move the band
  OutputBuffers b(grid.steps);
  ASSERT_EQ(testing::run(*detector, *ws, y, window, b), FitStatus::ok);
  for (std::int64_t t = 140; t < 147; ++t) {
    EXPECT_EQ(a.expected[t], b.expected[t]);
    EXPECT_GT(b.score[t], 3.0F);
  }
}

// Results do not depend on what the workspace held before: A, B, A give bit-identical outputs for A.
TEST(SeasonalMad, WorkspaceReuseIsInvisible) {
  const TimeGrid grid = testing::hourly_grid(90);
  auto a = testing::weekly_series(grid, 100.0, 5.0, 21);
  auto b = testing::weekly_series(grid, 3.0, 1.0, 22);
  for (std::int64_t t = 0; t < grid.steps; t += 17) b[t] = kNaN;
  const auto detector = seasonal_mad(grid);
  testing::expect_workspace_reuse_invisible(*detector, a, b);
}

// Hourly grids compare the same hour of the week: a spike at one hour is flagged there.
TEST(SeasonalMad, HourlyGridUsesHourOfWeek) {
  const TimeGrid grid = testing::hourly_grid(90);
  OutputBuffers out(grid.steps);
  expect_spike_flagged_and_few_others(grid, 2.0, 31, 1500, 80.0F, out);  // few others: see FlagsPlantedSpikeAndFewOthers
}

// The sorted-input median/MAD used per step equals nth_element-based median and MAD on random inputs
// (sizes 1..40, with ties).
TEST(SeasonalMad, SortedMedianMadMatchesSelection) {
  testing::TestRng rng(123);
  for (int trial = 0; trial < 2000; ++trial) {
    const auto n = static_cast<std::size_t>(1 + rng.next() % 40);
    std::vector<double> v(n);
    for (auto& x : v) x = static_cast<double>(rng.next() % 15) - (trial % 2 == 0 ? 0.0 : 6.5);
    std::sort(v.begin(), v.end());
    double median = 0.0;
    double mad = 0.0;
    sorted_median_mad(v, median, mad);
    auto copy = v;
    const double expected_median = median_in_place(copy);
    EXPECT_EQ(median, expected_median);
    EXPECT_EQ(mad, mad_in_place(copy, expected_median));
  }
}

// The sliding-window implementation equals the rule as documented, computed naively per step (nearest
// observed same-phase fit values before t, completed with those after t; median and floored MAD), bit for
// bit, on gappy daily and hourly series, retrospective and forward windows, several `weeks`.
TEST(SeasonalMad, MatchesNaiveReferenceRule) {
  struct Case {
    TimeGrid grid;
    std::int64_t weeks;
    std::int64_t min_history;
    DetectionWindow window;
  };
  const TimeGrid daily = testing::daily_grid(400);
  const TimeGrid hourly = testing::hourly_grid(60);
  const Case cases[] = {
      {daily, 12, 4, DetectionWindow::retrospective(400)}, {daily, 1, 1, DetectionWindow::retrospective(400)},
      {daily, 5, 5, {10, 390, 0, 400}},                    {daily, 8, 2, DetectionWindow::forward(300, 321)},
      {hourly, 12, 4, DetectionWindow::retrospective(hourly.steps)},
      {hourly, 3, 2, DetectionWindow::forward(1000, 1168)},
  };
  for (const auto& c : cases) {
    auto y = testing::weekly_series(c.grid, 50.0, 4.0, 300 + static_cast<std::uint64_t>(c.weeks));
    const std::int64_t gap = c.grid.steps / 5;  // a long outage: 80 days, or 12 days hourly
    testing::punch_gaps(y, 400 + static_cast<std::uint64_t>(c.weeks), 0.3, c.grid.steps / 3, c.grid.steps / 3 + gap);
    // z and floor pinned to the values the reference below uses (the shipped defaults are 4.75 and 0.3).
    const auto detector = seasonal_mad(c.grid, {"weeks=" + std::to_string(c.weeks), "min_history=" + std::to_string(c.min_history),
                                        "z=3", "scale_floor=0.01"});
    const auto ws = detector->make_workspace();
    OutputBuffers out(c.grid.steps);
    ASSERT_EQ(testing::run(*detector, *ws, y, c.window, out), FitStatus::ok);

    const std::int64_t period = 7 * c.grid.steps_per_day();
    std::vector<double> fit;
    for (std::int64_t t = c.window.fit_begin; t < c.window.fit_end; ++t)
      if (!std::isnan(y[t])) fit.push_back(y[t]);
    const double center = median_in_place(fit);
    const double floor = 0.01 * nonzero_median_abs_deviation(fit, center);
    for (std::int64_t t = c.window.score_begin; t < c.window.score_end; ++t) {
      std::vector<double> ref;
      for (std::int64_t p = t - period; p >= c.window.fit_begin && static_cast<std::int64_t>(ref.size()) < c.weeks; p -= period)
        if (p < c.window.fit_end && !std::isnan(y[p])) ref.push_back(y[p]);
      for (std::int64_t p = t + period; p < c.window.fit_end && static_cast<std::int64_t>(ref.size()) < c.weeks; p += period)
        if (p >= c.window.fit_begin && !std::isnan(y[p])) ref.push_back(y[p]);
      if (static_cast<std::int64_t>(ref.size()) < c.min_history) {
        EXPECT_TRUE(std::isnan(out.expected[t]) && std::isnan(out.score[t])) << t;
        continue;
      }
      const double median = median_in_place(ref);
      const double scale = std::max(kMadToSigma * mad_in_place(ref, median), floor);
      ASSERT_EQ(out.expected[t], static_cast<float>(median)) << t;
      ASSERT_EQ(out.lower[t], static_cast<float>(median - 3.0 * scale)) << t;
      ASSERT_EQ(out.upper[t], static_cast<float>(median + 3.0 * scale)) << t;
      if (std::isnan(y[t]))
        ASSERT_TRUE(std::isnan(out.score[t])) << t;
      else
        ASSERT_EQ(out.score[t], static_cast<float>(std::abs(y[t] - median) / scale)) << t;
    }
  }
}

TEST(SeasonalMad, RejectsMinHistoryAboveWeeks) {
  const TimeGrid grid = testing::daily_grid(100);
  try {
    (void)seasonal_mad(grid, {"weeks=3", "min_history=5"});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "seasonal-mad: parameter 'min_history' (5) must not exceed 'weeks' (3)");
  }
}

}  // namespace
}  // namespace meterbench
