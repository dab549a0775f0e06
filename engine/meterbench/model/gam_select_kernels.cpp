// The array kernels of the `gam` detector made of selects (gam_kernels.hpp): the fitted values of a series on
// the log scale and its band mapped back to units, by the branch-free pmath::lanes functions, and the run score. This file is compiled with
// -fno-trapping-math (engine/CMakeLists.txt): without it GCC keeps each select of those functions a branch (a
// comparison or a division might raise a floating-point exception it must not speculate) and no loop vectorises.
// The flag changes no value: the kernels compute the bits of the scalar functions (tests/model/kernel_variants_test.cpp).
#include <algorithm>
#include <cmath>
#include <limits>

#include "meterbench/core/kernels.hpp"
#include "meterbench/core/portable_math_lanes.hpp"
#include "meterbench/model/gam_band.hpp"
#include "meterbench/model/gam_kernels.hpp"

namespace meterbench {

namespace {

[[gnu::always_inline]] inline void log_band_body(const float* __restrict yhat, const double* __restrict y, double offset,
    const float* __restrict values, const double* __restrict scale, const double* __restrict down,
    const double* __restrict up, std::int64_t count, double unit, double least, float* __restrict expected,
    float* __restrict lower, float* __restrict upper, float* __restrict score) {
  for (std::int64_t i = 0; i < count; ++i)
    gam_log_band_step(offset + static_cast<double>(yhat[i]), offset + y[i], values[i], scale[i], down[i], up[i], unit,
                      least, expected[i], lower[i], upper[i], score[i]);
}
__attribute__((target("avx2"))) void log_band_avx2(const float* yhat, const double* y, double offset,
    const float* values, const double* scale, const double* down, const double* up, std::int64_t count, double unit,
    double least, float* expected, float* lower, float* upper, float* score) {
  log_band_body(yhat, y, offset, values, scale, down, up, count, unit, least, expected, lower, upper, score);
}
void log_band_baseline(const float* yhat, const double* y, double offset, const float* values, const double* scale,
    const double* down, const double* up, std::int64_t count, double unit, double least, float* expected,
    float* lower, float* upper, float* score) {
  log_band_body(yhat, y, offset, values, scale, down, up, count, unit, least, expected, lower, upper, score);
}

[[gnu::always_inline]] inline void log1p_values_body(const float* __restrict values, std::int64_t n, double unit,
                                                     double* __restrict out) {
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = values[i];
    const double u = pmath::lanes::log1p_nonnegative(std::max(v, 0.0) / unit);
    out[i] = v != v ? 0.0 : u;
  }
}
__attribute__((target("avx2"))) void log1p_values_avx2(const float* values, std::int64_t n, double unit, double* out) {
  log1p_values_body(values, n, unit, out);
}
void log1p_values_baseline(const float* values, std::int64_t n, double unit, double* out) {
  log1p_values_body(values, n, unit, out);
}

[[gnu::always_inline]] inline void run_terms_body(const float* __restrict values, const float* __restrict expected,
    const float* __restrict score, std::int64_t m, double clip, double* __restrict term, double* __restrict used) {
  for (std::int64_t i = 0; i < m; ++i) {
    const double sc = score[i], v = values[i];
    const bool use = (std::abs(sc) <= std::numeric_limits<double>::max()) & (v == v);  // finite score, observed value
    const double clipped = std::min(sc, clip);
    const double signed_term = v < static_cast<double>(expected[i]) ? -clipped : clipped;
    term[i] = use ? signed_term : 0.0;
    used[i] = use ? 1.0 : 0.0;
  }
}
__attribute__((target("avx2"))) void run_terms_avx2(const float* values, const float* expected, const float* score,
    std::int64_t m, double clip, double* term, double* used) {
  run_terms_body(values, expected, score, m, clip, term, used);
}
void run_terms_baseline(const float* values, const float* expected, const float* score, std::int64_t m, double clip,
    double* term, double* used) {
  run_terms_body(values, expected, score, m, clip, term, used);
}

[[gnu::always_inline]] inline void unit_error_body(const float* __restrict values, const float* __restrict expected,
    std::int64_t m, double ratio, double typical, std::uint8_t* __restrict flag) {
  for (std::int64_t i = 0; i < m; ++i) {
    const double v = values[i];
    const double level = std::max(static_cast<double>(expected[i]), 1.0);  // false for NaN values: no alert
    const bool up = v >= ratio * std::max(level, typical), down = (v > 0.0) & (v * ratio <= level);
    flag[i] = static_cast<std::uint8_t>(up | down);
  }
}
__attribute__((target("avx2"))) void unit_error_avx2(const float* values, const float* expected, std::int64_t m,
    double ratio, double typical, std::uint8_t* flag) {
  unit_error_body(values, expected, m, ratio, typical, flag);
}
void unit_error_baseline(const float* values, const float* expected, std::int64_t m, double ratio, double typical,
    std::uint8_t* flag) {
  unit_error_body(values, expected, m, ratio, typical, flag);
}

[[gnu::always_inline]] inline void run_windows_body(const double* __restrict sum, const double* __restrict count,
    float* __restrict score, std::int64_t lo, std::int64_t hi, const GamRunWindows& windows) {
  const std::int64_t a0 = windows.before[0], b0 = windows.after[0], a1 = windows.before[1], b1 = windows.after[1];
  const double root0 = windows.root[0], root1 = windows.root[1], need0 = windows.need[0], need1 = windows.need[1];
  for (std::int64_t i = lo; i < hi; ++i) {
    const float s = score[i];
    double best = s;
    const double c0 = count[i + b0] - count[i - a0];
    const double mean0 = root0 * std::abs((sum[i + b0] - sum[i - a0]) / c0);
    best = c0 >= need0 ? std::max(best, mean0) : best;
    const double c1 = count[i + b1] - count[i - a1];
    const double mean1 = root1 * std::abs((sum[i + b1] - sum[i - a1]) / c1);
    best = c1 >= need1 ? std::max(best, mean1) : best;
    score[i] = s != s ? s : static_cast<float>(best);
  }
}
__attribute__((target("avx2"))) void run_windows_avx2(const double* sum, const double* count, float* score,
    std::int64_t lo, std::int64_t hi, const GamRunWindows& windows) {
  run_windows_body(sum, count, score, lo, hi, windows);
}
void run_windows_baseline(const double* sum, const double* count, float* score, std::int64_t lo, std::int64_t hi,
    const GamRunWindows& windows) {
  run_windows_body(sum, count, score, lo, hi, windows);
}

}  // namespace

