#include "meterbench/generate/injection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "meterbench/core/check.hpp"
#include "meterbench/core/portable_math.hpp"

namespace meterbench {

namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
// A persistent change (a lower level, a falling slope, a new weekly pattern) never takes a series below this share
// of what it was: a customer who uses less still uses something, and a falling slope levels off instead of
// driving the series to zero for good. Zeros come from billing faults (dropped reporting) and sparse usage.
constexpr double kPersistentFloorShare = 0.2;

// How much a structural injection moves the series at step t (i = t as an index); amount is its size in usage units.
double mean_change(const PlannedInjection& p, std::int64_t t, std::size_t i, double amount, const GridCalendar& cal) {
  const double length = static_cast<double>(p.end - p.start + 1);
  switch (p.kind) {
    case AnomalyKind::spike: return amount;
    case AnomalyKind::dip: return -amount;
    case AnomalyKind::level_shift: return p.sign * amount;
    case AnomalyKind::trend_change: return p.sign * amount * static_cast<double>(t - p.start + 1) / length;
    case AnomalyKind::seasonality_change: return amount * (cal.week_sin[i] * pmath::cos(p.phase) + cal.week_cos[i] * pmath::sin(p.phase));
    case AnomalyKind::fraud_ramp: return amount * std::min(1.0, static_cast<double>(t - p.start + 1) / length);
    case AnomalyKind::normal:
    case AnomalyKind::unit_error:
    case AnomalyKind::double_counting:
    case AnomalyKind::dropped_reporting:
    case AnomalyKind::stuck_meter:
    case AnomalyKind::gap:
    case AnomalyKind::stopped_reporting:
    case AnomalyKind::reported: break;
  }
  METERBENCH_CHECK(!is_structural(p.kind));  // a structural kind without its change here
  return 0.0;
}

// The value the meter reports instead of usage y under a billing fault (NaN for a gap).
double reported_value(AnomalyKind kind, double y, double unit_factor, double stuck_value) {
  switch (kind) {
    case AnomalyKind::unit_error: return y * unit_factor;
    case AnomalyKind::double_counting: return 2.0 * y;
    case AnomalyKind::dropped_reporting: return 0.0;
    case AnomalyKind::stuck_meter: return stuck_value;
    case AnomalyKind::gap:
    case AnomalyKind::stopped_reporting: return std::numeric_limits<double>::quiet_NaN();
    case AnomalyKind::normal:
    case AnomalyKind::spike:
    case AnomalyKind::dip:
    case AnomalyKind::level_shift:
    case AnomalyKind::trend_change:
    case AnomalyKind::seasonality_change:
    case AnomalyKind::fraud_ramp:
    case AnomalyKind::reported: break;
  }
  METERBENCH_CHECK(traits(kind).effect != InjectionEffect::reported);  // a billing fault without its value here
  return y;
}

}  // namespace

GridCalendar make_grid_calendar(const TimeGrid& g) {
  const auto n = static_cast<std::size_t>(g.steps);
  GridCalendar cal;
  cal.day_of_week.resize(n);
  cal.years_per_step = static_cast<double>(g.step_seconds) / (365.25 * kSecondsPerDay);
  cal.year_sin.resize(n);
  cal.year_cos.resize(n);
  cal.week_sin.resize(n);
  cal.week_cos.resize(n);
  cal.hour_cos.resize(n);
  for (std::int64_t t = 0; t < g.steps; ++t) {
    const auto i = static_cast<std::size_t>(t);
    const CalendarPoint c = calendar_at(g.time_at(t));
    cal.day_of_week[i] = static_cast<std::uint8_t>(c.day_of_week);
    const double year_phase = kTwoPi * (c.day_of_year + c.hour_of_day / 24.0) / 365.25;
    cal.year_sin[i] = pmath::sin(year_phase);
    cal.year_cos[i] = pmath::cos(year_phase);
    const double week_phase = kTwoPi * std::fmod(g.days_at(t), 7.0) / 7.0;
    cal.week_sin[i] = pmath::sin(week_phase);
    cal.week_cos[i] = pmath::cos(week_phase);
    cal.hour_cos[i] = pmath::cos(kTwoPi * (c.hour_of_day - 14.0) / 24.0);  // daily peak at 14:00 UTC
  }
  return cal;
}

std::int64_t guard_steps(const TimeGrid& grid) { return std::max<std::int64_t>(1, 7 * kSecondsPerDay / grid.step_seconds); }

