#include "meterbench/pass/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace meterbench {

std::string_view to_string(Schedule schedule) {
  switch (schedule) {
    case Schedule::weekly: return "weekly";
    case Schedule::weekly_refit: return "weekly-refit";
    case Schedule::retrospective: break;
  }
  return "retrospective";
}

Schedule schedule_from_string(std::string_view text) {
  if (text == "retrospective") return Schedule::retrospective;
  if (text == "weekly") return Schedule::weekly;
  if (text == "weekly-refit") return Schedule::weekly_refit;
  throw std::invalid_argument(fmt::format("unknown schedule '{}' (known: retrospective, weekly, weekly-refit)", text));
}

void validate_pass_options(std::int64_t weeks, std::int64_t block_series, double impact_filter_usd) {
  if (weeks < 1) throw std::invalid_argument(fmt::format("--weeks must be at least 1, got {}", weeks));
  if (block_series < 0) throw std::invalid_argument(fmt::format("--block must be >= 0, got {}", block_series));
  if (!(impact_filter_usd >= 0.0)) throw std::invalid_argument(fmt::format("--min-impact must be >= 0 USD, got {}", impact_filter_usd));
}

namespace {
constexpr double kMaxDelayToleranceDays = 36525.0;  // a hundred years: longer than any grid ingest accepts by default
}  // namespace

ScoredWindow scored_window(Schedule schedule, std::int64_t weeks, const TimeGrid& grid) {
  if (!is_weekly(schedule)) return {};
  const std::int64_t week = 7 * std::max<std::int64_t>(1, grid.steps_per_day());
  // weeks beyond the grid are refused before the product, which would overflow for a huge --weeks.
  const ScoredWindow w{weeks < grid.steps / week ? grid.steps - weeks * week : 0, week, schedule == Schedule::weekly_refit};
  if (w.first_scored < week)
    throw std::invalid_argument(
        fmt::format("--weeks {} leaves no history to fit on: the dataset has {} steps ({} weeks)", weeks, grid.steps, grid.steps / week));
  return w;
}

EvaluationConfig evaluation_config(const Detector& detector, const TimeGrid& grid, ScoredWindow window, double delay_tolerance_days,
                                   double impact_filter_usd) {
  const std::int64_t steps_per_day = std::max<std::int64_t>(1, grid.steps_per_day());
  // Checked in days, before the conversion to steps, which is undefined for NaN and values beyond int64.
  if (!(delay_tolerance_days >= 0.0 && delay_tolerance_days <= kMaxDelayToleranceDays))
    throw std::invalid_argument(fmt::format("--delay-tolerance must be between 0 and {} days, got {}", kMaxDelayToleranceDays, delay_tolerance_days));
  EvaluationConfig config;
  config.z = detector.flag_threshold();
  config.delay_tolerance_steps = static_cast<std::int64_t>(std::llround(delay_tolerance_days * static_cast<double>(steps_per_day)));
  config.impact_filter_usd = impact_filter_usd;
  config.steps_per_week = 7 * steps_per_day;
  config.schedule_period_steps = window.period;
  config.validate();
  return config;
}

}  // namespace meterbench
