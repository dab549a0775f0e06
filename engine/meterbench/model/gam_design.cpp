#include "meterbench/model/gam_design.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <numbers>
#include <unordered_map>

#include "meterbench/core/check.hpp"
#include "meterbench/core/kernels.hpp"
#include "meterbench/core/portable_math.hpp"

namespace meterbench {

namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
constexpr double kDaysPerWeek = 7.0;
constexpr double kDaysPerYear = 365.25;
constexpr double kDaysPerMonth = 365.25 / 12.0;

double step_days(const TimeGrid& grid) { return static_cast<double>(grid.step_seconds) / static_cast<double>(kSecondsPerDay); }

// Writes cos(2 pi k u), sin(2 pi k u) for k = 1..order by the angle-addition recurrence (exact to ~1e-15 for
// the orders used here; the phase u is reduced to [0, 1) first so large day counts lose no precision).
void fourier(double u, int order, double* out) {
  if (order == 0) return;
  u -= std::floor(u);
  const double c1 = pmath::cos(kTwoPi * u);
  const double s1 = pmath::sin(kTwoPi * u);
  double c = c1, s = s1;
  for (int k = 0; k < order; ++k) {
    out[2 * k] = c;
    out[2 * k + 1] = s;
    const double cn = c * c1 - s * s1;
    s = s * c1 + c * s1;
    c = cn;
  }
}

}  // namespace

namespace {

// Columns in pairs, out += (c0 b0 + c1 b1) per pair in column order: (a b0 + c b1) rounds the same everywhere.
// Up to four pairs per pass over out (out's loads and stores once per eight columns instead of per two); each
// pair is still added on its own, so the result equals one pass per pair bit for bit.
template <typename T>
inline void add_columns_impl(const T* cols, std::int64_t n, std::int64_t k, const T* b, T* out) {
  std::int64_t j = 0;
  for (; j + 7 < k; j += 8) {
    const T* c0 = cols + j * n;
    const T* c1 = c0 + n;
    const T* c2 = c1 + n;
    const T* c3 = c2 + n;
    const T* c4 = c3 + n;
    const T* c5 = c4 + n;
    const T* c6 = c5 + n;
    const T* c7 = c6 + n;
    const T b0 = b[j], b1 = b[j + 1], b2 = b[j + 2], b3 = b[j + 3], b4 = b[j + 4], b5 = b[j + 5], b6 = b[j + 6], b7 = b[j + 7];
    for (std::int64_t i = 0; i < n; ++i)
      out[i] = (((out[i] + (c0[i] * b0 + c1[i] * b1)) + (c2[i] * b2 + c3[i] * b3)) + (c4[i] * b4 + c5[i] * b5)) + (c6[i] * b6 + c7[i] * b7);
  }
  for (; j + 3 < k; j += 4) {
    const T* c0 = cols + j * n;
    const T* c1 = c0 + n;
    const T* c2 = c1 + n;
    const T* c3 = c2 + n;
    const T b0 = b[j], b1 = b[j + 1], b2 = b[j + 2], b3 = b[j + 3];
    for (std::int64_t i = 0; i < n; ++i) out[i] = (out[i] + (c0[i] * b0 + c1[i] * b1)) + (c2[i] * b2 + c3[i] * b3);
  }
  for (; j + 1 < k; j += 2) {
    const T* c0 = cols + j * n;
    const T* c1 = c0 + n;
    const T b0 = b[j], b1 = b[j + 1];
    for (std::int64_t i = 0; i < n; ++i) out[i] += c0[i] * b0 + c1[i] * b1;
  }
  if (j < k) {
    const T* c0 = cols + j * n;
    const T b0 = b[j];
    for (std::int64_t i = 0; i < n; ++i) out[i] += c0[i] * b0;
  }
}

}  // namespace

[[gnu::always_inline]] inline void gam_add_columns_f_body(const float* cols, std::int64_t n, std::int64_t k,
    const float* b, float* out) {
  add_columns_impl(cols, n, k, b, out);
}
__attribute__((target("avx2"))) void gam_add_columns_f_avx2(const float* cols, std::int64_t n, std::int64_t k,
    const float* b, float* out) {
  gam_add_columns_f_body(cols, n, k, b, out);
}
void gam_add_columns_f_baseline(const float* cols, std::int64_t n, std::int64_t k, const float* b, float* out) {
  gam_add_columns_f_body(cols, n, k, b, out);
}
void gam_add_columns(const float* cols, std::int64_t n, std::int64_t k, const float* b, float* out) {
  kernels::use_avx2() ? gam_add_columns_f_avx2(cols, n, k, b, out) : gam_add_columns_f_baseline(cols, n, k, b, out);
}

