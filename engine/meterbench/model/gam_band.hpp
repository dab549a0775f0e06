#pragma once
// The band and score of the `gam` detector at one step (gam_detector.hpp, "Band"): the one writer of the
// retrospective and forward fits (GamDetector::detect) and of the rolling schedule (gam_rolling.cpp).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "meterbench/core/portable_math.hpp"
#include "meterbench/core/portable_math_lanes.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/gam_kernels.hpp"

namespace meterbench {

/// The fitted space of one series: u = y, or u = log1p(max(y, 0) / unit) (transform log1p: unit 1).
struct GamSpace {
  bool log = false;
  double unit = 1.0;
  [[nodiscard]] double to_fitted(float value) const {
    const double v = value;
    return log ? pmath::log1p(std::max(v, 0.0) / unit) : v;
  }
};

/// The band scale's factor per weekday (Monday = 0) of the steps of a grid.
struct GamWeekdayScale {
  std::array<double, 7> factor{1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
  /// visit(i, weekday) for the steps first_step + i, i < count, without a division per step (a day of sub-daily
  /// steps is consecutive).
  template <typename Visit>
  static void each_step(const TimeGrid& grid, std::int64_t first_step, std::int64_t count, Visit&& visit) {
    const std::int64_t per_day = grid.step_seconds <= kSecondsPerDay ? kSecondsPerDay / grid.step_seconds : 1;
    int day = weekday(grid, first_step);
    std::int64_t in_day =
        ((grid.start_unix_seconds + first_step * grid.step_seconds) % kSecondsPerDay + kSecondsPerDay) % kSecondsPerDay / grid.step_seconds;
    for (std::int64_t i = 0; i < count; ++i) {
      visit(i, static_cast<std::size_t>(day));
      if (++in_day >= per_day) {
        in_day = 0;
        day = day == 6 ? 0 : day + 1;
      }
    }
  }
  [[nodiscard]] static int weekday(const TimeGrid& grid, std::int64_t step) {
    const std::int64_t t = grid.start_unix_seconds + step * grid.step_seconds;
    std::int64_t day = t / kSecondsPerDay;
    if (t % kSecondsPerDay < 0) --day;
    return static_cast<int>(((day + 3) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  }
};

/// One step of the band of a log-space fit, the one formula of GamBandWriter and of the array kernel
/// gam_log_band (gam_kernels.hpp), written without a branch so that the kernel vectorises: mu = max(fit,
/// least), e = exp(mu); expected c (e - 1), lower c (e down - 1), upper c (e up - 1), each at least 0 (down =
/// exp(-z scale_down), up = exp(z scale_up): one exp per step instead of three); score |fitted - mu| x inv_up at
/// or above mu, x inv_down below it (inv = 1 / that side's scale, +inf at scale 0: a multiplication per step
/// instead of a division; NaN where the value is; 0 where fitted = mu).
[[gnu::always_inline]] inline void gam_log_band_step(double mu, double fitted, float value, double inv_up, double inv_down,
                                                     double down, double up, double unit, double least,
                                                     float& expected, float& lower, float& upper, float& score) {
  mu = std::max(mu, least);
  const double e = pmath::lanes::exp(mu);
  expected = static_cast<float>(std::max(0.0, unit * (e - 1.0)));
  lower = static_cast<float>(std::max(0.0, unit * (e * down - 1.0)));
  upper = static_cast<float>(std::max(0.0, unit * (e * up - 1.0)));
  const double dev = std::abs(fitted - mu);
  const double inv_scale = fitted >= mu ? inv_up : inv_down;
  const auto sc = static_cast<float>(dev == 0.0 ? 0.0 : dev * inv_scale);  // 0 x inf would be NaN
  score = value != value ? std::numeric_limits<float>::quiet_NaN() : sc;
}

class GamBandWriter {
 public:
  /// `scale` is the band scale (times `weekdays`' factor of the step's weekday when given), `least` the lowest
  /// expected value (0 on a non-negative history, else -inf); with a log space the band is mapped back by
  /// unit x expm1. The band's upper side is `up` x that scale wide, its lower side `down` x (tail_scale; 1 and 1
  /// otherwise), and a value scores against the scale of its side.
  GamBandWriter(const DetectionOutput& out, double z, double scale, double least, const GamSpace& space,
                const TimeGrid& grid, const GamWeekdayScale* weekdays, double up = 1.0, double down = 1.0)
      : out_(out), z_(z), least_(least), up_(up), down_(down), ratio_(up / down), space_(space), grid_(grid),
        weekdays_(weekdays) {
    for (std::size_t d = 0; d < (weekdays != nullptr ? 7U : 1U); ++d) {
      scale_[d] = scale * (weekdays != nullptr ? weekdays->factor[d] : 1.0);
      const double scale_up = scale_[d] * up, scale_down = scale_[d] * down;
      inv_up_[d] = scale_up > 0.0 ? 1.0 / scale_up : std::numeric_limits<double>::infinity();
      inv_down_[d] = inv_up_[d] * ratio_;  // as the array kernel forms it
      band_down_[d] = space.log ? pmath::lanes::exp(-z * scale_down) : 0.0;  // branch-free: pmath::exp's bits, cheaper
      band_up_[d] = space.log ? pmath::lanes::exp(z * scale_up) : 0.0;
    }
  }

  /// Step k: expected max(mu, least) (mu: the fit, in the fitted space), the band around it and the score
  /// |fitted(value) - expected| / scale (NaN where the value is; 0 or +inf at scale 0).
  void write(std::size_t k, double mu, float value) const { write(k, mu, value, std::isnan(value) ? 0.0 : space_.to_fitted(value)); }

  /// The same with the value already in the fitted space (`fitted`; unused where the value is NaN): the fit has it.
  void write(std::size_t k, double mu, float value, double fitted) const {
    const std::size_t d = weekdays_ != nullptr ? static_cast<std::size_t>(GamWeekdayScale::weekday(grid_, static_cast<std::int64_t>(k))) : 0;
    if (space_.log) {
      gam_log_band_step(mu, fitted, value, inv_up_[d], inv_down_[d], band_down_[d], band_up_[d], space_.unit, least_,
                        out_.expected[k], out_.lower[k], out_.upper[k], out_.score[k]);
      return;
    }
    write_plain(k, mu, value, fitted, scale_[d]);
  }

  /// The band scale of step k: the series' scale times its weekday's factor (before the sides' factors).
  [[nodiscard]] double step_scale(std::size_t k) const {
    return scale_[weekdays_ != nullptr ? static_cast<std::size_t>(GamWeekdayScale::weekday(grid_, static_cast<std::int64_t>(k))) : 0];
  }

  /// write() with a band scale of the step's own (local_scale): the same formulas at `scale`.
  void write_at_scale(std::size_t k, double mu, float value, double fitted, double scale) const {
    if (space_.log) {
      double inv_up = 0.0, inv_down = 0.0, down = 0.0, up = 0.0;
      log_factors(scale, inv_up, inv_down, down, up);
      gam_log_band_step(mu, fitted, value, inv_up, inv_down, down, up, space_.unit, least_, out_.expected[k], out_.lower[k],
                        out_.upper[k], out_.score[k]);
      return;
    }
    write_plain(k, mu, value, fitted, scale);
  }

  /// Steps [k, k + count) inside the fit window of a log-space fit, by the array kernel: mu = offset + yhat[i],
  /// fitted = offset + y[i]. `scratch` holds 3 count doubles (each step's inverse scale above and band factors).
  void write_log_run(std::size_t k, std::int64_t count, const float* yhat, const double* y, double offset,
                     const float* values, std::span<double> scratch) const {
    double* inv_up = scratch.data();
    double* down = inv_up + count;
    double* up = down + count;
    const auto fill = [&](std::int64_t i, std::size_t d) {
      inv_up[i] = inv_up_[d];
      down[i] = band_down_[d];
      up[i] = band_up_[d];
    };
    // The steps' factors repeat every week (each_step is a counter of steps in the day and days in the week): the
    // first week is written step by step and copied forward, doubling, which is a few block copies instead of a
    // weekday computed per step.
    const std::int64_t per_day = grid_.step_seconds <= kSecondsPerDay ? kSecondsPerDay / grid_.step_seconds : 1;
    const std::int64_t head = std::min(count, weekdays_ != nullptr ? 7 * per_day : 1);
    if (weekdays_ != nullptr) GamWeekdayScale::each_step(grid_, static_cast<std::int64_t>(k), head, fill);
    else fill(0, 0);
    for (std::int64_t done = head; done < count;) {
      const std::int64_t copy = std::min(done, count - done);
      for (double* a : {inv_up, down, up}) std::copy_n(a, copy, a + done);
      done += copy;
    }
    gam_log_band(yhat, y, offset, values + k, inv_up, ratio_, down, up, count, space_.unit, least_,
                 out_.expected.data() + k, out_.lower.data() + k, out_.upper.data() + k, out_.score.data() + k);
  }

  /// write_log_run with each step's scale times factor[i] (local_scale): the bits of write_at_scale, by the array kernel.
  /// `scratch` holds 3 count doubles.
  void write_log_run_scaled(std::size_t k, std::int64_t count, const float* yhat, const double* y, double offset,
                            const float* values, const double* factor, std::span<double> scratch) const {
    double* inv_up = scratch.data();
    double* down = inv_up + count;
    double* up = down + count;
    GamWeekdayScale::each_step(grid_, static_cast<std::int64_t>(k), count, [&](std::int64_t i, std::size_t d) {
      double inv_down = 0.0;
      log_factors(scale_[weekdays_ != nullptr ? d : 0] * factor[i], inv_up[i], inv_down, down[i], up[i]);
    });
    gam_log_band(yhat, y, offset, values + k, inv_up, ratio_, down, up, count, space_.unit, least_,
                 out_.expected.data() + k, out_.lower.data() + k, out_.upper.data() + k, out_.score.data() + k);
  }

  /// Step k of a series without a fit (all_missing): NaN everywhere.
  void write_missing(std::size_t k) const {
    out_.expected[k] = out_.lower[k] = out_.upper[k] = out_.score[k] = kNaN;
  }

 private:
  // The log band's factors at a step of band scale `scale` (before the sides' factors). Symmetric, one exp: the
  // lower factor is the upper's inverse, as before the sides had factors.
  void log_factors(double scale, double& inv_up, double& inv_down, double& down, double& up) const {
    const double scale_up = scale * up_, scale_down = scale * down_;
    inv_up = scale_up > 0.0 ? 1.0 / scale_up : std::numeric_limits<double>::infinity();
    inv_down = inv_up * ratio_;
    up = pmath::exp(z_ * scale_up);
    down = up_ == down_ ? 1.0 / up : pmath::exp(-z_ * scale_down);
  }

  void write_plain(std::size_t k, double mu, float value, double fitted, double scale) const {
    mu = std::max(mu, least_);
    const double scale_up = scale * up_, scale_down = scale * down_;
    out_.expected[k] = static_cast<float>(mu);
    out_.lower[k] = static_cast<float>(std::max(mu - z_ * scale_down, least_));
    out_.upper[k] = static_cast<float>(mu + z_ * scale_up);
    if (std::isnan(value)) {
      out_.score[k] = kNaN;
    } else {
      const double dev = std::abs(fitted - mu), side = fitted >= mu ? scale_up : scale_down;
      out_.score[k] = static_cast<float>(side > 0.0 ? dev / side : (dev == 0.0 ? 0.0 : std::numeric_limits<double>::infinity()));
    }
  }

  static constexpr auto kNaN = static_cast<float>(std::numeric_limits<double>::quiet_NaN());
  DetectionOutput out_;
  double z_, least_, up_, down_, ratio_;  // ratio_: inverse scale below over above
  GamSpace space_;
  const TimeGrid& grid_;
  const GamWeekdayScale* weekdays_;
  std::array<double, 7> scale_{}, inv_up_{}, inv_down_{}, band_down_{}, band_up_{};
};

}  // namespace meterbench
