// The rolling schedule of the `gam` detector (see gam_detector.hpp, "Rolling schedule"): weekly forward fits
// of one series by sliding updates and warm starts, in named phases, with the status rules and the band writer
// of the independent fits.
#include <algorithm>
#include <cmath>
#include <limits>

#include "meterbench/core/check.hpp"
#include "meterbench/model/gam_band.hpp"
#include "meterbench/model/gam_detector.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/model/gam_packed.hpp"

namespace meterbench {

namespace {

constexpr int kRollingRefreshWeeks = 6;  // full robust refit at least every this many periods
constexpr int kRollingSolveSteps = 10;   // conjugate-gradient steps on the last factor before refactorising

}  // namespace

const GamDesign& GamDetector::rolling_design_for(std::int64_t first_scored, std::int64_t period, std::int64_t last_start,
                                                 GamWorkspace& ws) const {
  if (!ws.rolling_design_ || ws.rolling_design_->fit_end() != last_start || ws.rolling_first_ != first_scored ||
      ws.rolling_period_ != period) {
    ws.rolling_design_ = std::make_unique<GamDesign>(grid_, config_, 0, last_start);
    ws.rolling_first_ = first_scored;
    ws.rolling_period_ = period;
    const GamDesign& d = *ws.rolling_design_;
    ws.ensure(d);
    const int p = d.cols();
    ws.rolling_prefix_.setZero(p, p);
    ws.rolling_xtx_.setZero(p, p);
    ws.rolling_b_.setZero(p);
    ws.rolling_corr_.setZero(p);
    ws.rolling_sum_.setZero(p);
    ws.rolling_sq_.setZero(p);
    ws.rolling_penalty_.setZero(p);
    ws.rolling_active_.assign(static_cast<std::size_t>(p), 1);
    gam_accumulate_cross_product(d.matrix(), nullptr, 1, 0, first_scored, 1.0, ws.rolling_prefix_, ws.chunk_);
    const std::int64_t weeks = (last_start - first_scored) / period;
    ws.rolling_weeks_.setZero(p, p * weeks);
    for (std::int64_t k = 0; k < weeks; ++k) {
      Eigen::MatrixXd block = Eigen::MatrixXd::Zero(p, p);
      gam_accumulate_cross_product(d.matrix(), nullptr, 1, first_scored + k * period, first_scored + (k + 1) * period, 1.0, block, ws.chunk_);
      ws.rolling_weeks_.middleCols(k * p, p) = block.triangularView<Eigen::Lower>();
    }
  }
  return *ws.rolling_design_;
}

void GamDetector::rolling_factor(const GamDesign& design, std::int64_t rows, GamWorkspace& ws) const {
  const int p = design.cols();
  const double inv_rows = 1.0 / static_cast<double>(rows);
  double* g = ws.packed_.data();
  for (int j = 0; j < p; ++j) {  // column j of the lower triangle is contiguous from its diagonal
    const double* col = &ws.rolling_xtx_(j, j);
    double* out = g + gam_packed_offset(p, j);
    for (int i = 0; i < p - j; ++i) out[i] = col[i] * inv_rows;
    out[0] += ws.rolling_penalty_[j];
    out[0] += kGamDiagonalJitter;
  }
  for (int j = 0; j < p; ++j) {
    if (ws.rolling_active_[static_cast<std::size_t>(j)]) continue;
    for (int k = 0; k < j; ++k) g[gam_packed_offset(p, k) + (j - k)] = 0.0;  // row j
    double* col = g + gam_packed_offset(p, j);
    std::fill_n(col, p - j, 0.0);
    col[0] = 1.0;
  }
  std::copy_n(g, design.packed_size(), ws.lower_.data());
  METERBENCH_CHECK(gam_packed_cholesky(ws.lower_.data(), p, ws.inv_diag_.data()) < 0);
}

std::int64_t GamDetector::rolling_residuals(std::int64_t end, double offset, GamWorkspace& ws, bool signed_too) const {
  if (signed_too)
    return gam_abs_and_signed_residuals(ws.y_.data(), ws.yhatf_.data(), ws.observed_.data(), end, offset, ws.residuals_.data(),
                                        ws.signed_residuals_.data());
  return gam_abs_residuals(ws.y_.data(), ws.yhatf_.data(), ws.observed_.data(), end, offset, ws.residuals_.data());
}

void GamDetector::rolling_solve(const GamDesign& design, Eigen::VectorXd& v, GamWorkspace& ws) const {
  gam_packed_solve(ws.lower_.data(), ws.inv_diag_.data(), design.cols(), v.data());
}

bool GamDetector::rolling_refit(const GamDesign& design, std::int64_t end, double offset, double floor, int clip_updates,
                                double& clip_scale, GamWorkspace& ws) const {
  const auto& x = design.matrix();
  const int p = design.cols();
  const double inv_rows = 1.0 / static_cast<double>(end);
  rolling_factor(design, end, ws);
  predict_fit(design, ws);
  const bool squared = config_.loss == GamConfig::Loss::squared;
  int held_from = clip_updates - 1;  // the iteration whose clip scale is held (as huber_iterations)
  for (int it = 0; it < config_.max_iterations; ++it) {
    update_scale(it, held_from, clip_scale, [&] { return robust_scale(ws, end, rolling_residuals(end, offset, ws), false); });
    if (clip_scale <= floor) return true;
    const double cs = squared ? std::numeric_limits<double>::infinity() : config_.huber_c * clip_scale;
    ws.rolling_corr_.setZero();
    for (std::int64_t i = 0; i < end; ++i) {
      if (!ws.observed_[static_cast<std::size_t>(i)]) continue;
      const double r = ws.y_[i] - offset - ws.yhatf_[i];
      if (std::abs(r) <= cs) continue;
      ws.rolling_corr_.noalias() += (r - std::copysign(cs, r)) * x.row(i).transpose();
    }
    ws.rhs_ = (ws.rolling_b_ - ws.rolling_corr_) * inv_rows;
    for (int j = 0; j < p; ++j)
      if (!ws.rolling_active_[static_cast<std::size_t>(j)]) ws.rhs_[j] = 0.0;
    ws.beta_next_ = ws.rhs_;
    rolling_solve(design, ws.beta_next_, ws);
    ws.delta_ = ws.beta_next_ - ws.beta_;
    gam_packed_symv(ws.packed_.data(), p, ws.delta_.data(), ws.tmp_.data());
    const double change = std::sqrt(std::max(0.0, ws.delta_.dot(ws.tmp_)));
    ws.beta_ = ws.beta_next_;
    ws.iterations_ += 1;
    predict_fit(design, ws);
    if (change <= std::max(config_.tolerance * clip_scale, floor) && it >= held_from) return true;
  }
  return false;
}

struct GamDetector::RollingState {
  std::int64_t first_scored = 0, period = 0;
  // The history [0, cursor) seen so far: observed steps, the first and last, the range and sum of their values.
  std::int64_t cursor = 0, count = 0, first = -1, last = -1;
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity(), sum = 0.0;
  // The week's columns (regression weeks): changepoints detect() places in [0, s), observed history span.
  int changepoints = 0;
  double span_days = 0.0;
  enum class Mode { missing, level, regression } mode = Mode::missing;
  double level = 0.0, scale = 0.0;  // the fallback outputs of a level week
  // The regression: valid from its start until a non-regression week; rows [0, rows_in) are in its sums.
  bool valid = false;
  std::int64_t rows_in = 0;
  int since_refit = 0;
  FitStatus fit_status = FitStatus::ok;
  double offset = 0.0, clip = 0.0, band = 0.0, floor = 0.0;
};

// Rolling schedule (weekly forward fits of one series), by sliding updates and warm starts (see the header):
//  - One design for all of the series' windows: the design of [0, last period start), built once per thread
//    and (first_scored, period) and cached in the workspace with X'X of its rows before first_scored and of
//    each period's rows. Week k fits on its observed rows before s_k with the penalty per window row
//    (divided by s_k) and matched to detect()'s standardisation over [0, s_k).
//  - Columns: the changepoints of that design at or before the last changepoint detect() would place in
//    [0, s_k) (so the trend after 0.8 s_k is one segment, as in the independent fit) and passing detect()'s
//    segment rule over their part before s_k; yearly when the observed history spans yearly_min_days.
//  - Status paths (all_missing, constant, too_short) are decided exactly as detect() on [0, s_k) decides them
//    (same counts, same active columns of its own design), with the same fallback outputs.
//  - Regression weeks: X'X_obs, X'(u - offset) and the Huber clip corrections sum (r - clip(r)) x are
//    updated by the week's new rows (a new row is clipped against the current fit at the held clip scale),
//    and the penalised normal equations are solved from last week's coefficients by conjugate gradients
//    preconditioned with the last factorisation (refactorised when the active columns change or CG is
//    slow). A full robust refit (refactorisation, Huber iterations to convergence over all rows, band scale
//    = MAD of the final residuals, also the clip scale from then on; the first one takes the clip scale from
//    residuals of the start, as fit() does: least squares, or with a robust start least squares on the winsorised
//    values and the scale re-estimated until it settles) runs at the first regression week and every
//    kRollingRefreshWeeks periods; in between, the band scale is held.
FitStatus GamDetector::detect_rolling(const SeriesInput& series, std::int64_t first_scored, std::int64_t period,
                                      DetectorWorkspace& workspace, const DetectionOutput& out) const {
  auto& ws = static_cast<GamWorkspace&>(workspace);
  const std::int64_t steps = grid_.steps;
  const auto usteps = static_cast<std::size_t>(steps);
  METERBENCH_CHECK(series.values.size() == usteps);
  METERBENCH_CHECK(out.expected.size() == usteps && out.lower.size() == usteps && out.upper.size() == usteps && out.score.size() == usteps);
  METERBENCH_CHECK(period > 0);
  if (config_.loss == GamConfig::Loss::bisquare || first_scored < 1 || first_scored >= steps ||
      ws.observed_before_.size() < usteps + 1 || ws.y_.size() < steps)
    return Detector::detect_rolling(series, first_scored, period, workspace, out);

  const std::int64_t last_start = first_scored + (steps - 1 - first_scored) / period * period;
  const GamDesign& design = rolling_design_for(first_scored, period, last_start, ws);
  ws.ensure(design);
  ws.weekday_on_ = false;
  ws.tail_up_ = ws.tail_down_ = 1.0;
  choose_space(series.values, 0, first_scored, ws);  // the history before the first week: no step sees its future
  choose_count_band(series.values, 0, first_scored, ws);
  load_rolling_series(series.values, ws);
  ws.rolling_sum_.setZero();
  ws.rolling_sq_.setZero();
  ws.iterations_ = 0;
  RollingState st{.first_scored = first_scored, .period = period};
  FitStatus worst = FitStatus::ok;
  for (std::int64_t s = first_scored; s < steps; s += period) {
    advance_history(design, s, st, ws);
    FitStatus status = rolling_week_status(design, s, st, ws);
    if (st.mode != RollingState::Mode::regression) {
      st.valid = false;
    } else {
      const bool columns_changed = rolling_columns(design, s, st, ws);
      if (!st.valid) rolling_start(design, s, st, ws);
      else rolling_slide(design, s, st, ws);
      if (++st.since_refit >= kRollingRefreshWeeks) rolling_refresh(design, s, st, ws);
      else rolling_warm_solve(design, s, columns_changed, st, ws);
      status = st.fit_status;
    }
    if (worst == FitStatus::ok) worst = status;
    const std::int64_t e = std::min(s + period, steps);
    score_rolling_week(design, series.values, s, e, st, ws, out);
    if (!out.kind.empty()) std::fill(out.kind.begin() + s, out.kind.begin() + e, std::uint8_t{0});
    if (st.mode != RollingState::Mode::missing)
      post_score(series.values, {.history_begin = 0, .begin = s, .end = e, .centred = false}, ws, out);
  }
  const bool regression = st.mode == RollingState::Mode::regression;
  ws.level_only_ = !regression;
  ws.nonnegative_ = st.lo >= 0.0;
  ws.level_ = st.level;
  ws.offset_ = st.offset;
  ws.scale_ = regression ? st.band : st.scale;
  return worst;
}

void GamDetector::load_rolling_series(std::span<const float> values, GamWorkspace& ws) const {
  std::int64_t* before = ws.observed_before_.data();
  before[0] = 0;
  const auto n = static_cast<std::int64_t>(values.size());
  if (ws.space_.log) gam_log1p_values(values.data(), n, ws.space_.unit, ws.y_.data());  // the bits of to_fitted, 0 at gaps
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    const bool obs = !std::isnan(v);
    if (!ws.space_.log) ws.y_[static_cast<Eigen::Index>(i)] = obs ? static_cast<double>(v) : 0.0;
    ws.observed_[i] = obs ? 1 : 0;
    before[i + 1] = before[i] + (obs ? 1 : 0);
  }
}

