#pragma once
// The vectorised inner loops of the `gam` detector, each compiled for AVX2 and for the baseline instruction set
// and chosen when the program starts (core/kernels.hpp). No FMA in either: both give the same rounding, so
// results do not depend on the machine (tests/model/kernel_variants_test.cpp).
#include <cstddef>
#include <cstdint>

namespace meterbench {

/// out[i] += sum_j cols[j * n + i] * b[j] for i < n, j < k (column-major cols), and the same in double. Column
/// by column in a fixed order.
void gam_add_columns(const float* cols, std::int64_t n, std::int64_t k, const float* b, float* out);
void gam_add_columns(const double* cols, std::int64_t n, std::int64_t k, const double* b, double* out);

/// The piecewise-linear sweep of GamDesign::predict: out[i] = float(base + slope i) + v0[i0[i]] + v1[i1[i]] over
/// [begin, end) for the first `terms` (<= 2) lookups v[t][idx[t][i]], each addition in float as in separate passes
/// (rows < 2^31).
void gam_predict_line(float* out, std::int64_t begin, std::int64_t end, double base, double slope, std::size_t terms,
                      const float* const* v, const std::uint32_t* const* idx);

/// The Huber right-hand side over n rows of the row-major design x (p columns): rhs -= sum_i w_i x_i, with
/// w_i = r_i - clip(r_i, +-cs) (r_i = y_i - yhat_i) on an observed row, r_i on a missing one when `impute` (its y
/// is 0), else 0. Scratch: `w` n doubles, `flags` n + 8 bytes, `picks` n + 8 indices.
void gam_huber_rhs(const double* y, const float* yhat, const std::uint8_t* observed, std::int64_t n, double cs,
                   bool impute, const double* x, std::int64_t p, double* w, std::uint8_t* flags, std::int32_t* picks,
                   double* rhs);

/// The band and score of `count` steps of an untransformed regression fit: expected = max(offset + yhat, least),
/// lower = max(expected - half, least), upper = expected + half, score = |value - expected| * inv_s (NaN stays NaN).
void gam_score_fitted(const float* yhat, const float* values, std::int64_t count, double offset, double least,
                      double half, double inv_s, float* expected, float* lower, float* upper, float* score);

/// The band and score of `count` steps of a log-space fit (gam_log_band_step in gam_band.hpp, step i with
/// mu = offset + yhat[i], fitted = offset + y[i], its scale and band factors scale[i], down[i], up[i]).
void gam_log_band(const float* yhat, const double* y, double offset, const float* values, const double* scale,
                  const double* down, const double* up, std::int64_t count, double unit, double least, float* expected,
                  float* lower, float* upper, float* score);

/// out[i] = pmath::log1p(max(values[i], 0) / unit) (0 where values[i] is NaN), i < n.
void gam_log1p_values(const float* values, std::int64_t n, double unit, double* out);

/// The two windows of the run score (gam_rules.hpp): window w of step i covers the prefix-sum indices
/// [i - before[w], i + after[w]); it counts when it holds at least need[w] used steps; root[w] = sqrt(its width).
struct GamRunWindows {
  std::int64_t before[2], after[2];
  double root[2], need[2];
};

/// The run score's terms of m steps: term[i] = +-min(score[i], clip) (the sign of values[i] - expected[i], + when
/// equal) and used[i] = 1 when the score is finite and the value observed, else both 0.
void gam_run_terms(const float* values, const float* expected, const float* score, std::int64_t m, double clip,
                   double* term, double* used);

/// The unit-error test of the rules (gam_rules.hpp) at m steps: flag[i] = 1 when values[i] >= ratio x max(level,
/// typical) or 0 < values[i] x ratio <= level, level = max(expected[i], 1) (a NaN value or expected: 0).
void gam_unit_error_flags(const float* values, const float* expected, std::int64_t m, double ratio, double typical,
                          std::uint8_t* flag);

/// The run score at the steps [lo, hi) of a scored range whose windows lie inside it: score[i] = max(score[i],
/// root[w] |(sum[b] - sum[a]) / (count[b] - count[a])|) over the windows w = [a, b) that count; NaN stays NaN.
/// sum and count are prefix sums over the range (index i: the steps before i).
void gam_run_windows(const double* sum, const double* count, float* score, std::int64_t lo, std::int64_t hi,
                     const GamRunWindows& windows);

}  // namespace meterbench
