#pragma once
// Placing labelled injections on a series and applying their effects: one piece of code for `meterbench
// generate` (which injects into the clean mean and into what its meter reports) and `meterbench inject`
// (which injects into the values of an existing dataset). Sizes are multiples of a noise scale the caller
// gives; deviations, sizes and impacts are measured as the injections are applied.
#include <cstdint>
#include <span>
#include <vector>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/generate/scenario.hpp"
#include "meterbench/io/dataset.hpp"

namespace meterbench {

/// One injection placed on a series, before its effect is applied.
struct PlannedInjection {
  AnomalyKind kind = AnomalyKind::normal;
  std::int64_t start = 0;
  std::int64_t end = 0;    ///< inclusive
  double size = 0.0;       ///< drawn size in noise-scale units
  double sign = 1.0;       ///< direction of shifts, trend changes and unit errors
  double phase = 0.0;      ///< phase of a seasonality change
};

/// The calendar of a grid, computed once: per-step day of week, yearly and weekly phase, hour of day.
struct GridCalendar {
  std::vector<std::uint8_t> day_of_week;
  std::vector<double> year_sin, year_cos;
  std::vector<double> week_sin, week_cos;
  std::vector<double> hour_cos;  ///< daily cycle, peak at 14:00 UTC
  double years_per_step = 0.0;
};
GridCalendar make_grid_calendar(const TimeGrid& grid);

/// Steps kept free around every event, so events never touch: 7 days (at least one step).
std::int64_t guard_steps(const TimeGrid& grid);

/// Where and how injections may be placed on one series.
struct PlacementWindow {
  std::int64_t steps = 0;        ///< series length (events lie in [first, last])
  std::int64_t first = 0;        ///< first step an event may start on
  std::int64_t last = -1;        ///< last step an event may cover (stopped_reporting ends here); -1 = steps - 1
  double span_years = 0.0;       ///< the Poisson count of each kind is rate x span_years
  std::int64_t guard = 1;        ///< free steps kept between events
};

/// Accepts or refuses a candidate window [start, end] (e.g. too few reported steps); null accepts all.
using PlacementCheck = bool (*)(const void* context, AnomalyKind kind, std::int64_t start, std::int64_t end);

/// Places the scenario's injections apart from each other (and from steps already set in `taken`, which the
/// caller sizes to window.steps), in a fixed order of kinds, then sorts them by start. Returns how many found
/// no free place in 32 attempts.
std::int64_t place_injections(const Scenario& scenario, const PlacementWindow& window, Rng& event_rng, std::vector<std::uint8_t>& taken,
                              std::vector<PlannedInjection>& planned, PlacementCheck check = nullptr, const void* check_context = nullptr);

/// Appends one event per planned injection (series index, kind, window; effect_end = last_step for
/// persistent kinds); sizes and impacts are filled when the injections are applied.
void append_planned_events(std::span<const PlannedInjection> planned, std::uint64_t series, std::int64_t last_step,
                           std::vector<EventRecord>& events);

/// The change a structural injection makes to a series, and what it measured.
struct AppliedChange {
  double peak = 0.0;   ///< largest |change| over the labelled steps (usage units)
  double total = 0.0;  ///< sum of |change| over the labelled steps (usage units)
};

/// Adds a structural injection (spike, dip, shifts, ramps; `amount` = size x sigma in usage units) to
/// `series` over [p.start, effect_end], floored at 0, and for persistent kinds at a fifth of the value it
/// changes (so that a series does not drift to zero for good). Steps that are NaN stay NaN and count nothing.
AppliedChange apply_structural(const PlannedInjection& p, std::int64_t effect_end, double amount, const GridCalendar& calendar,
                               std::span<double> series);

/// Replaces what a meter reported over [p.start, p.end] by what the billing fault makes of it (unit error x
/// factor or / factor, x2, zeros, the stuck value, NaN for gaps and a stopped meter). Steps already NaN stay
/// NaN and count nothing. Gaps, being no anomaly, measure nothing.
AppliedChange apply_billing_fault(const PlannedInjection& p, double unit_factor, double stuck_value, std::span<double> reported);

/// Writes an applied injection's size and impact into its event (impact NaN when the price is unknown).
void record_size(EventRecord& event, const AppliedChange& change, double sigma, double price_per_unit);

/// The unit mistake of a unit error: x factor for a positive sign, / factor otherwise.
double unit_factor_of(const Scenario& scenario, const PlannedInjection& p);

}  // namespace meterbench
