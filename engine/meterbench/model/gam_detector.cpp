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
#include "meterbench/core/kernels.hpp"
#include "meterbench/core/portable_math.hpp"

namespace meterbench {

namespace {

constexpr int kChunk = 64;         // rows gathered per rank-k update
constexpr int kScaleUpdates = 1;   // Huber iterations that re-estimate the MAD scale before it is held
constexpr double kMaxExtrapolation = 10.0;  // bound of the Anderson step (a contraction rate of 0.9 needs 9)
constexpr double kMadToSigma = 1.482602218505602;  // 1 / Phi^-1(3/4)
constexpr double kMeanAbsToSigma = 1.2533141373155003;  // sqrt(pi / 2)
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kRollingRefreshWeeks = 6;  // rolling schedule: full robust refit at least every this many periods
constexpr int kRollingSolveSteps = 10;
constexpr std::int64_t kMaxPrefixBytes = std::int64_t{64} << 20;  // running X'X sums of the retrospective design (10 MiB daily x 730)    // rolling schedule: conjugate-gradient steps on the last factor before refactorising

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

double GamDetector::transform(float value) const {
  const double v = value;
  return config_.log1p ? pmath::log1p(std::max(v, 0.0)) : v;
}

namespace {

// Monotone map of a float onto uint32 (the order of all non-NaN values is kept; -0 sorts before +0, which
// changes no order statistic's value).
inline std::uint32_t order_key(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits ^ (static_cast<std::uint32_t>(static_cast<std::int32_t>(bits) >> 31) | 0x80000000u);
}
inline double from_order_key(std::uint32_t key) {
  const std::uint32_t bits = key ^ ((key >> 31) != 0 ? 0x80000000u : 0xFFFFFFFFu);
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// The order statistics x_(k-1) and x_(k) (0-based; both x_(0) when k == 0) of data[0, m) (no NaN), exactly,
// by one radix step: a histogram of the top 12 bits of the order keys (1/8-octave buckets) finds the bucket
// of rank k, one branch-free pass gathers that bucket (a few percent of the values) and the largest key
// below it, and only the bucket is ranked: by counting when it is small, else by nth_element. Comparisons
// of random residuals are unpredictable branches, so this is 2-3x faster than sampling-based selection and
// 4x faster than std::nth_element. `scratch` holds m floats.
std::pair<double, double> select_pair(const float* data, std::int64_t m, std::int64_t k, float* scratch) {
  constexpr int kBits = 12, kShift = 32 - kBits;
  // Kept all-zero between calls (the used range is cleared after each), so no 16 KiB clear per call.
  alignas(64) static thread_local std::array<std::uint32_t, std::size_t{1} << kBits> counts{};
  METERBENCH_CHECK(0 <= k && k < m);
  auto* keys = reinterpret_cast<std::uint32_t*>(scratch);
  std::uint32_t lo = ~0u, hi = 0;
  for (std::int64_t i = 0; i < m; ++i) {
    const std::uint32_t key = order_key(data[i]), b = key >> kShift;
    keys[i] = key;
    ++counts[b];
    lo = std::min(lo, b);
    hi = std::max(hi, b);
  }
  std::uint32_t bucket = lo;
  std::int64_t before = 0;
  while (before + counts[bucket] <= k) before += counts[bucket++];
  std::memset(&counts[lo], 0, (hi - lo + 1) * sizeof(std::uint32_t));
  std::int64_t inside = 0;
  std::uint32_t below_max = 0;
  for (std::int64_t i = 0; i < m; ++i) {
    const std::uint32_t key = keys[i], b = key >> kShift;
    keys[inside] = key;
    inside += b == bucket ? 1 : 0;
    below_max = std::max(below_max, b < bucket ? key : 0u);
  }
  const std::int64_t r = k - before;  // rank inside the bucket
  std::uint32_t xk = 0, xprev = below_max;  // x_(k-1) is the bucket's rank r-1, or the largest key below it
  if (inside <= 16) {
    for (std::int64_t a = 0; a < inside; ++a) {
      const std::uint32_t v = keys[a];
      std::int64_t rank = 0;  // ties ranked by position, so every rank 0..inside-1 occurs once
      for (std::int64_t c = 0; c < inside; ++c) rank += (keys[c] < v) | ((keys[c] == v) & (c < a));
      xk = rank == r ? v : xk;
      xprev = rank == r - 1 ? v : xprev;
    }
  } else {
    std::nth_element(keys, keys + r, keys + inside);
    xk = keys[r];
    if (r > 0) xprev = *std::max_element(keys, keys + r);
  }
  if (k == 0) xprev = xk;
  return {from_order_key(xprev), from_order_key(xk)};
}

// For each 8-bit mask: how many bits are set and their positions, in order (the rows to keep of a group of 8).
struct PickGroup {
  std::uint8_t count = 0;
  std::array<std::uint8_t, 8> index{};
};
constexpr std::array<PickGroup, 256> make_pick_groups() {
  std::array<PickGroup, 256> table{};
  for (int m = 0; m < 256; ++m)
    for (int k = 0; k < 8; ++k)
      if ((m >> k) & 1) table[static_cast<std::size_t>(m)].index[table[static_cast<std::size_t>(m)].count++] = static_cast<std::uint8_t>(k);
  return table;
}
constexpr std::array<PickGroup, 256> kPickGroups = make_pick_groups();

// rhs -= sum_i w_i x_i over the rows of the Huber iteration: w_i = r_i - clip(r_i) (r_i = y_i - yhat_i) on an
// observed row, r_i = -yhat_i on an imputed one (its y is 0), else 0. The weights and a flag w_i != 0 first, in
// one vectorised pass (which residuals exceed c*s is a coin toss to a branch predictor), then the indices of the
// flagged rows, eight rows at a time by table lookup (branch-free), then those rows four per pass over rhs
// (subtracted one after the other, as one per pass would). Compiled for AVX2 and baseline (no FMA: the same
// rounding on every machine). `flags` holds n + 8 bytes and `picks` n + 8 indices.
[[gnu::always_inline]] inline void huber_rhs_body(const double* y, const float* yhat, const std::uint8_t* observed,
    std::int64_t n, double cs, bool impute, const double* x, std::int64_t p, double* w, std::uint8_t* flags,
    std::int32_t* picks, double* rhs) {
  const double missing = impute ? 1.0 : 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double r = y[i] - static_cast<double>(yhat[i]);
    const double clipped = r - std::min(std::max(r, -cs), cs);
    const double o = observed[i];  // 0 or 1; arithmetic instead of a select, so that the loop vectorises
    const double wi = o * clipped + (1.0 - o) * (missing * r);
    w[i] = wi;
    flags[i] = wi != 0.0 ? 1 : 0;
  }
  std::fill_n(flags + n, 8, std::uint8_t{0});
  std::int64_t count = 0;
  for (std::int64_t g = 0; g < n; g += 8) {
    std::uint64_t bytes;
    std::memcpy(&bytes, flags + g, sizeof bytes);
    const auto mask = static_cast<std::size_t>((bytes * 0x0102040810204080ull) >> 56);  // byte k (0 or 1) -> bit k
    const PickGroup& group = kPickGroups[mask];
    for (int l = 0; l < 8; ++l) picks[count + l] = static_cast<std::int32_t>(g) + group.index[static_cast<std::size_t>(l)];
    count += group.count;
  }
  std::int64_t k = 0;
  for (; k + 3 < count; k += 4) {
    const double w0 = w[picks[k]], w1 = w[picks[k + 1]], w2 = w[picks[k + 2]], w3 = w[picks[k + 3]];
    const double* x0 = x + picks[k] * p;
    const double* x1 = x + picks[k + 1] * p;
    const double* x2 = x + picks[k + 2] * p;
    const double* x3 = x + picks[k + 3] * p;
    for (std::int64_t j = 0; j < p; ++j) rhs[j] = (((rhs[j] - w0 * x0[j]) - w1 * x1[j]) - w2 * x2[j]) - w3 * x3[j];
  }
  for (; k < count; ++k) {
    const double w0 = w[picks[k]];
    const double* x0 = x + picks[k] * p;
    for (std::int64_t j = 0; j < p; ++j) rhs[j] -= w0 * x0[j];
  }
}
__attribute__((target("avx2"))) void huber_rhs_avx2(const double* y, const float* yhat, const std::uint8_t* observed,
    std::int64_t n, double cs, bool impute, const double* x, std::int64_t p, double* w, std::uint8_t* flags,
    std::int32_t* picks, double* rhs) {
  huber_rhs_body(y, yhat, observed, n, cs, impute, x, p, w, flags, picks, rhs);
}
void huber_rhs_baseline(const double* y, const float* yhat, const std::uint8_t* observed, std::int64_t n, double cs,
    bool impute, const double* x, std::int64_t p, double* w, std::uint8_t* flags, std::int32_t* picks, double* rhs) {
  huber_rhs_body(y, yhat, observed, n, cs, impute, x, p, w, flags, picks, rhs);
}
void huber_rhs(const double* y, const float* yhat, const std::uint8_t* observed, std::int64_t n, double cs,
    bool impute, const double* x, std::int64_t p, double* w, std::uint8_t* flags, std::int32_t* picks, double* rhs) {
  kernels::use_avx2() ? huber_rhs_avx2(y, yhat, observed, n, cs, impute, x, p, w, flags, picks, rhs)
      : huber_rhs_baseline(y, yhat, observed, n, cs, impute, x, p, w, flags, picks, rhs);
}

// The band and score of `count` steps inside the fit window (the common case: untransformed regression fit):
// expected = max(offset + yhat, least), lower = max(expected - half, least), upper = expected + half, score =
// |value - expected| / scale (NaN stays NaN). A separate function with unaliased pointers, so that it vectorises
// (compiled for AVX2 and the baseline; no FMA, so the same rounding as the plain loop).
[[gnu::always_inline]] inline void score_fitted_body(const float* __restrict yhat, const float* __restrict values,
    std::int64_t count, double offset, double least, double half, double inv_s, float* __restrict expected,
    float* __restrict lower, float* __restrict upper, float* __restrict score) {
  for (std::int64_t k = 0; k < count; ++k) {
    const double mu = std::max(offset + static_cast<double>(yhat[k]), least);
    expected[k] = static_cast<float>(mu);
    lower[k] = static_cast<float>(std::max(mu - half, least));
    upper[k] = static_cast<float>(mu + half);
    score[k] = static_cast<float>(std::abs(static_cast<double>(values[k]) - mu) * inv_s);
  }
}
__attribute__((target("avx2"))) void score_fitted_avx2(const float* __restrict yhat, const float* __restrict values,
    std::int64_t count, double offset, double least, double half, double inv_s, float* __restrict expected,
    float* __restrict lower, float* __restrict upper, float* __restrict score) {
  score_fitted_body(yhat, values, count, offset, least, half, inv_s, expected, lower, upper, score);
}
void score_fitted_baseline(const float* __restrict yhat, const float* __restrict values, std::int64_t count,
    double offset, double least, double half, double inv_s, float* __restrict expected, float* __restrict lower,
    float* __restrict upper, float* __restrict score) {
  score_fitted_body(yhat, values, count, offset, least, half, inv_s, expected, lower, upper, score);
}
void score_fitted(const float* __restrict yhat, const float* __restrict values, std::int64_t count, double offset,
    double least, double half, double inv_s, float* __restrict expected, float* __restrict lower,
    float* __restrict upper, float* __restrict score) {
  kernels::use_avx2() ? score_fitted_avx2(yhat, values, count, offset, least, half, inv_s, expected, lower, upper, score)
      : score_fitted_baseline(yhat, values, count, offset, least, half, inv_s, expected, lower, upper, score);
}

// Median of data[0, m) (mean of the two middle values when m is even).
double median_of(const float* data, std::int64_t m, float* scratch) {
  const auto [lower, upper] = select_pair(data, m, m / 2, scratch);
  return m % 2 == 1 ? upper : 0.5 * (lower + upper);
}

}  // namespace

// Robust scale of ws.residuals_[0, m): 1.4826 x the median absolute value (MAD about 0, as MASS::rlm takes
// it for regression residuals: the fit is their centre), or about their median when `centred` (for raw
// values); falls back to the scaled mean absolute deviation when more than half are equal, and is 0 only
// when all are.
double GamDetector::robust_scale(GamWorkspace& ws, std::int64_t m, bool centred) const {
  float* r = ws.residuals_.data();
  if (centred) {
    const double med = median_of(r, m, ws.select_.data());
    for (std::int64_t i = 0; i < m; ++i) r[i] = static_cast<float>(std::abs(r[i] - med));
  }  // else the caller stored absolute values already
  const double mad = median_of(r, m, ws.select_.data());
  if (mad > 0.0) return kMadToSigma * mad;
  double mean_abs = 0.0;
  for (std::int64_t i = 0; i < m; ++i) mean_abs += r[i];
  return kMeanAbsToSigma * mean_abs / static_cast<double>(m);
}

// The band scale: max(scale, scale_floor x 1.4826 x the median absolute residual at the rows above the
// series' minimum `lo`), when that minimum repeats (a point mass: the zero days of intermittent usage, a
// committed baseline). ws.residuals_ holds the absolute residuals of the observed rows of ws.y_[0, n), in
// order (ws.y_ in the space of `lo`); they are compacted in place. Why: when half the steps sit at the point
// mass, their residuals are all about -fit there, so the MAD measures the fit's distance from the point
// mass, not how usage varies when it happens, and every ordinary burst scores high. Without a repeated
// minimum the rows above it are all but one and the floor is skipped, so regular series keep their scale
// exactly. Cost: two passes, and a selection only when the floor binds (a count decides that exactly).
double GamDetector::floored_scale(GamWorkspace& ws, std::int64_t n, double lo, double scale) const {
  if (!(config_.scale_floor > 0.0)) return scale;
  std::int64_t at_min = 0;  // vectorised: most series have no repeated minimum
  for (std::int64_t i = 0; i < n; ++i) at_min += ws.observed_[static_cast<std::size_t>(i)] & (ws.y_[i] == lo ? 1 : 0);
  if (at_min <= 1) return scale;
  // The floor exceeds the scale exactly when the median of the kept residuals exceeds t, i.e. when more
  // than half of them do (for an even count: at least the upper middle one; then the median decides).
  const double t = scale / (config_.scale_floor * kMadToSigma);
  float* r = ws.residuals_.data();
  std::int64_t seen = 0, kept = 0, above = 0;
  for (std::int64_t i = 0; i < n; ++i) {  // branch-free: r[kept] is rewritten or unused when not kept
    const std::int64_t o = ws.observed_[static_cast<std::size_t>(i)];
    const float v = r[std::min(seen, n - 1)];
    r[kept] = v;
    const std::int64_t keep = o & (ws.y_[i] != lo ? 1 : 0);
    kept += keep;
    above += keep & (v > t ? 1 : 0);
    seen += o;
  }
  if (kept == 0 || above < (kept + 1) / 2) return scale;
  return std::max(scale, config_.scale_floor * kMadToSigma * median_of(r, kept, ws.select_.data()));
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
  if (const double* prefix = design.prefix_cross_product(0); prefix != nullptr) {
    // From the running sums: X'X of the observed rows = X'X - sum over missing runs [a, b) of (P_b - P_a)
    // (or the sum over observed runs when most are missing), in packed lower triangles, scaled by 1/n. Two
    // runs per pass and the scaling in the last one: every entry adds its runs in row order and is then
    // scaled, as one run per pass would, but the triangle is written about half as often.
    const std::int64_t t = design.packed_size();
    const std::uint8_t wanted = downdate ? 0 : 1;
    const double sign = downdate ? -1.0 : 1.0;
    std::int64_t* runs = ws.runs_.data();  // [begin, end) pairs
    std::int64_t count = 0;
    for (std::int64_t a = 0; a < n;) {
      if (ws.observed_[a] != wanted) {
        ++a;
        continue;
      }
      std::int64_t b = a + 1;
      while (b < n && ws.observed_[b] == wanted) ++b;
      runs[2 * count] = a;
      runs[2 * count + 1] = b;
      ++count;
      a = b;
    }
    double* out = ws.lower_.data();
    const double* in = prefix + n * t;
    if (!downdate) {
      std::fill_n(out, t, 0.0);
      in = out;
    }
    std::int64_t r = 0;
    do {
      const std::int64_t take = std::min<std::int64_t>(2, count - r);
      const double scale = r + take >= count ? inv_rows : 1.0;  // x 1.0 is exact
      if (take == 2) {
        const double* pa0 = prefix + runs[2 * r] * t;
        const double* pb0 = prefix + runs[2 * r + 1] * t;
        const double* pa1 = prefix + runs[2 * r + 2] * t;
        const double* pb1 = prefix + runs[2 * r + 3] * t;
        for (std::int64_t e = 0; e < t; ++e) out[e] = ((in[e] + sign * (pb0[e] - pa0[e])) + sign * (pb1[e] - pa1[e])) * scale;
      } else if (take == 1) {
        const double* pa0 = prefix + runs[2 * r] * t;
        const double* pb0 = prefix + runs[2 * r + 1] * t;
        for (std::int64_t e = 0; e < t; ++e) out[e] = (in[e] + sign * (pb0[e] - pa0[e])) * scale;
      } else {
        for (std::int64_t e = 0; e < t; ++e) out[e] = in[e] * scale;
      }
      in = out;
      r += take;
    } while (r < count);
    finish_gram(design, ws);
    return;
  }
  if (downdate) ws.gram_ = design.cross_product();
  else ws.gram_.setZero();
  const std::uint8_t wanted = downdate ? 0 : 1;
  int k = 0;
  const auto flush = [&]() {
    if (k == 0) return;
    ws.gram_.selfadjointView<Eigen::Lower>().rankUpdate(ws.chunk_.leftCols(k), downdate ? -1.0 : 1.0);
    k = 0;
  };
  for (std::int64_t i = 0; i < n; ++i) {
    if (ws.observed_[i] != wanted) continue;
    ws.chunk_.col(k++) = x.row(i).transpose();
    if (k == kChunk) flush();
  }
  flush();
  pack_gram(design, inv_rows, ws);
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

FitStatus GamDetector::fit(const GamDesign& design, std::span<const float> values, GamWorkspace& ws) const {
  const std::int64_t n = design.rows();
  const std::int64_t fb = design.fit_begin();
  const int p = design.cols();
  const GamColumns& cols = design.columns();
  ws.ensure(design);
  ws.level_only_ = false;
  ws.iterations_ = 0;
  ws.scale_ = 0.0;
  ws.offset_ = 0.0;

  // Load the fit window: transformed values, 0 at gaps (so X'y sums observed rows only).
  std::int64_t observed = 0, first = -1, last = -1;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = values[static_cast<std::size_t>(fb + i)];
    if (std::isnan(v)) {
      ws.y_[i] = 0.0;
      ws.observed_[i] = 0;
      continue;
    }
    const double u = transform(v);
    ws.y_[i] = u;
    ws.observed_[i] = 1;
    ++observed;
    if (first < 0) first = i;
    last = i;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  if (observed == 0) return FitStatus::all_missing;
  ws.nonnegative_ = lo >= 0.0;
  if (lo == hi) {
    ws.level_only_ = true;
    ws.level_ = lo;
    return FitStatus::constant;
  }

  // Active columns: all for a fully observed window; with gaps, drop changepoints over unobserved segments
  // and the yearly term when the observed history is short.
  std::fill(ws.active_.begin(), ws.active_.begin() + p, std::uint8_t{1});
  // Route: the shared factorisation serves a fully observed window, and also one with few, scattered
  // missing steps, which then ride along the iterations as rows imputed by the current fit (the EM
  // fixed point is exactly the fit without those rows). Otherwise the Gram matrix of the observed rows is
  // built and factorised for this series.
  bool shared = observed == n;
  bool impute = false;
  if (!shared) {
    bool scattered = 10 * (n - observed) <= n;
    const auto cps = design.changepoint_steps();
    for (int j = 0; j < cols.changepoint_count; ++j) {
      const std::int64_t begin = cps[j] - fb;
      const std::int64_t end = j + 1 < cols.changepoint_count ? cps[j + 1] - fb : n;
      std::int64_t seen = 0;
      for (std::int64_t i = begin; i < end; ++i) seen += ws.observed_[i];
      if (seen < 2 || 2 * seen < end - begin) ws.active_[cols.changepoint_begin + j] = 0;
      if (5 * (end - begin - seen) > end - begin) scattered = false;
    }
    const double span_days = static_cast<double>((last - first + 1) * grid_.step_seconds) / static_cast<double>(kSecondsPerDay);
    if (span_days < config_.yearly_min_days)
      for (int j = cols.yearly_begin; j < cols.yearly_begin + 2 * cols.yearly_order; ++j) ws.active_[j] = 0;
    const bool all_active = std::find(ws.active_.begin(), ws.active_.begin() + p, std::uint8_t{0}) == ws.active_.begin() + p;
    shared = impute = scattered && all_active;
  }
  const auto active_count = std::count(ws.active_.begin(), ws.active_.begin() + p, std::uint8_t{1});
  if (observed < std::max<std::int64_t>(config_.min_observed, 2 * active_count)) {
    // Too short for the regression: median level and robust scale of the observed values.
    std::int64_t m = 0;
    for (std::int64_t i = 0; i < n; ++i)
      if (ws.observed_[i]) ws.residuals_[m++] = static_cast<float>(ws.y_[i]);
    const double med = median_of(ws.residuals_.data(), m, ws.select_.data());
    m = 0;
    for (std::int64_t i = 0; i < n; ++i)
      if (ws.observed_[i]) ws.residuals_[m++] = static_cast<float>(ws.y_[i] - med);
    ws.level_only_ = true;
    ws.level_ = med;
    ws.scale_ = floored_scale(ws, n, lo, robust_scale(ws, m, true));
    return FitStatus::too_short;
  }
  if (!shared) build_gram(design, observed, ws);

  // Centre the observed values (the intercept absorbs the shift exactly), so that the single-precision
  // products below carry errors relative to the series' variation, not to its level.
  const double offset = sum / static_cast<double>(observed);
  ws.offset_ = offset;
  for (std::int64_t i = 0; i < n; ++i) {
    if (ws.observed_[i]) ws.y_[i] -= offset;
  }
  lo -= offset;
  hi -= offset;

  const auto& x = design.matrix();
  const double inv_rows = 1.0 / static_cast<double>(n);
  const auto predict = [&]() {
    design.predict(ws.beta_, std::span<float>(ws.yhatf_.data(), static_cast<std::size_t>(n)), ws.predict_scratch_);
  };
  // Absolute residuals of the observed rows into ws.residuals_ (for the scale), branch-free; returns their count.
  const auto collect_residuals = [&]() {
    float* out = ws.residuals_.data();
    if (observed == n) {  // nothing to skip: a vectorised loop
      for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(std::abs(ws.y_[i] - ws.yhatf_[i]));
      return n;
    }
    std::int64_t m = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      out[m] = static_cast<float>(std::abs(ws.y_[i] - ws.yhatf_[i]));
      m += ws.observed_[i];
    }
    return m;
  };
  // Convergence floor for exact fits: changes below 1e-6 of the data's range count as none (the products
  // are in single precision).
  const double floor = 1e-6 * (hi - lo);

  // Penalised least squares start.
  // X'y in double: the coefficients inherit its accuracy (X beta below only decides clipping and imputation).
  design.cross(std::span<const double>(ws.y_.data(), static_cast<std::size_t>(n)), ws.b_, ws.cross_scratch_);
  ws.beta_.setZero();
  ws.rhs_ = ws.b_ * inv_rows;
  ws.rhs_prev_.setZero();
  solve(design, shared, true, ws);
  ws.beta_ = ws.beta_next_;
  ws.gbeta_ = ws.rhs_;  // G beta, kept along the iterations (the accelerated iterates are not solves)
  predict();

  const bool squared = config_.loss == GamConfig::Loss::squared;
  bool converged = squared && !impute;
  if (!converged) {
    // Huber by modified residuals: rows whose residual exceeds c*s take the clipped residual, and imputed
    // (missing) rows the current fit; the normal equations keep the (shared) Gram matrix, so each iteration
    // is one product X beta, a pass over the rows and a p x p solve:
    //   rhs = X'y + sum_missing yhat_i x_i - sum_clipped (r_i - clip(r_i)) x_i.
    // The scale (MAD) is re-estimated in the first kScaleUpdates iterations and then held, which makes the
    // rest a contraction (rate about the fraction of clipped and imputed rows, higher where they cluster).
    // Anderson acceleration (depth 1, in the G inner product) then extrapolates along the last two steps:
    // for a contraction dominated by one slow direction it removes that direction in one step. It changes
    // only where the iteration goes, not its fixed point or the stopping rule (the G-norm of the plain step
    // g(beta) - beta below tolerance * s); the converged iterate is the plain step, as without it.
    double s = 0.0;
    bool have_prev = false;
    for (int it = 0; it < config_.max_iterations; ++it) {
      if (it < kScaleUpdates) s = robust_scale(ws, collect_residuals(), false);
      if (s <= floor && !impute) {  // exact fit: nothing to down-weight
        converged = true;
        break;
      }
      const double cs = squared ? std::numeric_limits<double>::infinity() : config_.huber_c * s;
      ws.rhs_ = ws.b_;
      huber_rhs(ws.y_.data(), ws.yhatf_.data(), ws.observed_.data(), n, cs, impute, x.data(), p, ws.pick_weight_.data(),
                ws.pick_flags_.data(), ws.pick_rows_.data(), ws.rhs_.data());
      ws.rhs_ *= inv_rows;
      solve(design, shared, true, ws);  // beta_next = g(beta), delta = g(beta) - beta
      ws.tmp_ = ws.rhs_ - ws.gbeta_;   // G delta
      ws.iterations_ = it + 1;
      const double change = std::sqrt(std::max(0.0, ws.delta_.dot(ws.tmp_)));
      if (change <= std::max(config_.tolerance * s, floor) && (it + 1 >= kScaleUpdates || squared)) {
        ws.beta_ = ws.beta_next_;
        predict();
        converged = true;
        break;
      }
      double gamma = 0.0;
      if (have_prev) {
        // Secant on f(beta) = g(beta) - beta: gamma minimises |f_k - gamma (f_k - f_{k-1})|_G.
        const double denom = (ws.delta_ - ws.f_prev_).dot(ws.tmp_ - ws.gf_prev_);
        const double g = (ws.delta_ - ws.f_prev_).dot(ws.tmp_) / denom;
        if (denom > 0.0 && std::isfinite(g)) gamma = std::clamp(g, -kMaxExtrapolation, kMaxExtrapolation);
      }
      ws.f_prev_ = ws.delta_;
      ws.gf_prev_ = ws.tmp_;
      // beta = g_k - gamma (g_k - g_{k-1}), and G beta from the right-hand sides (G g_k = rhs_k).
      if (gamma != 0.0) {
        ws.beta_ = ws.beta_next_ - gamma * (ws.beta_next_ - ws.g_prev_);
        ws.gbeta_ = ws.rhs_ - gamma * (ws.rhs_ - ws.rhs_last_);
      } else {
        ws.beta_ = ws.beta_next_;
        ws.gbeta_ = ws.rhs_;
      }
      ws.g_prev_ = ws.beta_next_;
      ws.rhs_last_ = ws.rhs_;
      have_prev = it + 1 >= kScaleUpdates;  // the map is fixed once the scale is held
      predict();
    }

    if (config_.loss == GamConfig::Loss::bisquare) {
      // Bisquare IRLS from the Huber fit at its (fixed) scale; every row's weight changes, so the Gram
      // matrix is re-accumulated each iteration.
      s = robust_scale(ws, collect_residuals(), false);
      const double cs = config_.bisquare_c * s;
      converged = s <= floor;
      for (int it = 0; it < config_.max_iterations && !converged; ++it) {
        ws.gram_.setZero();
        ws.rhs_.setZero();
        int k = 0;
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
          if (k == kChunk) flush();
        }
        flush();
        pack_gram(design, inv_rows, ws);
        finish_gram(design, ws);
        ws.rhs_ *= inv_rows;
        solve(design, false, false, ws);
        ws.beta_ = ws.beta_next_;
        ws.iterations_ += 1;
        predict();
        const double change = std::sqrt(std::max(0.0, ws.delta_.dot(ws.tmp_)));
        converged = change <= std::max(config_.tolerance * s, floor);
      }
    }
  }
  const std::int64_t m = collect_residuals();
  ws.scale_ = floored_scale(ws, n, lo, robust_scale(ws, m, false));
  return converged ? FitStatus::ok : FitStatus::not_converged;
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

