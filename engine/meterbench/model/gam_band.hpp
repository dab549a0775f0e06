#pragma once
// The band and score of the `gam` detector at one step (gam_detector.hpp, "Band"): the one writer of the
// retrospective and forward fits (GamDetector::detect) and of the rolling schedule (gam_rolling.cpp).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "meterbench/core/portable_math.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench {

class GamBandWriter {
 public:
  /// `scale` is the band scale, `least` the lowest expected value (0 on a non-negative history, else -inf);
  /// with `log1p` the band is mapped back from the transformed space by expm1.
  GamBandWriter(const DetectionOutput& out, double z, double scale, double least, bool log1p)
      : out_(out), z_(z), scale_(scale), least_(least), log1p_(log1p),
        band_down_(pmath::exp(-z * scale)), band_up_(pmath::exp(z * scale)) {}

  /// Step k: expected max(mu, least) (mu: the fit, in the transformed space), the band around it and the score
  /// |transform(value) - expected| / scale (NaN where the value is; 0 or +inf at scale 0).
  template <typename Transform>
  void write(std::size_t k, double mu, float value, Transform&& transform) const {
    mu = std::max(mu, least_);
    double expected = mu, lower = std::max(mu - z_ * scale_, least_), upper = mu + z_ * scale_;
    if (log1p_) {
      // expm1(mu -+ z s) = (1 + expm1(mu)) exp(-+z s) - 1: one expm1 per step instead of three.
      const double e = pmath::expm1(mu);
      expected = std::max(0.0, e);
      lower = std::max(0.0, (1.0 + e) * band_down_ - 1.0);
      upper = std::max(0.0, (1.0 + e) * band_up_ - 1.0);
    }
    out_.expected[k] = static_cast<float>(expected);
    out_.lower[k] = static_cast<float>(lower);
    out_.upper[k] = static_cast<float>(upper);
    if (std::isnan(value)) {
      out_.score[k] = kNaN;
    } else {
      const double dev = std::abs(transform(value) - mu);
      out_.score[k] = static_cast<float>(scale_ > 0.0 ? dev / scale_ : (dev == 0.0 ? 0.0 : std::numeric_limits<double>::infinity()));
    }
  }

  /// Step k of a series without a fit (all_missing): NaN everywhere.
  void write_missing(std::size_t k) const {
    out_.expected[k] = out_.lower[k] = out_.upper[k] = out_.score[k] = kNaN;
  }

 private:
  static constexpr auto kNaN = static_cast<float>(std::numeric_limits<double>::quiet_NaN());
  DetectionOutput out_;
  double z_, scale_, least_;
  bool log1p_;
  double band_down_, band_up_;
};

}  // namespace meterbench
