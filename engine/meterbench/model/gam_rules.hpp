#pragma once
// What the `gam` detector adds to its band's score (gam_detector.hpp, "Score" and "Rules"): the run score of
// sustained deviations, and the rule alerts that flag a step whatever z and say which anomaly kind they saw.
// Both are passes over one series' outputs after the band is written; they allocate nothing.
#include <cstdint>
#include <span>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/gam_kernels.hpp"

namespace meterbench {

/// The steps a pass reads and writes: it writes [begin, end) and reads values from `history_begin` (the fit
/// window's start) to `end`, never after; `centred`: windows centred on the step (a fit of the whole series,
/// read retrospectively) or trailing inside [begin, end) (forward: the scored period is all the future there is).
struct GamPostWindow {
  std::int64_t history_begin = 0, begin = 0, end = 0;
  bool centred = true;
};

/// score_t = max(score_t, sqrt(w) |mean of e over the window of w steps|) for w = 3 and 7, e_t = the signed
/// score (the sign of y_t - expected_t) clipped at +-10, over the observed steps with a score at most z (a step
/// beyond z is flagged on its own, and would flag its ordinary neighbours through the windows: a 3-day x1000 unit
/// error would report 5 days), when the window holds at least max(2, 2w/3) of them. `scratch` holds
/// gam_run_score_scratch(end - begin) doubles.
inline constexpr std::int64_t kRunPad = kGamRunMaxWidth - 1;  // steps a window reaches past either end of the scored range
inline std::int64_t gam_run_score_scratch(std::int64_t steps) { return 2 * (steps + 2 * kRunPad); }
void gam_run_score(std::span<const float> values, const DetectionOutput& out, const GamPostWindow& window, double z,
                   std::span<double> scratch);

/// The rule alerts of [begin, end) (score raised to 1000, above any z; out.kind the AnomalyKind code when kinds are
/// wanted):
/// - stuck_meter: a run of identical non-zero observed values of at least max(4, L) steps, L the run length
///   that equal neighbours as frequent as in [history_begin, end) (forward: [history_begin, begin)), or as in
///   the 56 days before the run where they are more frequent, reach by chance once in 100 series (of the
///   series' reported span); flagged from the run's start once it is that long (forward: from that step on);
/// - stopped_reporting: a gap of at least 7 days reaching `end` (forward: any gap, as a weekly run cannot know
///   whether it will end) after >= 90% of the 56 days before it observed, and no longer than the reporting before
///   it (from the first observed step of the history: a longer silence has ended, not stopped); flagged from its 7th day;
/// - unit_error: an observed value >= 100 x max(expected, typical, 1) (`typical`: the median positive value of the
///   history), or positive and <= expected / 300;
/// - dropped_reporting: a run of observed zeros after 56 days with >= 90% observed non-zero, at least 3 days
///   long and as long as zeros as frequent as in those 56 days make by chance once in 100 series; flagged
///   from that zero on.
/// Day counts are converted to steps of the grid (at least 1 step).
void gam_rule_alerts(std::span<const float> values, const TimeGrid& grid, double typical, const DetectionOutput& out,
                     const GamPostWindow& window);

}  // namespace meterbench