[[gnu::always_inline]] inline void gam_add_columns_d_body(const double* cols, std::int64_t n, std::int64_t k,
    const double* b, double* out) {
  add_columns_impl(cols, n, k, b, out);
}
__attribute__((target("avx2"))) void gam_add_columns_d_avx2(const double* cols, std::int64_t n, std::int64_t k,
    const double* b, double* out) {
  gam_add_columns_d_body(cols, n, k, b, out);
}
void gam_add_columns_d_baseline(const double* cols, std::int64_t n, std::int64_t k, const double* b, double* out) {
  gam_add_columns_d_body(cols, n, k, b, out);
}
void gam_add_columns(const double* cols, std::int64_t n, std::int64_t k, const double* b, double* out) {
  kernels::use_avx2() ? gam_add_columns_d_avx2(cols, n, k, b, out) : gam_add_columns_d_baseline(cols, n, k, b, out);
}

namespace {

// out[i] = float(base + slope i) + v0[i0[i]] + v1[i1[i]] over [begin, end) for the first `terms` (<= 2) lookups,
// each addition in float as in separate passes. The row index converts from int32 (rows < 2^31), which
// vectorises, unlike int64; compiled for AVX2 (gathers) and the baseline.
[[gnu::always_inline]] inline void predict_line_body(float* out, std::int64_t begin, std::int64_t end, double base,
    double slope, std::size_t terms, const float* const* v, const std::uint32_t* const* idx) {
  const auto b = static_cast<std::int32_t>(begin), e = static_cast<std::int32_t>(end);
  if (terms == 0) {
    for (std::int32_t i = b; i < e; ++i) out[i] = static_cast<float>(base + slope * static_cast<double>(i));
  } else if (terms == 1) {
    const float* v0 = v[0];
    const std::uint32_t* i0 = idx[0];
    for (std::int32_t i = b; i < e; ++i) out[i] = static_cast<float>(base + slope * static_cast<double>(i)) + v0[i0[i]];
  } else {
    const float *v0 = v[0], *v1 = v[1];
    const std::uint32_t *i0 = idx[0], *i1 = idx[1];
    for (std::int32_t i = b; i < e; ++i)
      out[i] = (static_cast<float>(base + slope * static_cast<double>(i)) + v0[i0[i]]) + v1[i1[i]];
  }
}
__attribute__((target("avx2"))) void predict_line_avx2(float* out, std::int64_t begin, std::int64_t end, double base,
    double slope, std::size_t terms, const float* const* v, const std::uint32_t* const* idx) {
  predict_line_body(out, begin, end, base, slope, terms, v, idx);
}
void predict_line_baseline(float* out, std::int64_t begin, std::int64_t end, double base, double slope,
    std::size_t terms, const float* const* v, const std::uint32_t* const* idx) {
  predict_line_body(out, begin, end, base, slope, terms, v, idx);
}
void predict_line(float* out, std::int64_t begin, std::int64_t end, double base, double slope, std::size_t terms,
    const float* const* v, const std::uint32_t* const* idx) {
  kernels::use_avx2() ? predict_line_avx2(out, begin, end, base, slope, terms, v, idx)
      : predict_line_baseline(out, begin, end, base, slope, terms, v, idx);
}

}  // namespace

