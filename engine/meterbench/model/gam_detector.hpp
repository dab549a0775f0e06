#pragma once
// `gam`: a robust trend + seasonality regression (prophet's additive model, fitted in closed form).
//
// Model (in the fitted space: u = y (transform=none), log1p(max(y, 0)) (log1p), or log1p(y / c) (log1p_relative;
// c = 0.05 x the median of the fit window's positive values, so the log bends at the same place relative to every
// series' level whatever its unit; a series with a negative value is fitted as it is), or per series one of y and
// log1p(y / c) (auto, the default; "Transform" below):
//   u(t) = b0 + k t + sum_j d_j max(t - tau_j, 0) + weekly + yearly + monthly (billing cycle) + daily
// with t = (step - fit_begin) / n over the fit window of n steps, changepoint hinges tau_j spread over its
// first changepoint_range, and Fourier terms on the calendar (see GamDesign). Columns are standardised over
// the fit window; the objective is
//   (1/n) sum_observed rho(u_i - x_i beta) + sum_j lambda_j beta_j^2
// with lambda_j = changepoint_penalty on changepoint deltas, seasonality_penalty on Fourier coefficients and
// 0 on intercept and trend (a unit-variance column orthogonal to the rest is shrunk by 1/(1 + lambda)). The
// penalties are per window row, so a sparsely observed series is shrunk more, as under a prior.
//
// Fit: penalised least squares, then Huber's iteration with modified residuals: each iteration replaces
// the residuals beyond c*s by +-c*s and solves with the same (shared) Gram matrix, which is IRLS for the
// Huber loss without refactorisation; the scale s = 1.4826 * median |residual| (the MAD about the fit, as in
// MASS::rlm) is estimated from the least-squares residuals and then held, which makes the iteration a
// contraction, accelerated by a depth-1 Anderson (secant) step; it stops when the RMS change of the fitted
// values a plain step would make is below tolerance * s, and keeps the iterate that passed the test. Bisquare continues
// from the Huber fit with weighted IRLS at a fixed scale (the Gram matrix re-accumulated per iteration:
// several times slower). Missing steps are absent rows, handled by one of two exact routes:
//  - few and scattered (<= 10% of the window and <= 20% of every changepoint segment, no column dropped):
//    the shared Gram matrix and factorisation of the fully observed window are kept and the missing rows
//    are imputed by the current fit along the iterations (EM; its fixed point is the fit without them);
//  - otherwise the Gram matrix of the observed rows is formed (the shared X'X downdated by the missing rows,
//    or re-accumulated from the observed rows when most are missing) and factorised once for the series. The
//    retrospective design keeps running sums of X'X over its rows (10 MiB for 730 days x 57 columns), so a
//    missing run of any length costs one packed p x p difference (GamDesign::prefix_cross_product); runs of up to 4
//    rows are taken out by rank-one downdates from the rows of X instead (in cache, where the sums are not).
// Products X beta run in single precision through the calendar structure (GamDesign::predict); X'y, Gram
// matrices and solves run in double.
//
// Robust start (robust_start=auto, the default: on where the series is fitted as it is and holds a gross value,
// beyond kGamGrossMultiple times its usual positive value either way): the least-squares start fits the values
// winsorised at 5 robust sd about their median, and the Huber scale is re-estimated at every iteration until it
// moves by less than the tolerance (at most kRobustScaleUpdates times), then held. Why: with the scale from the
// plain least-squares residuals, a 3-day x1000 unit error on a series fitted as it is bends the start across the
// whole year and sets a scale so wide that the burst is never clipped (expected swinging 0..3,000 on a level of
// 620; on the bike rentals, which transform=auto fits as they are, the band up to 2.4x as wide all year). Why
// only then: in logs the same burst is 7 log units over 3 of 730 rows and moves nothing (the robust start gains
// nothing there on the real-usage study, results/gam-real-usage.md), and without a gross value the least-squares
// start is not dragged; the start's two selections and the scale's re-estimates would cost gam_bench 3%.
//
// Band: expected +/- z * scale, scale = max(1.4826 * median |residual| of the final fit, floor) (robust; in
// the fitted space), times a weekday factor with weekday_scale=on (the default, grids of a day or finer):
// clip(mean of min(|residual|, 3 scales) over the weekday / over all days, 0.5, 2) (a winsorised mean absolute
// residual: robust enough for a clipped ratio, and one pass), 1 for a weekday with fewer than 8 observed days,
// so that a customer quiet at weekends gets a narrow band there and a wide one on busy days; each side widened
// to its tails with tail_scale=on (the default; "Tail scale" below).
// Score = |u - expected| / scale (the scale of its side), in the fitted space; NaN where y is NaN. With
// run_score=on (the default) it is max(|e_t|, sqrt(3) |mean_3 e|, sqrt(7) |mean_7 e|) of the signed scores e,
// each clipped at +-10, over the steps not already beyond z, so that a spike flags no ordinary neighbour (windows
// centred when the fit covers the scored steps, trailing inside the scored period otherwise: a weekly run never
// reads past its week), over windows with at least max(2, 2w/3) such steps: a sustained deviation of 2 scales over
// a week scores 5.3.
// Rules (rules=on, the default; gam_rules.hpp): stuck meter, stopped reporting (at the end of the scored
// window, scoring the missing steps), unit error and zero run alerts score at least 1000, above any z, and write their
// AnomalyKind to DetectionOutput::kind.
// - Floor (scale_floor): scale_floor x 1.4826 x the median |residual| over the observed steps
//   whose value is above the fit window's minimum, when that minimum occurs more than once (a point mass:
//   the zero days of intermittent usage, a committed baseline); no floor otherwise. On a series that is 0
//   on most days the MAD collapses onto the residuals of the zero days (about the fitted level), while
//   bursts are many times higher, so every ordinary burst scored far above z. The floor measures how usage
//   varies when it happens, on the fit's own residuals (so trend and seasonality do not inflate it, unlike
//   a floor on the raw spread); it is skipped on a series without a repeated minimum (there it would be
//   about the scale itself), so regular series keep their scale exactly. Not a level-relative floor:
//   relative noise ranges from 0.5% (Poisson at large counts) to 45% (negative binomial), so any share of
//   the level blunts the quiet series. The Huber fit keeps its own (unfloored) clip scale.
// - Non-negative series (every observed value of the fit window >= 0, so every log1p fit): expected is
//   max(fit, 0) and lower is max(expected - z scale, 0), and the score is taken from that expected, so a
//   point inside the band always scores <= z. Usage cannot be negative: max(fit, 0) is the projection of
//   the fit onto the possible values and is never further from any of them; a band reaching below 0 only
//   misleads the reader (the reference service's yellow band never does). A series with a negative value
//   (net usage, credits) is left unclamped.
// With a log space the band is mapped back by c x expm1 (so lower, expected >= 0). Outside the fit window (forward
// schedule) the trend continues with its last slope (prophet's extrapolation without trend uncertainty), the
// seasonal terms follow the calendar and the scale is the fit's.
// - Local scale (local_scale=on; off by default; gam_local_scale.cpp): the band scale of a step is
//   max(local_floor x the series' band scale, 1.4826 x m) times the weekday factor, m the median of the weekly median
//   |residual| of the local_weeks weeks about the step's week (weeks of the grid from the fit window's start, a
//   week's median only when half its steps are observed; the window shifted inside the fit window when the fit
//   covers the scored steps, else the weeks up to the step's week: a forward window's horizon and each rolling week
//   read the trailing local_weeks weeks of their history, with the current coefficients); the series' scale when
//   fewer than max(2, local_weeks / 4) weeks have a median. The score is |u - expected| / that scale. Why weekly
//   medians: a week's median is median-unbiased for its population's, so their median estimates the window's at
//   one 7-value sorting network per week and a sliding sorted window, not a selection per week. Why off: on the
//   real-usage backgrounds it helps London households a little (F1 +0.003 at z 16.75 retrospectively, +0.014 in
//   the weekly schedule, fewer false alerts) and costs page views (-0.057 at z 16.75) and the generated scenario
//   (test half at the best z -0.047); gam_bench 38 us instead of 29 per 730-day series (results/scale16.md).
// - Count band (count_band=on; off by default): on a small-count series (every observed value of the fit window,
//   or of the history before the first rolling week, a non-negative integer, at least one positive, their median
//   positive value <= 20) the band at a step is the Poisson quantile interval about the expected value lambda
//   (the fit mapped back, at least 0.05) at the normal tail Q(z) of each side: lower = the least k with
//   P(X <= k) >= Q(z), upper = the least k with P(X > k) < Q(z) (integers, lower >= 0), and the score is the
//   normal equivalent Q^-1 of the value's one-sided tail beyond lambda, so that it is > z exactly outside the band
//   (kept so exactly against the rounding of the inversion) and a sweep's z keeps its meaning. Tails in log space
//   (gam_count_band.hpp). Why Poisson, not negative binomial: no dispersion to estimate, and z keeps a meaning on
//   any series; overdispersed counts then get a band too narrow (more false alerts at a given z). Why off: no series
//   of the real backgrounds qualifies (kWh, page views and bike counts in the hundreds); on a generated small-count
//   population (results/scale16_small_counts.toml) it gains F1 +0.054 on the test half at the best z (+0.011 at z
//   16.75) with more false alerts, and the shipped z, a band half-width in scales, is far wider as a Poisson tail.
//   Too_short and constant series keep the fallback band.
// - Tail scale (tail_scale=on, the default): each side of the band is widened by its own factor, max(1, q95 /
//   (1.96 x the scale above)), q95 the 95th percentile of that side's residuals (above, or below as magnitudes;
//   as they are, not over the weekday factor) over the fit's observed rows (1 for a side with fewer than 20; the
//   rolling schedule at each full refit), 1.96 that of |N(0, 1)| and of either half of it: a normal series keeps
//   its MAD band. A value scores against the scale of its side, so score > z still means outside the band. Why:
//   the MAD says how wide the middle of the residuals is, not how often a series deviates by a lot nor in which
//   direction (page views have news days above, London households weeks away below), so one z had to sit at the
//   widest series' tails (z 16.75) and caught no 4-10 sigma drop or spike on a light-tailed series or side.
//   Measured (results/README.md, "A band as wide as each side's tails"): with z 7, on the kind mix London
//   0.58 -> 0.63 and page views 0.55 -> 0.61, bikes 0.52 -> 0.57; on our mix page views lose 0.016 (news days).
//   Episodes (retrospective fits): a side's episode is the 6-week window holding the most of its top residuals
//   (those at least the order statistic below its 95th percentile), when it holds half of them and at least 4;
//   the fitted steps inside it score against that side's factor without the window's residuals (when lower), the
//   others against the whole side's. Why: a band must not be as wide as the anomaly it scores. A 5-week level
//   shift is 10% of its side's residuals over two years, so it set that side's 95th percentile itself and scored
//   about 2 scales (not one injected positive level shift of 47 was flagged on the mix). Why half: the top
//   residuals of autocorrelated noise cluster in 6-week windows by the handful; an anomaly that sets the tail holds
//   most of them. Forward windows and the weekly schedule score steps outside their fit and keep the whole side's;
//   local_scale and count_band write their own band, without episodes.
//   Measured (results/README.md, "A band not widened by the episode it scores"): issue's mix London 0.640 -> 0.677,
//   page views 0.602 -> 0.637.
//
// Code: this class and the workspace (gam_detector.cpp: detect, the status rules, the level fallback); the fit
// (gam_fit.cpp); the rolling schedule (gam_rolling.cpp); the band and score writer (gam_band.hpp), with the local
// scale and the count band (gam_local_scale.cpp, gam_count_band.hpp); the calendar
// design (gam_design.hpp); the vectorised loops (gam_kernels.hpp) and packed Cholesky (gam_packed.hpp); medians
// and MADs (robust_stats.hpp).
//
// Shipped defaults: the fit (Huber, 25 changepoints, scale_floor 0.3) chosen by the sweeps of tools/defaults_study.py
// (results/README.md, "Shipped defaults"); transform (log1p_relative, then auto), weekday_scale, run_score and rules chosen on
// real usage backgrounds with injected anomalies (tools/real_usage_study; results/model16.md); tail_scale and z 7
// by `meterbench sweep` on them, with both kind mixes (tools/choose_defaults.py; results/README.md); yearly_min_days
// 730 by the study's grid on them (tools/real_usage_study/grid_study.py; results/README.md).
//
// Transform (transform=auto, the default): a daily or finer series is fitted as it is when its spread grows slower
// than the square root of its level, else as log1p_relative. The spread and level are the mean |difference between
// observed neighbours| and the mean value of 4-week blocks of the fit window (values capped at 10x the usual positive
// value; blocks with half their steps and a quarter of their pairs observed; at most 128 blocks), and the growth is
// the slope of log spread on log level between the medians of the lowest and the highest third of the blocks by
// level (robust to a block an anomaly made odd), decided only when there are 6 blocks and their levels span 2x (no
// telling otherwise: the log). Why: the variance-stabilising choice per series (Box-Cox lambda from the
// data: 1 for additive noise, 1/2 for counts, 0 for multiplicative), reduced to the two spaces the band writers
// have, split at lambda = 1/2. Bike rentals (weather-driven swings of similar size at every level) lose recall in
// logs, which narrow their busy days' band and widen their quiet days'; households and page views keep the log.
// Measured (results/README.md, "A fitted space chosen per series"): issue's mix bikes 0.575 -> 0.65 (+0.03 of it
// from injected events; the rest is a real outage day, a false alert to the scorer, flagged less often: a day at
// 0.4% of the usual usage is the size of a rainy day's drop there), small counts 0.587 -> 0.61, households and page
// views within 0.005. Cost: one vectorised pass over the values (a second one for the series whose levels span 2x).
//
// Per-series rules (documented here, tested in tests/model/gam_*_test.cpp):
// - Changepoint j (at step c_j, segment [c_j, c_{j+1}) with c_{C+1} = fit end) is dropped (its delta fixed
//   at 0, i.e. merged into the previous segment) when fewer than half of its segment's steps, or fewer than 2,
//   are observed.
// - The yearly term is in the design when the fit window spans >= yearly_min_days, and used for a series
//   when its observed history (first to last observed step) spans >= yearly_min_days (default 730 = 2 years,
//   as prophet). Why two cycles: fitted to less, its 20 Fourier columns learn that year's own weather and events
//   and bend with an anomaly (households and page views with 1.5-2 years: 65% of an injected 2-6 week level shift
//   absorbed, 24% of a double counting; without the term the changepoint trend follows the season and absorbs 21%
//   and 6%). Two cycles still let it absorb about half of a level shift, but it then knows the season: from 3
//   years instead, the bike data's lower band reached 0 and its 2012 hurricane day went unflagged on 21 of 30
//   replicates, for no injected event caught more (results/README.md, "The yearly term from 2 years of history").
// - Statuses: all_missing (no observed step in the fit window: outputs NaN); constant (all observed values
//   equal, incl. all zero: band of width 0 at that value, score 0 where equal and +inf elsewhere);
//   too_short (fewer than max(min_observed, 2 x active columns) observed steps: falls back to the median
//   and the MAD of the observed values, floored as above); not_converged (iteration limit: outputs from the
//   last iterate); ok.
// - Allocation: none per series. A workspace is sized for the retrospective design; a forward fit window
//   builds its design (and factorisation) once per window and thread, cached in the workspace; so does the
//   rolling schedule (one design per (first scored step, period) and thread).
//
// Rolling schedule (detect_rolling, the weekly backtest; reuses_work_across_periods() is true except for
// loss=bisquare, which keeps the default independent forward fits): one series' weekly forward fits cost
// a fraction of one independent fit each instead of a full fit, by sliding updates and warm starts:
// - One design for all of the series' windows, that of [0, last period start). Week k (start s_k) fits the
//   observed rows before s_k with penalties per window row (divided by s_k) and scaled to what detect()'s
//   design standardised over [0, s_k) would give (lambda_j x the variance over [0, s_k) of column j), with
//   the changepoints at or before the last one detect() places in [0, s_k) (so the last 20% of the history
//   is one trend segment, as there) that pass the segment rule over their part before s_k, and the yearly
//   term when the observed history spans yearly_min_days. Changepoints sit on this design's grid, not on
//   each window's, so outputs approximate the independent fits (tests/model/gam_rolling_test.cpp: median
//   difference < 0.08 band scale, 99th percentile < 1 scale, flags agreeing on >= 98% of steps).
// - Statuses all_missing / constant / too_short are decided per week exactly as detect() decides them on
//   [0, s_k) (same counts and active columns of its own design), with its fallback outputs; the first
//   non-ok status is returned.
// - Fitted space: c of log1p_relative from the observed values before the first scored week; the weekday factors
//   are re-estimated at each full refit; the run score and the rules run on each week as on a forward window.
// - Per week: the week's X'X (cached per design; its missing rows downdated), X'(u - offset) and Huber clip
//   corrections of its new rows (clipped against the current fit at the held clip scale) are added, and the
//   penalised normal equations are solved from last week's coefficients by conjugate gradients
//   preconditioned with the last factorisation (refactorised when the active columns change). A full
//   robust refit (Huber iterations to convergence on all rows, band scale = MAD of the final residuals,
//   which is then also the clip scale) runs at the first regression week and every 6 weeks; in between,
//   the band scale is held.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "meterbench/core/portable_math.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/gam_band.hpp"
#include "meterbench/model/gam_design.hpp"
#include "meterbench/model/gam_parameters.hpp"
#include "meterbench/model/gam_rules.hpp"
#include "meterbench/model/parameters.hpp"

