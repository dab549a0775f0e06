#include "meterbench/model/robust_stats.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include <immintrin.h>

#include "meterbench/core/check.hpp"
#include "meterbench/core/kernels.hpp"

namespace meterbench {

double median_in_place(std::span<double> values) {
  METERBENCH_CHECK(!values.empty());
  const std::size_t n = values.size();
  const std::size_t mid = n / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (n % 2 == 1) return upper;
  // The lower middle is the largest element of the left part nth_element left behind.
  const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lower + upper);
}

namespace {

// Insertion sort of a short run (the quickselect's last few values).
void insertion_sort(float* a, std::size_t n) {
  for (std::size_t i = 1; i < n; ++i) {
    const float v = a[i];
    std::size_t j = i;
    for (; j > 0 && v < a[j - 1]; --j) a[j] = a[j - 1];
    a[j] = v;
  }
}

float median_of_three(float a, float b, float c) { return std::max(std::min(a, b), std::min(std::max(a, b), c)); }

}  // namespace

double median_in_place(std::span<float> values, std::span<float> scratch) {
  METERBENCH_CHECK(!values.empty() && scratch.size() >= values.size());
  const std::size_t n = values.size();
  const bool even = n % 2 == 0;
  std::size_t k = n / 2;  // wanted: the k-th smallest of src[0, m) (and for even n the one before it)
  float* src = values.data();
  float* dst = scratch.data();
  std::size_t m = n;
  // The largest value known to lie below the current range (the pivot of the last round that kept the upper
  // part): the (k-1)-th smallest when k ends up first in its range.
  float below = -std::numeric_limits<float>::infinity();
  int rounds = 0;
  while (m > 16) {
    if (++rounds > 64) {  // pathological pivots: finish with the library's introselect
      std::nth_element(src, src + k, src + m);
      const float upper = src[k];
      if (!even) return upper;
      const float lower = k > 0 ? *std::max_element(src, src + k) : below;
      return 0.5 * (static_cast<double>(lower) + static_cast<double>(upper));
    }
    const float p = median_of_three(src[0], src[m / 2], src[m - 1]);
    // Three-way partition without branches: every value is stored at both ends of dst and only the counter of
    // its side moves (the slots never overlap a kept value: lo + hi <= i).
    std::size_t lo = 0, hi = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const float v = src[i];
      dst[lo] = v;
      dst[m - 1 - hi] = v;
      lo += v < p ? 1 : 0;
      hi += v > p ? 1 : 0;
    }
    const std::size_t equal = m - lo - hi;
    // The kept part becomes the source; the old source (the other buffer, at least as long) the destination.
    if (k < lo) {
      std::swap(src, dst);  // lower part at the start of dst
      m = lo;
    } else if (k < lo + equal) {  // the pivot itself
      if (!even) return p;
      float lower = p;
      if (k == lo) lower = lo > 0 ? *std::max_element(dst, dst + lo) : below;
      return 0.5 * (static_cast<double>(lower) + static_cast<double>(p));
    } else {
      k -= lo + equal;
      below = p;
      float* const upper_part = dst + (m - hi);
      dst = src;
      src = upper_part;
      m = hi;
    }
  }
  insertion_sort(src, m);
  const float upper = src[k];
  if (!even) return upper;
  const float lower = k > 0 ? src[k - 1] : below;
  return 0.5 * (static_cast<double>(lower) + static_cast<double>(upper));
}

void sorted_median_mad(std::span<const double> sorted, double& median, double& mad) {
  METERBENCH_CHECK(!sorted.empty());
  const auto m = static_cast<std::ptrdiff_t>(sorted.size());
  const std::ptrdiff_t mid = m / 2;
  const double med = m % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  std::ptrdiff_t left = mid - 1;  // deviations med - sorted[left], ascending as left decreases
  std::ptrdiff_t right = mid;     // deviations sorted[right] - med, ascending as right increases
  double previous = 0.0;
  double current = 0.0;
  for (std::ptrdiff_t k = 0; k <= mid; ++k) {
    const double dl = left >= 0 ? med - sorted[left] : std::numeric_limits<double>::infinity();
    const double dr = right < m ? sorted[right] - med : std::numeric_limits<double>::infinity();
    previous = current;
    if (dl <= dr) {
      current = dl;
      --left;
    } else {
      current = dr;
      ++right;
    }
  }
  median = med;
  mad = m % 2 == 1 ? current : 0.5 * (previous + current);
}

double mad_in_place(std::span<double> values, double center) {
  for (double& v : values) v = std::abs(v - center);
  return median_in_place(values);
}

