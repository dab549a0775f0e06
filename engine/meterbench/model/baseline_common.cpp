#include "meterbench/model/baseline_common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"

namespace meterbench::baseline {

FitScreen screen_fit_window(std::span<const float> values, const DetectionWindow& window, std::int64_t min_observed,
                            std::int64_t min_length) {
  FitScreen screen;
  // In float and without branches (gaps come at random): widening to double is exact and keeps the order.
  constexpr float kInf = std::numeric_limits<float>::infinity();
  float lo = kInf;
  float hi = -kInf;
  std::int64_t observed = 0;
  for (std::int64_t t = window.fit_begin; t < window.fit_end; ++t) {
    const float v = values[t];
    const bool finite = std::fabs(v) < kInf;  // false for NaN and +-inf
    observed += finite ? 1 : 0;
    lo = finite && v < lo ? v : lo;
    hi = finite && v > hi ? v : hi;
  }
  screen.observed = observed;
  if (screen.observed == 0) {
    screen.status = FitStatus::all_missing;
    return screen;
  }
  screen.min = static_cast<double>(lo);
  screen.max = static_cast<double>(hi);
  if (screen.observed < min_observed || window.fit_end - window.fit_begin < min_length)
    screen.status = FitStatus::too_short;
  else if (lo == hi)
    screen.status = FitStatus::constant;
  return screen;
}

void check_detect_arguments(const SeriesInput& series, const DetectionWindow& window, const DetectionOutput& out,
                            std::int64_t steps) {
  METERBENCH_CHECK(static_cast<std::int64_t>(series.values.size()) == steps);
  METERBENCH_CHECK(0 <= window.fit_begin && window.fit_begin <= window.fit_end && window.fit_end <= steps);
  METERBENCH_CHECK(0 <= window.score_begin && window.score_begin <= window.score_end && window.score_end <= steps);
  METERBENCH_CHECK(static_cast<std::int64_t>(out.expected.size()) == steps);
  METERBENCH_CHECK(static_cast<std::int64_t>(out.lower.size()) == steps);
  METERBENCH_CHECK(static_cast<std::int64_t>(out.upper.size()) == steps);
  METERBENCH_CHECK(static_cast<std::int64_t>(out.score.size()) == steps);
}

void write_nan_outputs(const DetectionWindow& window, const DetectionOutput& out) {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  for (std::int64_t t = window.score_begin; t < window.score_end; ++t) {
    out.expected[t] = kNaN;
    out.lower[t] = kNaN;
    out.upper[t] = kNaN;
    out.score[t] = kNaN;
  }
}

void write_level_fallback(std::span<const float> values, const DetectionWindow& window, const DetectionOutput& out,
                          double z, double floor_share, std::span<double> scratch) {
  std::size_t count = 0;
  for (std::int64_t t = window.fit_begin; t < window.fit_end; ++t)
    if (std::isfinite(values[t])) scratch[count++] = values[t];
  METERBENCH_CHECK(count > 0);
  const std::span<double> observed = scratch.first(count);
  const double level = median_in_place(observed);
  const double mad = mad_in_place(observed, level);  // observed now holds |v - level|
  const double floor = floor_share * nonzero_median_abs_deviation(observed, 0.0);
  const double scale = std::max(kMadToSigma * mad, floor);
  const auto expected = static_cast<float>(level);
  const auto lower = static_cast<float>(level - z * scale);
  const auto upper = static_cast<float>(level + z * scale);
  for (std::int64_t t = window.score_begin; t < window.score_end; ++t) {
    out.expected[t] = expected;
    out.lower[t] = lower;
    out.upper[t] = upper;
    const float v = values[t];
    if (!std::isfinite(v)) {
      out.score[t] = std::numeric_limits<float>::quiet_NaN();
    } else if (scale > 0.0) {
      out.score[t] = static_cast<float>(std::abs(static_cast<double>(v) - level) / scale);
    } else {
      out.score[t] = static_cast<double>(v) == level ? 0.0F : std::numeric_limits<float>::infinity();
    }
  }
}

FlagScoreEncoder::FlagScoreEncoder(double z) : z_(z) {
  // The largest float not above z and the smallest float above it, so the rule holds when the caller
  // compares the float score with z in double precision.
  z_down_ = static_cast<float>(z);
  if (static_cast<double>(z_down_) > z) z_down_ = std::nextafter(z_down_, -std::numeric_limits<float>::infinity());
  z_up_ = std::nextafter(z_down_, std::numeric_limits<float>::infinity());
}

float encode_flag_score(double natural_score, bool flagged, double z) { return FlagScoreEncoder(z)(natural_score, flagged); }

std::int64_t week_period_steps(std::string_view detector, const TimeGrid& grid) {
  constexpr std::int64_t kWeek = 7 * kSecondsPerDay;
  if (grid.step_seconds <= 0 || kWeek % grid.step_seconds != 0 || kWeek / grid.step_seconds < 2)
    throw std::invalid_argument(fmt::format("{}: grid step '{}' does not divide a week into at least two steps",
                                            detector, format_step(grid.step_seconds)));
  return kWeek / grid.step_seconds;
}

}  // namespace meterbench::baseline