namespace meterbench {

/// A value beyond this many times a series' usual positive value (either way) is a gross error, such as a x1000
/// unit error, not usage: transform=auto caps values there, and robust_start=auto starts robustly when one occurs.
inline constexpr double kGamGrossMultiple = 10.0;

/// Builds the gam detector for a grid (parameters: gam_parameters.hpp).
std::unique_ptr<Detector> make_gam_detector(std::span<const std::string> settings, const TimeGrid& grid);

/// tail_scale: the rows [begin, end) of a fit window where one side's largest residuals cluster, and that side's
/// factor without them, for the fitted steps inside (empty: begin == end).
struct GamTailEpisode {
  std::int64_t begin = 0, end = 0;
  double factor = 1.0;
  [[nodiscard]] bool holds(std::int64_t row) const { return row >= begin && row < end; }
};

/// Scratch and last-fit results of the gam detector for one thread. Sized for the retrospective design at
/// construction; a forward fit window builds (once per window and thread) its own design here.
class GamWorkspace final : public DetectorWorkspace {
 public:
  explicit GamWorkspace(const GamDesign& design);

  /// Standardised coefficients of the last fit (see GamDesign::column_mean / column_inv_sd); the intercept
  /// excludes offset().
  [[nodiscard]] const Eigen::VectorXd& coefficients() const { return beta_; }
  /// Mean of the observed (transformed) values of the last fit: fitted = offset() + X coefficients().
  [[nodiscard]] double offset() const { return offset_; }
  [[nodiscard]] double scale() const { return scale_; }
  [[nodiscard]] int iterations() const { return iterations_; }
  /// Which columns the last fit used (changepoints dropped, yearly off for short history).
  [[nodiscard]] const std::vector<std::uint8_t>& active_columns() const { return active_; }