// Left-looking: each pair of columns (j, j + 1) is updated by four earlier columns per pass (their rows loaded
// once for both targets), so that a value of the target is loaded and stored once per four updates. Every entry
// still subtracts its updates one by one in column order, as the textbook loop does.
[[gnu::always_inline]] inline int gam_packed_cholesky_body(double* __restrict a, std::int64_t p,
    double* __restrict inv_diag) {
  std::int64_t j = 0;
  const auto finish = [&](std::int64_t c) -> bool {
    double* cj = a + gam_packed_offset(p, c);
    const double d = cj[0];
    if (!(d > 0.0)) return false;
    const double r = std::sqrt(d), inv = 1.0 / r;
    cj[0] = r; inv_diag[c] = inv;
    for (std::int64_t i = 1; i < p - c; ++i) cj[i] *= inv;
    return true;
  };
  for (; j + 2 <= p; j += 2) {
    double* __restrict t0 = a + gam_packed_offset(p, j);            // t0[r] = A(j + r, j)
    double* __restrict t1 = a + gam_packed_offset(p, j + 1) - 1;    // t1[r] = A(j + r, j + 1), r >= 1
    const std::int64_t len = p - j;
    std::int64_t k = 0;
    for (; k + 4 <= j; k += 4) {
      const double* c0 = a + gam_packed_offset(p, k) + (j - k);       // c0[r] = L(j + r, k)
      const double* c1 = a + gam_packed_offset(p, k + 1) + (j - k - 1);
      const double* c2 = a + gam_packed_offset(p, k + 2) + (j - k - 2);
      const double* c3 = a + gam_packed_offset(p, k + 3) + (j - k - 3);
      const double f0 = c0[0], f1 = c1[0], f2 = c2[0], f3 = c3[0];
      const double g0 = c0[1], g1 = c1[1], g2 = c2[1], g3 = c3[1];
      t0[0] = (((t0[0] - f0 * c0[0]) - f1 * c1[0]) - f2 * c2[0]) - f3 * c3[0];
      for (std::int64_t r = 1; r < len; ++r) {
        const double a0 = c0[r], a1 = c1[r], a2 = c2[r], a3 = c3[r];
        t0[r] = (((t0[r] - f0 * a0) - f1 * a1) - f2 * a2) - f3 * a3;
        t1[r] = (((t1[r] - g0 * a0) - g1 * a1) - g2 * a2) - g3 * a3;
      }
    }
    for (; k < j; ++k) {
      const double* c0 = a + gam_packed_offset(p, k) + (j - k);
      const double f0 = c0[0], g0 = c0[1];
      t0[0] -= f0 * c0[0];
      for (std::int64_t r = 1; r < len; ++r) {
        t0[r] -= f0 * c0[r];
        t1[r] -= g0 * c0[r];
      }
    }
    if (!finish(j)) return static_cast<int>(j);
    const double g = t0[1];
    for (std::int64_t r = 1; r < len; ++r) t1[r] -= g * t0[r];
    if (!finish(j + 1)) return static_cast<int>(j + 1);
  }
  for (; j < p; ++j) {
    double* cj = a + gam_packed_offset(p, j);
    const std::int64_t len = p - j;
    std::int64_t k = 0;
    for (; k + 4 <= j; k += 4) {
      const double* c0 = a + gam_packed_offset(p, k) + (j - k);
      const double* c1 = a + gam_packed_offset(p, k + 1) + (j - k - 1);
      const double* c2 = a + gam_packed_offset(p, k + 2) + (j - k - 2);
      const double* c3 = a + gam_packed_offset(p, k + 3) + (j - k - 3);
      const double f0 = c0[0], f1 = c1[0], f2 = c2[0], f3 = c3[0];
      for (std::int64_t i = 0; i < len; ++i) cj[i] = (((cj[i] - f0 * c0[i]) - f1 * c1[i]) - f2 * c2[i]) - f3 * c3[i];
    }
    for (; k < j; ++k) {
      const double* c0 = a + gam_packed_offset(p, k) + (j - k);
      const double f0 = c0[0];
      for (std::int64_t i = 0; i < len; ++i) cj[i] -= f0 * c0[i];
    }
    if (!finish(j)) return static_cast<int>(j);
  }
  return -1;
}
__attribute__((target("avx2"))) int gam_packed_cholesky_avx2(double* __restrict a, std::int64_t p,
    double* __restrict inv_diag) {
  return gam_packed_cholesky_body(a, p, inv_diag);
}
int gam_packed_cholesky_baseline(double* __restrict a, std::int64_t p, double* __restrict inv_diag) {
  return gam_packed_cholesky_body(a, p, inv_diag);
}
int gam_packed_cholesky(double* __restrict a, std::int64_t p, double* __restrict inv_diag) {
  return kernels::use_avx2() ? gam_packed_cholesky_avx2(a, p, inv_diag) : gam_packed_cholesky_baseline(a, p, inv_diag);
}

