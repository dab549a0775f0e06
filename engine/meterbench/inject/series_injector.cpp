#include "meterbench/inject/series_injector.hpp"

#include <algorithm>
#include <cmath>

#include "meterbench/core/check.hpp"
#include "meterbench/core/random.hpp"

namespace meterbench {

namespace {

// Its own stream id, so that injecting into a generated dataset with the generator's seed does not repeat its events.
constexpr std::uint64_t kInjectEventStream = 4;
constexpr double kMadToSigma = 1.4826;
constexpr double kSqrtTwo = 1.4142135623730951;
constexpr double kMinReportedShare = 0.5;          // of an event's window
constexpr double kRegularReportingShare = 0.9;     // of the 8 weeks before a meter stops
constexpr std::int64_t kMinDifferences = 5;

// The median of `x` (reordered); the mean of the two middle values for an even count.
double median_of(std::span<double> x) {
  const std::size_t n = x.size();
  const auto mid = x.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(x.begin(), mid, x.end());
  const double upper = *mid;
  if (n % 2 == 1) return upper;
  return 0.5 * (upper + *std::max_element(x.begin(), mid));
}

// 1.4826 x MAD of `x` (reordered); NaN when empty.
double scaled_mad(std::vector<double>& x) {
  if (x.empty()) return std::nan("");
  const double centre = median_of(x);
  for (double& v : x) v = std::fabs(v - centre);
  return kMadToSigma * median_of(x);
}

void collect_differences(std::span<const double> v, std::int64_t lo, std::int64_t hi, std::vector<double>& out) {
  out.clear();
  for (std::int64_t t = lo; t + 1 < hi; ++t) {
    const double d = v[static_cast<std::size_t>(t + 1)] - v[static_cast<std::size_t>(t)];
    if (std::isfinite(d)) out.push_back(d);
  }
}

double reported_share(std::span<const double> v, std::int64_t lo, std::int64_t hi) {
  if (hi < lo) return 0.0;
  std::int64_t reported = 0;
  for (std::int64_t t = lo; t <= hi; ++t) reported += std::isnan(v[static_cast<std::size_t>(t)]) ? 0 : 1;
  return static_cast<double>(reported) / static_cast<double>(hi - lo + 1);
}

struct PlacementContext {
  std::span<const double> original;
  std::int64_t eight_weeks = 56;
};

// Only where the series reports: half of an event's window at least, a reading before a stuck meter, and
// regular reporting (90% of the 8 weeks) before a meter that stops.
bool reports_enough(const void* context, AnomalyKind kind, std::int64_t start, std::int64_t end) {
  const auto& c = *static_cast<const PlacementContext*>(context);
  if (reported_share(c.original, start, end) < kMinReportedShare) return false;
  if (kind == AnomalyKind::stuck_meter) return start > 0 && !std::isnan(c.original[static_cast<std::size_t>(start - 1)]);
  if (kind == AnomalyKind::stopped_reporting)
    return start >= c.eight_weeks && reported_share(c.original, start - c.eight_weeks, start - 1) >= kRegularReportingShare;
  return true;
}

// The last reported value before step `start` (what a stuck meter repeats).
double last_reported_before(std::span<const double> v, std::int64_t start) {
  for (std::int64_t t = start - 1; t >= 0; --t)
    if (!std::isnan(v[static_cast<std::size_t>(t)])) return v[static_cast<std::size_t>(t)];
  return 0.0;  // unreachable for placed injections: placement requires a reading before a stuck meter
}

// Steps in `days` on the grid (at least one for a positive count; monthly grids included).
std::int64_t steps_in_days(const TimeGrid& grid, std::int64_t days) {
  if (days <= 0) return 0;
  return std::max<std::int64_t>(1, days * kSecondsPerDay / grid.step_seconds);
}

}  // namespace

double local_noise_scale(std::span<const double> series, std::int64_t start, std::int64_t end, std::int64_t half_window,
                         std::vector<double>& scratch) {
  const auto n = static_cast<std::int64_t>(series.size());
  collect_differences(series, std::max<std::int64_t>(0, start - half_window), std::min(n, end + 1 + half_window), scratch);
  if (static_cast<std::int64_t>(scratch.size()) < kMinDifferences) collect_differences(series, 0, n, scratch);
  const double from_differences = scaled_mad(scratch) / kSqrtTwo;
  if (from_differences > 0.0) return from_differences;
  scratch.clear();
  double absolute_sum = 0.0;
  for (double v : series)
    if (!std::isnan(v)) {
      scratch.push_back(v);
      absolute_sum += std::fabs(v);
    }
  const std::size_t reported = scratch.size();
  const double from_values = scaled_mad(scratch);
  if (from_values > 0.0) return from_values;
  const double from_mean = reported > 0 ? 0.01 * absolute_sum / static_cast<double>(reported) : 0.0;
  return from_mean > 0.0 ? from_mean : 1.0;
}

InjectedSeriesStats& InjectedSeriesStats::operator+=(const InjectedSeriesStats& other) {
  events += other.events;
  unplaced += other.unplaced;
  for (std::size_t k = 0; k < events_by_kind.size(); ++k) events_by_kind[k] += other.events_by_kind[k];
  impact_usd += other.impact_usd;
  unknown_impact += other.unknown_impact;
  return *this;
}

SeriesInjector::SeriesInjector(const Scenario& scenario, const TimeGrid& grid, std::uint64_t seed)
    : scenario_(scenario), grid_(grid), seed_(seed) {
  grid_.validate();
  guard_ = guard_steps(grid_);
  warmup_ = steps_in_days(grid_, scenario_.warmup_days.value_or(kInjectWarmupDays));
  noise_window_ = steps_in_days(grid_, 28);
  eight_weeks_ = steps_in_days(grid_, 56);
  calendar_ = make_grid_calendar(grid_);
}

InjectedSeriesStats SeriesInjector::inject(std::int64_t series_index, InjectorWorkspace& ws, std::span<float> values,
                                           std::span<std::uint8_t> labels, const SeriesRecord& record,
                                           std::span<const EventRecord> existing, std::vector<EventRecord>& events) const {
  const std::int64_t T = grid_.steps;
  const auto n = static_cast<std::size_t>(T);
  METERBENCH_CHECK(values.size() == n && labels.size() == n);
  InjectedSeriesStats stats;
  ws.original.assign(values.begin(), values.end());
  ws.values.assign(values.begin(), values.end());
  const auto first_reported = std::find_if(ws.original.begin(), ws.original.end(), [](double v) { return !std::isnan(v); });
  const std::size_t first_event = events.size();
  events.insert(events.end(), existing.begin(), existing.end());
  if (first_reported == ws.original.end()) return stats;  // nothing reported: nothing to inject into
  const auto first = static_cast<std::int64_t>(first_reported - ws.original.begin());
  std::int64_t last = T - 1;
  while (std::isnan(ws.original[static_cast<std::size_t>(last)])) --last;

  // 1. Places apart from the series' own events and labels, in its reported span after the warmup.
  ws.taken.assign(n, 0);
  for (std::size_t t = 0; t < n; ++t) ws.taken[t] = labels[t] != 0 ? 1 : 0;
  for (const EventRecord& ev : existing) std::fill(ws.taken.begin() + ev.start, ws.taken.begin() + ev.end + 1, std::uint8_t{1});
  const PlacementWindow window{.steps = T,
                               .first = first + warmup_,
                               .last = last,
                               .span_years = static_cast<double>(std::max<std::int64_t>(0, last - first - warmup_ + 1)) * calendar_.years_per_step,
                               .guard = guard_};
  const PlacementContext context{ws.original, eight_weeks_};
  Rng event_rng(stream_key(seed_, static_cast<std::uint64_t>(series_index), kInjectEventStream));
  stats.unplaced = place_injections(scenario_, window, event_rng, ws.taken, ws.planned, reports_enough, &context);
  stats.events = static_cast<std::int64_t>(ws.planned.size());
  const std::size_t first_injected = events.size();
  append_planned_events(ws.planned, static_cast<std::uint64_t>(series_index), last, events);
  const std::span<EventRecord> injected(events.data() + first_injected, ws.planned.size());

  // 2. Structural changes, then billing faults on what was reported, as the generator applies them; sizes in
  // units of the series' own noise around each event.
  for (const bool structural : {true, false}) {
    for (std::size_t e = 0; e < injected.size(); ++e) {
      const PlannedInjection& p = ws.planned[e];
      if (is_structural(p.kind) != structural) continue;
      const double sigma = local_noise_scale(ws.original, p.start, p.end, noise_window_, ws.scratch);
      const AppliedChange change = structural ? apply_structural(p, injected[e].effect_end, p.size * sigma, calendar_, ws.values)
                                              : apply_billing_fault(p, unit_factor_of(scenario_, p),
                                                                    last_reported_before(ws.values, p.start), ws.values);
      record_size(injected[e], change, sigma, record.price_per_unit);
    }
  }

  for (const EventRecord& ev : injected) {
    ++stats.events_by_kind[ev.kind];
    if (!is_anomaly(ev.kind)) continue;
    if (std::isfinite(ev.impact_usd)) stats.impact_usd += ev.impact_usd;
    else ++stats.unknown_impact;
  }

  // 3. Values, labels, and the series' events (its own and the injected) in order of start.
  for (std::size_t t = 0; t < n; ++t) values[t] = static_cast<float>(ws.values[t]);
  for (const EventRecord& ev : injected) std::fill(labels.begin() + ev.start, labels.begin() + ev.end + 1, ev.kind);
  std::stable_sort(events.begin() + static_cast<std::ptrdiff_t>(first_event), events.end(),
                   [](const EventRecord& a, const EventRecord& b) { return a.start < b.start; });
  return stats;
}

}  // namespace meterbench