 private:
  friend class GamDetector;
  void ensure(const GamDesign& design);

  Eigen::VectorXd y_;      // transformed values over the fit window minus offset_, 0 where missing
  Eigen::VectorXf yhatf_;  // fitted values over the fit window, minus offset_
  std::vector<float> predict_scratch_;
  std::vector<double> cross_scratch_;
  std::vector<std::uint8_t> observed_;
  std::vector<float> residuals_;  // observed residuals, for the MAD
  std::vector<float> signed_residuals_;  // tail_scale: the signed residuals of the final fit (0 where unobserved)
  std::vector<float> select_;     // selection scratch
  std::vector<double> pick_weight_;  // weights of the rows in the Huber right-hand side
  std::vector<std::int32_t> pick_rows_;  // the rows with a nonzero weight
  std::vector<std::uint8_t> pick_flags_;  // whether a row's weight is nonzero
  Eigen::MatrixXd gram_;           // X'X accumulated by rank-k updates (fit: no running sums, bisquare)
  Eigen::MatrixXd chunk_;  // p x kChunk gathered rows for rank-k updates
  std::vector<double> lower_;     // Cholesky factor of the per-series (fit: build_gram) or rolling penalised Gram matrix, packed
  std::vector<double> inv_diag_;  // 1 / its diagonal
  std::vector<double> packed_;    // that Gram matrix, packed (bisquare and the rolling schedule)
  std::vector<std::int64_t> runs_;  // missing (or observed) runs [begin, end) of the fit window (build_gram)
  std::vector<std::int64_t> short_rows_;  // the rows of the short ones among them
  Eigen::VectorXd b_, rhs_, rhs_prev_, beta_, beta_next_, delta_, tmp_, row_;
  Eigen::VectorXd gbeta_, g_prev_, rhs_last_, f_prev_, gf_prev_;  // Anderson acceleration of the Huber iteration
  std::vector<std::uint8_t> active_;
  std::unique_ptr<GamDesign> window_design_;  // design of the last non-retrospective fit window
  // detect_rolling (see GamDetector): one design for all of a series' weekly windows, cached per thread.
  std::unique_ptr<GamDesign> rolling_design_;   // design of [0, last period start)
  std::int64_t rolling_first_ = -1;              // first scored step it was built for
  Eigen::MatrixXd rolling_prefix_;               // X'X of its rows [0, rolling_first_) (lower triangle)
  Eigen::MatrixXd rolling_weeks_;                // X'X of each period's rows, p x (p x periods) (lower triangles)
  std::int64_t rolling_period_ = 0;
  Eigen::MatrixXd rolling_xtx_;                  // per series: X'X of the observed rows so far (lower triangle)
  Eigen::VectorXd rolling_b_, rolling_corr_;     // per series: X'(u - offset) and the Huber clip corrections
  Eigen::VectorXd rolling_sum_, rolling_sq_;     // column sums and sums of squares over the rows so far
  Eigen::VectorXd rolling_penalty_;              // the penalty matched to the current window (see detect_rolling)
  std::vector<std::int64_t> observed_before_;    // per series: observed steps before each step (steps + 1)
  std::vector<std::int64_t> changepoint_scratch_;  // changepoint steps of one forward window
  std::vector<std::uint8_t> rolling_active_;     // active columns of the rolling fit
  double scale_ = 0.0;
  double offset_ = 0.0;      // mean of the observed transformed values, added back to the fit
  double level_ = 0.0;       // fallback level (constant, too_short)
  bool level_only_ = false;  // outputs come from level_ instead of the regression
  bool nonnegative_ = false; // every observed (transformed) value of the fit window is >= 0: outputs clamped at 0
  int iterations_ = 0;
  GamSpace space_;            // the fitted space of the series (transform)
  double typical_positive_ = 0.0;  // median positive value of the fit window (log1p_relative, rules), 0 when none
  GamWeekdayScale weekdays_;  // the band scale's weekday factors (weekday_scale)
  bool weekday_on_ = false;   // whether they apply to the current fit
  double tail_up_ = 1.0, tail_down_ = 1.0;  // tail_scale: each side's band scale over the series' (>= 1)
  GamTailEpisode episode_up_, episode_down_;  // tail_scale: each side's episode of top residuals (rows of the fit window)
  std::vector<double> start_y_;      // winsorised values of the robust start
  std::vector<double> post_scratch_;  // the run score's terms (gam_run_score_scratch)
  std::vector<double> band_scratch_;  // per-step scale and band factors of the log band (3 per step); the weekday factors' lanes
  std::vector<double> adapted_scratch_;  // local_scale, count_band: each scored step's fit, fitted value and local factor
  std::vector<double> local_weeks_;  // local_scale: the median absolute residual of each week (NaN: too sparse)
  bool counts_ = false;       // count_band applies to the current series (small counts)
};

class GamDetector final : public Detector {
 public:
  GamDetector(const BoundParameters<GamConfig>& parameters, const TimeGrid& grid);