void GamDetector::advance_history(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const {
  const auto& x = design.matrix();
  const std::int64_t nd = design.rows();
  for (; st.cursor < s; ++st.cursor) {
    const std::int64_t i = st.cursor;
    if (i < nd) {
      ws.rolling_sum_ += x.row(i).transpose();
      ws.rolling_sq_ += x.row(i).transpose().cwiseAbs2();
    }
    if (!ws.observed_[static_cast<std::size_t>(i)]) continue;
    const double u = ws.y_[i];
    ++st.count;
    if (st.first < 0) st.first = i;
    st.last = i;
    st.lo = std::min(st.lo, u);
    st.hi = std::max(st.hi, u);
    st.sum += u;
  }
}

FitStatus GamDetector::rolling_week_status(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const {
  std::int64_t* cp = ws.changepoint_scratch_.data();
  const std::int64_t* before = ws.observed_before_.data();
  // The active columns detect()'s own design of [0, s) would have.
  const auto active_columns = [&]() -> std::int64_t {
    const GamColumns& cols = design.columns();
    const double step_days = static_cast<double>(grid_.step_seconds) / static_cast<double>(kSecondsPerDay);
    const int yearly_order = gam_capped_order(config_.yearly_order, 365.25, grid_);
    std::int64_t active = 2 + 2 * (cols.weekly_order + cols.monthly_order + cols.daily_order);
    st.changepoints = gam_changepoint_steps(config_, grid_, 0, s, cp);
    st.span_days = static_cast<double>(st.last - st.first + 1) * step_days;
    const int yo = static_cast<double>(s) * step_days >= config_.yearly_min_days ? yearly_order : 0;
    if (st.count == s) return active + st.changepoints + 2 * yo;
    for (int j = 0; j < st.changepoints; ++j) {
      const std::int64_t b0 = cp[j], b1 = j + 1 < st.changepoints ? cp[j + 1] : s;
      const std::int64_t seen = before[b1] - before[b0];
      if (!(seen < 2 || 2 * seen < b1 - b0)) ++active;
    }
    if (st.span_days >= config_.yearly_min_days) active += 2 * yo;
    return active;
  };
  const FitStatus status = window_status(st.count, st.lo, st.hi, active_columns);
  switch (status) {
    case FitStatus::all_missing:
      st.mode = RollingState::Mode::missing;
      break;
    case FitStatus::constant:
      st.mode = RollingState::Mode::level;
      st.level = st.lo;
      st.scale = 0.0;
      break;
    case FitStatus::too_short:
      st.mode = RollingState::Mode::level;
      st.level = level_fallback(ws, s, st.lo, st.scale);
      break;
    default:
      st.mode = RollingState::Mode::regression;
  }
  return status;
}

bool GamDetector::rolling_columns(const GamDesign& design, std::int64_t s, const RollingState& st, GamWorkspace& ws) const {
  const GamColumns& cols = design.columns();
  const auto cps = design.changepoint_steps();
  const std::int64_t* cp = ws.changepoint_scratch_.data();
  const std::int64_t* before = ws.observed_before_.data();
  // Penalty matched to detect()'s on [0, s): there a column is standardised over the window's rows, so
  // lambda_j beta_j^2 penalises lambda_j x the variance over [0, s) of the column's contribution; here
  // the columns are standardised over the whole design, so lambda_j is scaled by the variance over
  // [0, s) of the standardised column (small for a changepoint near s).
  const double inv_s = 1.0 / static_cast<double>(s);
  ws.rolling_penalty_ = design.penalty().cwiseProduct(
      (ws.rolling_sq_ * inv_s - (ws.rolling_sum_ * inv_s).cwiseAbs2()).cwiseMax(0.0));
  bool changed = false;
  const auto set_active = [&](int j, bool on) {
    const std::uint8_t v = on ? 1 : 0;
    if (ws.rolling_active_[static_cast<std::size_t>(j)] != v) changed = true;
    ws.rolling_active_[static_cast<std::size_t>(j)] = v;
  };
  const std::int64_t cp_limit = st.changepoints > 0 ? cp[st.changepoints - 1] : -1;
  for (int j = 0; j < cols.changepoint_count; ++j) {
    const std::int64_t c0 = cps[static_cast<std::size_t>(j)];
    const std::int64_t c1 = std::min(j + 1 < cols.changepoint_count ? cps[static_cast<std::size_t>(j) + 1] : design.rows(), s);
    const std::int64_t seen = c1 > c0 ? before[c1] - before[c0] : 0;
    set_active(cols.changepoint_begin + j, c0 <= cp_limit && c1 > c0 && seen >= 2 && 2 * seen >= c1 - c0);
  }
  for (int j = cols.yearly_begin; j < cols.yearly_begin + 2 * cols.yearly_order; ++j) set_active(j, st.span_days >= config_.yearly_min_days);
  return changed;
}

// X'X of the observed rows before s (the cached prefix downdated by its missing rows, or the observed rows
// accumulated when most are missing), X'(u - offset), least squares; the Huber refit follows.
void GamDetector::rolling_start(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const {
  const auto& x = design.matrix();
  const int p = design.cols();
  const std::int64_t* before = ws.observed_before_.data();
  st.offset = st.sum / static_cast<double>(st.count);
  st.floor = 1e-6 * (st.hi - st.lo);
  const std::int64_t f = st.first_scored, seen0 = before[f];
  if (f - seen0 <= seen0) {
    ws.rolling_xtx_ = ws.rolling_prefix_;
    gam_accumulate_cross_product(x, ws.observed_.data(), 0, 0, f, -1.0, ws.rolling_xtx_, ws.chunk_);
  } else {
    ws.rolling_xtx_.setZero();
    gam_accumulate_cross_product(x, ws.observed_.data(), 1, 0, f, 1.0, ws.rolling_xtx_, ws.chunk_);
  }
  gam_accumulate_cross_product(x, ws.observed_.data(), 1, f, s, 1.0, ws.rolling_xtx_, ws.chunk_);
  // X'(u - offset) over the observed rows before s.
  const auto cross = [&](const auto& u, Eigen::VectorXd& out) {
    out.setZero();
    for (std::int64_t i = 0; i < s; ++i)
      if (ws.observed_[static_cast<std::size_t>(i)]) out.noalias() += (u[static_cast<std::size_t>(i)] - st.offset) * x.row(i).transpose();
  };
  cross(ws.y_, ws.rolling_b_);
  rolling_factor(design, s, ws);
  // The robust start (starts_robustly, as fit() does): least squares on the values winsorised about their median.
  if (starts_robustly(ws, st.lo, st.hi) && winsorise_start(s, ws)) cross(ws.start_y_, ws.beta_);
  else ws.beta_ = ws.rolling_b_;
  ws.beta_ /= static_cast<double>(s);
  for (int j = 0; j < p; ++j)
    if (!ws.rolling_active_[static_cast<std::size_t>(j)]) ws.beta_[j] = 0.0;
  rolling_solve(design, ws.beta_, ws);
  st.rows_in = s;
  st.since_refit = kRollingRefreshWeeks;  // refit next, estimating the clip scale
  st.valid = true;
}

// A whole period adds its cached X'X and downdates its missing rows; otherwise the observed rows are added
// one by one. A new row is clipped against the current fit at the held clip scale.
void GamDetector::rolling_slide(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const {
  const auto& x = design.matrix();
  const int p = design.cols();
  const double cs = config_.loss == GamConfig::Loss::squared ? std::numeric_limits<double>::infinity() : config_.huber_c * st.clip;
  const bool whole_week = st.rows_in >= st.first_scored && s - st.rows_in == st.period;
  if (whole_week) ws.rolling_xtx_ += ws.rolling_weeks_.middleCols((st.rows_in - st.first_scored) / st.period * p, p);
  for (std::int64_t i = st.rows_in; i < s; ++i) {
    if (!ws.observed_[static_cast<std::size_t>(i)]) {
      if (whole_week) ws.rolling_xtx_.selfadjointView<Eigen::Lower>().rankUpdate(x.row(i).transpose(), -1.0);
      continue;
    }
    const double d = ws.y_[i] - st.offset;
    ws.rolling_b_.noalias() += d * x.row(i).transpose();
    const double r = d - x.row(i).dot(ws.beta_);
    if (std::abs(r) > cs) ws.rolling_corr_.noalias() += (r - std::copysign(cs, r)) * x.row(i).transpose();
    if (!whole_week) ws.rolling_xtx_.selfadjointView<Eigen::Lower>().rankUpdate(x.row(i).transpose(), 1.0);
  }
  st.rows_in = s;
}

// The clip scale: the MAD of the start's residuals (as fit() takes it: re-estimated until it settles after a robust
// start), then the band scale of the last refit (the MAD of the converged residuals, held since).
void GamDetector::rolling_refresh(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const {
  const int clip_updates = st.since_refit > kRollingRefreshWeeks ? (starts_robustly(ws, st.lo, st.hi) ? kRobustScaleUpdates : 1) : 0;
  const bool converged = rolling_refit(design, s, st.offset, st.floor, clip_updates, st.clip, ws);
  st.clip = robust_scale(ws, s, rolling_residuals(s, st.offset, ws, config_.tail_scale), false);  // the fit's own scale: the floor widens the band, not the fit
  st.band = floored_scale(ws, s, st.lo, st.clip);
  weekday_factors(0, s, st.clip, ws);
  if (config_.tail_scale) tail_factors(s, st.band, ws, false);
  st.fit_status = converged ? FitStatus::ok : FitStatus::not_converged;
  st.since_refit = 0;
}

// Preconditioned conjugate gradients from last week's coefficients, preconditioned by the last factorisation
// (the system moved by a rank-<=7 update and a rescaling since), with G v = X'X_obs v / s + penalty v formed
// without forming G (inactive rows are unit rows, v_j = 0 there). Stops when the energy norm of the remaining
// correction (the RMS change of the fitted values it would make) is below 1e-3 x the clip scale; refactorises
// when that takes too long or the active columns changed.
void GamDetector::rolling_warm_solve(const GamDesign& design, std::int64_t s, bool columns_changed, const RollingState& st,
                                     GamWorkspace& ws) const {
  const int p = design.cols();
  const double inv_s = 1.0 / static_cast<double>(s);
  ws.rhs_ = (ws.rolling_b_ - ws.rolling_corr_) * inv_s;
  const auto apply = [&](const Eigen::VectorXd& v, Eigen::VectorXd& result) {
    result.noalias() = ws.rolling_xtx_.selfadjointView<Eigen::Lower>() * v;
    result = result * inv_s + (ws.rolling_penalty_.array() + kGamDiagonalJitter).matrix().cwiseProduct(v);
    for (int j = 0; j < p; ++j)
      if (!ws.rolling_active_[static_cast<std::size_t>(j)]) result[j] = v[j];
  };
  const double tolerance = std::max(1e-3 * st.clip, st.floor);
  Eigen::VectorXd& r = ws.delta_;
  Eigen::VectorXd& q = ws.tmp_;
  Eigen::VectorXd& zv = ws.beta_next_;
  Eigen::VectorXd& dir = ws.rhs_prev_;
  apply(ws.beta_, q);
  r = ws.rhs_ - q;
  for (int j = 0; j < p; ++j)
    if (!ws.rolling_active_[static_cast<std::size_t>(j)]) r[j] = 0.0;
  zv = r;
  rolling_solve(design, zv, ws);
  dir = zv;
  double rz = r.dot(zv);
  bool solved = false;
  for (int it = 0; it <= kRollingSolveSteps && !columns_changed; ++it) {
    if (std::sqrt(std::max(0.0, rz)) <= tolerance) {
      solved = true;
      break;
    }
    if (it == kRollingSolveSteps) break;
    apply(dir, q);
    const double curvature = dir.dot(q);
    if (!(curvature > 0.0)) break;
    const double alpha = rz / curvature;
    ws.beta_ += alpha * dir;
    r -= alpha * q;
    zv = r;
    rolling_solve(design, zv, ws);
    const double rz_next = r.dot(zv);
    dir = zv + (rz_next / rz) * dir;
    rz = rz_next;
  }
  if (!solved) {
    rolling_factor(design, s, ws);
    for (int j = 0; j < p; ++j)
      if (!ws.rolling_active_[static_cast<std::size_t>(j)]) ws.rhs_[j] = 0.0;
    ws.beta_ = ws.rhs_;
    rolling_solve(design, ws.beta_, ws);
  }
}

void GamDetector::score_rolling_week(const GamDesign& design, std::span<const float> values, std::int64_t s, std::int64_t e,
                                     const RollingState& st, GamWorkspace& ws, const DetectionOutput& out) const {
  const bool regression = st.mode == RollingState::Mode::regression;
  const double least = st.lo >= 0.0 ? 0.0 : -std::numeric_limits<double>::infinity();
  if (!regression) {
    ws.weekday_on_ = false;
    ws.tail_up_ = ws.tail_down_ = 1.0;
  }
  const GamBandWriter band = band_writer(out, regression ? st.band : st.scale, least, ws);
  const auto& x = design.matrix();
  const int p = design.cols();
  double* adapted = regression && adapted_band() ? ws.adapted_scratch_.data() : nullptr;  // mu, fitted, factor per step
  const std::int64_t count = e - s;
  for (std::int64_t step = s; step < e; ++step) {
    const auto k = static_cast<std::size_t>(step);
    if (st.mode == RollingState::Mode::missing) {
      band.write_missing(k);
      continue;
    }
    double mu = st.level;
    if (regression) {
      if (step < design.rows()) {
        mu = st.offset + x.row(step).dot(ws.beta_);
      } else {
        design.fill_row(step, std::span<double>(ws.row_.data(), static_cast<std::size_t>(p)));
        mu = st.offset + ws.row_.head(p).dot(ws.beta_.head(p));
      }
    }
    if (adapted != nullptr) {
      adapted[step - s] = mu;
      adapted[count + step - s] = ws.y_[static_cast<Eigen::Index>(k)];
      continue;
    }
    band.write(k, mu, values[k], ws.y_[static_cast<Eigen::Index>(k)]);  // the series' fitted values, loaded once
  }
  if (adapted == nullptr) return;
  const double factor = config_.local_scale ? rolling_local_factor(design, s, st.offset, st.band, ws) : 1.0;
  std::fill_n(adapted + 2 * count, count, factor);
  write_scaled_steps(band, values, s, e, adapted, adapted + count, adapted + 2 * count);
  write_count_band(values, s, e, ws, out);
}

}  // namespace meterbench
