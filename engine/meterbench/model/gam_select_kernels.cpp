// The array kernels of the `gam` detector made of selects (gam_kernels.hpp): the fitted values of a series on
// the log scale and its band mapped back to units, by the branch-free pmath::lanes functions, and the run score. This file is compiled with
// -fno-trapping-math (engine/CMakeLists.txt): without it GCC keeps each select of those functions a branch (a
// comparison or a division might raise a floating-point exception it must not speculate) and no loop vectorises.
// The flag changes no value: the kernels compute the bits of the scalar functions (tests/model/kernel_variants_test.cpp).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "meterbench/core/kernels.hpp"
#include "meterbench/core/portable_math_lanes.hpp"
#include "meterbench/model/gam_band.hpp"
#include "meterbench/model/gam_kernels.hpp"

// kernels::Lanes4 is passed between always-inlined helpers only (core/kernels.hpp); GCC would warn about the ABI of
// the vector type when their instantiations are emitted, at the end of the file.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace meterbench {

namespace {

[[gnu::always_inline]] inline void log_band_body(const float* __restrict yhat, const double* __restrict y, double offset,
    const float* __restrict values, const double* __restrict inv_up, double ratio, const double* __restrict down,
    const double* __restrict up, std::int64_t count, double unit, double least, float* __restrict expected,
    float* __restrict lower, float* __restrict upper, float* __restrict score) {
  for (std::int64_t i = 0; i < count; ++i)
    gam_log_band_step(offset + static_cast<double>(yhat[i]), offset + y[i], values[i], inv_up[i], inv_up[i] * ratio, down[i],
                      up[i], unit, least, expected[i], lower[i], upper[i], score[i]);
}
__attribute__((target("avx2"))) void log_band_avx2(const float* yhat, const double* y, double offset,
    const float* values, const double* inv_up, double ratio, const double* down, const double* up,
    std::int64_t count, double unit, double least, float* expected, float* lower, float* upper, float* score) {
  log_band_body(yhat, y, offset, values, inv_up, ratio, down, up, count, unit, least, expected, lower, upper, score);
}
void log_band_baseline(const float* yhat, const double* y, double offset, const float* values, const double* inv_up,
    double ratio, const double* down, const double* up, std::int64_t count, double unit, double least,
    float* expected, float* lower, float* upper, float* score) {
  log_band_body(yhat, y, offset, values, inv_up, ratio, down, up, count, unit, least, expected, lower, upper, score);
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
    const float* __restrict score, std::int64_t m, double clip, double limit, double* __restrict term,
    double* __restrict used) {
  for (std::int64_t i = 0; i < m; ++i) {
    const double sc = score[i], v = values[i];
    const bool use = (sc <= limit) & (v == v);  // a score at most limit (so finite, not NaN), an observed value
    const double clipped = std::min(sc, clip);
    const double signed_term = v < static_cast<double>(expected[i]) ? -clipped : clipped;
    term[i] = use ? signed_term : 0.0;
    used[i] = use ? 1.0 : 0.0;
  }
}
__attribute__((target("avx2"))) void run_terms_avx2(const float* values, const float* expected, const float* score,
    std::int64_t m, double clip, double limit, double* term, double* used) {
  run_terms_body(values, expected, score, m, clip, limit, term, used);
}
void run_terms_baseline(const float* values, const float* expected, const float* score, std::int64_t m, double clip,
    double limit, double* term, double* used) {
  run_terms_body(values, expected, score, m, clip, limit, term, used);
}

[[gnu::always_inline]] inline void unit_error_body(const float* __restrict values, const float* __restrict expected,
    std::int64_t m, double up_ratio, double down_ratio, double typical, std::uint8_t* __restrict flag) {
  for (std::int64_t i = 0; i < m; ++i) {
    const double v = values[i], e = expected[i];
    const double level = std::max(e, 1.0);  // false for NaN values: no alert
    const bool up = v >= up_ratio * std::max(level, typical), down = (v > 0.0) & (v * down_ratio <= e);  // NaN e: false
    flag[i] = static_cast<std::uint8_t>(up | down);
  }
}
__attribute__((target("avx2"))) void unit_error_avx2(const float* values, const float* expected, std::int64_t m,
    double up_ratio, double down_ratio, double typical, std::uint8_t* flag) {
  unit_error_body(values, expected, m, up_ratio, down_ratio, typical, flag);
}
void unit_error_baseline(const float* values, const float* expected, std::int64_t m, double up_ratio, double down_ratio,
    double typical, std::uint8_t* flag) {
  unit_error_body(values, expected, m, up_ratio, down_ratio, typical, flag);
}

// Eight floats as one vector (GCC's vector extension, as kernels::Lanes4): element-wise, so the sums kept in its
// lanes round the same in the AVX2 build (one register) and the baseline one (two halves).
using Floats8 = float __attribute__((vector_size(32)));
[[gnu::always_inline]] inline Floats8 load8(const float* p) {
  Floats8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

[[gnu::always_inline]] inline GamSpreadSums spread_sums_body(const float* __restrict p, std::int64_t n, float cap, bool moves_too) {
  constexpr std::int64_t kLanes = 8;
  const Floats8 zero{}, one = zero + 1.0F, capped = zero + cap;
  Floats8 sum{}, seen{}, moves{}, pairs{};
  // Step t into lane t mod 8 and the pair (t - 1, t) into lane (t - 1) mod 8: whole vectors, then the rest lane by lane.
  std::int64_t t = 0;
  for (; t + kLanes <= n; t += kLanes) {
    const Floats8 v = load8(p + t);
    const auto observed = v == v;
    sum += observed ? (v < capped ? v : capped) : zero;
    seen += observed ? one : zero;
  }
  for (std::int64_t l = 0; t < n; ++t, ++l)
    if (p[t] == p[t]) sum[l] += std::min(p[t], cap), seen[l] += 1.0F;
  for (t = moves_too ? 1 : n; t + kLanes <= n; t += kLanes) {
    const Floats8 a = load8(p + t), b = load8(p + t - 1);
    const auto observed = (a == a) & (b == b);
    const Floats8 d = (a < capped ? a : capped) - (b < capped ? b : capped);
    moves += observed ? (d < zero ? -d : d) : zero;
    pairs += observed ? one : zero;
  }
  for (std::int64_t l = 0; t < n; ++t, ++l)
    if (p[t] == p[t] && p[t - 1] == p[t - 1]) moves[l] += std::abs(std::min(p[t], cap) - std::min(p[t - 1], cap)), pairs[l] += 1.0F;
  GamSpreadSums total;
  for (std::int64_t l = 0; l < kLanes; ++l) {
    total.sum += sum[l];
    total.seen += seen[l];
    total.moves += moves[l];
    total.pairs += pairs[l];
  }
  return total;
}
__attribute__((target("avx2"))) GamSpreadSums spread_sums_avx2(const float* p, std::int64_t n, float cap, bool moves_too) {
  return spread_sums_body(p, n, cap, moves_too);
}
GamSpreadSums spread_sums_baseline(const float* p, std::int64_t n, float cap, bool moves_too) { return spread_sums_body(p, n, cap, moves_too); }

[[gnu::always_inline]] inline GamSideCounts side_counts_body(const float* __restrict r, std::int64_t n, float t) {
  std::int64_t above = 0, below = 0, above_beyond = 0, below_beyond = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = r[i];
    above += v > 0.0F ? 1 : 0;
    below += v < 0.0F ? 1 : 0;
    above_beyond += v > t ? 1 : 0;
    below_beyond += v < -t ? 1 : 0;
  }
  return {above, below, above_beyond, below_beyond};
}
__attribute__((target("avx2"))) GamSideCounts side_counts_avx2(const float* r, std::int64_t n, float t) {
  return side_counts_body(r, n, t);
}
GamSideCounts side_counts_baseline(const float* r, std::int64_t n, float t) { return side_counts_body(r, n, t); }

[[gnu::always_inline]] inline void tail_candidates_tail(const float* __restrict r, std::int64_t from, std::int64_t n,
    float keep_up, float keep_down, float* __restrict up, float* __restrict down, std::int64_t& c_up, std::int64_t& c_down) {
  for (std::int64_t i = from; i < n; ++i) {  // branch-free: a slot is rewritten until kept
    const float v = r[i];
    up[c_up] = v;
    down[c_down] = -v;
    c_up += v > keep_up ? 1 : 0;
    c_down += -v > keep_down ? 1 : 0;
  }
}
std::pair<std::int64_t, std::int64_t> tail_candidates_baseline(const float* r, std::int64_t n, float keep_up, float keep_down,
                                                               float* up, float* down) {
  std::int64_t c_up = 0, c_down = 0;
  tail_candidates_tail(r, 0, n, keep_up, keep_down, up, down, c_up, c_down);
  return {c_up, c_down};
}
// Eight values per step, each side's kept lanes packed to the front by a permutation and stored at its write
// position (the lanes after them are rewritten by the next step): the same values in the same order as the baseline.
__attribute__((target("avx2"))) std::pair<std::int64_t, std::int64_t> tail_candidates_avx2(const float* r, std::int64_t n,
    float keep_up, float keep_down, float* up, float* down) {
  const __m256 limit_up = _mm256_set1_ps(keep_up), limit_down = _mm256_set1_ps(keep_down), sign = _mm256_set1_ps(-0.0F);
  std::int64_t c_up = 0, c_down = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(r + i), negated = _mm256_xor_ps(v, sign);
    const auto mask_up = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, limit_up, _CMP_GT_OQ)));
    const auto mask_down = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(negated, limit_down, _CMP_GT_OQ)));
    const __m256i order_up = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kernels::kLeftPack.lanes[mask_up].data()));
    const __m256i order_down = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kernels::kLeftPack.lanes[mask_down].data()));
    _mm256_storeu_ps(up + c_up, _mm256_permutevar8x32_ps(v, order_up));
    _mm256_storeu_ps(down + c_down, _mm256_permutevar8x32_ps(negated, order_down));
    c_up += kernels::kLeftPack.count[mask_up];
    c_down += kernels::kLeftPack.count[mask_down];
  }
  tail_candidates_tail(r, i, n, keep_up, keep_down, up, down, c_up, c_down);
  return {c_up, c_down};
}