// Forward: four columns of L per pass (the four unknowns resolved first). Backward: blocks of four unknowns,
// whose four dot products with the already solved part share its loads (four fixed lanes each), then the 4 x 4
// triangle. A solve is a chain of dependent steps; blocking shortens the chain fourfold.
[[gnu::always_inline]] inline void gam_packed_solve_body(const double* __restrict factor,
    const double* __restrict inv_diag, std::int64_t p, double* __restrict x) {
  std::int64_t k = 0;
  for (; k + 4 <= p; k += 4) {
    const double* c0 = factor + gam_packed_offset(p, k);
    const double* c1 = factor + gam_packed_offset(p, k + 1) - 1;
    const double* c2 = factor + gam_packed_offset(p, k + 2) - 2;
    const double* c3 = factor + gam_packed_offset(p, k + 3) - 3;
    const double y0 = x[k] * inv_diag[k];
    const double y1 = (x[k + 1] - y0 * c0[1]) * inv_diag[k + 1];
    const double y2 = ((x[k + 2] - y0 * c0[2]) - y1 * c1[2]) * inv_diag[k + 2];
    const double y3 = (((x[k + 3] - y0 * c0[3]) - y1 * c1[3]) - y2 * c2[3]) * inv_diag[k + 3];
    x[k] = y0; x[k + 1] = y1; x[k + 2] = y2; x[k + 3] = y3;
    double* xr = x + k;
    for (std::int64_t r = 4; r < p - k; ++r) xr[r] = (((xr[r] - y0 * c0[r]) - y1 * c1[r]) - y2 * c2[r]) - y3 * c3[r];
  }
  for (; k < p; ++k) {
    const double* lk = factor + gam_packed_offset(p, k);
    const double yk = x[k] * inv_diag[k];
    x[k] = yk;
    for (std::int64_t j = 1; j < p - k; ++j) x[k + j] -= yk * lk[j];
  }
  // Backward: the last p % 4 unknowns one by one, then blocks [b, b + 4) downward.
  std::int64_t b = p - p % 4;
  for (std::int64_t k2 = p; k2-- > b;) {
    const double* lk = factor + gam_packed_offset(p, k2);
    double s = 0.0;
    for (std::int64_t r = k2 + 1; r < p; ++r) s += lk[r - k2] * x[r];
    x[k2] = (x[k2] - s) * inv_diag[k2];
  }
  for (; b > 0; b -= 4) {
    const std::int64_t k0 = b - 4;
    const double* c0 = factor + gam_packed_offset(p, k0) - k0;  // c_l[r] = L(r, k0 + l)
    const double* c1 = factor + gam_packed_offset(p, k0 + 1) - k0 - 1;
    const double* c2 = factor + gam_packed_offset(p, k0 + 2) - k0 - 2;
    const double* c3 = factor + gam_packed_offset(p, k0 + 3) - k0 - 3;
    std::array<double, 4> s0{}, s1{}, s2{}, s3{};
    // Oldest unknowns first and the block just solved last: the sums need its values only at their end, so
    // most of their work overlaps its solution (a third faster than in row order).
    std::int64_t r = p;
    for (; r - 4 >= b; r -= 4)
      for (int l = 0; l < 4; ++l) {
        const double xv = x[r - 4 + l];
        s0[l] += c0[r - 4 + l] * xv;
        s1[l] += c1[r - 4 + l] * xv;
        s2[l] += c2[r - 4 + l] * xv;
        s3[l] += c3[r - 4 + l] * xv;
      }
    for (int l = 0; r > b; ++l) {
      --r;
      const double xv = x[r];
      s0[l] += c0[r] * xv;
      s1[l] += c1[r] * xv;
      s2[l] += c2[r] * xv;
      s3[l] += c3[r] * xv;
    }
    const auto sum = [](const std::array<double, 4>& s) { return (s[0] + s[1]) + (s[2] + s[3]); };
    const double x3 = (x[k0 + 3] - sum(s3)) * inv_diag[k0 + 3];
    const double x2 = ((x[k0 + 2] - sum(s2)) - c2[k0 + 3] * x3) * inv_diag[k0 + 2];
    const double x1 = (((x[k0 + 1] - sum(s1)) - c1[k0 + 3] * x3) - c1[k0 + 2] * x2) * inv_diag[k0 + 1];
    const double x0 = ((((x[k0] - sum(s0)) - c0[k0 + 3] * x3) - c0[k0 + 2] * x2) - c0[k0 + 1] * x1) * inv_diag[k0];
    x[k0] = x0; x[k0 + 1] = x1; x[k0 + 2] = x2; x[k0 + 3] = x3;
  }
}
__attribute__((target("avx2"))) void gam_packed_solve_avx2(const double* __restrict factor,
    const double* __restrict inv_diag, std::int64_t p, double* __restrict x) {
  gam_packed_solve_body(factor, inv_diag, p, x);
}
void gam_packed_solve_baseline(const double* __restrict factor, const double* __restrict inv_diag, std::int64_t p,
    double* __restrict x) {
  gam_packed_solve_body(factor, inv_diag, p, x);
}
void gam_packed_solve(const double* __restrict factor, const double* __restrict inv_diag, std::int64_t p,
    double* __restrict x) {
  kernels::use_avx2() ? gam_packed_solve_avx2(factor, inv_diag, p, x)
      : gam_packed_solve_baseline(factor, inv_diag, p, x);
}