  [[nodiscard]] std::string_view name() const override { return "gam"; }
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> parameters() const override { return effective_; }
  [[nodiscard]] std::unique_ptr<DetectorWorkspace> make_workspace() const override;
  FitStatus detect(const SeriesInput& series, const DetectionWindow& window, DetectorWorkspace& workspace,
                   const DetectionOutput& out) const override;
  /// True except for loss=bisquare (whose rolling schedule is the default: independent forward fits).
  [[nodiscard]] bool reuses_work_across_periods() const override { return config_.loss != GamConfig::Loss::bisquare; }
  /// The weekly schedule by sliding updates and warm starts (see the header comment, "Rolling schedule").
  FitStatus detect_rolling(const SeriesInput& series, std::int64_t first_scored, std::int64_t period, DetectorWorkspace& workspace,
                           const DetectionOutput& out) const override;

  [[nodiscard]] const GamConfig& config() const { return config_; }
  /// The shared design of the retrospective window (the whole grid).
  [[nodiscard]] const GamDesign& retrospective_design() const { return *retrospective_; }
  /// The design a window fits with (the shared one, or the workspace's window design).
  const GamDesign& design_for(const DetectionWindow& window, GamWorkspace& workspace) const;

 private:
  /// What loading a fit window found: observed steps, the first and last (window rows), and the range and sum
  /// of their transformed values.
  struct WindowSummary {
    std::int64_t observed = 0, first = -1, last = -1;
    double lo = 0.0, hi = 0.0, sum = 0.0;
  };
  /// The route of a regression fit (see the header comment, "Fit"): with the shared factorisation of the fully
  /// observed window (`shared`), the missing rows then imputed by the current fit (`impute`), or with the Gram
  /// matrix of the observed rows factorised for the series. `floor`: the convergence floor of exact fits.
  struct FitRoute {
    bool shared = false;
    bool impute = false;
    bool robust_start = false;  // starts_robustly
    double floor = 0.0;
  };
  struct RollingState;  // the state of detect_rolling carried from week to week (gam_rolling.cpp)
  /// robust_start: the most Huber iterations that re-estimate the scale (where it never settles, the last one's is held).
  static constexpr int kRobustScaleUpdates = 10;
  /// A scale re-estimated until it settles (huber_iterations, rolling_refit): at iteration `it` <= held_from,
  /// scale = estimate(), held from `it` on once that moved it by at most the tolerance.
  template <typename Estimate>
  void update_scale(int it, int& held_from, double& scale, Estimate&& estimate) const {
    if (it > held_from) return;
    const double previous = scale;
    scale = estimate();
    if (it > 0 && std::abs(scale - previous) <= config_.tolerance * previous) held_from = it;
  }
  /// Whether a fit starts robustly: robust_start on, or auto on a series fitted as it is (ws.space_ chosen) whose
  /// values [lo, hi] (fitted space) reach beyond kGamGrossMultiple times its usual positive value.
  [[nodiscard]] bool starts_robustly(const GamWorkspace& ws, double lo, double hi) const;