double nonzero_median_abs_deviation(std::span<double> values, double center) {
  std::size_t nonzero = 0;
  for (const double v : values) {
    const double d = std::abs(v - center);
    if (d > 0.0) values[nonzero++] = d;
  }
  return nonzero == 0 ? 0.0 : median_in_place(values.first(nonzero));
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

// One compaction pass of radix_select_pair: keeps, in order, the keys[0, n) whose bucket (key - lo) >> shift is
// `bucket`, and returns how many; raises below_max to the largest key of a lower bucket and sets the kept keys'
// range [kept_lo, kept_hi]. Written in place (a kept key moves down, never past one not yet read).
struct Compacted {
  std::int64_t kept;
  std::uint32_t below_max, kept_lo, kept_hi;
};

[[gnu::always_inline]] inline void compact_tail(std::uint32_t* keys, std::int64_t from, std::int64_t n, std::uint32_t lo,
                                                int shift, std::uint32_t bucket, Compacted& c) {
  for (std::int64_t i = from; i < n; ++i) {  // branch-free: keys[kept] is rewritten until kept
    const std::uint32_t key = keys[i], b = (key - lo) >> shift;
    const bool keep = b == bucket;
    keys[c.kept] = key;
    c.kept += keep ? 1 : 0;
    c.below_max = std::max(c.below_max, b < bucket ? key : 0u);
    c.kept_lo = std::min(c.kept_lo, keep ? key : ~0u);
    c.kept_hi = std::max(c.kept_hi, keep ? key : 0u);
  }
}

Compacted compact_baseline(std::uint32_t* keys, std::int64_t n, std::uint32_t lo, int shift, std::uint32_t bucket) {
  Compacted c{0, 0, ~0u, 0};
  compact_tail(keys, 0, n, lo, shift, bucket, c);
  return c;
}

using kernels::kLeftPack;

// Eight keys per step: the kept ones packed to the front by a permutation and stored at the write position (the
// lanes after them are rewritten by the next step). The same keys in the same order as compact_baseline.
__attribute__((target("avx2"))) Compacted compact_avx2(std::uint32_t* keys, std::int64_t n, std::uint32_t lo, int shift,
                                                       std::uint32_t bucket) {
  const __m256i vlo = _mm256_set1_epi32(static_cast<int>(lo));
  const __m128i vshift = _mm_cvtsi32_si128(shift);
  const __m256i vbucket = _mm256_set1_epi32(static_cast<int>(bucket));  // buckets < 2^12: signed compares are exact
  __m256i below = _mm256_setzero_si256(), kept_lo = _mm256_set1_epi32(-1), kept_hi = _mm256_setzero_si256();
  std::int64_t kept = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i key = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(keys + i));
    const __m256i b = _mm256_srl_epi32(_mm256_sub_epi32(key, vlo), vshift);
    const __m256i keep = _mm256_cmpeq_epi32(b, vbucket);
    below = _mm256_max_epu32(below, _mm256_and_si256(_mm256_cmpgt_epi32(vbucket, b), key));
    kept_lo = _mm256_min_epu32(kept_lo, _mm256_or_si256(key, _mm256_xor_si256(keep, _mm256_set1_epi32(-1))));
    kept_hi = _mm256_max_epu32(kept_hi, _mm256_and_si256(key, keep));
    const auto mask = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(keep)));
    const __m256i order = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLeftPack.lanes[mask].data()));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(keys + kept), _mm256_permutevar8x32_epi32(key, order));
    kept += kLeftPack.count[mask];
  }
  alignas(32) std::uint32_t lanes[3][8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[0]), below);
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[1]), kept_lo);
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[2]), kept_hi);
  Compacted c{kept, 0, ~0u, 0};
  for (int l = 0; l < 8; ++l) {
    c.below_max = std::max(c.below_max, lanes[0][l]);
    c.kept_lo = std::min(c.kept_lo, lanes[1][l]);
    c.kept_hi = std::max(c.kept_hi, lanes[2][l]);
  }
  compact_tail(keys, i, n, lo, shift, bucket, c);
  return c;
}

}  // namespace

