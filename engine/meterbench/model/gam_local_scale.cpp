// The adapted band of the `gam` detector (see gam_detector.hpp, "Band"): a band scale local in time
// (local_scale) and the Poisson band of small counts (count_band), on every path (retrospective and forward
// fits, the rolling schedule). Off by default; when both are off none of this runs.
#include <algorithm>
#include <array>
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
constexpr double kCountMost = 1e5;          // count_band: no Poisson band beyond this mean (its walks grow with sqrt(mean))

// The median of v[0, m) (0 < m <= kRankedMost; the mean of the two middle values when m is even), by ranks: each
// value's rank from m branch-free comparisons (ties broken by position), so that a few values cost no mispredicted
// branches, as an insertion sort's do.
constexpr std::int64_t kRankedMost = 64;
template <typename T>
double ranked_median(const T* v, std::int64_t m) {
  const std::int64_t hi = m / 2, lo = m % 2 == 1 ? hi : hi - 1;
  double at_lo = 0.0, at_hi = 0.0;
  for (std::int64_t i = 0; i < m; ++i) {
    std::int64_t rank = 0;
    for (std::int64_t j = 0; j < m; ++j) rank += (v[j] < v[i]) | ((v[j] == v[i]) & (j < i)) ? 1 : 0;
    at_lo += rank == lo ? static_cast<double>(v[i]) : 0.0;
    at_hi += rank == hi ? static_cast<double>(v[i]) : 0.0;
  }
  return lo == hi ? at_hi : 0.5 * (at_lo + at_hi);
}

// Sorts 7 values by an optimal network of 16 compare-exchanges (checked on every 0-1 input), without a branch: a
// daily grid's week of residuals.
void sort7(std::array<float, 7>& v) {
  static constexpr std::array<std::array<int, 2>, 16> kNetwork{{{0, 6}, {2, 3}, {4, 5}, {0, 2}, {1, 4}, {3, 6}, {0, 1}, {2, 5},
                                                               {3, 4}, {1, 2}, {4, 6}, {2, 3}, {4, 5}, {1, 2}, {3, 4}, {5, 6}}};
  for (const auto& [a, b] : kNetwork) {
    const float lo = std::min(v[static_cast<std::size_t>(a)], v[static_cast<std::size_t>(b)]);
    const float hi = std::max(v[static_cast<std::size_t>(a)], v[static_cast<std::size_t>(b)]);
    v[static_cast<std::size_t>(a)] = lo;
    v[static_cast<std::size_t>(b)] = hi;
  }
}

// The median of the weekly medians of a window, kept sorted as the window slides one week at a time.
class SlidingMedian {
 public:
  void add(double v) {
    if (std::isnan(v)) return;
    std::int64_t j = m_++;
    for (; j > 0 && sorted_[static_cast<std::size_t>(j - 1)] > v; --j) sorted_[static_cast<std::size_t>(j)] = sorted_[static_cast<std::size_t>(j - 1)];
    sorted_[static_cast<std::size_t>(j)] = v;
  }
  void remove(double v) {
    if (std::isnan(v)) return;
    std::int64_t j = 0;
    while (sorted_[static_cast<std::size_t>(j)] != v) ++j;
    for (--m_; j < m_; ++j) sorted_[static_cast<std::size_t>(j)] = sorted_[static_cast<std::size_t>(j + 1)];
  }
  void clear() { m_ = 0; }
  [[nodiscard]] std::int64_t count() const { return m_; }
  [[nodiscard]] double median() const {
    const auto mid = static_cast<std::size_t>(m_ / 2);
    return m_ % 2 == 1 ? sorted_[mid] : 0.5 * (sorted_[mid - 1] + sorted_[mid]);
  }

 private:
  std::array<double, kRankedMost> sorted_{};
  std::int64_t m_ = 0;
};

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