// The rows i of r[0, n) with sign x r[i] >= limit, in order (sign +1 or -1).
[[gnu::always_inline]] inline void rows_at_least_tail(const float* __restrict r, std::int64_t from, std::int64_t n, float sign,
                                                      float limit, std::int32_t* __restrict rows, std::int64_t& count) {
  for (std::int64_t i = from; i < n; ++i) {  // branch-free: a slot is rewritten until kept
    rows[count] = static_cast<std::int32_t>(i);
    count += sign * r[i] >= limit ? 1 : 0;
  }
}
std::int64_t rows_at_least_baseline(const float* r, std::int64_t n, float sign, float limit, std::int32_t* rows) {
  std::int64_t count = 0;
  rows_at_least_tail(r, 0, n, sign, limit, rows, count);
  return count;
}
// Eight rows per step, the kept lanes' indices packed to the front by a permutation (as tail_candidates_avx2).
__attribute__((target("avx2"))) std::int64_t rows_at_least_avx2(const float* r, std::int64_t n, float sign, float limit,
                                                                std::int32_t* rows) {
  const __m256 bound = _mm256_set1_ps(limit), factor = _mm256_set1_ps(sign);
  __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i eight = _mm256_set1_epi32(8);
  std::int64_t count = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(r + i), factor);
    const auto mask = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, bound, _CMP_GE_OQ)));
    const __m256i order = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kernels::kLeftPack.lanes[mask].data()));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(rows + count), _mm256_permutevar8x32_epi32(index, order));
    count += kernels::kLeftPack.count[mask];
    index = _mm256_add_epi32(index, eight);
  }
  rows_at_least_tail(r, i, n, sign, limit, rows, count);
  return count;
}