  // The status rules of a fit window, shared by detect() and detect_rolling() (see the header comment,
  // "Statuses"): all_missing, constant, too_short when fewer than max(min_observed, 2 x active columns) steps
  // are observed (`active_columns()` is called only then), else ok.
  template <typename ActiveColumns>
  FitStatus window_status(std::int64_t observed, double lo, double hi, ActiveColumns&& active_columns) const {
    if (observed == 0) return FitStatus::all_missing;
    if (lo == hi) return FitStatus::constant;
    return observed < std::max<std::int64_t>(config_.min_observed, 2 * active_columns()) ? FitStatus::too_short : FitStatus::ok;
  }
  /// The fallback of a too_short window of `rows` rows (ws.y_ and ws.observed_ loaded, lo their minimum): returns
  /// the median of the observed values and sets `scale` to their floored robust scale about it.
  double level_fallback(GamWorkspace& ws, std::int64_t rows, double lo, double& scale) const;

  // The fit of one window (gam_fit.cpp), in its phases.
  FitStatus fit(const GamDesign& design, std::span<const float> values, GamWorkspace& ws) const;
  WindowSummary load_fit_window(const GamDesign& design, std::span<const float> values, GamWorkspace& ws) const;
  /// Active columns (changepoints over unobserved segments and a short history's yearly term dropped) into
  /// ws.active_, and the route; returns the count of active columns.
  std::int64_t choose_columns(const GamDesign& design, const WindowSummary& window, GamWorkspace& ws, FitRoute& route) const;
  void least_squares_start(const GamDesign& design, const FitRoute& route, GamWorkspace& ws) const;
  bool winsorise_start(std::int64_t rows, GamWorkspace& ws) const;
  /// Huber's iteration with modified residuals and Anderson acceleration; returns whether it converged.
  bool huber_iterations(const GamDesign& design, const FitRoute& route, GamWorkspace& ws) const;
  /// The Anderson (secant) step from the plain step just solved; `have_prev` once the map is fixed.
  void anderson_step(bool have_prev, GamWorkspace& ws) const;
  /// Bisquare IRLS from the Huber fit at its fixed scale; returns whether it converged.
  bool bisquare_iterations(const GamDesign& design, const FitRoute& route, GamWorkspace& ws) const;
  void predict_fit(const GamDesign& design, GamWorkspace& ws) const;
  /// Absolute residuals of the rows into ws.residuals_ (+inf where unobserved: robust_scale's layout), and with
  /// `signed_too` the signed ones into ws.signed_residuals_ (0 where unobserved: the tail factors'); returns how
  /// many rows are observed.
  std::int64_t collect_residuals(const GamDesign& design, GamWorkspace& ws, bool signed_too = false) const;
  void build_gram(const GamDesign& design, std::int64_t observed, GamWorkspace& ws) const;
  void build_gram_from_prefix(const GamDesign& design, std::int64_t observed, GamWorkspace& ws) const;
  void pack_gram(const GamDesign& design, double scale, GamWorkspace& ws) const;
  void finish_gram(const GamDesign& design, GamWorkspace& ws) const;
  void solve(const GamDesign& design, bool shared, bool same_gram, GamWorkspace& ws) const;
  [[nodiscard]] double robust_scale(GamWorkspace& ws, std::int64_t rows, std::int64_t observed, bool centred) const;
  /// The band scale: `scale` raised to its floor (scale_floor; see the header comment, "Band").
  [[nodiscard]] double floored_scale(GamWorkspace& ws, std::int64_t rows, double lo, double scale) const;
  /// The fitted space of a series (transform) from its observed values in [begin, end) into ws.space_, and their
  /// typical positive value into ws.typical_positive_.
  void choose_space(std::span<const float> values, std::int64_t begin, std::int64_t end, GamWorkspace& ws) const;
  /// The weekday factors of the band scale (weekday_scale) from the residuals |y - offset - fit| of the observed
  /// rows [0, rows) of ws (row i at step first_step + i), in ws.residuals_ (+inf where unobserved: as
  /// collect_residuals and rolling_residuals leave them), and their robust scale `mad`, into ws.weekdays_.
  void weekday_factors(std::int64_t first_step, std::int64_t rows, double mad, GamWorkspace& ws) const;
  /// The factors of each side of the band (tail_scale=on) into ws.tail_up_ and ws.tail_down_: max(1, the 95th
  /// percentile of that side's residuals / 1.96 / `scale`), over the observed rows [0, rows) of ws, from
  /// ws.signed_residuals_ (as the fit's last collect_residuals or rolling_residuals wrote them); 1 for a side with
  /// fewer than 20 residuals. With `episodes`, each side's episode into ws.episode_up_ and ws.episode_down_ (see
  /// the header comment, "Tail scale").
  void tail_factors(std::int64_t rows, double scale, GamWorkspace& ws, bool episodes) const;
  /// The run score and the rule alerts over the scored steps, after the band (gam_rules.hpp).
  void post_score(std::span<const float> values, const GamPostWindow& window, GamWorkspace& ws, const DetectionOutput& out) const;
  /// The band writer of the current series' fit with band scale `scale`.
  [[nodiscard]] GamBandWriter band_writer(const DetectionOutput& out, double scale, double least, const GamWorkspace& ws) const {
    return {out, config_.z, scale, least, ws.space_, grid_, ws.weekday_on_ ? &ws.weekdays_ : nullptr, ws.tail_up_, ws.tail_down_};
  }

