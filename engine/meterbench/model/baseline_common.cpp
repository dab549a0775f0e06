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

double median_in_place(std::span<double> values) {
  METERBENCH_CHECK(!values.empty());
  const std::size_t n = values.size();
  const std::size_t mid = n / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (n % 2 == 1) return upper;
  // The lower middle is the largest element of the left part nth_element left behind.
  const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lower + upper);
}

namespace {

// Insertion sort of a short run (the quickselect's last few values).
void insertion_sort(float* a, std::size_t n) {
  for (std::size_t i = 1; i < n; ++i) {
    const float v = a[i];
    std::size_t j = i;
    for (; j > 0 && v < a[j - 1]; --j) a[j] = a[j - 1];
    a[j] = v;
  }
}

float median_of_three(float a, float b, float c) { return std::max(std::min(a, b), std::min(std::max(a, b), c)); }

}  // namespace

double median_in_place(std::span<float> values, std::span<float> scratch) {
  METERBENCH_CHECK(!values.empty() && scratch.size() >= values.size());
  const std::size_t n = values.size();
  const bool even = n % 2 == 0;
  std::size_t k = n / 2;  // wanted: the k-th smallest of src[0, m) (and for even n the one before it)
  float* src = values.data();
  float* dst = scratch.data();
  std::size_t m = n;
  // The largest value known to lie below the current range (the pivot of the last round that kept the upper
  // part): the (k-1)-th smallest when k ends up first in its range.
  float below = -std::numeric_limits<float>::infinity();
  int rounds = 0;
  while (m > 16) {
    if (++rounds > 64) {  // pathological pivots: finish with the library's introselect
      std::nth_element(src, src + k, src + m);
      const float upper = src[k];
      if (!even) return upper;
      const float lower = k > 0 ? *std::max_element(src, src + k) : below;
      return 0.5 * (static_cast<double>(lower) + static_cast<double>(upper));
    }
    const float p = median_of_three(src[0], src[m / 2], src[m - 1]);
    // Three-way partition without branches: every value is stored at both ends of dst and only the counter of
    // its side moves (the slots never overlap a kept value: lo + hi <= i).
    std::size_t lo = 0, hi = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const float v = src[i];
      dst[lo] = v;
      dst[m - 1 - hi] = v;
      lo += v < p ? 1 : 0;
      hi += v > p ? 1 : 0;
    }
    const std::size_t equal = m - lo - hi;
    // The kept part becomes the source; the old source (the other buffer, at least as long) the destination.
    if (k < lo) {
      std::swap(src, dst);  // lower part at the start of dst
      m = lo;
    } else if (k < lo + equal) {  // the pivot itself
      if (!even) return p;
      float lower = p;
      if (k == lo) lower = lo > 0 ? *std::max_element(dst, dst + lo) : below;
      return 0.5 * (static_cast<double>(lower) + static_cast<double>(p));
    } else {
      k -= lo + equal;
      below = p;
      float* const upper_part = dst + (m - hi);
      dst = src;
      src = upper_part;
      m = hi;
    }
  }
  insertion_sort(src, m);
  const float upper = src[k];
  if (!even) return upper;
  const float lower = k > 0 ? src[k - 1] : below;
  return 0.5 * (static_cast<double>(lower) + static_cast<double>(upper));
}

void sorted_median_mad(std::span<const double> sorted, double& median, double& mad) {
  METERBENCH_CHECK(!sorted.empty());
  const auto m = static_cast<std::ptrdiff_t>(sorted.size());
  const std::ptrdiff_t mid = m / 2;
  const double med = m % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  std::ptrdiff_t left = mid - 1;  // deviations med - sorted[left], ascending as left decreases
  std::ptrdiff_t right = mid;     // deviations sorted[right] - med, ascending as right increases
  double previous = 0.0;
  double current = 0.0;
  for (std::ptrdiff_t k = 0; k <= mid; ++k) {
    const double dl = left >= 0 ? med - sorted[left] : std::numeric_limits<double>::infinity();
    const double dr = right < m ? sorted[right] - med : std::numeric_limits<double>::infinity();
    previous = current;
    if (dl <= dr) {
      current = dl;
      --left;
    } else {
      current = dr;
      ++right;
    }
  }
  median = med;
  mad = m % 2 == 1 ? current : 0.5 * (previous + current);
}

double mad_in_place(std::span<double> values, double center) {
  for (double& v : values) v = std::abs(v - center);
  return median_in_place(values);
}

double nonzero_median_abs_deviation(std::span<double> values, double center) {
  std::size_t nonzero = 0;
  for (const double v : values) {
    const double d = std::abs(v - center);
    if (d > 0.0) values[nonzero++] = d;
  }
  return nonzero == 0 ? 0.0 : median_in_place(values.first(nonzero));
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
