#pragma once
// What every streaming pass over a dataset shares before it starts: the schedule and the scored window it
// gives on the grid, the evaluation config, and the checks of the options backtest, detect and sweep share.
#include <cstdint>
#include <string_view>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench {

enum class Schedule {
  retrospective,  ///< one fit over the whole window; every step scored
  weekly,         ///< at each week boundary, fit on the history before it and score that week
  weekly_refit,   ///< weekly, every week an independent forward fit: what `detect --since` runs, bit for bit
};
std::string_view to_string(Schedule schedule);
/// Throws std::invalid_argument naming the text and the known schedules.
Schedule schedule_from_string(std::string_view text);
/// weekly or weekly_refit: a fit before each week, that week scored.
[[nodiscard]] inline bool is_weekly(Schedule schedule) { return schedule != Schedule::retrospective; }

/// The scored part of the grid: steps [first_scored, steps); period 0 = retrospective, else the week length
/// in steps of the weekly schedule.
struct ScoredWindow {
  std::int64_t first_scored = 0;
  std::int64_t period = 0;
  /// Every period an independent forward fit (DetectionWindow::forward), even for a detector whose
  /// detect_rolling reuses last period's work: its outputs then approximate the independent fits only.
  bool independent_fits = false;
};

/// Checks the options a pass shares (backtest, sweep): --weeks >= 1, --block >= 0, --min-impact >= 0 USD.
/// Throws std::invalid_argument naming the option and its value.
void validate_pass_options(std::int64_t weeks, std::int64_t block_series, double impact_filter_usd);

/// The scored window of a schedule on a grid. Throws std::invalid_argument when `weeks` leaves no history.
ScoredWindow scored_window(Schedule schedule, std::int64_t weeks, const TimeGrid& grid);

/// The evaluation config of a run: the detector's flag threshold, the delay tolerance in steps, the impact
/// filter, the week length and the schedule period (validated).
EvaluationConfig evaluation_config(const Detector& detector, const TimeGrid& grid, ScoredWindow window, double delay_tolerance_days,
                                   double impact_filter_usd);

}  // namespace meterbench
