#pragma once
// The vectorised inner loops of the `gam` detector, each compiled for AVX2 and for the baseline instruction set
// and chosen when the program starts (core/kernels.hpp). No FMA in either: both give the same rounding, so
// results do not depend on the machine (tests/model/kernel_variants_test.cpp).
#include <cstddef>
#include <cstdint>
#include <utility>

namespace meterbench {

/// out[i] += sum_j cols[j * n + i] * b[j] for i < n, j < k (column-major cols), and the same in double. Column
/// by column in a fixed order.
void gam_add_columns(const float* cols, std::int64_t n, std::int64_t k, const float* b, float* out);
void gam_add_columns(const double* cols, std::int64_t n, std::int64_t k, const double* b, double* out);

/// out[j] = sum_i cols[j * n + i] * y[i] for j < k (column-major cols): each sum in four lanes (row i into lane
/// i mod 4, the lanes added as (0 + 1) + (2 + 3)), four columns per pass over y.
void gam_dot_columns(const double* cols, std::int64_t n, std::int64_t k, const double* y, double* out);

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
/// mu = offset + yhat[i], fitted = offset + y[i], its inverse scales and band factors inv_up[i], inv_up[i] x ratio
/// (below the expected value), down[i], up[i]).
void gam_log_band(const float* yhat, const double* y, double offset, const float* values, const double* inv_up,
                  double ratio, const double* down, const double* up, std::int64_t count, double unit, double least,
                  float* expected, float* lower, float* upper, float* score);

/// out[i] = pmath::log1p(max(values[i], 0) / unit) (0 where values[i] is NaN), i < n.
void gam_log1p_values(const float* values, std::int64_t n, double unit, double* out);

/// Totals of the observed steps of a fit window (gam_window_totals).
struct GamWindowTotals {
  double lo, hi, sum;
  std::int64_t observed;
};
/// The fit window's values into y (the fitted values already there when `in_place`, else values[i] as doubles; 0 where
/// values[i] is NaN) and observed (0 or 1), with the lowest, highest and sum of the observed ones: the sum in four
/// lanes (step i into lane i mod 4, the lanes added as (0 + 1) + (2 + 3)), so that it is not one chain of additions.
GamWindowTotals gam_window_totals(const float* values, std::int64_t n, bool in_place, double* y, std::uint8_t* observed);

/// Counts of the tail factors' two sides (gam_side_counts).
struct GamSideCounts {
  std::int64_t above = 0, below = 0;                // residuals > 0, < 0
  std::int64_t above_beyond = 0, below_beyond = 0;  // residuals > t, < -t
};

/// How many of r[0, n) are above 0, below 0, above t and below -t.
GamSideCounts gam_side_counts(const float* r, std::int64_t n, float t);

/// The tail factors' candidates: the values r[i] > keep_up, in order, into up, and the magnitudes -r[i] > keep_down
/// into down; returns how many of each. up and down hold n + 8 floats (whole vectors are stored).
std::pair<std::int64_t, std::int64_t> gam_tail_candidates(const float* r, std::int64_t n, float keep_up, float keep_down,
                                                          float* up, float* down);

/// The rows i of r[0, n) with sign x r[i] >= limit (sign +1 or -1), in order, into rows (n + 8 ints: whole vectors
/// are stored); returns how many.
std::int64_t gam_rows_at_least(const float* r, std::int64_t n, float sign, float limit, std::int32_t* rows);

/// gam_abs_residuals into out, and the signed residuals y[i] - offset - yhat[i] (in float; 0 where unobserved) into
/// signed_out, in one pass (the tail factors read them).
std::int64_t gam_abs_and_signed_residuals(const double* y, const float* yhat, const std::uint8_t* observed, std::int64_t n,
                                          double offset, float* out, float* signed_out);

/// out[i] = |y[i] - offset - yhat[i]| (in float) where observed[i], else +inf (so that it ranks above every
/// residual: the order statistics of the observed ones are those of all n), i < n; returns how many are observed.
std::int64_t gam_abs_residuals(const double* y, const float* yhat, const std::uint8_t* observed, std::int64_t n,
                               double offset, float* out);
/// sum[l] = sum_j min(r[l + j block], cap) and count[l] = how many are finite (+inf: unobserved, skipped), l < block:
/// the rows' sums by position in a repeating block, element by element over the block (so the loop vectorises).
void gam_block_sums(const float* r, std::int64_t n, std::int64_t block, double cap, double* sum, double* count);
/// y[i] -= offset where observed[i] (0 or 1), i < n.
void gam_centre(double* y, const std::uint8_t* observed, std::int64_t n, double offset);
/// How many observed rows have y[i] == value, i < n.
std::int64_t gam_count_equal(const double* y, const std::uint8_t* observed, std::int64_t n, double value);

/// The two windows of the run score (gam_rules.hpp), 3 and 7 steps wide: window w of step i covers the steps
/// [i - before[w], i - before[w] + width[w]); factor[w][c] = sqrt(width) / c for a window holding c used steps when
/// c reaches the window's least count, else 0 (the window does not count).
inline constexpr int kGamRunWidths[2] = {3, 7};
inline constexpr int kGamRunMaxWidth = kGamRunWidths[0] > kGamRunWidths[1] ? kGamRunWidths[0] : kGamRunWidths[1];
struct GamRunWindows {
  std::int64_t before[2];
  double factor[2][kGamRunMaxWidth + 1];
};

/// The run score's terms of m steps: term[i] = +-min(score[i], clip) (the sign of values[i] - expected[i], + when
/// equal) and used[i] = 1 when the score is at most limit and the value observed, else both 0.
void gam_run_terms(const float* values, const float* expected, const float* score, std::int64_t m, double clip,
                   double limit, double* term, double* used);

/// Over p[0, n): the sum of the observed (non-NaN) values capped at `cap` and their count, and with `moves_too`
/// the sum and count of |difference| between observed neighbours (capped; else 0). Each sum in 8 lanes (step t
/// into lane t mod 8, the pair (t - 1, t) into lane (t - 1) mod 8), the lanes added in order. The blocks of
/// transform=auto (GamDetector, "Transform").
struct GamSpreadSums {
  float sum = 0.0F, seen = 0.0F, moves = 0.0F, pairs = 0.0F;
};
GamSpreadSums gam_spread_sums(const float* p, std::int64_t n, float cap, bool moves_too);

/// The unit-error test of the rules (gam_rules.hpp) at m steps: flag[i] = 1 when values[i] >= up_ratio x
/// max(expected[i], typical, 1) or 0 < values[i] x down_ratio <= expected[i] (a NaN value or expected: 0).
void gam_unit_error_flags(const float* values, const float* expected, std::int64_t m, double up_ratio, double down_ratio,
                          double typical, std::uint8_t* flag);

/// The run score at m steps: score[i] = max(score[i], |s_w| factor[w][c_w]) over both windows w, s_w and c_w the
/// sums of term and used over the window's steps in step order (term[-before] .. term[m + 6] readable: zeros outside
/// the scored range); NaN stays NaN.
void gam_run_windows(const double* term, const double* used, float* score, std::int64_t m, const GamRunWindows& windows);

}  // namespace meterbench