void gam_packed_symv(const double* a, std::int64_t p, const double* x, double* y) {
  std::fill_n(y, p, 0.0);
  for (std::int64_t j = 0; j < p; ++j) {
    const double* aj = a + gam_packed_offset(p, j);
    double s = aj[0] * x[j];
    for (std::int64_t i = 1; i < p - j; ++i) {
      y[j + i] += aj[i] * x[j];
      s += aj[i] * x[j + i];
    }
    y[j] += s;
  }
}

int gam_changepoint_steps(const GamConfig& config, std::int64_t fit_begin, std::int64_t fit_end, std::int64_t* out) {
  const std::int64_t n = fit_end - fit_begin;
  int count = 0;
  for (int j = 1; j <= config.changepoints; ++j) {
    const auto offset = static_cast<std::int64_t>(std::llround(config.changepoint_range * static_cast<double>(n) * j / config.changepoints));
    if (offset < 1 || offset > n - 2) continue;
    if (count > 0 && out[count - 1] >= fit_begin + offset) continue;
    out[count++] = fit_begin + offset;
  }
  return count;
}

int gam_capped_order(int order, double period_days, const TimeGrid& grid) {
  const double samples_per_period = period_days / step_days(grid);
  // Orders k with k >= samples/2 alias onto lower ones (or vanish): keep k < samples / 2.
  const int limit = static_cast<int>(std::ceil(samples_per_period / 2.0)) - 1;
  return std::max(0, std::min(order, limit));
}

GamDesign::GamDesign(const TimeGrid& grid, const GamConfig& config, std::int64_t fit_begin, std::int64_t fit_end)
    : grid_(grid), fit_begin_(fit_begin), fit_end_(fit_end) {
  METERBENCH_CHECK(fit_begin >= 0 && fit_end > fit_begin && fit_end <= grid.steps);
  const std::int64_t n = fit_end - fit_begin;

  // Changepoint candidates: evenly spaced on the grid over the first changepoint_range of the fit window,
  // at offsets round(range * n * j / C), j = 1..C; duplicates (short windows) are merged, and a
  // changepoint needs at least one step on each side.
  changepoint_steps_.resize(static_cast<std::size_t>(std::max(0, config.changepoints)));
  changepoint_steps_.resize(static_cast<std::size_t>(gam_changepoint_steps(config, fit_begin, fit_end, changepoint_steps_.data())));
  for (const auto s : changepoint_steps_) changepoint_t_.push_back(static_cast<double>(s - fit_begin) / static_cast<double>(n));

  GamColumns& c = columns_;
  int next = 2;
  c.changepoint_count = static_cast<int>(changepoint_steps_.size());
  next += c.changepoint_count;
  c.weekly_order = gam_capped_order(config.weekly_order, kDaysPerWeek, grid);
  c.weekly_begin = next;
  next += 2 * c.weekly_order;
  const double window_days = static_cast<double>(n) * step_days(grid);
  c.yearly_order = window_days >= config.yearly_min_days ? gam_capped_order(config.yearly_order, kDaysPerYear, grid) : 0;
  c.yearly_begin = next;
  next += 2 * c.yearly_order;
  c.monthly_order = gam_capped_order(config.monthly_order, kDaysPerMonth, grid);
  c.monthly_begin = next;
  next += 2 * c.monthly_order;
  c.daily_order = grid.step_seconds < kSecondsPerDay ? gam_capped_order(config.daily_order, 1.0, grid) : 0;
  c.daily_begin = next;
  next += 2 * c.daily_order;
  c.count = next;

  const int p = c.count;
  penalty_ = Eigen::VectorXd::Zero(p);
  for (int j = c.changepoint_begin; j < c.changepoint_begin + c.changepoint_count; ++j) penalty_[j] = config.changepoint_penalty;
  for (int j = c.weekly_begin; j < p; ++j) penalty_[j] = config.seasonality_penalty;

  // Raw design, then standardise every column but the intercept over the fit window (conditioning: the
  // centred columns are nearly orthogonal to the intercept and all have unit variance).
  x_.resize(n, p);
  mean_ = Eigen::VectorXd::Zero(p);
  inv_sd_ = Eigen::VectorXd::Ones(p);
  for (std::int64_t i = 0; i < n; ++i) fill_raw_row(fit_begin + i, std::span<double>(x_.row(i).data(), static_cast<std::size_t>(p)));
  for (int j = 1; j < p; ++j) {
    const double mean = x_.col(j).mean();
    const double var = (x_.col(j).array() - mean).square().mean();
    mean_[j] = mean;
    inv_sd_[j] = var > 1e-24 ? 1.0 / std::sqrt(var) : 1.0;
  }
  for (std::int64_t i = 0; i < n; ++i) x_.row(i) = ((x_.row(i).transpose() - mean_).array() * inv_sd_.array()).transpose();

  build_structure();
  xtx_ = Eigen::MatrixXd::Zero(p, p);
  xtx_.selfadjointView<Eigen::Lower>().rankUpdate(x_.transpose(), 1.0);
  xtx_.triangularView<Eigen::StrictlyUpper>() = xtx_.transpose();
  gram_ = xtx_ / static_cast<double>(n);
  gram_.diagonal() += penalty_;
  gram_.diagonal().array() += kGamDiagonalJitter;
  factor_.compute(gram_);
  // Only a window shorter than its columns with the penalties set to 0 can be singular: raise the ridge
  // until it factorises (such a window's series are too_short anyway).
  for (double extra = 1e-8; factor_.info() != Eigen::Success && extra < 1e2; extra *= 100.0) {
    gram_.diagonal().array() += extra;
    factor_.compute(gram_);
  }
  METERBENCH_CHECK(factor_.info() == Eigen::Success);
  inverse_ = factor_.solve(Eigen::MatrixXd::Identity(p, p));
  inverse_ = 0.5 * (inverse_ + inverse_.transpose()).eval();
}