  const double z = config_.z;
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
      score_fitted(ws.yhatf_.data() + (step - design->fit_begin()), series.values.data() + k, end - step, ws.offset_, least, z * s,
                   1.0 / s, out.expected.data() + k, out.lower.data() + k, out.upper.data() + k, out.score.data() + k);
      step = end;
    }
  }
  const double band_down = pmath::exp(-z * s), band_up = pmath::exp(z * s);
  for (; step < window.score_end; ++step) {
    const auto k = static_cast<std::size_t>(step);
    const float v = series.values[k];
    if (status == FitStatus::all_missing) {
      out.expected[k] = out.lower[k] = out.upper[k] = out.score[k] = static_cast<float>(kNaN);
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
    mu = std::max(mu, least);
    double expected = mu, lower = std::max(mu - z * s, least), upper = mu + z * s;
    if (config_.log1p) {
      // expm1(mu -+ z s) = (1 + expm1(mu)) exp(-+z s) - 1: one expm1 per step instead of three.
      const double e = pmath::expm1(mu);
      expected = std::max(0.0, e);
      lower = std::max(0.0, (1.0 + e) * band_down - 1.0);
      upper = std::max(0.0, (1.0 + e) * band_up - 1.0);
    }
    out.expected[k] = static_cast<float>(expected);
    out.lower[k] = static_cast<float>(lower);
    out.upper[k] = static_cast<float>(upper);
    if (std::isnan(v)) {
      out.score[k] = static_cast<float>(kNaN);
    } else {
      const double dev = std::abs(transform(v) - mu);
      out.score[k] = static_cast<float>(s > 0.0 ? dev / s : (dev == 0.0 ? 0.0 : std::numeric_limits<double>::infinity()));
    }
  }
  return status;
}

