#include "meterbench/model/robust_stats.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "meterbench/core/check.hpp"

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

}  // namespace

// The order statistics x_(k-1) and x_(k) (0-based; both x_(0) when k == 0) of data[0, m) (no NaN), exactly,
// by radix steps on the order keys: a histogram of the top 12 bits (1/8-octave buckets) finds the bucket of
// rank k, one branch-free pass gathers that bucket and the largest key below it, and the bucket is ranked the
// same way on its next 8 bits, 8 more and the last 4, until it is small enough to rank by counting.
// Comparisons of random residuals are unpredictable branches, which this avoids, unlike sampling-based
// selection and std::nth_element; and values that crowd into a few buckets (a series' values about its level)
// cost one more pass over the bucket, not a sort of it. `scratch` holds m floats.
std::pair<double, double> radix_select_pair(const float* data, std::int64_t m, std::int64_t k, float* scratch) {
  // (shift, bits) of each radix step: the top 12 bits, then 8, 8 and the last 4 (few buckets to scan in a
  // bucket of a few hundred keys).
  constexpr int kBits = 12;
  constexpr std::pair<int, int> kSteps[] = {{20, 12}, {12, 8}, {4, 8}, {0, 4}};
  // Kept all-zero between calls (the used range is cleared after each), so no 16 KiB clear per call.
  // Two histograms, even and odd positions: crowded values hit one bucket again and again, and each increment
  // would wait for the previous one's store.
  alignas(64) static thread_local std::array<std::uint32_t, std::size_t{1} << kBits> counts{}, counts_odd{};
  METERBENCH_CHECK(0 <= k && k < m);
  auto* keys = reinterpret_cast<std::uint32_t*>(scratch);
  for (std::int64_t i = 0; i < m; ++i) keys[i] = order_key(data[i]);
  std::int64_t inside = m, r = k;  // the keys still in play, keys[0, inside), and the rank wanted among them
  std::uint32_t below_max = 0;     // the largest key known to rank below x_(k) (0: none yet)
  for (const auto& [shift, bits] : kSteps) {
    if (inside <= 16) break;
    const std::uint32_t mask = (std::uint32_t{1} << bits) - 1;
    std::uint32_t lo = mask, hi = 0;
    std::int64_t pair = 0;
    for (; pair + 1 < inside; pair += 2) {
      const std::uint32_t b = (keys[pair] >> shift) & mask, b_odd = (keys[pair + 1] >> shift) & mask;
      ++counts[b];
      ++counts_odd[b_odd];
      lo = std::min(lo, std::min(b, b_odd));
      hi = std::max(hi, std::max(b, b_odd));
    }
    if (pair < inside) {
      const std::uint32_t b = (keys[pair] >> shift) & mask;
      ++counts[b];
      lo = std::min(lo, b);
      hi = std::max(hi, b);
    }
    for (std::uint32_t b = lo; b <= hi; ++b) counts[b] += counts_odd[b];
    std::memset(&counts_odd[lo], 0, (hi - lo + 1) * sizeof(std::uint32_t));
    std::uint32_t bucket = lo;
    std::int64_t before = 0;
    while (before + counts[bucket] <= r) before += counts[bucket++];
    std::memset(&counts[lo], 0, (hi - lo + 1) * sizeof(std::uint32_t));
    std::int64_t kept = 0;
    for (std::int64_t i = 0; i < inside; ++i) {
      const std::uint32_t key = keys[i], b = (key >> shift) & mask;
      keys[kept] = key;
      kept += b == bucket ? 1 : 0;
      below_max = std::max(below_max, b < bucket ? key : 0u);
    }
    inside = kept;
    r -= before;
  }
  std::uint32_t xk = keys[0], xprev = below_max;  // after the last bits every key left is the same
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