bool GamDesign::build_prefix_cross_products(std::int64_t max_bytes) {
  const std::int64_t n = rows(), t = packed_size();
  const int p = cols();
  if ((n + 1) * t * static_cast<std::int64_t>(sizeof(double)) > max_bytes) return false;
  prefix_xtx_.assign(static_cast<std::size_t>((n + 1) * t), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* x = x_.row(i).data();
    const double* prev = prefix_xtx_.data() + i * t;
    double* next = prefix_xtx_.data() + (i + 1) * t;
    for (int j = 0; j < p; ++j) {
      const double xj = x[j];
      for (int r = j; r < p; ++r) *next++ = *prev++ + x[r] * xj;
    }
  }
  return true;
}

void GamDesign::build_structure() {
  const std::int64_t n = rows();
  const GamColumns& c = columns_;
  // Phase keys in whole seconds, exact on the integer grid: two rows with the same key have the same
  // Fourier values. 365.25 days = 31,557,600 s.
  const auto seconds_of = [&](std::int64_t i) { return grid_.time_at(fit_begin_ + i); };
  const auto mod = [](std::int64_t a, std::int64_t m) { return ((a % m) + m) % m; };
  struct Term {
    int begin, order;
    std::function<std::int64_t(std::int64_t)> key;
  };
  const std::vector<Term> terms = {
      {c.weekly_begin, c.weekly_order, [&](std::int64_t i) { return mod(seconds_of(i), 7 * kSecondsPerDay); }},
      {c.yearly_begin, c.yearly_order, [&](std::int64_t i) { return mod(seconds_of(i), 31'557'600); }},
      {c.monthly_begin, c.monthly_order,
       [&](std::int64_t i) {
         const std::int64_t s = seconds_of(i);
         const CalendarPoint cal = calendar_at(s);
         return (static_cast<std::int64_t>(cal.days_in_month) * 32 + cal.day_of_month) * kSecondsPerDay + mod(s, kSecondsPerDay);
       }},
      {c.daily_begin, c.daily_order, [&](std::int64_t i) { return mod(seconds_of(i), kSecondsPerDay); }},
  };
  std::vector<std::uint8_t> tabulated(static_cast<std::size_t>(c.count), 0);
  for (int j = 0; j < 2 + c.changepoint_count; ++j) tabulated[static_cast<std::size_t>(j)] = 1;  // intercept, trend, hinges: the sweep
  for (const Term& term : terms) {
    if (term.order == 0) continue;
    PeriodicTerm pt;
    pt.begin = term.begin;
    pt.width = 2 * term.order;
    pt.index.resize(static_cast<std::size_t>(n));
    std::unordered_map<std::int64_t, std::uint32_t> seen;
    std::vector<std::int64_t> first_row;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto [it, inserted] = seen.try_emplace(term.key(i), static_cast<std::uint32_t>(first_row.size()));
      if (inserted) first_row.push_back(i);
      pt.index[static_cast<std::size_t>(i)] = it->second;
    }
    // Worth it only when phases repeat: at most a quarter of the rows distinct.
    if (4 * static_cast<std::int64_t>(first_row.size()) > n) continue;
    pt.table_d.resize(static_cast<Eigen::Index>(first_row.size()), pt.width);
    for (std::size_t u = 0; u < first_row.size(); ++u)
      pt.table_d.row(static_cast<Eigen::Index>(u)) = x_.row(first_row[u]).segment(pt.begin, pt.width);
    pt.table = pt.table_d.cast<float>();
    cross_scratch_ += static_cast<std::int64_t>(first_row.size());
    for (int j = pt.begin; j < pt.begin + pt.width; ++j) tabulated[static_cast<std::size_t>(j)] = 1;
    predict_scratch_ += static_cast<std::int64_t>(first_row.size());
    periodic_.push_back(std::move(pt));
  }
  for (int j = 0; j < c.count; ++j)
    if (!tabulated[static_cast<std::size_t>(j)]) dense_columns_.push_back(j);
  const auto dense_width = static_cast<Eigen::Index>(dense_columns_.size());
  dense_ = Eigen::MatrixXf::Zero(n, dense_width);
  dense_d_ = Eigen::MatrixXd::Zero(n, dense_width);
  for (Eigen::Index k = 0; k < dense_width; ++k) dense_d_.col(k) = x_.col(dense_columns_[static_cast<std::size_t>(k)]);
  dense_ = dense_d_.cast<float>();
  cross_scratch_ += dense_width;
  ramp_ = Eigen::VectorXd::LinSpaced(n, 0.0, static_cast<double>(n - 1));
  predict_scratch_ += dense_width;
}