[[gnu::always_inline]] inline std::int64_t abs_and_signed_residuals_body(const double* __restrict y,
    const float* __restrict yhat, const std::uint8_t* __restrict observed, std::int64_t n, double offset,
    float* __restrict out, float* __restrict signed_out) {
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto r = static_cast<float>(y[i] - offset - yhat[i]);
    out[i] = observed[i] != 0 ? std::abs(r) : std::numeric_limits<float>::infinity();
    signed_out[i] = observed[i] != 0 ? r : 0.0F;
    count += observed[i];
  }
  return count;
}
__attribute__((target("avx2"))) std::int64_t abs_and_signed_residuals_avx2(const double* y, const float* yhat,
    const std::uint8_t* observed, std::int64_t n, double offset, float* out, float* signed_out) {
  return abs_and_signed_residuals_body(y, yhat, observed, n, offset, out, signed_out);
}
std::int64_t abs_and_signed_residuals_baseline(const double* y, const float* yhat, const std::uint8_t* observed,
    std::int64_t n, double offset, float* out, float* signed_out) {
  return abs_and_signed_residuals_body(y, yhat, observed, n, offset, out, signed_out);
}

[[gnu::always_inline]] inline std::int64_t abs_residuals_body(const double* __restrict y, const float* __restrict yhat,
    const std::uint8_t* __restrict observed, std::int64_t n, double offset, float* __restrict out) {
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto r = static_cast<float>(std::abs(y[i] - offset - yhat[i]));
    out[i] = observed[i] != 0 ? r : std::numeric_limits<float>::infinity();
    count += observed[i];
  }
  return count;
}
__attribute__((target("avx2"))) std::int64_t abs_residuals_avx2(const double* y, const float* yhat,
    const std::uint8_t* observed, std::int64_t n, double offset, float* out) {
  return abs_residuals_body(y, yhat, observed, n, offset, out);
}
std::int64_t abs_residuals_baseline(const double* y, const float* yhat, const std::uint8_t* observed, std::int64_t n,
                                    double offset, float* out) {
  return abs_residuals_body(y, yhat, observed, n, offset, out);
}

