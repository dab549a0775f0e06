// The fit of the `gam` detector on one window (see gam_detector.hpp, "Fit"): the window's summary and
// columns, the Gram matrix of a series with gaps, the least-squares start, Huber's iteration with Anderson
// acceleration, bisquare, and the robust scales.
#include <algorithm>
#include <cmath>
#include <limits>

#include "meterbench/core/check.hpp"
#include "meterbench/model/gam_detector.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/model/gam_packed.hpp"
#include "meterbench/model/robust_stats.hpp"

namespace meterbench {

namespace {

constexpr int kScaleUpdates = 1;   // Huber iterations that re-estimate the MAD scale before it is held
constexpr double kWinsorSd = 5.0;  // robust start: values beyond this many robust sd of their median are clipped
constexpr double kMaxExtrapolation = 10.0;  // bound of the Anderson step (a contraction rate of 0.9 needs 9)

}  // namespace

FitStatus GamDetector::fit(const GamDesign& design, std::span<const float> values, GamWorkspace& ws) const {
  const std::int64_t n = design.rows();
  ws.ensure(design);
  ws.level_only_ = false;
  ws.iterations_ = 0;
  ws.scale_ = 0.0;
  ws.offset_ = 0.0;
  ws.weekday_on_ = false;
  ws.tail_up_ = ws.tail_down_ = 1.0;
  ws.episode_up_ = ws.episode_down_ = {};

  choose_space(values, design.fit_begin(), design.fit_end(), ws);
  const WindowSummary window = load_fit_window(design, values, ws);
  FitRoute route;
  const FitStatus status = window_status(window.observed, window.lo, window.hi,
                                         [&] { return choose_columns(design, window, ws, route); });
  if (status == FitStatus::all_missing) return status;
  ws.nonnegative_ = window.lo >= 0.0;
  if (status == FitStatus::constant) {
    ws.level_only_ = true;
    ws.level_ = window.lo;
    return status;
  }
  if (status == FitStatus::too_short) {
    ws.level_only_ = true;
    ws.level_ = level_fallback(ws, n, window.lo, ws.scale_);
    return status;
  }
  if (!route.shared) build_gram(design, window.observed, ws);
  route.robust_start = starts_robustly(ws, window.lo, window.hi);

  // Centre the observed values (the intercept absorbs the shift exactly), so that the single-precision
  // products below carry errors relative to the series' variation, not to its level.
  const double offset = window.sum / static_cast<double>(window.observed);
  ws.offset_ = offset;
  gam_centre(ws.y_.data(), ws.observed_.data(), n, offset);
  const double lo = window.lo - offset;
  const double hi = window.hi - offset;
  // Convergence floor for exact fits: changes below 1e-6 of the data's range count as none (the products
  // are in single precision).
  route.floor = 1e-6 * (hi - lo);

  least_squares_start(design, route, ws);
  bool converged = config_.loss == GamConfig::Loss::squared && !route.impute;
  if (!converged) {
    converged = huber_iterations(design, route, ws);
    if (config_.loss == GamConfig::Loss::bisquare) converged = bisquare_iterations(design, route, ws);
  }
  const std::int64_t m = collect_residuals(design, ws, config_.tail_scale);
  const double mad = robust_scale(ws, n, m, false);
  ws.scale_ = floored_scale(ws, n, lo, mad);
  weekday_factors(design.fit_begin(), n, mad, ws);
  if (config_.tail_scale) tail_factors(n, ws.scale_, ws, true);
  return converged ? FitStatus::ok : FitStatus::not_converged;
}

bool GamDetector::starts_robustly(const GamWorkspace& ws, double lo, double hi) const {
  if (config_.robust_start != GamConfig::RobustStart::automatic) return config_.robust_start == GamConfig::RobustStart::on;
  const double gross = kGamGrossMultiple * ws.typical_positive_;
  return !ws.space_.log && (hi > gross || lo < -gross);
}

// Loads the fit window: transformed values, 0 at gaps (so X'y sums observed rows only).
GamDetector::WindowSummary GamDetector::load_fit_window(const GamDesign& design, std::span<const float> values,
                                                        GamWorkspace& ws) const {
  const std::int64_t n = design.rows();
  const float* window = values.data() + design.fit_begin();
  if (ws.space_.log) gam_log1p_values(window, n, ws.space_.unit, ws.y_.data());  // the same bits as to_fitted
  const GamWindowTotals totals = gam_window_totals(window, n, ws.space_.log, ws.y_.data(), ws.observed_.data());
  std::int64_t first = 0, last = n - 1;
  while (first < n && !ws.observed_[first]) ++first;
  while (last >= 0 && !ws.observed_[last]) --last;
  if (totals.observed == 0) first = last = -1;
  return {.observed = totals.observed, .first = first, .last = last, .lo = totals.lo, .hi = totals.hi, .sum = totals.sum};
}

std::int64_t GamDetector::choose_columns(const GamDesign& design, const WindowSummary& window, GamWorkspace& ws,
                                         FitRoute& route) const {
  const std::int64_t n = design.rows();
  const std::int64_t fb = design.fit_begin();
  const int p = design.cols();
  const GamColumns& cols = design.columns();
  // Active columns: all for a fully observed window; with gaps, drop changepoints over unobserved segments
  // and the yearly term when the observed history is short.
  std::fill(ws.active_.begin(), ws.active_.begin() + p, std::uint8_t{1});
  // Route: the shared factorisation serves a fully observed window, and also one with few, scattered
  // missing steps, which then ride along the iterations as rows imputed by the current fit (the EM
  // fixed point is exactly the fit without those rows). Otherwise the Gram matrix of the observed rows is
  // built and factorised for this series.
  route.shared = window.observed == n;
  route.impute = false;
  if (!route.shared) {
    bool scattered = 10 * (n - window.observed) <= n;
    const auto cps = design.changepoint_steps();
    for (int j = 0; j < cols.changepoint_count; ++j) {
      const std::int64_t begin = cps[j] - fb;
      const std::int64_t end = j + 1 < cols.changepoint_count ? cps[j + 1] - fb : n;
      std::int64_t seen = 0;
      for (std::int64_t i = begin; i < end; ++i) seen += ws.observed_[i];
      if (seen < 2 || 2 * seen < end - begin) ws.active_[cols.changepoint_begin + j] = 0;
      if (5 * (end - begin - seen) > end - begin) scattered = false;
    }
    const double span_days =
        static_cast<double>((window.last - window.first + 1) * grid_.step_seconds) / static_cast<double>(kSecondsPerDay);
    if (span_days < config_.yearly_min_days)
      for (int j = cols.yearly_begin; j < cols.yearly_begin + 2 * cols.yearly_order; ++j) ws.active_[j] = 0;
    const bool all_active = std::find(ws.active_.begin(), ws.active_.begin() + p, std::uint8_t{0}) == ws.active_.begin() + p;
    route.shared = route.impute = scattered && all_active;
  }
  return std::count(ws.active_.begin(), ws.active_.begin() + p, std::uint8_t{1});
}

// Penalised least squares. X'y in double: the coefficients inherit its accuracy (X beta below only decides
// clipping and imputation).
void GamDetector::least_squares_start(const GamDesign& design, const FitRoute& route, GamWorkspace& ws) const {
  const std::int64_t n = design.rows();
  design.cross(std::span<const double>(ws.y_.data(), static_cast<std::size_t>(n)), ws.b_, ws.cross_scratch_);
  ws.beta_.setZero();
  if (route.robust_start && winsorise_start(n, ws)) {
    design.cross(std::span<const double>(ws.start_y_.data(), static_cast<std::size_t>(n)), ws.rhs_, ws.cross_scratch_);
    ws.rhs_ *= 1.0 / static_cast<double>(n);
  } else {
    ws.rhs_ = ws.b_ * (1.0 / static_cast<double>(n));
  }
  ws.rhs_prev_.setZero();
  solve(design, route.shared, true, ws);
  ws.beta_ = ws.beta_next_;
  ws.gbeta_ = ws.rhs_;  // G beta, kept along the iterations (the accelerated iterates are not solves)
  predict_fit(design, ws);
}

// The robust start's values: the observed values (and 0 at gaps, as in ws.y_) clipped to their median +- 5
// robust sd into ws.start_y_, so that a few gross outliers (a x1000 unit error) do not drag the least-squares
// start, and with it the first residual scale, across the whole series. Returns false when nothing is clipped
// (the start is then the plain least-squares one).
bool GamDetector::winsorise_start(std::int64_t n, GamWorkspace& ws) const {
  std::int64_t m = 0;
  for (std::int64_t i = 0; i < n; ++i)
    if (ws.observed_[static_cast<std::size_t>(i)]) ws.residuals_[static_cast<std::size_t>(m++)] = static_cast<float>(ws.y_[i]);
  if (m == 0) return false;
  const double med = radix_median(ws.residuals_.data(), m, ws.select_.data());
  for (std::int64_t i = 0; i < m; ++i) ws.residuals_[static_cast<std::size_t>(i)] = static_cast<float>(std::abs(ws.residuals_[static_cast<std::size_t>(i)] - med));
  const double reach = kWinsorSd * absolute_deviation_scale(ws.residuals_.data(), m, ws.select_.data());
  bool clipped = false;
  for (std::int64_t i = 0; i < n; ++i) {
    const double y = ws.y_[i];
    const double c = ws.observed_[static_cast<std::size_t>(i)] ? std::clamp(y, med - reach, med + reach) : y;
    clipped = clipped || c != y;
    ws.start_y_[static_cast<std::size_t>(i)] = c;
  }
  return clipped;
}

// Huber by modified residuals: rows whose residual exceeds c*s take the clipped residual, and imputed
// (missing) rows the current fit; the normal equations keep the (shared) Gram matrix, so each iteration
// is one product X beta, a pass over the rows and a p x p solve:
//   rhs = X'y + sum_missing yhat_i x_i - sum_clipped (r_i - clip(r_i)) x_i.
// The scale (MAD) is re-estimated in the first kScaleUpdates iterations and then held, which makes the
// rest a contraction (rate about the fraction of clipped and imputed rows, higher where they cluster).
// Anderson acceleration (depth 1, in the G inner product) then extrapolates along the last two steps:
// for a contraction dominated by one slow direction it removes that direction in one step. It changes
// only where the iteration goes, not its fixed point or the stopping rule (the G-norm of the plain step
// g(beta) - beta below tolerance * s). The iterate that passes the test is the fit.
bool GamDetector::huber_iterations(const GamDesign& design, const FitRoute& route, GamWorkspace& ws) const {
  const std::int64_t n = design.rows();
  const int p = design.cols();
  const double inv_rows = 1.0 / static_cast<double>(n);
  const bool squared = config_.loss == GamConfig::Loss::squared;
  double s = 0.0;
  // The iteration whose scale is the held one (robust_start: the first whose re-estimate moved the scale by
  // less than the tolerance, at the latest the kRobustScaleUpdates-th; else kScaleUpdates - 1). Why a latest:
  // on intermittent usage the MAD can jump between the zero days and the bursts at every update, and the
  // iteration would then never stop (its map changes with every scale).
  int held_from = route.robust_start ? kRobustScaleUpdates - 1 : kScaleUpdates - 1;
  for (int it = 0; it < config_.max_iterations; ++it) {
    update_scale(it, held_from, s, [&] { return robust_scale(ws, n, collect_residuals(design, ws), false); });
    if (s <= route.floor && !route.impute) return true;  // exact fit: nothing to down-weight
    const double cs = squared ? std::numeric_limits<double>::infinity() : config_.huber_c * s;
    ws.rhs_ = ws.b_;
    gam_huber_rhs(ws.y_.data(), ws.yhatf_.data(), ws.observed_.data(), n, cs, route.impute, design.matrix().data(), p,
                  ws.pick_weight_.data(), ws.pick_flags_.data(), ws.pick_rows_.data(), ws.rhs_.data());
    ws.rhs_ *= inv_rows;
    solve(design, route.shared, true, ws);  // beta_next = g(beta), delta = g(beta) - beta
    ws.tmp_ = ws.rhs_ - ws.gbeta_;         // G delta
    ws.iterations_ = it + 1;
    const double change = std::sqrt(std::max(0.0, ws.delta_.dot(ws.tmp_)));
    // Converged: the current iterate is kept (its fitted values are at hand); the plain step would move them by
    // less than the tolerance, and predicting it again would cost as much as the iteration's own work.
    if (change <= std::max(config_.tolerance * s, route.floor) && (it >= held_from || squared)) return true;
    anderson_step(it > held_from, ws);  // the map is fixed once the scale is held
    predict_fit(design, ws);
  }
  return false;
}

// The accelerated iterate: with g_k = beta_next (the plain step just solved) and f_k = delta = g_k - beta, the
// secant on f gives gamma minimising |f_k - gamma (f_k - f_{k-1})|_G, and beta = g_k - gamma (g_k - g_{k-1}),
// with G beta from the right-hand sides (G g_k = rhs_k). No step without a previous one of the same map.
void GamDetector::anderson_step(bool have_prev, GamWorkspace& ws) const {
  double gamma = 0.0;
  if (have_prev) {
    const double denom = (ws.delta_ - ws.f_prev_).dot(ws.tmp_ - ws.gf_prev_);
    const double g = (ws.delta_ - ws.f_prev_).dot(ws.tmp_) / denom;
    if (denom > 0.0 && std::isfinite(g)) gamma = std::clamp(g, -kMaxExtrapolation, kMaxExtrapolation);
  }
  ws.f_prev_ = ws.delta_;
  ws.gf_prev_ = ws.tmp_;
  if (gamma != 0.0) {
    ws.beta_ = ws.beta_next_ - gamma * (ws.beta_next_ - ws.g_prev_);
    ws.gbeta_ = ws.rhs_ - gamma * (ws.rhs_ - ws.rhs_last_);
  } else {
    ws.beta_ = ws.beta_next_;
    ws.gbeta_ = ws.rhs_;
  }
  ws.g_prev_ = ws.beta_next_;
  ws.rhs_last_ = ws.rhs_;
}

// Bisquare IRLS from the Huber fit at its (fixed) scale; every row's weight changes, so the Gram matrix is
// re-accumulated each iteration.
bool GamDetector::bisquare_iterations(const GamDesign& design, const FitRoute& route, GamWorkspace& ws) const {
  const std::int64_t n = design.rows();
  const auto& x = design.matrix();
  const double inv_rows = 1.0 / static_cast<double>(n);
  const double s = robust_scale(ws, n, collect_residuals(design, ws), false);
  const double cs = config_.bisquare_c * s;
  bool converged = s <= route.floor;
  for (int it = 0; it < config_.max_iterations && !converged; ++it) {
    ws.gram_.setZero();
    ws.rhs_.setZero();
    Eigen::Index k = 0;
    const auto flush = [&]() {
      if (k > 0) ws.gram_.selfadjointView<Eigen::Lower>().rankUpdate(ws.chunk_.leftCols(k), 1.0);
      k = 0;
    };
    for (std::int64_t i = 0; i < n; ++i) {
      if (!ws.observed_[i]) continue;
      const double u = (ws.y_[i] - ws.yhatf_[i]) / cs;
      if (std::abs(u) >= 1.0) continue;
      const double w = (1.0 - u * u) * (1.0 - u * u);
      ws.chunk_.col(k++) = std::sqrt(w) * x.row(i).transpose();
      ws.rhs_.noalias() += (w * ws.y_[i]) * x.row(i).transpose();
      if (k == ws.chunk_.cols()) flush();
    }
    flush();
    pack_gram(design, inv_rows, ws);
    finish_gram(design, ws);
    ws.rhs_ *= inv_rows;
    solve(design, false, false, ws);
    ws.beta_ = ws.beta_next_;
    ws.iterations_ += 1;
    predict_fit(design, ws);
    const double change = std::sqrt(std::max(0.0, ws.delta_.dot(ws.tmp_)));
    converged = change <= std::max(config_.tolerance * s, route.floor);
  }
  return converged;
}

void GamDetector::predict_fit(const GamDesign& design, GamWorkspace& ws) const {
  design.predict(ws.beta_, std::span<float>(ws.yhatf_.data(), static_cast<std::size_t>(design.rows())), ws.predict_scratch_);
}

std::int64_t GamDetector::collect_residuals(const GamDesign& design, GamWorkspace& ws, bool signed_too) const {
  if (signed_too)
    return gam_abs_and_signed_residuals(ws.y_.data(), ws.yhatf_.data(), ws.observed_.data(), design.rows(), 0.0,
                                        ws.residuals_.data(), ws.signed_residuals_.data());
  return gam_abs_residuals(ws.y_.data(), ws.yhatf_.data(), ws.observed_.data(), design.rows(), 0.0, ws.residuals_.data());
}

// Robust scale of the m observed values among ws.residuals_[0, rows) (+inf at the other rows, which rank last, so
// that no compaction is needed): 1.4826 x the median absolute value (MAD about 0, as MASS::rlm takes it for
// regression residuals: the fit is their centre), or about their median when `centred` (for raw values); falls
// back to the scaled mean absolute deviation when more than half are equal, and is 0 only when all are.
double GamDetector::robust_scale(GamWorkspace& ws, std::int64_t rows, std::int64_t m, bool centred) const {
  float* r = ws.residuals_.data();
  const auto median = [&] {
    const auto [lower, upper] = radix_select_pair(r, rows, m / 2, ws.select_.data());
    return m % 2 == 1 ? upper : 0.5 * (lower + upper);
  };
  if (centred) {
    const double med = median();
    for (std::int64_t i = 0; i < rows; ++i) r[i] = static_cast<float>(std::abs(r[i] - med));  // +inf stays
  }  // else the caller stored absolute values already
  const double mad = median();
  if (mad > 0.0) return kMadToSigma * mad;
  double mean_abs = 0.0;  // in row order, as over the observed values alone
  for (std::int64_t i = 0; i < rows; ++i) mean_abs += r[i] < std::numeric_limits<float>::infinity() ? r[i] : 0.0F;
  return kMeanAbsToSigma * mean_abs / static_cast<double>(m);
}

// The band scale: max(scale, scale_floor x 1.4826 x the median absolute residual at the rows above the
// series' minimum `lo`), when that minimum repeats (a point mass: the zero days of intermittent usage, a
// committed baseline). ws.residuals_ holds the absolute residuals of the rows of ws.y_[0, n) (+inf where
// unobserved; ws.y_ in the space of `lo`) and keeps them (the weekday factors read them next); the kept ones are
// compacted into the selection scratch. Why: when half the steps sit at
// the point mass, their residuals are all about -fit there, so the MAD measures the fit's distance from the point
// mass, not how usage varies when it happens, and every ordinary burst scores high. Without a repeated
// minimum the rows above it are all but one and the floor is skipped, so regular series keep their scale
// exactly. Cost: two passes, and a selection only when the floor binds (a count decides that exactly).
double GamDetector::floored_scale(GamWorkspace& ws, std::int64_t n, double lo, double scale) const {
  if (!(config_.scale_floor > 0.0)) return scale;
  if (gam_count_equal(ws.y_.data(), ws.observed_.data(), n, lo) <= 1) return scale;  // most series: no repeated minimum
  // The floor exceeds the scale exactly when the median of the kept residuals exceeds t, i.e. when more
  // than half of them do (for an even count: at least the upper middle one; then the median decides).
  const double t = scale / (config_.scale_floor * kMadToSigma);
  const float* r = ws.residuals_.data();
  float* kept_r = ws.select_.data() + n;  // select_ holds 3 x rows + 16: the median's scratch below
  std::int64_t kept = 0, above = 0;
  for (std::int64_t i = 0; i < n; ++i) {  // branch-free: kept_r[kept] is rewritten or unused when not kept
    const float v = r[i];
    kept_r[kept] = v;
    const std::int64_t keep = ws.observed_[static_cast<std::size_t>(i)] & (ws.y_[i] != lo ? 1 : 0);
    kept += keep;
    above += keep & (v > t ? 1 : 0);
  }
  if (kept == 0 || above < (kept + 1) / 2) return scale;
  return std::max(scale, config_.scale_floor * kMadToSigma * radix_median(kept_r, kept, ws.select_.data()));
}

// Penalised Gram matrix of the observed rows (divided by the window's rows), with inactive columns replaced by
// unit rows, and its Cholesky factor into ws.lower_ (packed lower triangles; see finish_gram).
void GamDetector::build_gram(const GamDesign& design, std::int64_t observed, GamWorkspace& ws) const {
  const auto& x = design.matrix();
  const std::int64_t n = design.rows();
  const double inv_rows = 1.0 / static_cast<double>(n);
  // Few missing rows: downdate the shared X'X by them; mostly missing: accumulate the observed rows (also
  // avoids cancellation when little remains).
  const bool downdate = n - observed <= observed;
  if (design.prefix_cross_product(0) != nullptr) {
    build_gram_from_prefix(design, observed, ws);
    return;
  }
  if (downdate) ws.gram_ = design.cross_product();
  else ws.gram_.setZero();
  gam_accumulate_cross_product(x, ws.observed_.data(), static_cast<std::uint8_t>(downdate ? 0 : 1), 0, n, downdate ? -1.0 : 1.0, ws.gram_, ws.chunk_);
  pack_gram(design, inv_rows, ws);
  finish_gram(design, ws);
}

// build_gram from the running sums of X'X: X'X of the observed rows = X'X - sum over missing runs [a, b) of
// (P_b - P_a) (or the sum over observed runs when most are missing), in packed lower triangles, scaled by 1/n.
// A run of a few rows subtracts their outer products instead: two prefix rows are read from a table of megabytes
// (a cache miss each), a few rows of X sit in cache, and scattered single missing days are the common case.
void GamDetector::build_gram_from_prefix(const GamDesign& design, std::int64_t observed, GamWorkspace& ws) const {
  constexpr std::int64_t kShortRun = 4;  // runs up to this long by rank-one updates
  const std::int64_t n = design.rows();
  const int p = design.cols();
  const double inv_rows = 1.0 / static_cast<double>(n);
  const bool downdate = n - observed <= observed;  // as build_gram decides
  const double* prefix = design.prefix_cross_product(0);
  const std::int64_t t = design.packed_size();
  const std::uint8_t wanted = downdate ? 0 : 1;
  const double sign = downdate ? -1.0 : 1.0;
  std::int64_t* runs = ws.runs_.data();  // [begin, end) pairs of the long runs
  std::int64_t* rows = ws.short_rows_.data();
  std::int64_t count = 0, short_count = 0;
  for (std::int64_t a = 0; a < n;) {
    if (ws.observed_[a] != wanted) {
      ++a;
      continue;
    }
    std::int64_t b = a + 1;
    while (b < n && ws.observed_[b] == wanted) ++b;
    if (b - a <= kShortRun) {
      for (std::int64_t i = a; i < b; ++i) rows[short_count++] = i;
    } else {
      runs[2 * count] = a;
      runs[2 * count + 1] = b;
      ++count;
    }
    a = b;
  }
  double* out = ws.lower_.data();
  if (downdate) std::copy_n(prefix + n * t, t, out);
  else std::fill_n(out, t, 0.0);
  // Two long runs per pass: every entry adds its runs in row order, but the triangle is written half as often.
  for (std::int64_t r = 0; r < count; r += 2) {
    const double* pa0 = prefix + runs[2 * r] * t;
    const double* pb0 = prefix + runs[2 * r + 1] * t;
    if (r + 1 < count) {
      const double* pa1 = prefix + runs[2 * r + 2] * t;
      const double* pb1 = prefix + runs[2 * r + 3] * t;
      for (std::int64_t e = 0; e < t; ++e) out[e] = (out[e] + sign * (pb0[e] - pa0[e])) + sign * (pb1[e] - pa1[e]);
    } else {
      for (std::int64_t e = 0; e < t; ++e) out[e] += sign * (pb0[e] - pa0[e]);
    }
  }
  gam_packed_rank_update(out, p, design.matrix().data(), rows, short_count, sign);
  for (std::int64_t e = 0; e < t; ++e) out[e] *= inv_rows;
  finish_gram(design, ws);
}

// The lower triangle of ws.gram_ times `scale` into ws.lower_ (packed, column by column).
void GamDetector::pack_gram(const GamDesign& design, double scale, GamWorkspace& ws) const {
  const int p = design.cols();
  double* out = ws.lower_.data();
  for (int j = 0; j < p; ++j) {
    const double* col = &ws.gram_(j, j);
    for (int i = 0; i < p - j; ++i) out[i] = col[i] * scale;
    out += p - j;
  }
}

// Completes the packed Gram matrix X'X / n in ws.lower_: adds the penalties, replaces inactive columns by unit
// rows, keeps a copy in ws.packed_ for bisquare (the only user of G itself), and factorises it in place
// (gam_packed_cholesky).
void GamDetector::finish_gram(const GamDesign& design, GamWorkspace& ws) const {
  const int p = design.cols();
  const std::int64_t t = design.packed_size();
  double* g = ws.lower_.data();
  const auto& penalty = design.penalty();
  for (int j = 0; j < p; ++j) g[gam_packed_offset(p, j)] += penalty[j];
  for (int j = 0; j < p; ++j) g[gam_packed_offset(p, j)] += kGamDiagonalJitter;
  for (int j = 0; j < p; ++j) {
    if (ws.active_[j]) continue;
    for (int k = 0; k < j; ++k) g[gam_packed_offset(p, k) + (j - k)] = 0.0;  // row j
    double* col = g + gam_packed_offset(p, j);
    std::fill_n(col, p - j, 0.0);
    col[0] = 1.0;
  }
  if (config_.loss == GamConfig::Loss::bisquare) std::copy_n(g, t, ws.packed_.data());
  METERBENCH_CHECK(gam_packed_cholesky(g, p, ws.inv_diag_.data()) < 0);
}

// beta_next = G^-1 rhs, with rhs zeroed on inactive columns; delta = beta_next - beta; tmp = G delta. While
// G stays the same between solves, G delta = rhs - rhs_prev (as G beta = rhs_prev), an O(p) update.
void GamDetector::solve(const GamDesign& design, bool shared, bool same_gram, GamWorkspace& ws) const {
  const int p = design.cols();
  for (int j = 0; j < p; ++j)
    if (!ws.active_[j]) ws.rhs_[j] = 0.0;
  if (shared) {
    ws.beta_next_.setZero();
    gam_add_columns(design.full_inverse().data(), p, p, ws.rhs_.data(), ws.beta_next_.data());
  } else {
    ws.beta_next_ = ws.rhs_;
    gam_packed_solve(ws.lower_.data(), ws.inv_diag_.data(), p, ws.beta_next_.data());
  }
  ws.delta_ = ws.beta_next_ - ws.beta_;
  if (same_gram) ws.tmp_ = ws.rhs_ - ws.rhs_prev_;
  else if (shared) ws.tmp_.noalias() = design.full_gram() * ws.delta_;
  else gam_packed_symv(ws.packed_.data(), p, ws.delta_.data(), ws.tmp_.data());
  ws.rhs_prev_ = ws.rhs_;
}

}  // namespace meterbench
