#include "meterbench/model/baseline_stl.hpp"

#include <algorithm>
#include <cmath>

#include "meterbench/core/check.hpp"

namespace meterbench::baseline {

namespace {

using Index = std::int64_t;

std::int64_t next_odd(std::int64_t v) { return v % 2 == 0 ? v + 1 : v; }

// The local fit at xs from y[nleft..nright] (inclusive): weights base(j) x rw[j], base(j) the neighbourhood
// (tricube) weight. One pass accumulates the weighted moments around xs; the local-linear value is then
// closed form: with d = j - xs, mean offset c = sum w d / sum w, spread v = sum w d^2 / sum w - c^2, the fit
// at xs is ybar - c (sum w d y / sum w - c ybar) / v, which is the published algorithm's reweighting
// w_j (1 + (xs - center)(j - center) / spread) summed against y. The local-linear step is skipped, as
// there, when sqrt(v) <= 0.001 (n - 1). Returns false when every weight is zero.
template <typename Base>
inline bool local_fit(const double* y, Index n, int degree, double h, double xs, Index nleft, Index nright,
                      const double* rw, Base base, double& out) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, sy = 0.0, sdy = 0.0;
  for (Index j = nleft; j <= nright; ++j) {
    const double wj = base(j) * rw[j];
    const double d = static_cast<double>(j) - xs;
    s0 += wj;
    s1 += wj * d;
    s2 += wj * d * d;
    sy += wj * y[j];
    sdy += wj * d * y[j];
  }
  if (s0 <= 0.0) return false;
  const double inv = 1.0 / s0;
  const double ybar = sy * inv;
  double value = ybar;
  if (h > 0.0 && degree > 0) {
    const double c = s1 * inv;
    const double spread = s2 * inv - c * c;
    if (std::sqrt(std::max(spread, 0.0)) > 0.001 * (static_cast<double>(n) - 1.0))
      value = ybar - c * (sdy * inv - c * ybar) / spread;
  }
  out = value;
  return true;
}

// Tricube weight of distance r for half-width h, with the published cut-offs: 1 within 0.001 h, 0 beyond
// 0.999 h.
inline double tricube(double r, double h, double inv_h) {
  if (r > 0.999 * h) return 0.0;
  if (r <= 0.001 * h) return 1.0;
  const double u = r * inv_h;
  const double v = 1.0 - u * u * u;
  return v * v * v;
}

// One LOESS estimate at position xs from the window [nleft, nright] of a smoother of span len.
bool loess_estimate(const double* y, Index n, Index len, int degree, double xs, Index nleft, Index nright,
                    const double* rw, double& out) {
  double h = std::max(xs - static_cast<double>(nleft), static_cast<double>(nright) - xs);
  if (len > n) h += static_cast<double>((len - n) / 2);
  const double inv_h = h > 0.0 ? 1.0 / h : 0.0;
  return local_fit(y, n, degree, h, xs, nleft, nright, rw,
                   [&](Index j) { return tricube(std::abs(static_cast<double>(j) - xs), h, inv_h); }, out);
}

// LOESS smoothing of y[0..n) into ys, evaluated every `jump` points and linearly interpolated in between.
// Interior windows are centred on their point, so their tricube weights depend only on the offset: they
// come from `kernel` (len entries of scratch), computed once per call.
void loess_smooth(const double* y, Index n, Index len, int degree, Index jump, const double* rw, double* ys,
                  double* kernel) {
  if (n < 2) {
    ys[0] = y[0];
    return;
  }
  const Index step = std::min(jump, n - 1);
  const Index half = (len + 1) / 2;
  const bool interior_possible = len < n;
  if (interior_possible) {
    const auto h = static_cast<double>(half - 1);
    const double inv_h = h > 0.0 ? 1.0 / h : 0.0;
    for (Index m = 0; m < len; ++m) kernel[m] = tricube(std::abs(static_cast<double>(m - (half - 1))), h, inv_h);
  }
  const auto estimate_at = [&](Index i) {
    bool ok = false;
    if (len >= n) {
      ok = loess_estimate(y, n, len, degree, static_cast<double>(i), 0, n - 1, rw, ys[i]);
    } else if (i + 1 < half) {
      ok = loess_estimate(y, n, len, degree, static_cast<double>(i), 0, len - 1, rw, ys[i]);
    } else if (i + 1 >= n - half + 1) {
      ok = loess_estimate(y, n, len, degree, static_cast<double>(i), n - len, n - 1, rw, ys[i]);
    } else {
      const Index nleft = i + 1 - half;
      ok = local_fit(y, n, degree, static_cast<double>(half - 1), static_cast<double>(i), nleft, nleft + len - 1, rw,
                     [&](Index j) { return kernel[j - nleft]; }, ys[i]);
    }
    if (!ok) ys[i] = y[i];
  };
  for (Index i = 0; i < n; i += step) estimate_at(i);
  if (step == 1) return;
  for (Index i = 0; i + step < n; i += step) {
    const double delta = (ys[i + step] - ys[i]) / static_cast<double>(step);
    for (Index j = i + 1; j < i + step; ++j) ys[j] = ys[i] + delta * static_cast<double>(j - i);
  }
  const Index last = ((n - 1) / step) * step;
  if (last != n - 1) {
    estimate_at(n - 1);
    const double delta = (ys[n - 1] - ys[last]) / static_cast<double>(n - 1 - last);
    for (Index j = last + 1; j < n - 1; ++j) ys[j] = ys[last] + delta * static_cast<double>(j - last);
  }
}

// Moving average of length len: out[i] = mean(x[i..i+len)), i in [0, n - len].
void moving_average(const double* x, Index n, Index len, double* out) {
  double sum = 0.0;
  for (Index i = 0; i < len; ++i) sum += x[i];
  const double inv = 1.0 / static_cast<double>(len);
  out[0] = sum * inv;
  for (Index j = 1; j <= n - len; ++j) {
    sum += x[j + len - 1] - x[j - 1];
    out[j] = sum * inv;
  }
}

}  // namespace

