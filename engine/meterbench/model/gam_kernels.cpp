#include "meterbench/model/gam_kernels.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "meterbench/core/kernels.hpp"

namespace meterbench {

namespace {

// Columns in pairs, out += (c0 b0 + c1 b1) per pair in column order: (a b0 + c b1) rounds the same everywhere.
// Up to four pairs per pass over out (out's loads and stores once per eight columns instead of per two); each
// pair is still added on its own, so the result equals one pass per pair bit for bit.
template <typename T>
[[gnu::always_inline]] inline void add_columns_impl(const T* cols, std::int64_t n, std::int64_t k, const T* b, T* out) {
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

template <typename T>
__attribute__((target("avx2"))) void add_columns_avx2(const T* cols, std::int64_t n, std::int64_t k, const T* b, T* out) {
  add_columns_impl(cols, n, k, b, out);
}
template <typename T>
void add_columns_baseline(const T* cols, std::int64_t n, std::int64_t k, const T* b, T* out) {
  add_columns_impl(cols, n, k, b, out);
}

}  // namespace

void gam_add_columns(const float* cols, std::int64_t n, std::int64_t k, const float* b, float* out) {
  kernels::use_avx2() ? add_columns_avx2(cols, n, k, b, out) : add_columns_baseline(cols, n, k, b, out);
}
void gam_add_columns(const double* cols, std::int64_t n, std::int64_t k, const double* b, double* out) {
  kernels::use_avx2() ? add_columns_avx2(cols, n, k, b, out) : add_columns_baseline(cols, n, k, b, out);
}

namespace {

// The helpers below take and return kernels::Lanes4 inside always-inlined code (see core/kernels.hpp, -Wpsabi).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
using kernels::Lanes4, kernels::lanes_total, kernels::load4;

// Columns four at a time: each column's lane sums form a chain of dependent additions, and four chains keep the
// adder busy where one would wait on each addition.
[[gnu::always_inline]] inline void dot_columns_body(const double* __restrict cols, std::int64_t n, std::int64_t k,
                                                    const double* __restrict y, double* __restrict out) {
  const std::int64_t whole = n - n % 4;
  std::int64_t j = 0;
  for (; j + 4 <= k; j += 4) {
    const double* c0 = cols + j * n;
    const double *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
    Lanes4 s0 = {0.0, 0.0, 0.0, 0.0}, s1 = s0, s2 = s0, s3 = s0;
    for (std::int64_t i = 0; i < whole; i += 4) {
      const Lanes4 yi = load4(y + i);
      s0 += load4(c0 + i) * yi;
      s1 += load4(c1 + i) * yi;
      s2 += load4(c2 + i) * yi;
      s3 += load4(c3 + i) * yi;
    }
    for (std::int64_t i = whole; i < n; ++i) {
      s0[i - whole] += c0[i] * y[i];
      s1[i - whole] += c1[i] * y[i];
      s2[i - whole] += c2[i] * y[i];
      s3[i - whole] += c3[i] * y[i];
    }
    out[j] = lanes_total(s0);
    out[j + 1] = lanes_total(s1);
    out[j + 2] = lanes_total(s2);
    out[j + 3] = lanes_total(s3);
  }
  for (; j < k; ++j) {
    const double* c0 = cols + j * n;
    Lanes4 s0 = {0.0, 0.0, 0.0, 0.0};
    for (std::int64_t i = 0; i < whole; i += 4) s0 += load4(c0 + i) * load4(y + i);
    for (std::int64_t i = whole; i < n; ++i) s0[i - whole] += c0[i] * y[i];
    out[j] = lanes_total(s0);
  }
}
__attribute__((target("avx2"))) void dot_columns_avx2(const double* cols, std::int64_t n, std::int64_t k, const double* y, double* out) {
  dot_columns_body(cols, n, k, y, out);
}
void dot_columns_baseline(const double* cols, std::int64_t n, std::int64_t k, const double* y, double* out) {
  dot_columns_body(cols, n, k, y, out);
}
#pragma GCC diagnostic pop

}  // namespace

void gam_dot_columns(const double* cols, std::int64_t n, std::int64_t k, const double* y, double* out) {
  kernels::use_avx2() ? dot_columns_avx2(cols, n, k, y, out) : dot_columns_baseline(cols, n, k, y, out);
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
}  // namespace

void gam_predict_line(float* out, std::int64_t begin, std::int64_t end, double base, double slope, std::size_t terms,
    const float* const* v, const std::uint32_t* const* idx) {
  kernels::use_avx2() ? predict_line_avx2(out, begin, end, base, slope, terms, v, idx)
      : predict_line_baseline(out, begin, end, base, slope, terms, v, idx);
}

namespace {

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
}  // namespace

void gam_huber_rhs(const double* y, const float* yhat, const std::uint8_t* observed, std::int64_t n, double cs,
    bool impute, const double* x, std::int64_t p, double* w, std::uint8_t* flags, std::int32_t* picks, double* rhs) {
  kernels::use_avx2() ? huber_rhs_avx2(y, yhat, observed, n, cs, impute, x, p, w, flags, picks, rhs)
      : huber_rhs_baseline(y, yhat, observed, n, cs, impute, x, p, w, flags, picks, rhs);
}

namespace {

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
}  // namespace

void gam_score_fitted(const float* __restrict yhat, const float* __restrict values, std::int64_t count, double offset,
    double least, double half, double inv_s, float* __restrict expected, float* __restrict lower,
    float* __restrict upper, float* __restrict score) {
  kernels::use_avx2() ? score_fitted_avx2(yhat, values, count, offset, least, half, inv_s, expected, lower, upper, score)
      : score_fitted_baseline(yhat, values, count, offset, least, half, inv_s, expected, lower, upper, score);
}

}  // namespace meterbench
