// `seasonal-mad`: a robust z-score against the same phase of the week.
//
// Reference of step t: the observed values at t - period, t - 2 period, ... inside the fit window (the same
// weekday on daily grids, the same hour of week on hourly grids), nearest first, until `weeks` values are
// collected; gap steps are skipped, so it is the last `weeks` *reported* same-phase values. When the fit
// window holds fewer than `weeks` of them before t (the first weeks of a retrospective window), the
// reference is completed with the nearest same-phase values after t, so every step of a retrospective
// window gets a full-size reference. The step's own value is never part of its reference, and in the
// forward schedule (t after the fit window) nothing after the fit window is used.
//
// expected = median of the reference; scale = max(1.4826 MAD of the reference, floor); band = expected
// +/- z scale; score = |y - expected| / scale (NaN at gap steps). The floor is `scale_floor` times the
// median of the non-zero absolute deviations of the fit window's observed values from their median: it is
// positive whenever the series is not constant (unlike a MAD, which is 0 for a mostly-zero series), so a
// perfectly regular series (every weekday repeating exactly, MAD 0) gets finite scores, a departure of one
// series-typical deviation scores at most 1 / scale_floor, and one huge outlier cannot inflate it.
// A step whose reference has fewer than `min_history` observed values (only with long gaps) gets NaN
// expected, bounds and score.
//
// Calibration: with so few reference values the score is heavy-tailed (a ratio of a deviation to a
// small-sample MAD). On Gaussian noise, the share of steps above 3 / 4 / 5 is 7% / 3.3% / 1.7% with
// weeks = 8 and 4% / 1.4% / 0.6% with the default weeks = 12 (simulated, daily and hourly alike); this is
// the method as the reference service describes it, so it is left uncorrected: sweep z rather than trust
// its nominal value. The shipped z = 4.75 and scale_floor = 0.3 come from such a sweep (tools/defaults_study.py,
// results/README.md "Shipped defaults"): the floor is what keeps intermittent and heavy-tailed series quiet.
//
// Status: all_missing (no observed value in the fit window: NaN outputs); too_short (fit window shorter
// than min_history + 1 weeks) and constant (every observed value equal, including all zero) write the level
// fallback of baseline_common.hpp, as gam does: median and floored MAD of the whole fit window (constant:
// band of width 0, score 0 at the value and +inf elsewhere).
#include "meterbench/model/seasonal_mad.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"
#include "meterbench/model/baseline_common.hpp"
#include "meterbench/model/robust_stats.hpp"

namespace meterbench {

namespace {

constexpr std::string_view kName = "seasonal-mad";

class SeasonalMadWorkspace final : public DetectorWorkspace {
 public:
  SeasonalMadWorkspace(std::int64_t steps, std::int64_t weeks)
      : sorted(static_cast<std::size_t>(weeks) + 1),
        ring(static_cast<std::size_t>(weeks)),
        merged(static_cast<std::size_t>(weeks) + 1),
        early(static_cast<std::size_t>(weeks) + 2),
        fit_values(static_cast<std::size_t>(std::max<std::int64_t>(steps, 1))) {}
  std::vector<double> sorted;  ///< the past reference of the current step, ascending
  std::vector<double> ring;    ///< the same values in arrival order
  std::vector<double> merged;  ///< past reference completed with later values
  std::vector<double> early;   ///< the first weeks + 1 observed values of the current phase, ascending
  std::vector<double> fit_values;
};

class SeasonalMadDetector final : public Detector {
 public:
  SeasonalMadDetector(const BoundParameters<SeasonalMadConfig>& parameters, const TimeGrid& grid)
      : Detector(parameters.flag_threshold),
        config_(parameters.config),
        effective_(parameters.effective),
        steps_(grid.steps),
        period_(baseline::week_period_steps(kName, grid)) {}

  [[nodiscard]] std::string_view name() const override { return kName; }
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> parameters() const override { return effective_; }
  [[nodiscard]] std::unique_ptr<DetectorWorkspace> make_workspace() const override {
    return std::make_unique<SeasonalMadWorkspace>(steps_, config_.weeks);
  }