// The median of the observed absolute residuals ws.residuals_[a, c) (+inf where unobserved), NaN when fewer than
// half of them are observed: a short run by insertion sort, a long one (sub-daily weeks) by radix selection.
double GamDetector::week_median(GamWorkspace& ws, std::int64_t a, std::int64_t c) const {
  constexpr std::int64_t kShort = 32;
  const float* r = ws.residuals_.data() + a;
  std::int64_t m = 0;
  for (std::int64_t i = 0; i < c - a; ++i) m += r[i] < std::numeric_limits<float>::infinity() ? 1 : 0;
  if (m == 0 || 2 * m < c - a) return std::numeric_limits<double>::quiet_NaN();
  if (c - a == 7) {
    std::array<float, 7> v{};
    std::copy_n(r, 7, v.begin());  // unobserved: +inf, sorted last
    sort7(v);
    const auto mid = static_cast<std::size_t>(m / 2);
    return m % 2 == 1 ? v[mid] : 0.5 * (static_cast<double>(v[mid - 1]) + v[mid]);
  }
  if (c - a > kShort) {
    const auto [lower, upper] = radix_select_pair(r, c - a, m / 2, ws.select_.data());
    return m % 2 == 1 ? upper : 0.5 * (static_cast<double>(lower) + upper);
  }
  std::array<float, kShort> v{};
  std::int64_t k = 0;
  for (std::int64_t i = 0; i < c - a; ++i) {  // compacted without a branch: a slot is rewritten until kept
    v[static_cast<std::size_t>(k)] = r[i];
    k += r[i] < std::numeric_limits<float>::infinity() ? 1 : 0;
  }
  return ranked_median(v.data(), m);
}

// The local scale of the weeks [wa, wc) of ws.local_weeks_ (their medians, NaN where too sparse), as a factor of
// the series' band scale `series`: max(local_floor, 1.4826 x the median of the weekly medians / series); 1 with fewer
// than max(2, a quarter of the weeks) medians. The median of weekly medians: the week's median absolute residual is
// median-unbiased for the population's, so their median estimates it, at one small sort per week instead of a
// selection over the whole window per week.
double GamDetector::local_factor(GamWorkspace& ws, std::int64_t wa, std::int64_t wc, double series) const {
  const double* v = ws.local_weeks_.data() + wa;
  std::array<double, kRankedMost> kept{};
  std::int64_t m = 0;
  for (std::int64_t i = 0; i < wc - wa; ++i) {
    kept[static_cast<std::size_t>(m)] = v[i];
    m += std::isnan(v[i]) ? 0 : 1;
  }
  return local_factor_of(m > 0 ? ranked_median(kept.data(), m) : 0.0, m, wc - wa, series);
}

double GamDetector::local_factor_of(double median, std::int64_t medians, std::int64_t weeks, double series) const {
  if (!(series > 0.0) || medians < std::max<std::int64_t>(2, weeks / 4)) return 1.0;
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
    const std::int64_t weeks = (n + block - 1) / block;
    for (std::int64_t w = 0; w < weeks; ++w) ws.local_weeks_[static_cast<std::size_t>(w)] = week_median(ws, w * block, std::min(n, (w + 1) * block));
    const std::int64_t span = config_.local_weeks;
    const bool centred = window.score_end <= design.fit_end();
    // The windows only move forward as the week does: their weekly medians are kept sorted, one in, one out.
    SlidingMedian window_medians;
    std::int64_t in_a = 0, in_c = 0;  // the weeks [in_a, in_c) in window_medians
    std::int64_t last_week = -1;
    double f = 1.0;
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t week = std::clamp<std::int64_t>((begin + i - fb) / block, 0, weeks - 1);
      if (week != last_week) {
        std::int64_t wa = 0, wc = 0;
        if (centred) {  // local_weeks weeks about the step's week, shifted inside the fit window
          wa = week - span / 2;
          wc = wa + span;
          if (wa < 0) {
            wc -= wa;
            wa = 0;
          }
          if (wc > weeks) {
            wa -= wc - weeks;
            wc = weeks;
          }
          wa = std::max<std::int64_t>(wa, 0);
        } else {  // trailing: the weeks up to the step's week, inside the history
          wc = week + 1;
          wa = std::max<std::int64_t>(0, wc - span);
        }
        if (wa >= in_c) {  // past the window (the first scored week, or a jump): start afresh
          window_medians.clear();
          in_a = in_c = wa;
        }
        for (; in_c < wc; ++in_c) window_medians.add(ws.local_weeks_[static_cast<std::size_t>(in_c)]);
        for (; in_a < wa; ++in_a) window_medians.remove(ws.local_weeks_[static_cast<std::size_t>(in_a)]);
        const std::int64_t kept = window_medians.count();
        f = local_factor_of(kept > 0 ? window_medians.median() : 0.0, kept, wc - wa, ws.scale_);
        last_week = week;
      }
      factor[i] = f;
    }
  }
  const GamBandWriter band = band_writer(out, ws.scale_, least, ws);
  std::int64_t fit_from = std::clamp(fb, begin, window.score_end), fit_to = std::clamp(fb + n, fit_from, window.score_end);
  if (ws.space_.log && fit_to > fit_from) {  // the steps inside the fit window by the array kernel (write_at_scale's bits)
    band.write_log_run_scaled(static_cast<std::size_t>(fit_from), fit_to - fit_from, ws.yhatf_.data() + (fit_from - fb),
                              ws.y_.data() + (fit_from - fb), ws.offset_, values.data(), factor + (fit_from - begin), ws.band_scratch_);
  } else {
    fit_from = fit_to = begin;
  }
  write_scaled_steps(band, values, begin, fit_from, mu, fitted, factor);
  write_scaled_steps(band, values, fit_to, window.score_end, mu + (fit_to - begin), fitted + (fit_to - begin), factor + (fit_to - begin));
  write_count_band(values, begin, window.score_end, ws, out);
}