void GamDesign::predict(const Eigen::VectorXd& beta, std::span<float> out, std::span<float> scratch) const {
  const std::int64_t n = rows();
  const GamColumns& c = columns_;
  // Trend and hinges in the raw basis: sum_j g_j max(t - tau_j, 0) + g_1 t = A(t) t - B(t), with A and B the
  // running sums over the changepoints passed; the standardisation's means fold into the constant.
  double constant = beta[0];
  const double g_trend = beta[c.trend] * inv_sd_[c.trend];
  constant -= g_trend * mean_[c.trend];
  double slope = g_trend, shift = 0.0;
  std::size_t next = 0;
  const double inv_n = 1.0 / static_cast<double>(n);
  const std::size_t cp_count = changepoint_steps_.size();
  for (std::size_t j = 0; j < cp_count; ++j) {
    const int col = c.changepoint_begin + static_cast<int>(j);
    constant -= beta[col] * inv_sd_[col] * mean_[col];
  }
  // The tabulated Fourier terms' values per distinct phase first, so that one pass per segment writes the line
  // and adds up to two terms' lookups (in term order, each rounded to float as separate passes would).
  float* values = scratch.data();
  std::array<const float*, 2> first_values{};
  std::array<const std::uint32_t*, 2> first_index{};
  std::size_t fused = 0;
  for (const PeriodicTerm& pt : periodic_) {
    const auto u = pt.table.rows();
    std::array<float, 2 * 64> coef{};  // orders are capped at 40 by the parameter specs
    METERBENCH_CHECK(pt.width <= static_cast<int>(coef.size()));
    for (int j = 0; j < pt.width; ++j) coef[static_cast<std::size_t>(j)] = static_cast<float>(beta[pt.begin + j]);
    Eigen::Map<Eigen::VectorXf> v(values, u);
    v.noalias() = pt.table * Eigen::Map<const Eigen::VectorXf>(coef.data(), pt.width);
    if (fused < first_values.size()) {
      first_values[fused] = values;
      first_index[fused] = pt.index.data();
      ++fused;
    }
    values += u;
  }
  // Segment by segment (between changepoints the line is fixed), so the inner loop vectorises.
  std::int64_t i = 0;
  while (i < n) {
    while (next < cp_count && changepoint_steps_[next] - fit_begin_ <= i) {
      const int col = c.changepoint_begin + static_cast<int>(next);
      const double g = beta[col] * inv_sd_[col];
      slope += g;
      shift += g * changepoint_t_[next];
      ++next;
    }
    const std::int64_t end = next < cp_count ? changepoint_steps_[next] - fit_begin_ : n;
    const double base = constant - shift, step_slope = slope * inv_n;
    predict_line(out.data(), i, end, base, step_slope, fused, first_values.data(), first_index.data());
    i = end;
  }
  values = scratch.data();
  for (std::size_t k = 0; k < periodic_.size(); ++k) {
    const PeriodicTerm& pt = periodic_[k];
    if (k >= fused) {
      const std::uint32_t* idx = pt.index.data();
      for (std::int64_t r = 0; r < n; ++r) out[static_cast<std::size_t>(r)] += values[idx[r]];
    }
    values += pt.table.rows();
  }
  if (!dense_columns_.empty()) {
    // Column-major: a few long axpys, no horizontal sums (3-4x faster than dot products of short rows).
    Eigen::Map<Eigen::VectorXf> b(values, dense_.cols());
    for (std::size_t k = 0; k < dense_columns_.size(); ++k) b[static_cast<Eigen::Index>(k)] = static_cast<float>(beta[dense_columns_[k]]);
    gam_add_columns(dense_.data(), n, dense_.cols(), b.data(), out.data());
  }
}