[[gnu::always_inline]] inline void block_sums_body(const float* __restrict r, std::int64_t n, std::int64_t block,
    double cap, double* __restrict sum, double* __restrict count) {
  std::fill_n(sum, block, 0.0);
  std::fill_n(count, block, 0.0);
  for (std::int64_t i = 0; i < n; i += block) {
    const std::int64_t len = std::min(block, n - i);
    const float* ri = r + i;
    for (std::int64_t l = 0; l < len; ++l) {
      const double v = ri[l];
      const bool seen = v < std::numeric_limits<double>::infinity();
      sum[l] += seen ? std::min(v, cap) : 0.0;
      count[l] += seen ? 1.0 : 0.0;
    }
  }
}
__attribute__((target("avx2"))) void block_sums_avx2(const float* r, std::int64_t n, std::int64_t block, double cap,
                                                     double* sum, double* count) {
  block_sums_body(r, n, block, cap, sum, count);
}
void block_sums_baseline(const float* r, std::int64_t n, std::int64_t block, double cap, double* sum, double* count) {
  block_sums_body(r, n, block, cap, sum, count);
}

[[gnu::always_inline]] inline void centre_body(double* __restrict y, const std::uint8_t* __restrict observed,
                                               std::int64_t n, double offset) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = observed[i] != 0 ? y[i] - offset : y[i];
}
__attribute__((target("avx2"))) void centre_avx2(double* y, const std::uint8_t* observed, std::int64_t n, double offset) {
  centre_body(y, observed, n, offset);
}
void centre_baseline(double* y, const std::uint8_t* observed, std::int64_t n, double offset) { centre_body(y, observed, n, offset); }

[[gnu::always_inline]] inline std::int64_t count_equal_body(const double* __restrict y,
    const std::uint8_t* __restrict observed, std::int64_t n, double value) {
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) count += (observed[i] != 0) & (y[i] == value) ? 1 : 0;
  return count;
}
__attribute__((target("avx2"))) std::int64_t count_equal_avx2(const double* y, const std::uint8_t* observed, std::int64_t n,
                                                               double value) {
  return count_equal_body(y, observed, n, value);
}
std::int64_t count_equal_baseline(const double* y, const std::uint8_t* observed, std::int64_t n, double value) {
  return count_equal_body(y, observed, n, value);
}