std::int64_t place_injections(const Scenario& scenario, const PlacementWindow& window, Rng& event_rng, std::vector<std::uint8_t>& taken,
                              std::vector<PlannedInjection>& planned, PlacementCheck check, const void* check_context) {
  const std::int64_t T = window.steps;
  const std::int64_t last = window.last < 0 ? T - 1 : window.last;
  const std::int64_t available = last - window.first + 1;
  METERBENCH_CHECK(static_cast<std::int64_t>(taken.size()) == T);
  std::int64_t unplaced = 0;
  planned.clear();
  for (std::size_t k = 1; k < kAnomalyKindCount; ++k) {
    const InjectionSpec& spec = scenario.injections[k];
    if (spec.rate <= 0.0) continue;
    const std::int64_t count = event_rng.poisson(spec.rate * window.span_years);
    for (std::int64_t j = 0; j < count; ++j) {
      PlannedInjection p;
      p.kind = static_cast<AnomalyKind>(k);
      const std::int64_t length = std::min(
          available, event_rng.integer(static_cast<std::int64_t>(spec.length.min), static_cast<std::int64_t>(spec.length.max)));
      p.size = event_rng.uniform(spec.size.min, spec.size.max);
      p.sign = event_rng.bernoulli(0.5) ? 1.0 : -1.0;
      p.phase = event_rng.uniform(0.0, kTwoPi);
      bool placed = false;
      for (int attempt = 0; attempt < 32 && !placed && length >= 1; ++attempt) {
        // A stopped meter stays stopped: its window always runs to the end of the series.
        const std::int64_t start =
            p.kind == AnomalyKind::stopped_reporting ? last + 1 - length : event_rng.integer(window.first, last + 1 - length);
        const std::int64_t lo = std::max<std::int64_t>(0, start - window.guard);
        const std::int64_t hi = std::min(T - 1, start + length - 1 + window.guard);
        placed = std::none_of(taken.begin() + lo, taken.begin() + hi + 1, [](std::uint8_t v) { return v != 0; }) &&
                 (check == nullptr || check(check_context, p.kind, start, start + length - 1));
        if (placed) {
          std::fill(taken.begin() + start, taken.begin() + start + length, std::uint8_t{1});
          p.start = start;
          p.end = start + length - 1;
          planned.push_back(p);
        }
      }
      if (!placed) ++unplaced;
    }
  }
  std::sort(planned.begin(), planned.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  return unplaced;
}

void append_planned_events(std::span<const PlannedInjection> planned, std::uint64_t series, std::int64_t last_step,
                           std::vector<EventRecord>& events) {
  for (const PlannedInjection& p : planned) {
    EventRecord& ev = events.emplace_back();
    ev.series = series;
    ev.kind = static_cast<std::uint8_t>(p.kind);
    ev.start = p.start;
    ev.end = p.end;
    ev.effect_end = is_persistent(p.kind) ? last_step : p.end;
  }
}

AppliedChange apply_structural(const PlannedInjection& p, std::int64_t effect_end, double amount, const GridCalendar& calendar,
                               std::span<double> series) {
  AppliedChange applied;
  const double floor_share = is_persistent(p.kind) ? kPersistentFloorShare : 0.0;
  for (std::int64_t t = p.start; t <= effect_end; ++t) {
    const auto i = static_cast<std::size_t>(t);
    const double before = series[i];
    if (std::isnan(before)) continue;  // not reported: stays so
    series[i] = std::max(floor_share * before, before + mean_change(p, t, i, amount, calendar));
    if (t <= p.end) {
      const double moved = std::fabs(series[i] - before);
      applied.peak = std::max(applied.peak, moved);
      applied.total += moved;
    }
  }
  return applied;
}

AppliedChange apply_billing_fault(const PlannedInjection& p, double unit_factor, double stuck_value, std::span<double> reported) {
  AppliedChange applied;
  const bool sized = traits(p.kind).anomaly;
  for (std::int64_t t = p.start; t <= p.end; ++t) {
    double& y = reported[static_cast<std::size_t>(t)];
    if (std::isnan(y)) continue;  // not reported: stays so
    const double faulty = reported_value(p.kind, y, unit_factor, stuck_value);
    if (sized) {
      // A stopped meter bills nothing: the usage it no longer reports is the deviation.
      const double change = std::isnan(faulty) ? std::fabs(y) : std::fabs(faulty - y);
      applied.peak = std::max(applied.peak, change);
      applied.total += change;
    }
    y = faulty;
  }
  return applied;
}

void record_size(EventRecord& event, const AppliedChange& change, double sigma, double price_per_unit) {
  event.size_units = change.peak;
  event.size_sigma = change.peak / sigma;
  event.impact_usd = change.total * price_per_unit;
}

double unit_factor_of(const Scenario& scenario, const PlannedInjection& p) {
  const double factor = scenario.injections[static_cast<std::size_t>(p.kind)].factor;
  return p.sign > 0.0 ? factor : 1.0 / factor;
}

}  // namespace meterbench
