#pragma once
// The band and score of the `gam` detector at one step (gam_detector.hpp, "Band"): the one writer of the
// retrospective and forward fits (GamDetector::detect) and of the rolling schedule (gam_rolling.cpp).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "meterbench/core/portable_math.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"

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
  [[nodiscard]] static int weekday(const TimeGrid& grid, std::int64_t step) {
    const std::int64_t t = grid.start_unix_seconds + step * grid.step_seconds;
    std::int64_t day = t / kSecondsPerDay;
    if (t % kSecondsPerDay < 0) --day;
    return static_cast<int>(((day + 3) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  }
};

class GamBandWriter {
 public:
  /// `scale` is the band scale (times `weekdays`' factor of the step's weekday when given), `least` the lowest
  /// expected value (0 on a non-negative history, else -inf); with a log space the band is mapped back by
  /// unit x expm1.
  GamBandWriter(const DetectionOutput& out, double z, double scale, double least, const GamSpace& space,
                const TimeGrid& grid, const GamWeekdayScale* weekdays)
      : out_(out), z_(z), least_(least), space_(space), grid_(grid), weekdays_(weekdays) {
    for (std::size_t d = 0; d < (weekdays != nullptr ? 7U : 1U); ++d) {
      scale_[d] = scale * (weekdays != nullptr ? weekdays->factor[d] : 1.0);
      band_down_[d] = space.log ? pmath::exp(-z * scale_[d]) : 0.0;
      band_up_[d] = space.log ? pmath::exp(z * scale_[d]) : 0.0;
    }
  }

  /// Step k: expected max(mu, least) (mu: the fit, in the fitted space), the band around it and the score
  /// |fitted(value) - expected| / scale (NaN where the value is; 0 or +inf at scale 0).
  void write(std::size_t k, double mu, float value) const { write(k, mu, value, std::isnan(value) ? 0.0 : space_.to_fitted(value)); }

  /// The same with the value already in the fitted space (`fitted`; unused where the value is NaN): the fit has it.
  void write(std::size_t k, double mu, float value, double fitted) const {
    const std::size_t d = weekdays_ != nullptr ? static_cast<std::size_t>(GamWeekdayScale::weekday(grid_, static_cast<std::int64_t>(k))) : 0;
    const double scale = scale_[d];
    mu = std::max(mu, least_);
    double expected = mu, lower = std::max(mu - z_ * scale, least_), upper = mu + z_ * scale;
    if (space_.log) {
      // expm1(mu -+ z s) = (1 + expm1(mu)) exp(-+z s) - 1: one expm1 per step instead of three.
      const double e = pmath::expm1(mu);
      const double c = space_.unit;
      expected = std::max(0.0, c * e);
      lower = std::max(0.0, c * ((1.0 + e) * band_down_[d] - 1.0));
      upper = std::max(0.0, c * ((1.0 + e) * band_up_[d] - 1.0));
    }
    out_.expected[k] = static_cast<float>(expected);
    out_.lower[k] = static_cast<float>(lower);
    out_.upper[k] = static_cast<float>(upper);
    if (std::isnan(value)) {
      out_.score[k] = kNaN;
    } else {
      const double dev = std::abs(fitted - mu);
      out_.score[k] = static_cast<float>(scale > 0.0 ? dev / scale : (dev == 0.0 ? 0.0 : std::numeric_limits<double>::infinity()));
    }
  }

  /// Step k of a series without a fit (all_missing): NaN everywhere.
  void write_missing(std::size_t k) const {
    out_.expected[k] = out_.lower[k] = out_.upper[k] = out_.score[k] = kNaN;
  }

 private:
  static constexpr auto kNaN = static_cast<float>(std::numeric_limits<double>::quiet_NaN());
  DetectionOutput out_;
  double z_, least_;
  GamSpace space_;
  const TimeGrid& grid_;
  const GamWeekdayScale* weekdays_;
  std::array<double, 7> scale_{}, band_down_{}, band_up_{};
};

}  // namespace meterbench