void GamDesign::cross(std::span<const double> y, Eigen::VectorXd& b, std::span<double> scratch) const {
  const std::int64_t n = rows();
  const GamColumns& c = columns_;
  const std::size_t cp_count = changepoint_steps_.size();
  // Sums of y and t*y over [c_j, n) for every changepoint, and over the whole window; t_i = i / n.
  double s0 = 0.0, s1 = 0.0;
  const double inv_n = 1.0 / static_cast<double>(n);
  const Eigen::Map<const Eigen::VectorXd> yv(y.data(), n);
  std::int64_t end = n;
  for (std::size_t j = cp_count; j-- > 0;) {
    const std::int64_t begin = changepoint_steps_[j] - fit_begin_;
    s0 += yv.segment(begin, end - begin).sum();
    s1 += yv.segment(begin, end - begin).dot(ramp_.segment(begin, end - begin));
    end = begin;
    const int col = c.changepoint_begin + static_cast<int>(j);
    const double raw = s1 * inv_n - changepoint_t_[j] * s0;  // sum_{i >= c_j} (t_i - tau_j) y_i
    b[col] = raw;  // standardised below, once the total sum is known
  }
  s0 += yv.head(end).sum();
  s1 += yv.head(end).dot(ramp_.head(end));
  b[0] = s0;
  b[c.trend] = inv_sd_[c.trend] * (s1 * inv_n - mean_[c.trend] * s0);
  for (std::size_t j = 0; j < cp_count; ++j) {
    const int col = c.changepoint_begin + static_cast<int>(j);
    b[col] = inv_sd_[col] * (b[col] - mean_[col] * s0);
  }
  double* sums = scratch.data();
  for (const PeriodicTerm& pt : periodic_) {
    const auto u = pt.table_d.rows();
    Eigen::Map<Eigen::VectorXd> phase_sums(sums, u);
    phase_sums.setZero();
    const std::uint32_t* idx = pt.index.data();
    for (std::int64_t i = 0; i < n; ++i) sums[idx[i]] += y[static_cast<std::size_t>(i)];
    b.segment(pt.begin, pt.width).noalias() = pt.table_d.transpose() * phase_sums;
    sums += u;
  }
  if (!dense_columns_.empty()) {
    Eigen::Map<Eigen::VectorXd> dense_b(sums, dense_d_.cols());
    dense_b.noalias() = dense_d_.transpose() * yv;
    for (std::size_t k = 0; k < dense_columns_.size(); ++k) b[dense_columns_[k]] = dense_b[static_cast<Eigen::Index>(k)];
  }
}

void GamDesign::fill_raw_row(std::int64_t step, std::span<double> row) const {
  const GamColumns& c = columns_;
  const double t = static_cast<double>(step - fit_begin_) / static_cast<double>(fit_end_ - fit_begin_);
  row[0] = 1.0;
  row[c.trend] = t;
  for (int j = 0; j < c.changepoint_count; ++j) row[c.changepoint_begin + j] = std::max(0.0, t - changepoint_t_[j]);
  const double days = grid_.days_at(step);
  fourier(days / kDaysPerWeek, c.weekly_order, &row[c.weekly_begin]);
  fourier(days / kDaysPerYear, c.yearly_order, &row[c.yearly_begin]);
  if (c.monthly_order > 0) {
    // Billing-cycle phase: (day_of_month - 1 + fraction of the day) / days_in_month.
    const CalendarPoint cal = calendar_at(grid_.time_at(step));
    const double phase = (cal.day_of_month - 1 + cal.hour_of_day / 24.0) / cal.days_in_month;
    fourier(phase, c.monthly_order, &row[c.monthly_begin]);
  }
  fourier(days, c.daily_order, &row[c.daily_begin]);
}

void GamDesign::fill_row(std::int64_t step, std::span<double> row) const {
  fill_raw_row(step, row);
  for (int j = 1; j < columns_.count; ++j) row[j] = (row[j] - mean_[j]) * inv_sd_[j];
}

}  // namespace meterbench
