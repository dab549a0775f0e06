#include "meterbench/generate/series_generator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"
#include "meterbench/core/portable_math.hpp"
#include "meterbench/core/random.hpp"

namespace meterbench {

namespace {

// Independent random streams per series, so that e.g. changing injection rates leaves the noise unchanged.
enum Stream : std::uint64_t { kShapeStream = 1, kEventStream = 2, kNoiseStream = 3 };

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
    case NoiseModel::gaussian: return s.noise_parameter * s.level;
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
    case NoiseModel::gaussian: return std::max(0.0, m + s.noise_parameter * s.level * rng.normal());
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

bool is_structural(AnomalyKind k) {
  return k == AnomalyKind::spike || k == AnomalyKind::dip || k == AnomalyKind::level_shift || k == AnomalyKind::trend_change ||
         k == AnomalyKind::seasonality_change || k == AnomalyKind::fraud_ramp;
}

}  // namespace

SeriesGenerator::SeriesGenerator(const Scenario& scenario, std::uint64_t seed) : scenario_(scenario), seed_(seed) {
  const TimeGrid& g = scenario_.grid;
  g.validate();
  guard_ = std::max<std::int64_t>(1, 7 * kSecondsPerDay / g.step_seconds);
  span_years_ = g.span_days() / 365.25;
  const auto n = static_cast<std::size_t>(g.steps);
  day_of_week_.resize(n);
  years_per_step_ = static_cast<double>(g.step_seconds) / (365.25 * kSecondsPerDay);
  year_sin_.resize(n);
  year_cos_.resize(n);
  week_sin_.resize(n);
  week_cos_.resize(n);
  hour_cos_.resize(n);
  for (std::int64_t t = 0; t < g.steps; ++t) {
    const auto i = static_cast<std::size_t>(t);
    const CalendarPoint c = calendar_at(g.time_at(t));
    day_of_week_[i] = static_cast<std::uint8_t>(c.day_of_week);
    const double year_phase = kTwoPi * (c.day_of_year + c.hour_of_day / 24.0) / 365.25;
    year_sin_[i] = pmath::sin(year_phase);
    year_cos_[i] = pmath::cos(year_phase);
    const double week_phase = kTwoPi * std::fmod(g.days_at(t), 7.0) / 7.0;
    week_sin_[i] = pmath::sin(week_phase);
    week_cos_[i] = pmath::cos(week_phase);
    hour_cos_[i] = pmath::cos(kTwoPi * (c.hour_of_day - 14.0) / 24.0);  // daily peak at 14:00 UTC
  }
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
  const SeriesShape shape = draw_shape(scenario_, shape_rng, g.steps_per_day());
  static constexpr std::array<std::string_view, 4> kMeters = {"compute-hours", "storage-gb-month", "api-calls-1k", "egress-gb"};
  const CustomerId customer = customer_of(index);
  record.set_ids({customer.text, customer.size}, kMeters[index % kMeters.size()]);
  record.price_per_unit = shape.price;
  record.noise_scale = noise_scale(shape, shape.level);
  record.profile = static_cast<std::uint8_t>(shape.profile);

  ws.clean_mean.resize(n);
  ws.mean.resize(n);
  ws.observed.resize(n);
  // exp(growth x years) as a running product: one exp per series instead of one per step.
  const double growth_per_step = pmath::exp(shape.growth * years_per_step_);
  double growth = 1.0;
  for (std::size_t t = 0; t < n; ++t, growth *= growth_per_step) {
    double m = shape.level * growth * shape.weekly[day_of_week_[t]] *
               (1.0 + shape.year_amplitude * (year_sin_[t] * shape.year_cos_phase + year_cos_[t] * shape.year_sin_phase));
    if (shape.day_amplitude > 0.0) m *= 1.0 + shape.day_amplitude * hour_cos_[t];
    ws.clean_mean[t] = m;
  }

  // 2. Place the injections apart from each other (with a guard band), in a fixed order of kinds.
  Rng event_rng(stream_key(seed_, index, kEventStream));
  ws.planned.clear();
  ws.taken.assign(n, 0);
  for (std::size_t k = 1; k < kAnomalyKindCount; ++k) {
    const InjectionSpec& spec = scenario_.injections[k];
    if (spec.rate <= 0.0) continue;
    const std::int64_t count = event_rng.poisson(spec.rate * span_years_);
    for (std::int64_t j = 0; j < count; ++j) {
      PlannedInjection p;
      p.kind = static_cast<AnomalyKind>(k);
      const std::int64_t length =
          std::min(T, event_rng.integer(static_cast<std::int64_t>(spec.length.min), static_cast<std::int64_t>(spec.length.max)));
      p.size = event_rng.uniform(spec.size.min, spec.size.max);
      p.sign = event_rng.bernoulli(0.5) ? 1.0 : -1.0;
      p.phase = event_rng.uniform(0.0, kTwoPi);
      bool placed = false;
      for (int attempt = 0; attempt < 32 && !placed; ++attempt) {
        const std::int64_t start = event_rng.integer(0, T - length);
        const std::int64_t lo = std::max<std::int64_t>(0, start - guard_);
        const std::int64_t hi = std::min(T - 1, start + length - 1 + guard_);
        placed = std::none_of(ws.taken.begin() + lo, ws.taken.begin() + hi + 1, [](std::uint8_t v) { return v != 0; });
        if (placed) {
          std::fill(ws.taken.begin() + start, ws.taken.begin() + start + length, std::uint8_t{1});
          p.start = start;
          p.end = start + length - 1;
          ws.planned.push_back(p);
        }
      }
      if (!placed) ++stats.unplaced_injections;
    }
  }
  std::sort(ws.planned.begin(), ws.planned.end(), [](const auto& a, const auto& b) { return a.start < b.start; });

  // 3. Structural injections change the mean, in time order; each one's deviation is measured as applied.
  std::copy(ws.clean_mean.begin(), ws.clean_mean.end(), ws.mean.begin());
  const std::size_t first_event = events.size();
  for (const PlannedInjection& p : ws.planned) {
    EventRecord ev;
    ev.series = index;
    ev.kind = static_cast<std::uint8_t>(p.kind);
    ev.start = p.start;
    ev.end = p.end;
    ev.effect_end = is_persistent(p.kind) ? T - 1 : p.end;
    events.push_back(ev);
    if (!is_structural(p.kind)) continue;
    const double sigma = noise_scale(shape, ws.clean_mean[static_cast<std::size_t>(p.start)]);
    const double amount = p.size * sigma;
    const double length = static_cast<double>(p.end - p.start + 1);
    double peak = 0.0, total = 0.0;
    for (std::int64_t t = p.start; t <= ev.effect_end; ++t) {
      const auto i = static_cast<std::size_t>(t);
      const double ramp = std::min(1.0, static_cast<double>(t - p.start + 1) / length);
      double delta = 0.0;
      switch (p.kind) {
        case AnomalyKind::spike: delta = amount; break;
        case AnomalyKind::dip: delta = -amount; break;
        case AnomalyKind::level_shift: delta = p.sign * amount; break;
        case AnomalyKind::trend_change: delta = p.sign * amount * static_cast<double>(t - p.start + 1) / length; break;
        case AnomalyKind::seasonality_change:
          delta = amount * (week_sin_[i] * pmath::cos(p.phase) + week_cos_[i] * pmath::sin(p.phase));
          break;
        case AnomalyKind::fraud_ramp: delta = amount * ramp; break;
        default: break;
      }
      const double before = ws.mean[i];
      ws.mean[i] = std::max(0.0, before + delta);
      if (t <= p.end) {
        const double moved = std::fabs(ws.mean[i] - before);
        peak = std::max(peak, moved);
        total += moved;
      }
    }
    EventRecord& out = events.back();
    out.size_units = peak;
    out.size_sigma = peak / sigma;
    out.impact_usd = total * shape.price;
  }

  // 4. Noise around the (injected) mean.
  Rng noise_rng(stream_key(seed_, index, kNoiseStream));
  for (std::size_t t = 0; t < n; ++t) ws.observed[t] = draw_usage(shape, ws.mean[t], noise_rng);

  // 5. Billing faults act on what the meter reported; gaps remove it.
  for (std::size_t e = first_event; e < events.size(); ++e) {
    EventRecord& ev = events[e];
    const PlannedInjection& p = ws.planned[e - first_event];
    if (is_structural(p.kind)) continue;
    const double sigma = noise_scale(shape, ws.clean_mean[static_cast<std::size_t>(p.start)]);
    const double stuck_value = ws.observed[static_cast<std::size_t>(std::max<std::int64_t>(p.start - 1, 0))];
    const double unit_factor = p.sign > 0.0 ? scenario_.injections[ev.kind].factor : 1.0 / scenario_.injections[ev.kind].factor;
    double peak = 0.0, total = 0.0;
    for (std::int64_t t = p.start; t <= p.end; ++t) {
      double& y = ws.observed[static_cast<std::size_t>(t)];
      double faulty = y;
      switch (p.kind) {
        case AnomalyKind::unit_error: faulty = y * unit_factor; break;
        case AnomalyKind::double_counting: faulty = 2.0 * y; break;
        case AnomalyKind::dropped_reporting: faulty = 0.0; break;
        case AnomalyKind::stuck_meter: faulty = stuck_value; break;
        case AnomalyKind::gap: faulty = std::numeric_limits<double>::quiet_NaN(); break;
        default: break;
      }
      if (p.kind != AnomalyKind::gap) {
        peak = std::max(peak, std::fabs(faulty - y));
        total += std::fabs(faulty - y);
      }
      y = faulty;
    }
    ev.size_units = peak;
    ev.size_sigma = peak / sigma;
    ev.impact_usd = total * shape.price;
  }

  // 6. Values and labels.
  for (std::size_t t = 0; t < n; ++t) values[t] = static_cast<float>(ws.observed[t]);
  if (!labels.empty()) {
    std::fill(labels.begin(), labels.end(), std::uint8_t{0});
    for (std::size_t e = first_event; e < events.size(); ++e)
      std::fill(labels.begin() + events[e].start, labels.begin() + events[e].end + 1, events[e].kind);
  }
  return stats;
}

}  // namespace meterbench