StlSettings StlSettings::defaults(std::int64_t period, std::int64_t seasonal_window, std::int64_t trend_window,
                                  int inner_loops, int outer_loops) {
  StlSettings s;
  s.period = period;
  s.seasonal_window = next_odd(std::max<std::int64_t>(seasonal_window, 3));
  const double np = static_cast<double>(period);
  const double ns = static_cast<double>(s.seasonal_window);
  s.trend_window = trend_window > 0 ? next_odd(std::max<std::int64_t>(trend_window, 3))
                                    : next_odd(std::max<std::int64_t>(
                                          static_cast<std::int64_t>(std::ceil(1.5 * np / (1.0 - 1.5 / ns))), 3));
  s.low_pass_window = next_odd(std::max<std::int64_t>(period, 3));
  s.seasonal_jump = (s.seasonal_window + 9) / 10;
  s.trend_jump = (s.trend_window + 9) / 10;
  s.low_pass_jump = (s.low_pass_window + 9) / 10;
  s.inner_loops = inner_loops;
  s.outer_loops = outer_loops;
  return s;
}

StlScratch::StlScratch(std::int64_t capacity, std::int64_t period) : capacity_(capacity) {
  const auto full = static_cast<std::size_t>(capacity + 2 * period);
  work1_.resize(full);
  work2_.resize(full);
  work3_.resize(full);
  robustness_.resize(static_cast<std::size_t>(capacity));
  kernel_.resize(full);  // a span shorter than the series it smooths, which is at most capacity + 2 period
  const auto sub = static_cast<std::size_t>(capacity / std::max<std::int64_t>(period, 1) + 3);
  sub_y_.resize(sub);
  sub_w_.resize(sub);
  sub_out_.resize(sub);
}