// The rolling schedule's local factor of week s: the trailing local_weeks weeks of its history, with the residuals
// of the current coefficients.
double GamDetector::rolling_local_factor(const GamDesign& design, std::int64_t s, double offset, double series, GamWorkspace& ws) const {
  const auto& x = design.matrix();
  const std::int64_t block = local_block();
  const std::int64_t a = std::max<std::int64_t>(0, s - config_.local_weeks * block);
  for (std::int64_t i = a; i < s; ++i)
    ws.residuals_[static_cast<std::size_t>(i)] = ws.observed_[static_cast<std::size_t>(i)]
                                                     ? static_cast<float>(std::abs(ws.y_[i] - offset - x.row(i).dot(ws.beta_)))
                                                     : std::numeric_limits<float>::infinity();
  std::int64_t weeks = 0;  // weeks counted back from s, stored oldest first
  for (std::int64_t c = s; c > a; c -= block) ++weeks;
  for (std::int64_t w = 0; w < weeks; ++w) {
    const std::int64_t c = s - (weeks - 1 - w) * block;
    ws.local_weeks_[static_cast<std::size_t>(w)] = week_median(ws, std::max(a, c - block), c);
  }
  return local_factor(ws, 0, weeks, series);
}

// Steps [begin, end) at their own scale: the writer's weekday scale times factor[step - begin].
void GamDetector::write_scaled_steps(const GamBandWriter& band, std::span<const float> values, std::int64_t begin, std::int64_t end,
                                     const double* mu, const double* fitted, const double* factor) const {
  for (std::int64_t step = begin; step < end; ++step) {
    const auto k = static_cast<std::size_t>(step);
    const std::int64_t i = step - begin;
    band.write_at_scale(k, mu[i], values[k], fitted[i], band.step_scale(k) * factor[i]);
  }
}

// On a small-count series, the band and score of steps [begin, end) replaced by the Poisson ones about the expected
// value the writer wrote.
void GamDetector::write_count_band(std::span<const float> values, std::int64_t begin, std::int64_t end, const GamWorkspace& ws,
                                   const DetectionOutput& out) const {
  if (!ws.counts_) return;
  const double log_q = normal_log_upper_tail(config_.z);
  const auto z = static_cast<float>(config_.z);
  const float above_z = std::nextafter(z, std::numeric_limits<float>::infinity());
  double last_lambda = -1.0;
  std::int64_t lower = 0, upper = 0;
  for (std::int64_t step = begin; step < end; ++step) {
    const auto k = static_cast<std::size_t>(step);
    const double lambda = std::max<double>(out.expected[k], kCountLeast);
    if (!(lambda <= kCountMost)) continue;  // a fit far outside its counts (extrapolated): the writer's band stays
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
