// The adapted band of the `gam` detector (see gam_detector.hpp, "Band"): a band scale local in time
// (local_scale) and the Poisson band of small counts (count_band), on every path (retrospective and forward
// fits, the rolling schedule). Off by default; when both are off none of this runs.
#include <algorithm>
#include <cmath>
#include <limits>

#include "meterbench/model/gam_count_band.hpp"
#include "meterbench/model/gam_detector.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/model/robust_stats.hpp"

namespace meterbench {

namespace {

constexpr double kSmallCountMedian = 20.0;  // count_band: the median positive value of a small-count series is at most this
constexpr double kCountLeast = 0.05;        // count_band: the Poisson mean is at least this (a mean of 0 bands every 1 as impossible)
constexpr std::int64_t kLocalFewest = 8;    // local_scale: fewest observed residuals in a window, else the series' scale

}  // namespace

std::int64_t GamDetector::local_block() const {
  if (grid_.step_seconds > kSecondsPerDay) return 1;
  return 7 * (kSecondsPerDay / grid_.step_seconds);
}

// Small counts: every observed value of [begin, end) a non-negative integer, at least one positive, and the median
// of the positive ones at most kSmallCountMedian. Why the positive ones: an intermittent series' median is 0.
void GamDetector::choose_count_band(std::span<const float> values, std::int64_t begin, std::int64_t end, GamWorkspace& ws) const {
  ws.counts_ = false;
  if (!config_.count_band) return;
  float* positive = ws.residuals_.data();
  std::int64_t m = 0;
  for (std::int64_t t = begin; t < end; ++t) {
    const float v = values[static_cast<std::size_t>(t)];
    if (std::isnan(v)) continue;
    if (v < 0.0F || v != std::floor(v)) return;
    if (v > 0.0F) positive[m++] = v;
  }
  ws.counts_ = m > 0 && radix_median(positive, m, ws.select_.data()) <= kSmallCountMedian;
}

// The local scale over the absolute residuals ws.residuals_[a, c) (+inf where unobserved), as a factor of the
// series' band scale `series`: max(local_floor, 1.4826 x their median / series); 1 with fewer than
// max(kLocalFewest, a quarter of the window) observed.
double GamDetector::local_factor(GamWorkspace& ws, std::int64_t a, std::int64_t c, double series) const {
  const float* r = ws.residuals_.data() + a;
  std::int64_t m = 0;
  for (std::int64_t i = 0; i < c - a; ++i) m += r[i] < std::numeric_limits<float>::infinity() ? 1 : 0;
  if (!(series > 0.0) || m < std::max(kLocalFewest, (c - a) / 4)) return 1.0;
  const auto [lower, upper] = radix_select_pair(r, c - a, m / 2, ws.select_.data());
  const double median = m % 2 == 1 ? upper : 0.5 * (lower + upper);
  return std::max(config_.local_floor, kMadToSigma * median / series);
}

// detect()'s band with local_scale or count_band: each scored step's fit and fitted value into the adapted
// scratch, the local factors by windows of whole weeks (one median per window, not per step), then the writer.
void GamDetector::detect_adapted_band(const GamDesign& design, std::span<const float> values, const DetectionWindow& window,
                                      double least, GamWorkspace& ws, const DetectionOutput& out) const {
  const std::int64_t n = design.rows();
  const std::int64_t fb = design.fit_begin();
  const std::int64_t begin = window.score_begin, count = window.score_end - window.score_begin;
  choose_count_band(values, fb, fb + n, ws);
  if (static_cast<std::int64_t>(ws.adapted_scratch_.size()) < 3 * count) ws.adapted_scratch_.resize(static_cast<std::size_t>(3 * count));
  double* mu = ws.adapted_scratch_.data();
  double* fitted = mu + count;
  double* factor = fitted + count;
  const int p = design.cols();
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t step = begin + i;
    const std::int64_t row = step - fb;
    const float v = values[static_cast<std::size_t>(step)];
    if (row >= 0 && row < n) {
      mu[i] = ws.offset_ + ws.yhatf_[row];
      fitted[i] = ws.offset_ + ws.y_[row];
    } else {
      design.fill_row(step, std::span<double>(ws.row_.data(), static_cast<std::size_t>(p)));
      mu[i] = ws.offset_ + ws.row_.head(p).dot(ws.beta_.head(p));
      fitted[i] = std::isnan(v) ? 0.0 : ws.space_.to_fitted(v);
    }
    factor[i] = 1.0;
  }
  if (config_.local_scale) {
    gam_abs_residuals(ws.y_.data(), ws.yhatf_.data(), ws.observed_.data(), n, 0.0, ws.residuals_.data());
    const std::int64_t block = local_block();
    const std::int64_t span = config_.local_weeks * block;
    const bool centred = window.score_end <= design.fit_end();
    std::int64_t last_a = -1, last_c = -1;
    double f = 1.0;
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t row = begin + i - fb;
      std::int64_t a = 0, c = 0;
      if (centred) {  // local_weeks whole weeks about the step's week, shifted inside the fit window
        a = std::max<std::int64_t>(row, 0) / block * block - config_.local_weeks / 2 * block;
        c = a + span;
        if (a < 0) c -= a, a = 0;
        if (c > n) a -= c - n, c = n;
        a = std::max<std::int64_t>(a, 0);
      } else {  // trailing: the weeks up to the end of the step's week, inside the history
        c = std::min(n, (std::max<std::int64_t>(row, 0) / block + 1) * block);
        a = std::max<std::int64_t>(0, c - span);
      }
      if (a != last_a || c != last_c) f = local_factor(ws, a, c, ws.scale_);
      last_a = a, last_c = c;
      factor[i] = f;
    }
  }
  write_adapted_band(band_writer(out, ws.scale_, least, ws), values, begin, window.score_end, mu, fitted, factor, ws, out);
}

