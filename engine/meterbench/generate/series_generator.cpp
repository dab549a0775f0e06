#include "meterbench/generate/series_generator.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"
#include "meterbench/core/portable_math.hpp"
#include "meterbench/core/random.hpp"

namespace meterbench {

namespace {

// Independent random streams per series, so that e.g. changing injection rates leaves the noise unchanged.
// (inject uses 4 for its events.)
enum Stream : std::uint64_t { kShapeStream = 1, kEventStream = 2, kNoiseStream = 3, kWanderStream = 5 };

constexpr double kTwoPi = 2.0 * std::numbers::pi;
// Robust scale of Student-t with 3 degrees of freedom (MAD / 0.6745): converts its spread to noise-scale units.
constexpr double kT3RobustScale = 1.1340;
constexpr double kHeavyTailDof = 3.0;

// Everything drawn once per series that shapes its clean usage.
struct SeriesShape {
  UsageProfile profile = UsageProfile::steady;
  NoiseModel noise = NoiseModel::gaussian;
  double level = 1.0;          // mean usage per step at the start
  double price = 1.0;
  double growth = 0.0;         // log-growth per year
  std::array<double, 7> weekly{};
  double year_amplitude = 0.0, year_cos_phase = 1.0, year_sin_phase = 0.0;
  double day_amplitude = 0.0;  // hourly grids only
  double noise_parameter = 0.0;  // cv, dispersion r, or log sigma
  double active_share = 1.0;   // intermittent: share of steps with usage
  double wander = 0.0;         // sd of the log-level wander (0 = none)
};

template <std::size_t N>
std::size_t pick(const std::array<double, N>& weights, Rng& rng) {
  double total = 0.0;
  for (double w : weights) total += w;
  double u = rng.uniform() * total;
  for (std::size_t i = 0; i < N; ++i) {
    if (u < weights[i]) return i;
    u -= weights[i];
  }
  for (std::size_t i = N; i-- > 0;)
    if (weights[i] > 0.0) return i;
  return 0;
}

SeriesShape draw_shape(const Scenario& sc, Rng& rng, std::int64_t steps_per_day) {
  SeriesShape s;
  s.profile = static_cast<UsageProfile>(pick(sc.profile_weights, rng));
  s.level = rng.log_uniform(sc.level.min, sc.level.max) / static_cast<double>(std::max<std::int64_t>(steps_per_day, 1));
  s.price = rng.log_uniform(sc.price.min, sc.price.max);
  s.growth = s.profile == UsageProfile::growing ? rng.uniform(0.2, 1.0) : rng.uniform(-0.05, 0.10);
  if (s.profile == UsageProfile::weekly) {
    for (int d = 0; d < 5; ++d) s.weekly[d] = 1.0 + rng.uniform(-0.05, 0.05);
    s.weekly[5] = rng.uniform(0.1, 0.5);
    s.weekly[6] = s.weekly[5] * rng.uniform(0.7, 1.0);
  } else {
    const double weekend_drop = rng.uniform(0.0, 0.15);
    for (int d = 0; d < 7; ++d) s.weekly[d] = d >= 5 ? 1.0 - weekend_drop : 1.0;
  }
  double week_mean = 0.0;
  for (double w : s.weekly) week_mean += w / 7.0;
  for (double& w : s.weekly) w /= week_mean;
  s.year_amplitude = s.profile == UsageProfile::yearly ? rng.uniform(0.2, 0.6) : rng.uniform(0.0, 0.05);
  const double phase = rng.uniform(0.0, kTwoPi);
  s.year_cos_phase = pmath::cos(phase);
  s.year_sin_phase = pmath::sin(phase);
  s.day_amplitude = steps_per_day > 1 ? rng.uniform(0.2, 0.8) : 0.0;
  s.active_share = s.profile == UsageProfile::intermittent ? rng.uniform(0.1, 0.4) : 1.0;
  if (s.profile == UsageProfile::heavy_tailed) {
    s.noise = NoiseModel::lognormal;  // with Student-t instead of normal innovations, see draw_usage
    s.noise_parameter = rng.uniform(sc.lognormal_sigma.min, sc.lognormal_sigma.max);
    return s;
  }
  s.noise = static_cast<NoiseModel>(pick(sc.noise_weights, rng));
  switch (s.noise) {
    case NoiseModel::gaussian: s.noise_parameter = rng.uniform(sc.gaussian_cv.min, sc.gaussian_cv.max); break;
    case NoiseModel::poisson: break;
    case NoiseModel::negative_binomial: s.noise_parameter = rng.uniform(sc.nb_dispersion.min, sc.nb_dispersion.max); break;
    case NoiseModel::lognormal: s.noise_parameter = rng.uniform(sc.lognormal_sigma.min, sc.lognormal_sigma.max); break;
  }
  return s;
}

// Standard deviation of one active draw around mean m (before zero-inflation).
double active_sd(const SeriesShape& s, double m) {
  switch (s.noise) {
    case NoiseModel::gaussian: return s.noise_parameter * m;  // relative to the mean: real noise grows with the level
    case NoiseModel::poisson: return std::sqrt(std::max(m, 1.0));
    case NoiseModel::negative_binomial: return std::sqrt(std::max(m + m * m / s.noise_parameter, 1.0));
    case NoiseModel::lognormal:
      return s.profile == UsageProfile::heavy_tailed ? m * s.noise_parameter * kT3RobustScale
                                                     : m * std::sqrt(pmath::expm1(s.noise_parameter * s.noise_parameter));
  }
  return 0.0;
}

// The noise scale ("sigma") at mean m: injection sizes are multiples of it, so a 5-sigma spike is equally
// visible on every series. For intermittent usage it is the spread of the zero-inflated draw.
double noise_scale(const SeriesShape& s, double m) {
  if (s.active_share >= 1.0) return std::max(active_sd(s, m), 1e-12);
  const double p = s.active_share;
  const double ma = m / p;
  const double sd = active_sd(s, ma);
  return std::max(std::sqrt(std::max(p * (sd * sd + ma * ma) - m * m, 0.0)), 1e-12);
}

double draw_active(const SeriesShape& s, double m, Rng& rng) {
  switch (s.noise) {
    case NoiseModel::gaussian: return std::max(0.0, m + s.noise_parameter * m * rng.normal());
    case NoiseModel::poisson: return static_cast<double>(rng.poisson(m));
    case NoiseModel::negative_binomial:
      return m <= 0.0 ? 0.0 : static_cast<double>(rng.poisson(rng.gamma(s.noise_parameter) * m / s.noise_parameter));
    case NoiseModel::lognormal: {
      const double sigma = s.noise_parameter;
      if (s.profile == UsageProfile::heavy_tailed)  // median m, Student-t tails, clipped at 20 scale units
        return m * pmath::exp(sigma * std::clamp(rng.student_t(kHeavyTailDof), -20.0, 20.0));
      return m * pmath::exp(sigma * rng.normal() - 0.5 * sigma * sigma);
    }
  }
  return m;
}

double draw_usage(const SeriesShape& s, double m, Rng& rng) {
  if (s.active_share >= 1.0) return draw_active(s, m, rng);
  // Intermittent overage: usage on a share p of steps, at m / p so the mean stays m.
  const bool active = rng.uniform() < s.active_share;
  const double value = draw_active(s, m / s.active_share, rng);
  return active ? value : 0.0;
}

// Customers hold four meters each: series index -> (customer, meter) is a bijection.
struct CustomerId {
  char text[24];
  std::size_t size;
};
CustomerId customer_of(std::uint64_t index) {
  CustomerId id{};
  id.size = fmt::format_to_n(id.text, sizeof(id.text), "cust-{:08d}", index / 4).size;
  return id;
}

// The clean mean usage per step: level, growth, weekly, yearly and daily patterns.
void fill_clean_mean(const SeriesShape& shape, const GridCalendar& cal, std::vector<double>& clean_mean) {
  // exp(growth x years) as a running product: one exp per series instead of one per step.
  const double growth_per_step = pmath::exp(shape.growth * cal.years_per_step);
  double growth = 1.0;
  for (std::size_t t = 0; t < clean_mean.size(); ++t, growth *= growth_per_step) {
    double m = shape.level * growth * shape.weekly[cal.day_of_week[t]] *
               (1.0 + shape.year_amplitude * (cal.year_sin[t] * shape.year_cos_phase + cal.year_cos[t] * shape.year_sin_phase));
    if (shape.day_amplitude > 0.0) m *= 1.0 + shape.day_amplitude * cal.hour_cos[t];
    clean_mean[t] = m;
  }
}

// Real usage wanders around its pattern (weather, workload): the clean mean times exp(w - sd^2 / 2), w a stationary
// AR(1) of sd `sd` with lag-1 correlation `persistence`, so that residuals are autocorrelated and the mean is kept.
void add_wander(double sd, double persistence, Rng& rng, std::vector<double>& clean_mean) {
  const double innovation = sd * std::sqrt(1.0 - persistence * persistence);
  const double mean_correction = 0.5 * sd * sd;
  double w = sd * rng.normal();
  for (double& m : clean_mean) {
    m *= pmath::exp(w - mean_correction);
    w = persistence * w + innovation * rng.normal();
  }
}

// Structural injections change the mean, in time order; each one's deviation is measured as applied.
void apply_mean_changes(const SeriesShape& shape, const GridCalendar& cal, GeneratorWorkspace& ws, std::span<EventRecord> events) {
  std::copy(ws.clean_mean.begin(), ws.clean_mean.end(), ws.mean.begin());
  for (std::size_t e = 0; e < events.size(); ++e) {
    const PlannedInjection& p = ws.planned[e];
    if (!is_structural(p.kind)) continue;
    EventRecord& ev = events[e];
    const double sigma = noise_scale(shape, ws.clean_mean[static_cast<std::size_t>(p.start)]);
    record_size(ev, apply_structural(p, ev.effect_end, p.size * sigma, cal, ws.mean), sigma, shape.price);
  }
}

// Billing faults act on what the meter reported; gaps remove it (and, not being anomalies, have no size).
void apply_billing_faults(const SeriesShape& shape, const Scenario& scenario, GeneratorWorkspace& ws, std::span<EventRecord> events) {
  for (std::size_t e = 0; e < events.size(); ++e) {
    EventRecord& ev = events[e];
    const PlannedInjection& p = ws.planned[e];
    if (is_structural(p.kind)) continue;
    const double sigma = noise_scale(shape, ws.clean_mean[static_cast<std::size_t>(p.start)]);
    const double stuck_value = ws.observed[static_cast<std::size_t>(std::max<std::int64_t>(p.start - 1, 0))];
    record_size(ev, apply_billing_fault(p, unit_factor_of(scenario, p), stuck_value, ws.observed), sigma, shape.price);
  }
}

}  // namespace

SeriesGenerator::SeriesGenerator(const Scenario& scenario, std::uint64_t seed) : scenario_(scenario), seed_(seed) {
  const TimeGrid& g = scenario_.grid;
  g.validate();
  guard_ = meterbench::guard_steps(g);
  span_years_ = g.span_days() / 365.25;
  calendar_ = make_grid_calendar(g);
  first_event_step_ = std::min(g.steps, scenario_.warmup_days.value_or(0) * g.steps_per_day());
  wander_persistence_ = pmath::exp(-static_cast<double>(g.step_seconds) / (scenario_.wander_days * kSecondsPerDay));
}

GeneratedSeriesStats SeriesGenerator::generate(std::int64_t series_index, GeneratorWorkspace& ws, std::span<float> values,
                                               std::span<std::uint8_t> labels, SeriesRecord& record,
                                               std::vector<EventRecord>& events) const {
  const TimeGrid& g = scenario_.grid;
  const std::int64_t T = g.steps;
  const auto n = static_cast<std::size_t>(T);
  METERBENCH_CHECK(values.size() == n && (labels.empty() || labels.size() == n));
  const auto index = static_cast<std::uint64_t>(series_index);
  GeneratedSeriesStats stats;

  // 1. The series' shape and its clean mean usage per step.
  Rng shape_rng(stream_key(seed_, index, kShapeStream));
  SeriesShape shape = draw_shape(scenario_, shape_rng, g.steps_per_day());
  if (scenario_.wander.max > 0.0) shape.wander = shape_rng.uniform(scenario_.wander.min, scenario_.wander.max);
  static constexpr std::array<std::string_view, 4> kMeters = {"compute-hours", "storage-gb-month", "api-calls-1k", "egress-gb"};
  const CustomerId customer = customer_of(index);
  record.set_ids({customer.text, customer.size}, kMeters[index % kMeters.size()]);
  record.price_per_unit = shape.price;
  record.noise_scale = noise_scale(shape, shape.level);
  record.profile = static_cast<std::uint8_t>(shape.profile);
  ws.clean_mean.resize(n);
  ws.mean.resize(n);
  ws.observed.resize(n);
  fill_clean_mean(shape, calendar_, ws.clean_mean);
  if (shape.wander > 0.0) {
    Rng wander_rng(stream_key(seed_, index, kWanderStream));
    add_wander(shape.wander, wander_persistence_, wander_rng, ws.clean_mean);
  }

  // 2. The injections' places, and their events in time order.
  Rng event_rng(stream_key(seed_, index, kEventStream));
  ws.taken.assign(n, 0);
  const PlacementWindow window{.steps = T, .first = first_event_step_, .last = T - 1, .span_years = span_years_, .guard = guard_};
  stats.unplaced_injections = place_injections(scenario_, window, event_rng, ws.taken, ws.planned);
  const std::size_t first_event = events.size();
  append_planned_events(ws.planned, index, T - 1, events);
  const std::span<EventRecord> series_events(events.data() + first_event, events.size() - first_event);

  // 3. Structural injections on the mean, 4. noise around it, 5. billing faults on what was reported.
  apply_mean_changes(shape, calendar_, ws, series_events);
  Rng noise_rng(stream_key(seed_, index, kNoiseStream));
  for (std::size_t t = 0; t < n; ++t) ws.observed[t] = draw_usage(shape, ws.mean[t], noise_rng);
  apply_billing_faults(shape, scenario_, ws, series_events);

  // 6. Values and labels.
  for (std::size_t t = 0; t < n; ++t) values[t] = static_cast<float>(ws.observed[t]);
  if (!labels.empty()) {
    std::fill(labels.begin(), labels.end(), std::uint8_t{0});
    for (const EventRecord& ev : series_events) std::fill(labels.begin() + ev.start, labels.begin() + ev.end + 1, ev.kind);
  }
  return stats;
}

}  // namespace meterbench