template <bool InPlace>
[[gnu::always_inline]] inline GamWindowTotals window_totals_body(const float* __restrict values, std::int64_t n,
    double* __restrict y, std::uint8_t* __restrict observed) {
  using kernels::Lanes4;
  constexpr double inf = std::numeric_limits<double>::infinity(), kNaN = std::numeric_limits<double>::quiet_NaN();
  Lanes4 lo = {inf, inf, inf, inf}, hi = -lo, sum = {0.0, 0.0, 0.0, 0.0}, count = sum;
  const Lanes4 zero = sum, one = {1.0, 1.0, 1.0, 1.0};
  const auto step = [&](const Lanes4& v, const Lanes4& fitted) {  // four steps: values v (as doubles), fitted when InPlace
    const auto o = v == v;
    const Lanes4 u = InPlace ? fitted : v;
    const Lanes4 kept = o ? u : zero;
    lo = o & (u < lo) ? u : lo;
    hi = o & (u > hi) ? u : hi;
    sum += kept;
    count += o ? one : zero;
    return kept;
  };
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const Lanes4 v = {values[i], values[i + 1], values[i + 2], values[i + 3]};
    kernels::store4(y + i, step(v, InPlace ? kernels::load4(y + i) : zero));
    for (int l = 0; l < 4; ++l) observed[i + l] = values[i + l] == values[i + l] ? 1 : 0;
  }
  if (i < n) {  // the tail as the first lanes of one more step, the others NaN (unobserved: they change nothing)
    Lanes4 v = {kNaN, kNaN, kNaN, kNaN}, fitted = zero;
    for (std::int64_t l = 0; i + l < n; ++l) {
      v[l] = values[i + l];
      if (InPlace) fitted[l] = y[i + l];
    }
    const Lanes4 kept = step(v, fitted);
    for (std::int64_t l = 0; i + l < n; ++l) {
      y[i + l] = kept[l];
      observed[i + l] = values[i + l] == values[i + l] ? 1 : 0;
    }
  }
  return {.lo = std::min(std::min(lo[0], lo[1]), std::min(lo[2], lo[3])),
          .hi = std::max(std::max(hi[0], hi[1]), std::max(hi[2], hi[3])),
          .sum = kernels::lanes_total(sum),
          .observed = static_cast<std::int64_t>(kernels::lanes_total(count))};
}
__attribute__((target("avx2"))) GamWindowTotals window_totals_avx2(const float* values, std::int64_t n, bool in_place,
    double* y, std::uint8_t* observed) {
  return in_place ? window_totals_body<true>(values, n, y, observed) : window_totals_body<false>(values, n, y, observed);
}
GamWindowTotals window_totals_baseline(const float* values, std::int64_t n, bool in_place, double* y,
    std::uint8_t* observed) {
  return in_place ? window_totals_body<true>(values, n, y, observed) : window_totals_body<false>(values, n, y, observed);
}

// Each window's sums term by term in step order (no running sums: a chain of dependent additions is slower than a
// few independent ones per step, and a difference of running sums rounds worse).
template <int Width>
[[gnu::always_inline]] inline double window_sum(const double* __restrict x, std::int64_t i) {
  double s = x[i];
  for (int k = 1; k < Width; ++k) s += x[i + k];
  return s;
}
[[gnu::always_inline]] inline void run_windows_body(const double* __restrict term, const double* __restrict used,
    float* __restrict score, std::int64_t m, const GamRunWindows& windows) {
  const std::int64_t a0 = windows.before[0], a1 = windows.before[1];
  const double* __restrict factor0 = windows.factor[0];
  const double* __restrict factor1 = windows.factor[1];
  for (std::int64_t i = 0; i < m; ++i) {
    const float s = score[i];
    // The window's used count picks its factor (a table lookup, not a division per window and step).
    const auto c0 = static_cast<std::int32_t>(window_sum<kGamRunWidths[0]>(used, i - a0));
    const auto c1 = static_cast<std::int32_t>(window_sum<kGamRunWidths[1]>(used, i - a1));
    const double run0 = std::abs(window_sum<kGamRunWidths[0]>(term, i - a0)) * factor0[c0];
    const double run1 = std::abs(window_sum<kGamRunWidths[1]>(term, i - a1)) * factor1[c1];
    const double best = std::max(std::max(static_cast<double>(s), run0), run1);
    score[i] = s != s ? s : static_cast<float>(best);
  }
}
__attribute__((target("avx2"))) void run_windows_avx2(const double* term, const double* used, float* score,
    std::int64_t m, const GamRunWindows& windows) {
  run_windows_body(term, used, score, m, windows);
}
void run_windows_baseline(const double* term, const double* used, float* score, std::int64_t m,
    const GamRunWindows& windows) {
  run_windows_body(term, used, score, m, windows);
}

}  // namespace

void gam_run_terms(const float* values, const float* expected, const float* score, std::int64_t m, double clip,
                   double limit, double* term, double* used) {
  kernels::use_avx2() ? run_terms_avx2(values, expected, score, m, clip, limit, term, used)
                      : run_terms_baseline(values, expected, score, m, clip, limit, term, used);
}