  // The adapted band (gam_local_scale.cpp): local_scale and count_band, when either is on.
  [[nodiscard]] bool adapted_band() const { return config_.local_scale || config_.count_band; }
  /// Steps per block of the local scale's windows: a week of the grid (1 on grids coarser than a day).
  [[nodiscard]] std::int64_t local_block() const;
  /// Whether the observed values of [begin, end) are small counts (count_band), into ws.counts_.
  void choose_count_band(std::span<const float> values, std::int64_t begin, std::int64_t end, GamWorkspace& ws) const;
  /// The median of the observed absolute residuals ws.residuals_[a, c); NaN when fewer than half are observed.
  double week_median(GamWorkspace& ws, std::int64_t a, std::int64_t c) const;
  /// The local scale of the weekly medians ws.local_weeks_[wa, wc) as a factor of the series' scale `series`.
  double local_factor(GamWorkspace& ws, std::int64_t wa, std::int64_t wc, double series) const;
  /// That factor from the median of `medians` weekly medians of a window of `weeks` weeks (1 when too few).
  [[nodiscard]] double local_factor_of(double median, std::int64_t medians, std::int64_t weeks, double series) const;
  /// detect()'s band and score of the scored steps of a regression fit, adapted.
  void detect_adapted_band(const GamDesign& design, std::span<const float> values, const DetectionWindow& window, double least,
                           GamWorkspace& ws, const DetectionOutput& out) const;
  /// The local factor of rolling week s from the trailing weeks of its history (coefficients ws.beta_).
  double rolling_local_factor(const GamDesign& design, std::int64_t s, double offset, double series, GamWorkspace& ws) const;
  /// Writes steps [begin, end) from their fit `mu`, fitted value and local factor (indexed from begin).
  void write_scaled_steps(const GamBandWriter& band, std::span<const float> values, std::int64_t begin, std::int64_t end,
                          const double* mu, const double* fitted, const double* factor) const;
  /// The Poisson band and score of steps [begin, end) of a small-count series (ws.counts_) about the written expected.
  void write_count_band(std::span<const float> values, std::int64_t begin, std::int64_t end, const GamWorkspace& ws,
                        const DetectionOutput& out) const;