void stl_decompose(std::span<const double> y, std::span<const double> prior_weights, const StlSettings& settings,
                   StlScratch& scratch, std::span<double> trend, std::span<double> seasonal) {
  const Index n = static_cast<Index>(y.size());
  const Index np = settings.period;
  METERBENCH_CHECK(np >= 2 && n >= 2 * np && n <= scratch.capacity_);
  METERBENCH_CHECK(static_cast<Index>(scratch.work1_.size()) >= n + 2 * np);
  METERBENCH_CHECK(prior_weights.size() == y.size() && trend.size() == y.size() && seasonal.size() == y.size());
  double* work1 = scratch.work1_.data();
  double* cycle = scratch.work2_.data();  // smoothed cycle-subseries, n + 2 np
  double* work3 = scratch.work3_.data();
  double* rw = scratch.robustness_.data();
  double* kernel = scratch.kernel_.data();
  double* sub_y = scratch.sub_y_.data();
  double* sub_w = scratch.sub_w_.data();
  double* sub_out = scratch.sub_out_.data();

  for (Index i = 0; i < n; ++i) {
    rw[i] = prior_weights[i];
    trend[i] = 0.0;
  }
  double y_scale = 0.0;
  for (Index i = 0; i < n; ++i) y_scale = std::max(y_scale, std::abs(y[i]));

  const Index ns = settings.seasonal_window;
  for (int outer = 0; outer <= settings.outer_loops; ++outer) {
    for (int inner = 0; inner < settings.inner_loops; ++inner) {
      // Step 1-2: detrend and smooth each cycle-subseries, extended by one cycle at both ends.
      for (Index i = 0; i < n; ++i) work1[i] = y[i] - trend[i];
      for (Index phase = 0; phase < np; ++phase) {
        const Index k = (n - 1 - phase) / np + 1;
        for (Index m = 0; m < k; ++m) {
          sub_y[m] = work1[m * np + phase];
          sub_w[m] = rw[m * np + phase];
        }
        loess_smooth(sub_y, k, ns, settings.seasonal_degree, settings.seasonal_jump, sub_w, sub_out + 1, kernel);
        if (!loess_estimate(sub_y, k, ns, settings.seasonal_degree, -1.0, 0, std::min(ns, k) - 1, sub_w,
                            sub_out[0]))
          sub_out[0] = sub_out[1];
        if (!loess_estimate(sub_y, k, ns, settings.seasonal_degree, static_cast<double>(k),
                            std::max<Index>(0, k - ns), k - 1, sub_w, sub_out[k + 1]))
          sub_out[k + 1] = sub_out[k];
        for (Index m = 0; m < k + 2; ++m) cycle[m * np + phase] = sub_out[m];
      }
      // Step 3: low-pass filter of the cycle-subseries: MA(np), MA(np), MA(3), LOESS(n_l).
      moving_average(cycle, n + 2 * np, np, work3);
      moving_average(work3, n + np + 1, np, work1);
      moving_average(work1, n + 2, 3, work3);
      std::fill(work1, work1 + n, 1.0);  // the low-pass LOESS ignores the point weights
      loess_smooth(work3, n, settings.low_pass_window, settings.low_pass_degree, settings.low_pass_jump, work1,
                   seasonal.data(), kernel);
      // Step 4-6: seasonal = cycle - low-pass; deseasonalize; smooth into the trend.
      for (Index i = 0; i < n; ++i) seasonal[i] = cycle[np + i] - seasonal[i];
      for (Index i = 0; i < n; ++i) work1[i] = y[i] - seasonal[i];
      loess_smooth(work1, n, settings.trend_window, settings.trend_degree, settings.trend_jump, rw, trend.data(),
                   kernel);
    }
    if (outer == settings.outer_loops) break;
    // Robustness weights from the remainder of the observed points.
    Index count = 0;
    for (Index i = 0; i < n; ++i)
      if (prior_weights[i] > 0.0) work3[count++] = std::abs(y[i] - trend[i] - seasonal[i]);
    if (count == 0) break;
    const Index mid1 = (count - 1) / 2;
    const Index mid2 = count / 2;
    std::nth_element(work3, work3 + mid2, work3 + count);
    const double upper = work3[mid2];
    const double lower = mid1 == mid2 ? upper : *std::max_element(work3, work3 + mid2);
    const double cmad = 3.0 * (lower + upper);  // 6 x median |remainder|
    if (cmad <= 1e-12 * (1.0 + y_scale)) break;  // an exact fit: nothing left to down-weight
    const double c9 = 0.999 * cmad;
    const double c1 = 0.001 * cmad;
    for (Index i = 0; i < n; ++i) {
      const double r = std::abs(y[i] - trend[i] - seasonal[i]);
      double b = 0.0;
      if (r <= c1) {
        b = 1.0;
      } else if (r <= c9) {
        const double u = r / cmad;
        const double v = 1.0 - u * u;
        b = v * v;
      }
      rw[i] = b * prior_weights[i];
    }
  }
}

}  // namespace meterbench::baseline
