#pragma once
// Test support for the baseline detector tests: grids, synthetic weekly series drawn with the engine's
// deterministic generator, and caller-owned output buffers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/registry.hpp"

namespace meterbench::testing {

inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// The engine's deterministic generator (own distributions, independent of the standard library).
using TestRng = Rng;

/// A grid starting Monday 2024-01-01 (UTC).
inline TimeGrid daily_grid(std::int64_t days) {
  return {days_from_civil({2024, 1, 1}) * kSecondsPerDay, kSecondsPerDay, days};
}
inline TimeGrid hourly_grid(std::int64_t days) {
  return {days_from_civil({2024, 1, 1}) * kSecondsPerDay, kSecondsPerHour, days * 24};
}

/// level + weekly pattern (+ a daily cycle on sub-daily grids) + Gaussian noise of sd `noise`.
inline std::vector<float> weekly_series(const TimeGrid& grid, double level, double noise, std::uint64_t seed) {
  static constexpr double kWeekday[7] = {1.0, 1.1, 1.05, 1.0, 0.9, 0.4, 0.3};
  TestRng rng(seed);
  const std::int64_t per_day = grid.steps_per_day() > 0 ? grid.steps_per_day() : 1;
  std::vector<float> y(static_cast<std::size_t>(grid.steps));
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    const std::int64_t day = t / per_day;
    const double hour = static_cast<double>(t % per_day) / static_cast<double>(per_day);
    const double daily = per_day > 1 ? 1.0 + 0.3 * std::sin(2.0 * std::numbers::pi * hour) : 1.0;
    y[static_cast<std::size_t>(t)] = static_cast<float>(level * kWeekday[day % 7] * daily + noise * rng.normal());
  }
  return y;
}

/// Blanks (NaN) each value with probability `share` (drawn from TestRng(seed)), then every step of the outage
/// [outage_begin, outage_end).
inline void punch_gaps(std::vector<float>& y, std::uint64_t seed, double share, std::int64_t outage_begin = 0,
                       std::int64_t outage_end = 0) {
  TestRng rng(seed);
  for (auto& v : y)
    if (rng.uniform() < share) v = kNaN;
  for (std::int64_t t = outage_begin; t < outage_end; ++t) y[static_cast<std::size_t>(t)] = kNaN;
}

/// How many steps score above z, leaving out the planted anomalies.
inline int flags_outside(const std::vector<float>& score, float z, std::initializer_list<std::int64_t> planted) {
  int flags = 0;
  for (std::int64_t t = 0; t < static_cast<std::int64_t>(score.size()); ++t)
    if (score[static_cast<std::size_t>(t)] > z && std::find(planted.begin(), planted.end(), t) == planted.end()) ++flags;
  return flags;
}

/// Output buffers of one series, pre-filled with a sentinel so untouched entries are visible.
struct OutputBuffers {
  explicit OutputBuffers(std::int64_t steps, float fill = -12345.0F)
      : expected(static_cast<std::size_t>(steps), fill),
        lower(static_cast<std::size_t>(steps), fill),
        upper(static_cast<std::size_t>(steps), fill),
        score(static_cast<std::size_t>(steps), fill) {}
  DetectionOutput view() { return {expected, lower, upper, score}; }
  /// Bitwise equality (NaN == NaN).
  bool same_bits(const OutputBuffers& other) const {
    const auto eq = [](const std::vector<float>& a, const std::vector<float>& b) {
      return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    };
    return eq(expected, other.expected) && eq(lower, other.lower) && eq(upper, other.upper) && eq(score, other.score);
  }
  std::vector<float> expected, lower, upper, score;
};

/// Runs one detection into fresh buffers.
inline FitStatus run(const Detector& detector, DetectorWorkspace& workspace, const std::vector<float>& values,
                     const DetectionWindow& window, OutputBuffers& out, std::uint64_t series_index = 0) {
  return detector.detect({values, series_index}, window, workspace, out.view());
}

/// A factory of the named detector (through the registry): factory(grid) or factory(grid, {"name=value", ...}).
inline auto detector_factory(std::string name) {
  return [name = std::move(name)](const TimeGrid& grid, std::vector<std::string> settings = {}) {
    return make_detector(name, settings, grid);
  };
}

/// Runs one retrospective detection (the whole grid: values.size() steps) with a fresh workspace.
inline FitStatus run_retrospective(const Detector& detector, const std::vector<float>& values, OutputBuffers& out) {
  const auto workspace = detector.make_workspace();
  return run(detector, *workspace, values, DetectionWindow::retrospective(static_cast<std::int64_t>(values.size())), out);
}

/// Results do not depend on what the workspace held before: a, b, a (retrospective, series indices a_index,
/// b_index, a_index) on one workspace give bit-identical outputs for a.
inline void expect_workspace_reuse_invisible(const Detector& detector, const std::vector<float>& a, const std::vector<float>& b,
                                             std::uint64_t a_index = 0, std::uint64_t b_index = 0) {
  const auto steps = static_cast<std::int64_t>(a.size());
  const auto ws = detector.make_workspace();
  const auto window = DetectionWindow::retrospective(steps);
  OutputBuffers first(steps), middle(steps), again(steps);
  ASSERT_EQ(run(detector, *ws, a, window, first, a_index), FitStatus::ok);
  ASSERT_EQ(run(detector, *ws, b, window, middle, b_index), FitStatus::ok);
  ASSERT_EQ(run(detector, *ws, a, window, again, a_index), FitStatus::ok);
  EXPECT_TRUE(first.same_bits(again));
}

}  // namespace meterbench::testing