  // The rolling schedule (gam_rolling.cpp), in its phases.
  const GamDesign& rolling_design_for(std::int64_t first_scored, std::int64_t period, std::int64_t last_start, GamWorkspace& ws) const;
  /// Transformed values (0 at gaps), observed flags and the observed counts before each step of the series.
  void load_rolling_series(std::span<const float> values, GamWorkspace& ws) const;
  /// Adds the rows [cursor, s) to the column sums and the observed summary of the history.
  void advance_history(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const;
  /// The status of the independent forward fit on [0, s), decided as fit() decides it; the fallback outputs
  /// of a non-regression week.
  FitStatus rolling_week_status(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const;
  /// The penalty and active columns of week s; returns whether the active columns changed.
  bool rolling_columns(const GamDesign& design, std::int64_t s, const RollingState& st, GamWorkspace& ws) const;
  /// The first regression week: X'X and X'(u - offset) of the observed rows before s, and the least-squares fit.
  void rolling_start(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const;
  /// The new rows [rows_in, s) join X'X, X'(u - offset) and the Huber clip corrections.
  void rolling_slide(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const;
  /// Full robust refit at week s: Huber iterations to convergence, band and clip scale from its residuals.
  void rolling_refresh(const GamDesign& design, std::int64_t s, RollingState& st, GamWorkspace& ws) const;
  /// Warm start: conjugate gradients from last week's coefficients, refactorising when they are slow.
  void rolling_warm_solve(const GamDesign& design, std::int64_t s, bool columns_changed, const RollingState& st,
                          GamWorkspace& ws) const;
  /// Writes the band and score of [s, e) as detect() scores a forward window.
  void score_rolling_week(const GamDesign& design, std::span<const float> values, std::int64_t s, std::int64_t e,
                          const RollingState& st, GamWorkspace& ws, const DetectionOutput& out) const;
  /// Forms the rolling penalised Gram matrix X'X_obs / rows + penalty (inactive columns unit) into ws.packed_
  /// and its Cholesky factor into ws.lower_ (the packed routines of the per-series route: Eigen's blocked LLT
  /// and triangular solves spend their time setting up tiny blocks).
  void rolling_factor(const GamDesign& design, std::int64_t rows, GamWorkspace& ws) const;
  /// Absolute residuals of the observed rows before `end` (values less `offset`) into ws.residuals_; their count.
  std::int64_t rolling_residuals(std::int64_t end, double offset, GamWorkspace& ws, bool signed_too = false) const;
  /// v <- G^-1 v with the last rolling_factor.
  void rolling_solve(const GamDesign& design, Eigen::VectorXd& v, GamWorkspace& ws) const;
  /// Huber iterations of the rolling fit over the observed rows before `end`, from ws.beta_, with the clip
  /// scale re-estimated from the current residuals in up to `clip_updates` iterations until it settles (0: the
  /// one given is held); refactorises (rolling_factor). Returns whether it converged.
  bool rolling_refit(const GamDesign& design, std::int64_t end, double offset, double floor, int clip_updates, double& clip_scale,
                     GamWorkspace& ws) const;

  GamConfig config_;
  TimeGrid grid_;
  std::vector<std::pair<std::string, std::string>> effective_;
  std::unique_ptr<GamDesign> retrospective_;
};

}  // namespace meterbench