// The rolling schedule's local factor of week s: the trailing local_weeks weeks of its history, with the residuals
// of the current coefficients.
double GamDetector::rolling_local_factor(const GamDesign& design, std::int64_t s, double offset, double series, GamWorkspace& ws) const {
  const auto& x = design.matrix();
  const std::int64_t a = std::max<std::int64_t>(0, s - config_.local_weeks * local_block());
  for (std::int64_t i = a; i < s; ++i)
    ws.residuals_[static_cast<std::size_t>(i)] = ws.observed_[static_cast<std::size_t>(i)]
                                                     ? static_cast<float>(std::abs(ws.y_[i] - offset - x.row(i).dot(ws.beta_)))
                                                     : std::numeric_limits<float>::infinity();
  return local_factor(ws, a, s, series);
}

// Steps [begin, end) at their own scale (the writer's weekday scale times factor[k - begin]); on a small-count
// series the band and score are then replaced by the Poisson ones about the expected value.
void GamDetector::write_adapted_band(const GamBandWriter& band, std::span<const float> values, std::int64_t begin, std::int64_t end,
                                     const double* mu, const double* fitted, const double* factor, const GamWorkspace& ws,
                                     const DetectionOutput& out) const {
  const double log_q = ws.counts_ ? normal_log_upper_tail(config_.z) : 0.0;
  const auto z = static_cast<float>(config_.z);
  const float above_z = std::nextafter(z, std::numeric_limits<float>::infinity());
  double last_lambda = -1.0;
  std::int64_t lower = 0, upper = 0;
  for (std::int64_t step = begin; step < end; ++step) {
    const auto k = static_cast<std::size_t>(step);
    const std::int64_t i = step - begin;
    band.write_at_scale(k, mu[i], values[k], fitted[i], band.step_scale(k) * factor[i]);
    if (!ws.counts_) continue;
    const double lambda = std::max<double>(out.expected[k], kCountLeast);
    const PoissonTails tails(lambda);
    if (lambda != last_lambda) tails.band(log_q, lower, upper);
    last_lambda = lambda;
    out.lower[k] = static_cast<float>(lower);
    out.upper[k] = static_cast<float>(upper);
    const float v = values[k];
    if (std::isnan(v)) continue;  // the writer's NaN score stays
    const auto score = static_cast<float>(tails.score(v));
    // The band and the score from one tail: kept consistent exactly, whatever the rounding of the inversion.
    const bool inside = v >= static_cast<float>(lower) && v <= static_cast<float>(upper);
    out.score[k] = inside ? std::min(score, z) : std::max(score, above_z);
  }
}

}  // namespace meterbench