// ---------------------------------------------------------------------------------------------------------
// Rolling schedule

namespace {

// Adds sign * x_i x_i' to the lower triangle of g over the rows i in [begin, end) with observed[i] == wanted
// (every row when observed is null), by rank-k updates of up to chunk.cols() gathered rows.
void accumulate_rows(const GamDesign::RowMatrix& x, const std::uint8_t* observed, std::uint8_t wanted, std::int64_t begin,
                     std::int64_t end, double sign, Eigen::MatrixXd& g, Eigen::MatrixXd& chunk) {
  Eigen::Index k = 0;
  const auto flush = [&]() {
    if (k > 0) g.selfadjointView<Eigen::Lower>().rankUpdate(chunk.leftCols(k), sign);
    k = 0;
  };
  for (std::int64_t i = begin; i < end; ++i) {
    if (observed != nullptr && observed[i] != wanted) continue;
    chunk.col(k++) = x.row(i).transpose();
    if (k == chunk.cols()) flush();
  }
  flush();
}

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
    accumulate_rows(d.matrix(), nullptr, 1, 0, first_scored, 1.0, ws.rolling_prefix_, ws.chunk_);
    const std::int64_t weeks = (last_start - first_scored) / period;
    ws.rolling_weeks_.setZero(p, p * weeks);
    for (std::int64_t k = 0; k < weeks; ++k) {
      Eigen::MatrixXd block = Eigen::MatrixXd::Zero(p, p);
      accumulate_rows(d.matrix(), nullptr, 1, first_scored + k * period, first_scored + (k + 1) * period, 1.0, block, ws.chunk_);
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

void GamDetector::rolling_solve(const GamDesign& design, Eigen::VectorXd& v, GamWorkspace& ws) const {
  gam_packed_solve(ws.lower_.data(), ws.inv_diag_.data(), design.cols(), v.data());
}

bool GamDetector::rolling_refit(const GamDesign& design, std::int64_t end, double offset, double floor, bool estimate_clip,
                                double& clip_scale, GamWorkspace& ws) const {
  const auto& x = design.matrix();
  const int p = design.cols();
  const std::int64_t n = design.rows();
  const double inv_rows = 1.0 / static_cast<double>(end);
  rolling_factor(design, end, ws);
  const auto predict = [&]() {
    design.predict(ws.beta_, std::span<float>(ws.yhatf_.data(), static_cast<std::size_t>(n)), ws.predict_scratch_);
  };
  const auto collect_residuals = [&]() {
    std::int64_t m = 0;
    float* out = ws.residuals_.data();
    for (std::int64_t i = 0; i < end; ++i) {
      out[m] = static_cast<float>(std::abs(ws.y_[i] - offset - ws.yhatf_[i]));
      m += ws.observed_[static_cast<std::size_t>(i)];
    }
    return m;
  };
  predict();
  if (estimate_clip) clip_scale = robust_scale(ws, collect_residuals(), false);
  const bool squared = config_.loss == GamConfig::Loss::squared;
  for (int it = 0; it < config_.max_iterations; ++it) {
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
    predict();
    if (change <= std::max(config_.tolerance * clip_scale, floor)) return true;
  }
  return false;
}

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
//    the least-squares residuals, as fit() does) runs at the first regression week and every
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
  const int p = design.cols();
  const GamColumns& cols = design.columns();
  const auto& x = design.matrix();
  const std::int64_t nd = design.rows();
  const auto cps = design.changepoint_steps();
  const bool squared = config_.loss == GamConfig::Loss::squared;
  const double step_days = static_cast<double>(grid_.step_seconds) / static_cast<double>(kSecondsPerDay);
  const int yearly_order = gam_capped_order(config_.yearly_order, 365.25, grid_);
  const std::int64_t fixed_columns = 2 + 2 * (cols.weekly_order + cols.monthly_order + cols.daily_order);
  std::int64_t* cp = ws.changepoint_scratch_.data();
  std::int64_t* before = ws.observed_before_.data();

  // Load the series: transformed values (0 at gaps) and observed counts before each step.
  before[0] = 0;
  for (std::size_t i = 0; i < usteps; ++i) {
    const float v = series.values[i];
    const bool obs = !std::isnan(v);
    ws.y_[static_cast<Eigen::Index>(i)] = obs ? transform(v) : 0.0;
    ws.observed_[i] = obs ? 1 : 0;
    before[i + 1] = before[i] + (obs ? 1 : 0);
  }

  ws.rolling_sum_.setZero();
  ws.rolling_sq_.setZero();
  std::int64_t cursor = 0, count = 0, first = -1, last = -1, rows_in = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0.0;
  bool valid = false;
  int since_refit = 0;
  FitStatus fit_status = FitStatus::ok, worst = FitStatus::ok;
  double offset = 0.0, clip = 0.0, band = 0.0, floor = 0.0;
  const double z = config_.z;
  enum class Mode { missing, level, regression };
  Mode mode = Mode::missing;
  double level = 0.0, scale = 0.0;
  ws.iterations_ = 0;

  for (std::int64_t s = first_scored; s < steps; s += period) {
    const std::int64_t e = std::min(s + period, steps);
    for (; cursor < s; ++cursor) {
      if (cursor < nd) {
        ws.rolling_sum_ += x.row(cursor).transpose();
        ws.rolling_sq_ += x.row(cursor).transpose().cwiseAbs2();
      }
      if (!ws.observed_[static_cast<std::size_t>(cursor)]) continue;
      const double u = ws.y_[cursor];
      ++count;
      if (first < 0) first = cursor;
      last = cursor;
      lo = std::min(lo, u);
      hi = std::max(hi, u);
      sum += u;
    }

    // Status of the independent forward fit on [0, s), decided as fit() decides it.
    FitStatus status = FitStatus::ok;
    int ncp = 0;
    double span_days = 0.0;
    if (count == 0) {
      status = FitStatus::all_missing;
      mode = Mode::missing;
    } else if (lo == hi) {
      status = FitStatus::constant;
      mode = Mode::level;
      level = lo;
      scale = 0.0;
    } else {
      ncp = gam_changepoint_steps(config_, 0, s, cp);
      span_days = static_cast<double>(last - first + 1) * step_days;
      const int yo = static_cast<double>(s) * step_days >= config_.yearly_min_days ? yearly_order : 0;
      std::int64_t active = fixed_columns;
      if (count == s) {
        active += ncp + 2 * yo;
      } else {
        for (int j = 0; j < ncp; ++j) {
          const std::int64_t b0 = cp[j], b1 = j + 1 < ncp ? cp[j + 1] : s;
          const std::int64_t seen = before[b1] - before[b0];
          if (!(seen < 2 || 2 * seen < b1 - b0)) ++active;
        }
        if (span_days >= config_.yearly_min_days) active += 2 * yo;
      }
      if (count < std::max<std::int64_t>(config_.min_observed, 2 * active)) {
        std::int64_t m = 0;
        for (std::int64_t i = 0; i < s; ++i)
          if (ws.observed_[static_cast<std::size_t>(i)]) ws.residuals_[static_cast<std::size_t>(m++)] = static_cast<float>(ws.y_[i]);
        const double med = median_of(ws.residuals_.data(), m, ws.select_.data());
        m = 0;
        for (std::int64_t i = 0; i < s; ++i)
          if (ws.observed_[static_cast<std::size_t>(i)]) ws.residuals_[static_cast<std::size_t>(m++)] = static_cast<float>(ws.y_[i] - med);
        status = FitStatus::too_short;
        mode = Mode::level;
        level = med;
        scale = floored_scale(ws, s, lo, robust_scale(ws, m, true));
      } else {
        mode = Mode::regression;
      }
    }

    if (mode != Mode::regression) {
      valid = false;
    } else {
      // Penalty matched to detect()'s on [0, s): there a column is standardised over the window's rows, so
      // lambda_j beta_j^2 penalises lambda_j x the variance over [0, s) of the column's contribution; here
      // the columns are standardised over the whole design, so lambda_j is scaled by the variance over
      // [0, s) of the standardised column (small for a changepoint near s).
      const double inv_s = 1.0 / static_cast<double>(s);
      ws.rolling_penalty_ = design.penalty().cwiseProduct(
          (ws.rolling_sq_ * inv_s - (ws.rolling_sum_ * inv_s).cwiseAbs2()).cwiseMax(0.0));
      // Active columns of the rolling fit.
      bool changed = false;
      const auto set_active = [&](int j, bool on) {
        const std::uint8_t v = on ? 1 : 0;
        if (ws.rolling_active_[static_cast<std::size_t>(j)] != v) changed = true;
        ws.rolling_active_[static_cast<std::size_t>(j)] = v;
      };
      const std::int64_t cp_limit = ncp > 0 ? cp[ncp - 1] : -1;
      for (int j = 0; j < cols.changepoint_count; ++j) {
        const std::int64_t c0 = cps[static_cast<std::size_t>(j)];
        const std::int64_t c1 = std::min(j + 1 < cols.changepoint_count ? cps[static_cast<std::size_t>(j) + 1] : nd, s);
        const std::int64_t seen = c1 > c0 ? before[c1] - before[c0] : 0;
        set_active(cols.changepoint_begin + j, c0 <= cp_limit && c1 > c0 && seen >= 2 && 2 * seen >= c1 - c0);
      }
      for (int j = cols.yearly_begin; j < cols.yearly_begin + 2 * cols.yearly_order; ++j) set_active(j, span_days >= config_.yearly_min_days);

      if (!valid) {
        // Start: X'X of the observed rows before s (the cached prefix downdated by its missing rows, or the
        // observed rows accumulated when most are missing), X'(u - offset), least squares, Huber refit.
        offset = sum / static_cast<double>(count);
        floor = 1e-6 * (hi - lo);
        const std::int64_t f = first_scored, seen0 = before[f];
        if (f - seen0 <= seen0) {
          ws.rolling_xtx_ = ws.rolling_prefix_;
          accumulate_rows(x, ws.observed_.data(), 0, 0, f, -1.0, ws.rolling_xtx_, ws.chunk_);
        } else {
          ws.rolling_xtx_.setZero();
          accumulate_rows(x, ws.observed_.data(), 1, 0, f, 1.0, ws.rolling_xtx_, ws.chunk_);
        }
        accumulate_rows(x, ws.observed_.data(), 1, f, s, 1.0, ws.rolling_xtx_, ws.chunk_);
        ws.rolling_b_.setZero();
        for (std::int64_t i = 0; i < s; ++i)
          if (ws.observed_[static_cast<std::size_t>(i)]) ws.rolling_b_.noalias() += (ws.y_[i] - offset) * x.row(i).transpose();
        rolling_factor(design, s, ws);
        ws.beta_ = ws.rolling_b_ / static_cast<double>(s);
        for (int j = 0; j < p; ++j)
          if (!ws.rolling_active_[static_cast<std::size_t>(j)]) ws.beta_[j] = 0.0;
        rolling_solve(design, ws.beta_, ws);
        rows_in = s;
        since_refit = kRollingRefreshWeeks;  // refit below, estimating the clip scale
        valid = true;
      } else {
        // Slide: the new observed rows [rows_in, s) join X'X, X'(u - offset) and the clip corrections.
        // A whole period adds its cached X'X and downdates its missing rows; otherwise the observed rows are
        // added one by one.
        const double cs = squared ? std::numeric_limits<double>::infinity() : config_.huber_c * clip;
        const bool whole_week = rows_in >= first_scored && s - rows_in == period;
        if (whole_week)
          ws.rolling_xtx_ += ws.rolling_weeks_.middleCols((rows_in - first_scored) / period * p, p);
        for (std::int64_t i = rows_in; i < s; ++i) {
          if (!ws.observed_[static_cast<std::size_t>(i)]) {
            if (whole_week) ws.rolling_xtx_.selfadjointView<Eigen::Lower>().rankUpdate(x.row(i).transpose(), -1.0);
            continue;
          }
          const double d = ws.y_[i] - offset;
          ws.rolling_b_.noalias() += d * x.row(i).transpose();
          const double r = d - x.row(i).dot(ws.beta_);
          if (std::abs(r) > cs) ws.rolling_corr_.noalias() += (r - std::copysign(cs, r)) * x.row(i).transpose();
          if (!whole_week) ws.rolling_xtx_.selfadjointView<Eigen::Lower>().rankUpdate(x.row(i).transpose(), 1.0);
        }
        rows_in = s;
      }

      if (++since_refit >= kRollingRefreshWeeks) {
        // The clip scale: the MAD of the least-squares residuals at the start (as fit() takes it), then the
        // band scale of the last refit (the MAD of the converged residuals, held since).
        const bool converged = rolling_refit(design, s, offset, floor, since_refit > kRollingRefreshWeeks, clip, ws);
        std::int64_t m = 0;
        float* res = ws.residuals_.data();
        for (std::int64_t i = 0; i < s; ++i) {
          res[m] = static_cast<float>(std::abs(ws.y_[i] - offset - ws.yhatf_[i]));
          m += ws.observed_[static_cast<std::size_t>(i)];
        }
        clip = robust_scale(ws, m, false);  // the fit's own scale: the floor widens the band, not the fit
        band = floored_scale(ws, s, lo, clip);
        fit_status = converged ? FitStatus::ok : FitStatus::not_converged;
        since_refit = 0;
      } else {
        // Warm start: preconditioned conjugate gradients from last week's coefficients, preconditioned by the
        // last factorisation (the system moved by a rank-<=7 update and a rescaling since), with
        // G v = X'X_obs v / s + penalty v formed without forming G (inactive rows are unit rows, v_j = 0 there).
        // Stops when the energy norm of the remaining correction (the RMS change of the fitted values it
        // would make) is below 1e-3 x the clip scale; refactorises when that takes too long.
        ws.rhs_ = (ws.rolling_b_ - ws.rolling_corr_) * inv_s;
        const auto apply = [&](const Eigen::VectorXd& v, Eigen::VectorXd& result) {
          result.noalias() = ws.rolling_xtx_.selfadjointView<Eigen::Lower>() * v;
          result = result * inv_s + (ws.rolling_penalty_.array() + kGamDiagonalJitter).matrix().cwiseProduct(v);
          for (int j = 0; j < p; ++j)
            if (!ws.rolling_active_[static_cast<std::size_t>(j)]) result[j] = v[j];
        };
        const double tolerance = std::max(1e-3 * clip, floor);
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
        for (int it = 0; it <= kRollingSolveSteps && !changed; ++it) {
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
      status = fit_status;
    }
    if (worst == FitStatus::ok) worst = status;

    // Score [s, e) as detect() scores a forward window (clamped at 0 on a non-negative history).
    const double sc = mode == Mode::regression ? band : scale;
    const double least = lo >= 0.0 ? 0.0 : -std::numeric_limits<double>::infinity();
    const double band_down = pmath::exp(-z * sc), band_up = pmath::exp(z * sc);
    for (std::int64_t step = s; step < e; ++step) {
      const auto k = static_cast<std::size_t>(step);
      if (mode == Mode::missing) {
        out.expected[k] = out.lower[k] = out.upper[k] = out.score[k] = static_cast<float>(kNaN);
        continue;
      }
      double mu = level;
      if (mode == Mode::regression) {
        if (step < nd) {
          mu = offset + x.row(step).dot(ws.beta_);
        } else {
          design.fill_row(step, std::span<double>(ws.row_.data(), static_cast<std::size_t>(p)));
          mu = offset + ws.row_.head(p).dot(ws.beta_.head(p));
        }
      }
      mu = std::max(mu, least);
      double expected = mu, lower = std::max(mu - z * sc, least), upper = mu + z * sc;
      if (config_.log1p) {
        const double ex = pmath::expm1(mu);
        expected = std::max(0.0, ex);
        lower = std::max(0.0, (1.0 + ex) * band_down - 1.0);
        upper = std::max(0.0, (1.0 + ex) * band_up - 1.0);
      }
      out.expected[k] = static_cast<float>(expected);
      out.lower[k] = static_cast<float>(lower);
      out.upper[k] = static_cast<float>(upper);
      const float v = series.values[k];
      if (std::isnan(v)) {
        out.score[k] = static_cast<float>(kNaN);
      } else {
        const double dev = std::abs(transform(v) - mu);
        out.score[k] = static_cast<float>(sc > 0.0 ? dev / sc : (dev == 0.0 ? 0.0 : std::numeric_limits<double>::infinity()));
      }
    }
  }
  ws.level_only_ = mode != Mode::regression;
  ws.nonnegative_ = lo >= 0.0;
  ws.level_ = level;
  ws.offset_ = offset;
  ws.scale_ = mode == Mode::regression ? band : scale;
  return worst;
}

}  // namespace meterbench
