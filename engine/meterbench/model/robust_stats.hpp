#pragma once
// Robust location and scale on caller-provided scratch memory (never allocating): the medians, MADs and
// order statistics of every detector. Each routine keeps its own arithmetic (which middle value, which
// rounding of the mean of two), so a detector's outputs do not change with the routine another one picks.
#include <cstdint>
#include <span>
#include <utility>

namespace meterbench {

/// MAD-to-sigma factor of the normal distribution: 1 / Phi^-1(3/4).
inline constexpr double kMadToSigma = 1.482602218505602;
/// Mean-absolute-deviation-to-sigma factor of the normal distribution: sqrt(pi / 2).
inline constexpr double kMeanAbsToSigma = 1.2533141373155003;

/// Median of `values`, reordering them (nth_element). `values` must not be empty.
double median_in_place(std::span<double> values);

/// The same median of floats (as doubles: the mean of the two middle values when their count is even), by a
/// branch-free three-way quickselect that ping-pongs between `values` and `scratch` (at least as long; both
/// overwritten): no mispredicted comparisons, for a few hundred values. When
/// zeros of both signs tie for the middle, which sign is returned is unspecified. `values` must not be empty.
double median_in_place(std::span<float> values, std::span<float> scratch);

/// Median and MAD of ascending `sorted` values (not empty), without reordering: the deviations from the
/// median form two ascending runs (left of the middle going down, right going up), merged up to the middle.
void sorted_median_mad(std::span<const double> sorted, double& median, double& mad);

/// Median absolute deviation around `center`, overwriting `values` with the deviations.
double mad_in_place(std::span<double> values, double center);

/// The median of the non-zero absolute deviations |v - center|, overwriting `values`; 0 when every value
/// equals `center`. Positive whenever the values are not all equal, unlike the MAD (0 as soon as half the
/// values are equal, e.g. a mostly-zero series), and as robust to outliers as a median: the basis of the
/// scale floors, which must never vanish on a non-constant series nor follow one huge outlier.
double nonzero_median_abs_deviation(std::span<double> values, double center);

/// The order statistics x_(k-1) and x_(k) (0-based; both x_(0) when k == 0) of data[0, m) (no NaN; +inf allowed,
/// 0 <= k < m), exactly, by radix steps over the float bits fitted to the range they span, leaving `data` as it
/// is; `scratch` holds m floats. For the hundreds of residuals of a regression fit, where nth_element's comparisons
/// of random residuals are unpredictable branches.
std::pair<double, double> radix_select_pair(const float* data, std::int64_t m, std::int64_t k, float* scratch);

/// Median of data[0, m) (m > 0; the mean of the two middle values when m is even) by radix_select_pair.
double radix_median(const float* data, std::int64_t m, float* scratch);

/// Robust scale of the absolute values abs_values[0, m) (m > 0): 1.4826 x their median (the MAD about 0,
/// as MASS::rlm takes it for regression residuals, whose centre is the fit); when more than half are 0,
/// the scaled mean instead (sqrt(pi / 2) x mean), which is 0 only when all are. `scratch` holds m floats.
double absolute_deviation_scale(const float* abs_values, std::int64_t m, float* scratch);

}  // namespace meterbench