void gam_run_terms(const float* values, const float* expected, const float* score, std::int64_t m, double clip,
                   double* term, double* used) {
  kernels::use_avx2() ? run_terms_avx2(values, expected, score, m, clip, term, used)
      : run_terms_baseline(values, expected, score, m, clip, term, used);
}

void gam_unit_error_flags(const float* values, const float* expected, std::int64_t m, double ratio, double typical,
                          std::uint8_t* flag) {
  kernels::use_avx2() ? unit_error_avx2(values, expected, m, ratio, typical, flag)
      : unit_error_baseline(values, expected, m, ratio, typical, flag);
}

void gam_run_windows(const double* sum, const double* count, float* score, std::int64_t lo, std::int64_t hi,
                     const GamRunWindows& windows) {
  kernels::use_avx2() ? run_windows_avx2(sum, count, score, lo, hi, windows)
      : run_windows_baseline(sum, count, score, lo, hi, windows);
}

void gam_log_band(const float* yhat, const double* y, double offset, const float* values, const double* scale,
                  const double* down, const double* up, std::int64_t count, double unit, double least, float* expected,
                  float* lower, float* upper, float* score) {
  kernels::use_avx2() ? log_band_avx2(yhat, y, offset, values, scale, down, up, count, unit, least, expected, lower, upper, score)
      : log_band_baseline(yhat, y, offset, values, scale, down, up, count, unit, least, expected, lower, upper, score);
}

void gam_log1p_values(const float* values, std::int64_t n, double unit, double* out) {
  kernels::use_avx2() ? log1p_values_avx2(values, n, unit, out) : log1p_values_baseline(values, n, unit, out);
}

}  // namespace meterbench
