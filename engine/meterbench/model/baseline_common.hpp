#pragma once
// Pieces the baseline detectors (seasonal-mad, stl-esd, random) share: the status screen of a fit window,
// the level fallback, the score encoding of a flag decision, and the week period.
// Everything here works on caller-provided scratch memory and never allocates.
#include <cstdint>
#include <span>

#include "meterbench/core/check.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/robust_stats.hpp"

namespace meterbench::baseline {

/// What the status screen found in [fit_begin, fit_end).
struct FitScreen {
  FitStatus status = FitStatus::ok;
  std::int64_t observed = 0;  ///< finite values in the fit window
  double min = 0.0;           ///< over the observed values (0 when none)
  double max = 0.0;
};

/// The shared status rules, in this order: all_missing (no finite value in the fit window), too_short
/// (fewer than `min_observed` finite values, or a fit window shorter than `min_length` steps), constant
/// (every finite value equal, which includes the all-zero series).
FitScreen screen_fit_window(std::span<const float> values, const DetectionWindow& window, std::int64_t min_observed,
                            std::int64_t min_length);

/// Aborts (internal error) when the window or the output spans do not fit a grid of `steps` steps.
void check_detect_arguments(const SeriesInput& series, const DetectionWindow& window, const DetectionOutput& out,
                            std::int64_t steps);

/// check_detect_arguments, then the detector's own workspace out of `workspace` (aborts on another detector's).
template <class Workspace>
Workspace* checked_workspace(const SeriesInput& series, const DetectionWindow& window, const DetectionOutput& out,
                             std::int64_t steps, DetectorWorkspace& workspace) {
  check_detect_arguments(series, window, out, steps);
  auto* ws = dynamic_cast<Workspace*>(&workspace);
  METERBENCH_CHECK(ws != nullptr);
  return ws;
}

/// Writes NaN into expected/lower/upper/score over [score_begin, score_end): the output of a failed fit.
void write_nan_outputs(const DetectionWindow& window, const DetectionOutput& out);

/// The level fallback of a series whose own model cannot be fitted (too_short, constant), as the gam
/// detector does: expected = median of the fit window's observed values, scale = max(1.4826 MAD, floor)
/// with floor = floor_share x nonzero_median_abs_deviation of those values, band = expected +/- z scale,
/// score = |y - expected| / scale. A constant series has scale 0: a band of width 0 at its value, score 0
/// where y equals it and +inf elsewhere. NaN score at gap steps. `scratch` holds at least the fit window.
void write_level_fallback(std::span<const float> values, const DetectionWindow& window, const DetectionOutput& out,
                          double z, double floor_share, std::span<double> scratch);

/// The score written for a step whose flag decision is `flagged` at threshold `z`: the natural score clamped
/// so that score > z (the float score compared with z in double) exactly when flagged. Keeps the ranking
/// of scores on each side of z; NaN becomes z (not flagged) or the next float above z (flagged).
float encode_flag_score(double natural_score, bool flagged, double z);

/// encode_flag_score with the float neighbours of z found once, for per-step use (same results).
class FlagScoreEncoder {
 public:
  explicit FlagScoreEncoder(double z);
  [[nodiscard]] float operator()(double natural_score, bool flagged) const {
    const float s = static_cast<float>(natural_score);
    const float if_flagged = static_cast<double>(s) > z_ ? s : z_up_;
    const float if_not = static_cast<double>(s) <= z_ ? s : z_down_;
    return flagged ? if_flagged : if_not;
  }

 private:
  double z_;
  float z_down_;  // the largest float not above z
  float z_up_;    // the smallest float above z
};

/// Steps in one week on `grid` (7 daily, 168 hourly); throws std::invalid_argument naming `detector` when a
/// week is not a whole number of steps.
std::int64_t week_period_steps(std::string_view detector, const TimeGrid& grid);

}  // namespace meterbench::baseline
