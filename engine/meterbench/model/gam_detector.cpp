#include "meterbench/model/gam_detector.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"
#include "meterbench/core/portable_math.hpp"
#include "meterbench/model/gam_band.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/model/robust_stats.hpp"

namespace meterbench {

namespace {

constexpr int kChunk = 64;  // rows gathered per rank-k update
constexpr std::int64_t kMaxPrefixBytes = std::int64_t{64} << 20;  // bound of the running X'X sums of the retrospective design

std::vector<ParameterSpec> build_specs() {
  using T = ParameterSpec::Type;
  return {
      {"changepoints", T::integer, "25", 0, 200, {}, "candidate trend changepoints, evenly spaced over the first changepoint_range of the fit window"},
      {"changepoint_range", T::real, "0.8", 0.05, 1.0, {}, "fraction of the fit window (from its start) that holds changepoints"},
      {"changepoint_penalty", T::real, "0.01", 0.0, 1e6, {}, "ridge penalty on standardised changepoint deltas; larger = stiffer trend"},
      {"weekly_order", T::integer, "3", 0, 20, {}, "Fourier order of the weekly term (0 = off; capped at the grid's Nyquist limit)"},
      {"yearly_order", T::integer, "10", 0, 40, {}, "Fourier order of the yearly term (0 = off)"},
      {"yearly_min_days", T::real, "548", 0, 36500, {}, "observed history (days, first to last observed step) a series needs for the yearly term (prophet: 730)"},
      {"monthly_order", T::integer, "2", 0, 10, {}, "Fourier order of the billing-cycle term, phase (day_of_month - 1) / days_in_month (0 = off)"},
      {"daily_order", T::integer, "4", 0, 24, {}, "Fourier order of the daily term on sub-daily grids (0 = off)"},
      {"seasonality_penalty", T::real, "0.001", 0.0, 1e6, {}, "ridge penalty on standardised Fourier coefficients"},
      {"loss", T::choice, "huber", 0, 0, {"huber", "bisquare", "squared"}, "loss of the fit: huber (robust, default), bisquare (redescending, slower), squared (least squares)"},
      {"huber_c", T::real, "2", 0.5, 10, {}, "Huber constant in units of the robust scale"},
      {"bisquare_c", T::real, "4.685", 1, 20, {}, "bisquare constant in units of the robust scale"},
      {"transform", T::choice, "none", 0, 0, {"none", "log1p"}, "fit log1p(max(y, 0)) for multiplicative usage; bands are mapped back"},
      {"z", T::real, "3.5", 0.1, 10, {}, "band half-width in units of the scale (exclusive with width)"},
      {"width", T::real, "0.9995347418419289", 0.5, 0.999999, {}, "band coverage under normal noise; sets z = two-sided normal quantile (exclusive with z)"},
      {"max_iterations", T::integer, "50", 1, 1000, {}, "iteration limit of the robust fit (status not_converged beyond it)"},
      {"tolerance", T::real, "0.005", 1e-12, 0.1, {}, "convergence: RMS change of the fitted values below tolerance x scale"},
      {"min_observed", T::integer, "28", 2, 1000000000, {}, "fewest observed steps in the fit window for a fit (also at least 2 x active columns)"},
      {"scale_floor", T::real, "0.3", 0, 1, {}, "lower bound of the band scale, as a share of the robust scale of the residuals at steps above the series' minimum when that minimum repeats (the zero days of intermittent usage); 0 = off"},
  };
}

double normal_cdf(double x) { return 0.5 * pmath::erfc(-x / std::numbers::sqrt2); }

}  // namespace

double normal_two_sided_quantile(double width) {
  METERBENCH_CHECK(width > 0.0 && width < 1.0);
  const double p = 0.5 + 0.5 * width;  // upper quantile level, in (0.5, 1)
  // Acklam's rational approximation (relative error 1.15e-9), then two Newton steps on erfc.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
  double x = 0.0;
  if (p < 0.97575) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * pmath::log(1.0 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  for (int i = 0; i < 2; ++i) {
    const double err = normal_cdf(x) - p;
    x -= err * std::sqrt(2.0 * std::numbers::pi) * pmath::exp(0.5 * x * x);
  }
  return x;
}

std::span<const ParameterSpec> gam_parameter_specs() {
  static const std::vector<ParameterSpec> specs = build_specs();
  return specs;
}

GamConfig gam_config_from_settings(std::span<const std::string> settings) {
  const ParameterValues v("gam", gam_parameter_specs(), settings);
  if (v.is_set("z") && v.is_set("width")) throw std::invalid_argument("gam: set either 'z' or 'width', not both");
  GamConfig c;
  c.changepoints = static_cast<int>(v.integer("changepoints"));
  c.changepoint_range = v.real("changepoint_range");
  c.changepoint_penalty = v.real("changepoint_penalty");
  c.weekly_order = static_cast<int>(v.integer("weekly_order"));
  c.yearly_order = static_cast<int>(v.integer("yearly_order"));
  c.yearly_min_days = v.real("yearly_min_days");
  c.monthly_order = static_cast<int>(v.integer("monthly_order"));
  c.daily_order = static_cast<int>(v.integer("daily_order"));
  c.seasonality_penalty = v.real("seasonality_penalty");
  const std::string& loss = v.choice("loss");
  c.loss = loss == "huber" ? GamConfig::Loss::huber : loss == "bisquare" ? GamConfig::Loss::bisquare : GamConfig::Loss::squared;
  c.huber_c = v.real("huber_c");
  c.bisquare_c = v.real("bisquare_c");
  c.log1p = v.choice("transform") == "log1p";
  c.z = v.is_set("width") ? normal_two_sided_quantile(v.real("width")) : v.real("z");
  c.max_iterations = static_cast<int>(v.integer("max_iterations"));
  c.tolerance = v.real("tolerance");
  c.min_observed = static_cast<int>(v.integer("min_observed"));
  c.scale_floor = v.real("scale_floor");
  return c;
}

std::unique_ptr<Detector> make_gam_detector(std::span<const std::string> settings, const TimeGrid& grid) {
  grid.validate();
  const GamConfig config = gam_config_from_settings(settings);
  const ParameterValues v("gam", gam_parameter_specs(), settings);
  auto effective = v.effective();
  // Report the z and width actually in force, whichever of the two the user gave.
  for (auto& [name, value] : effective) {
    if (name == "z") value = fmt::format("{}", config.z);
    if (name == "width") value = fmt::format("{}", 2.0 * normal_cdf(config.z) - 1.0);
  }
  return std::make_unique<GamDetector>(config, grid, std::move(effective));
}

// ---------------------------------------------------------------------------------------------------------
// Workspace

GamWorkspace::GamWorkspace(const GamDesign& design) { ensure(design); }

void GamWorkspace::ensure(const GamDesign& design) {
  const std::int64_t rows = design.rows();
  const int cols = design.cols();
  if (static_cast<std::int64_t>(predict_scratch_.size()) < design.predict_scratch_size())
    predict_scratch_.resize(static_cast<std::size_t>(design.predict_scratch_size()));
  if (static_cast<std::int64_t>(cross_scratch_.size()) < design.cross_scratch_size())
    cross_scratch_.resize(static_cast<std::size_t>(design.cross_scratch_size()));
  if (y_.size() < rows) {
    y_.resize(rows);
    yhatf_.resize(rows);
    observed_.resize(static_cast<std::size_t>(rows));
    residuals_.resize(static_cast<std::size_t>(rows));
    select_.resize(static_cast<std::size_t>(rows));
    pick_weight_.resize(static_cast<std::size_t>(rows));
    runs_.resize(static_cast<std::size_t>(rows + 1));
    pick_rows_.resize(static_cast<std::size_t>(rows + 8));
    pick_flags_.resize(static_cast<std::size_t>(rows + 8));
  }
  if (static_cast<std::int64_t>(packed_.size()) < design.packed_size()) {
    packed_.resize(static_cast<std::size_t>(design.packed_size()));
    lower_.resize(static_cast<std::size_t>(design.packed_size()));
  }
  if (b_.size() != cols) {
    gram_.resize(cols, cols);
    inv_diag_.resize(static_cast<std::size_t>(cols));
    chunk_.resize(cols, kChunk);
    for (auto* v : {&b_, &rhs_, &rhs_prev_, &beta_, &beta_next_, &delta_, &tmp_, &row_, &gbeta_, &g_prev_, &rhs_last_, &f_prev_, &gf_prev_})
      v->resize(cols);
    active_.assign(static_cast<std::size_t>(cols), 1);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Detector

GamDetector::GamDetector(const GamConfig& config, const TimeGrid& grid, std::vector<std::pair<std::string, std::string>> effective)
    : config_(config), grid_(grid), effective_(std::move(effective)),
      retrospective_(std::make_unique<GamDesign>(grid, config, 0, grid.steps)) {
  retrospective_->build_prefix_cross_products(kMaxPrefixBytes);
}

std::unique_ptr<DetectorWorkspace> GamDetector::make_workspace() const {
  auto ws = std::make_unique<GamWorkspace>(*retrospective_);
  ws->observed_before_.resize(static_cast<std::size_t>(grid_.steps + 1));
  ws->changepoint_scratch_.resize(static_cast<std::size_t>(std::max(0, config_.changepoints)));
  return ws;
}

const GamDesign& GamDetector::design_for(const DetectionWindow& window, GamWorkspace& ws) const {
  if (window.fit_begin == 0 && window.fit_end == grid_.steps) return *retrospective_;
  if (!ws.window_design_ || ws.window_design_->fit_begin() != window.fit_begin || ws.window_design_->fit_end() != window.fit_end)
    ws.window_design_ = std::make_unique<GamDesign>(grid_, config_, window.fit_begin, window.fit_end);
  return *ws.window_design_;
}

FitStatus GamDetector::detect(const SeriesInput& series, const DetectionWindow& window, DetectorWorkspace& workspace,
                              const DetectionOutput& out) const {
  auto& ws = static_cast<GamWorkspace&>(workspace);
  const auto steps = static_cast<std::size_t>(grid_.steps);
  METERBENCH_CHECK(series.values.size() == steps);
  METERBENCH_CHECK(out.expected.size() == steps && out.lower.size() == steps && out.upper.size() == steps && out.score.size() == steps);
  METERBENCH_CHECK(0 <= window.fit_begin && window.fit_begin <= window.fit_end && window.fit_end <= grid_.steps);
  METERBENCH_CHECK(0 <= window.score_begin && window.score_begin <= window.score_end && window.score_end <= grid_.steps);

  FitStatus status = FitStatus::all_missing;
  const GamDesign* design = nullptr;
  if (window.fit_end > window.fit_begin) {
    design = &design_for(window, ws);
    status = fit(*design, series.values, ws);
  }

  const double s = ws.scale_;
  // Usage cannot go below what the fit window shows: on a non-negative series (every transformed series)
  // expected and lower stop at 0 and the score is taken from the clamped expected, so that it stays
  // |y - expected| / scale and a point inside the band scores <= z (see the header, "Band").
  const double least = ws.nonnegative_ ? 0.0 : -std::numeric_limits<double>::infinity();
  std::int64_t step = window.score_begin;
  if (status != FitStatus::all_missing && !ws.level_only_ && !config_.log1p && s > 0.0) {
    // Common case, untransformed regression fit: the score steps inside the fit window in one tight loop.
    const std::int64_t end = std::min(window.score_end, design->fit_end());
    if (step < end && step >= design->fit_begin()) {
      const auto k = static_cast<std::size_t>(step);
      gam_score_fitted(ws.yhatf_.data() + (step - design->fit_begin()), series.values.data() + k, end - step, ws.offset_,
                       least, config_.z * s, 1.0 / s, out.expected.data() + k, out.lower.data() + k, out.upper.data() + k,
                       out.score.data() + k);
      step = end;
    }
  }
  const GamBandWriter band(out, config_.z, s, least, config_.log1p);
  const auto transformed = [&](float v) { return transform(v); };
  for (; step < window.score_end; ++step) {
    const auto k = static_cast<std::size_t>(step);
    if (status == FitStatus::all_missing) {
      band.write_missing(k);
      continue;
    }
    double mu = ws.level_;
    if (!ws.level_only_) {
      if (step >= design->fit_begin() && step < design->fit_end()) {
        mu = ws.offset_ + ws.yhatf_[step - design->fit_begin()];
      } else {
        const int p = design->cols();
        design->fill_row(step, std::span<double>(ws.row_.data(), static_cast<std::size_t>(p)));
        mu = ws.offset_ + ws.row_.head(p).dot(ws.beta_.head(p));
      }
    }
    band.write(k, mu, series.values[k], transformed);
  }
  return status;
}

// The median of the observed values of ws.y_[0, rows) and their robust scale about it, floored.
double GamDetector::level_fallback(GamWorkspace& ws, std::int64_t rows, double lo, double& scale) const {
  std::int64_t m = 0;
  for (std::int64_t i = 0; i < rows; ++i)
    if (ws.observed_[static_cast<std::size_t>(i)]) ws.residuals_[static_cast<std::size_t>(m++)] = static_cast<float>(ws.y_[i]);
  const double med = radix_median(ws.residuals_.data(), m, ws.select_.data());
  m = 0;
  for (std::int64_t i = 0; i < rows; ++i)
    if (ws.observed_[static_cast<std::size_t>(i)]) ws.residuals_[static_cast<std::size_t>(m++)] = static_cast<float>(ws.y_[i] - med);
  scale = floored_scale(ws, rows, lo, robust_scale(ws, m, true));
  return med;
}

}  // namespace meterbench