GamSpreadSums gam_spread_sums(const float* p, std::int64_t n, float cap, bool moves_too) {
  return kernels::use_avx2() ? spread_sums_avx2(p, n, cap, moves_too) : spread_sums_baseline(p, n, cap, moves_too);
}

void gam_unit_error_flags(const float* values, const float* expected, std::int64_t m, double up_ratio, double down_ratio,
                          double typical, std::uint8_t* flag) {
  kernels::use_avx2() ? unit_error_avx2(values, expected, m, up_ratio, down_ratio, typical, flag)
      : unit_error_baseline(values, expected, m, up_ratio, down_ratio, typical, flag);
}

void gam_run_windows(const double* term, const double* used, float* score, std::int64_t m, const GamRunWindows& windows) {
  kernels::use_avx2() ? run_windows_avx2(term, used, score, m, windows) : run_windows_baseline(term, used, score, m, windows);
}

void gam_log_band(const float* yhat, const double* y, double offset, const float* values, const double* inv_up,
                  double ratio, const double* down, const double* up, std::int64_t count, double unit, double least,
                  float* expected, float* lower, float* upper, float* score) {
  kernels::use_avx2() ? log_band_avx2(yhat, y, offset, values, inv_up, ratio, down, up, count, unit, least, expected, lower, upper, score)
                      : log_band_baseline(yhat, y, offset, values, inv_up, ratio, down, up, count, unit, least, expected, lower, upper, score);
}

GamSideCounts gam_side_counts(const float* r, std::int64_t n, float t) {
  return kernels::use_avx2() ? side_counts_avx2(r, n, t) : side_counts_baseline(r, n, t);
}

std::pair<std::int64_t, std::int64_t> gam_tail_candidates(const float* r, std::int64_t n, float keep_up, float keep_down,
                                                          float* up, float* down) {
  return kernels::use_avx2() ? tail_candidates_avx2(r, n, keep_up, keep_down, up, down)
                             : tail_candidates_baseline(r, n, keep_up, keep_down, up, down);
}

std::int64_t gam_rows_at_least(const float* r, std::int64_t n, float sign, float limit, std::int32_t* rows) {
  return kernels::use_avx2() ? rows_at_least_avx2(r, n, sign, limit, rows) : rows_at_least_baseline(r, n, sign, limit, rows);
}

std::int64_t gam_abs_and_signed_residuals(const double* y, const float* yhat, const std::uint8_t* observed, std::int64_t n,
                                          double offset, float* out, float* signed_out) {
  return kernels::use_avx2() ? abs_and_signed_residuals_avx2(y, yhat, observed, n, offset, out, signed_out)
                             : abs_and_signed_residuals_baseline(y, yhat, observed, n, offset, out, signed_out);
}

std::int64_t gam_abs_residuals(const double* y, const float* yhat, const std::uint8_t* observed, std::int64_t n,
                               double offset, float* out) {
  return kernels::use_avx2() ? abs_residuals_avx2(y, yhat, observed, n, offset, out)
                             : abs_residuals_baseline(y, yhat, observed, n, offset, out);
}

void gam_block_sums(const float* r, std::int64_t n, std::int64_t block, double cap, double* sum, double* count) {
  kernels::use_avx2() ? block_sums_avx2(r, n, block, cap, sum, count) : block_sums_baseline(r, n, block, cap, sum, count);
}

void gam_centre(double* y, const std::uint8_t* observed, std::int64_t n, double offset) {
  kernels::use_avx2() ? centre_avx2(y, observed, n, offset) : centre_baseline(y, observed, n, offset);
}

std::int64_t gam_count_equal(const double* y, const std::uint8_t* observed, std::int64_t n, double value) {
  return kernels::use_avx2() ? count_equal_avx2(y, observed, n, value) : count_equal_baseline(y, observed, n, value);
}

GamWindowTotals gam_window_totals(const float* values, std::int64_t n, bool in_place, double* y, std::uint8_t* observed) {
  return kernels::use_avx2() ? window_totals_avx2(values, n, in_place, y, observed)
                             : window_totals_baseline(values, n, in_place, y, observed);
}

void gam_log1p_values(const float* values, std::int64_t n, double unit, double* out) {
  kernels::use_avx2() ? log1p_values_avx2(values, n, unit, out) : log1p_values_baseline(values, n, unit, out);
}

}  // namespace meterbench