// The order statistics x_(k-1) and x_(k) (0-based; both x_(0) when k == 0) of data[0, m) (no NaN), exactly, by
// radix steps on the order keys fitted to the range they span: the keys' range [lo, hi] is cut into at most 4,096
// buckets (key - lo) >> shift (monotone in the key, so whole buckets rank below or above x_(k)), a histogram finds
// the bucket of rank k, one branch-free pass keeps that bucket's keys (and the largest key below it), and the
// bucket is cut again over its own range until at most 16 keys or one value remain, which are ranked by counting.
// Comparisons of random residuals are unpredictable branches, which this avoids, unlike sampling-based selection
// and std::nth_element; fitting the buckets to the range makes a bucket hold a handful of values whether they
// spread over octaves (residuals) or crowd around a level (usage values), so one step usually suffices.
std::pair<double, double> radix_select_pair(const float* data, std::int64_t m, std::int64_t k, float* scratch) {
  constexpr int kBits = 12;
  // Kept all-zero between calls (the used range is cleared after each), so no 16 KiB clear per call. Two
  // histograms, even and odd positions: crowded values hit one bucket again and again, and each increment would
  // wait for the previous one's store.
  alignas(64) static thread_local std::array<std::uint32_t, std::size_t{1} << kBits> counts{}, counts_odd{};
  METERBENCH_CHECK(0 <= k && k < m);
  auto* keys = reinterpret_cast<std::uint32_t*>(scratch);
  std::uint32_t lo = ~0u, hi = 0;
  for (std::int64_t i = 0; i < m; ++i) {
    const std::uint32_t key = order_key(data[i]);
    keys[i] = key;
    lo = std::min(lo, key);
    hi = std::max(hi, key);
  }
  std::int64_t inside = m, r = k;  // the keys still in play, keys[0, inside), and the rank wanted among them
  std::uint32_t below_max = 0;     // the largest key known to rank below x_(k) (0: none yet)
  // About one bucket per two keys (at least 256): fewer buckets to clear and scan when few keys are left.
  const auto bits_for = [&](std::int64_t count) { return std::clamp(static_cast<int>(std::bit_width(static_cast<std::uint64_t>(count))), 8, kBits); };
  while (inside > 16 && lo < hi) {
    const int shift = std::max(0, static_cast<int>(std::bit_width(hi - lo)) - bits_for(inside));
    std::int64_t pair = 0;
    for (; pair + 1 < inside; pair += 2) {
      ++counts[(keys[pair] - lo) >> shift];
      ++counts_odd[(keys[pair + 1] - lo) >> shift];
    }
    if (pair < inside) ++counts[(keys[pair] - lo) >> shift];
    const std::uint32_t top = (hi - lo) >> shift;
    std::uint32_t bucket = 0;
    std::int64_t before = 0;
    while (before + counts[bucket] + counts_odd[bucket] <= r) {
      before += counts[bucket] + counts_odd[bucket];
      ++bucket;
    }
    std::memset(counts.data(), 0, (top + 1) * sizeof(std::uint32_t));
    std::memset(counts_odd.data(), 0, (top + 1) * sizeof(std::uint32_t));
    const Compacted c = kernels::use_avx2() ? compact_avx2(keys, inside, lo, shift, bucket)
                                            : compact_baseline(keys, inside, lo, shift, bucket);
    below_max = std::max(below_max, c.below_max);
    inside = c.kept;
    r -= before;
    lo = c.kept_lo;
    hi = c.kept_hi;
  }
  std::uint32_t xk = keys[0], xprev = below_max;  // with one value left, every key left is it
  if (inside <= 16) {
    for (std::int64_t a = 0; a < inside; ++a) {
      const std::uint32_t v = keys[a];
      std::int64_t rank = 0;  // ties ranked by position, so every rank 0..inside-1 occurs once
      for (std::int64_t c = 0; c < inside; ++c) rank += (keys[c] < v) | ((keys[c] == v) & (c < a));
      xk = rank == r ? v : xk;
      xprev = rank == r - 1 ? v : xprev;
    }
  } else if (r > 0) {
    xprev = xk;
  }
  if (k == 0) xprev = xk;
  return {from_order_key(xprev), from_order_key(xk)};
}

double radix_median(const float* data, std::int64_t m, float* scratch) {
  const auto [lower, upper] = radix_select_pair(data, m, m / 2, scratch);
  return m % 2 == 1 ? upper : 0.5 * (lower + upper);
}

double absolute_deviation_scale(const float* abs_values, std::int64_t m, float* scratch) {
  const double mad = radix_median(abs_values, m, scratch);
  if (mad > 0.0) return kMadToSigma * mad;
  double mean_abs = 0.0;
  for (std::int64_t i = 0; i < m; ++i) mean_abs += abs_values[i];
  return kMeanAbsToSigma * mean_abs / static_cast<double>(m);
}

}  // namespace meterbench