  FitStatus detect(const SeriesInput& series, const DetectionWindow& window, DetectorWorkspace& workspace,
                   const DetectionOutput& out) const override {
    auto* ws = baseline::checked_workspace<SeasonalMadWorkspace>(series, window, out, steps_, workspace);
    const std::span<const float> y = series.values;
    const baseline::FitScreen screen = baseline::screen_fit_window(y, window, 1, (config_.min_history + 1) * period_);
    if (screen.status == FitStatus::all_missing) {
      baseline::write_nan_outputs(window, out);
      return screen.status;
    }
    if (screen.status != FitStatus::ok) {
      baseline::write_level_fallback(y, window, out, config_.z, config_.scale_floor, ws->fit_values);
      return screen.status;
    }

    // The scale floor: scale_floor x the median non-zero absolute deviation of the fit window from its median.
    std::size_t count = 0;
    for (std::int64_t t = window.fit_begin; t < window.fit_end; ++t)
      if (std::isfinite(y[t])) ws->fit_values[count++] = y[t];
    const std::span<double> fit_values(ws->fit_values.data(), count);
    const double center = median_in_place(fit_values);
    const double floor = config_.scale_floor * nonzero_median_abs_deviation(fit_values, center);

    constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
    const std::int64_t fb = window.fit_begin;
    const std::int64_t fe = window.fit_end;
    // Each phase of the week is swept in time order with its past reference as a sliding window: `sorted`
    // holds the last `weeks` observed same-phase values before t (ascending), `ring` the same values in
    // arrival order; moving to t + period adds y[t] (when it is an observed fit step) and drops the oldest.
    double* sorted = ws->sorted.data();
    double* ring = ws->ring.data();
    double* merged = ws->merged.data();
    double* early = ws->early.data();
    std::int64_t size = 0;
    std::int64_t head = 0;
    const auto insert_sorted = [](double* a, std::int64_t n, double v) {
      const std::int64_t i = std::upper_bound(a, a + n, v) - a;
      std::copy_backward(a + i, a + n, a + n + 1);
      a[i] = v;
    };
    const auto push = [&](double v) {
      if (size == config_.weeks) {
        double* const at = std::lower_bound(sorted, sorted + size, ring[head]);
        std::copy(at + 1, sorted + size, at);
        head = head + 1 == config_.weeks ? 0 : head + 1;
        --size;
      }
      const std::int64_t tail = head + size;
      ring[tail >= config_.weeks ? tail - config_.weeks : tail] = v;
      insert_sorted(sorted, size, v);
      ++size;
    };
    const std::int64_t phase_end = std::min(window.score_begin + period_, window.score_end);
    for (std::int64_t first = window.score_begin; first < phase_end; ++first) {
      // The past window of the first step of this phase: nearest observed same-phase fit steps before it.
      size = 0;
      head = 0;
      std::int64_t found = 0;
      std::int64_t p = first - period_;
      if (p >= fe) p -= ((p - fe) / period_ + 1) * period_;
      for (; p >= fb && found < config_.weeks; p -= period_)
        if (std::isfinite(y[p])) merged[found++] = y[p];
      while (found > 0) push(merged[--found]);  // oldest first
      // The first weeks + 1 observed values of this phase in the fit window, ascending, and the last of them.
      std::int64_t early_count = 0;
      double early_last = 0.0;
      for (p = fb + ((first - fb) % period_ + period_) % period_; p < fe && early_count <= config_.weeks; p += period_)
        if (std::isfinite(y[p])) {
          early_last = y[p];
          insert_sorted(early, early_count++, early_last);
        }
      for (std::int64_t t = first; t < window.score_end; t += period_) {
        if (t != first) {
          const std::int64_t q = t - period_;
          if (q >= fb && q < fe && std::isfinite(y[q])) push(y[q]);
        }
        // Too few before t (the first weeks of a retrospective window): complete with the nearest after it.
        // Then the past holds every observed same-phase value before t, so past + completion is simply the
        // first weeks + 1 observed values of the phase without t's own value (or without the (weeks + 1)-th
        // when t is not one of them): a copy of `early` that skips one value.
        const double* reference = sorted;
        std::int64_t n = size;
        if (n < config_.weeks) {
          const bool own = t >= fb && t < fe && std::isfinite(y[t]);
          n = early_count;
          if (own || early_count == config_.weeks + 1) {
            const double skip = own ? static_cast<double>(y[t]) : early_last;
            double* const at = std::lower_bound(early, early + early_count, skip);
            std::copy(early, at, merged);
            std::copy(at + 1, early + early_count, merged + (at - early));
            --n;
            reference = merged;
          } else {
            reference = early;
          }
        }
        if (n < config_.min_history) {
          out.expected[t] = out.lower[t] = out.upper[t] = out.score[t] = kNaN;
          continue;
        }
        double median = 0.0;
        double mad = 0.0;
        sorted_median_mad({reference, static_cast<std::size_t>(n)}, median, mad);
        const double scale = std::max(kMadToSigma * mad, floor);
        out.expected[t] = static_cast<float>(median);
        out.lower[t] = static_cast<float>(median - config_.z * scale);
        out.upper[t] = static_cast<float>(median + config_.z * scale);
        out.score[t] = std::isfinite(y[t]) ? static_cast<float>(std::abs(y[t] - median) / scale) : kNaN;
      }
    }
    return FitStatus::ok;
  }

 private:
  SeasonalMadConfig config_;
  std::vector<std::pair<std::string, std::string>> effective_;
  std::int64_t steps_;
  std::int64_t period_;
};

}  // namespace

const ParameterTable<SeasonalMadConfig>& seasonal_mad_parameter_table() {
  using C = SeasonalMadConfig;
  static const ParameterTable<SeasonalMadConfig> table(
      kName,
      {
          {.name = "weeks", .bind = &C::weeks, .default_value = "12", .min = 1, .max = 260,
           .help = "number of same-weekday (daily) or same-hour-of-week (hourly) values in each step's reference"},
          {.name = "min_history", .bind = &C::min_history, .default_value = "4", .min = 1, .max = 260, .rules = {.at_most = "weeks"},
           .help = "fewest observed reference values for a score; the fit window needs min_history + 1 weeks"},
          {.name = "z", .bind = &C::z, .default_value = "4.75", .min = 0.1, .max = 100, .role = ParameterRole::flag_threshold,
           .help = "band half-width in robust standard deviations: bounds = median +/- z x scale"},
          {.name = "scale_floor", .bind = &C::scale_floor, .default_value = "0.3", .min = 1e-9, .max = 1,
           .help = "lower bound of the scale, as a share of the median non-zero absolute deviation of the series from its median"},
      });
  return table;
}

std::span<const ParameterSpec> seasonal_mad_parameter_specs() { return seasonal_mad_parameter_table().specs(); }

std::unique_ptr<Detector> make_seasonal_mad_detector(std::span<const std::string> settings, const TimeGrid& grid) {
  return std::make_unique<SeasonalMadDetector>(seasonal_mad_parameter_table().bind(settings), grid);
}

}  // namespace meterbench
