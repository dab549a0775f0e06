// Contract test of "no allocation per series on the hot path": once a workspace has seen a window, detect()
// performs no heap allocation. Counted by wrapping glibc's malloc family in this test executable (not under
// AddressSanitizer, which owns the allocator there; the test is skipped in that build).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <vector>

#include <Eigen/Core>

#include "meterbench/core/random.hpp"
#include "meterbench/model/gam_detector.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define METERBENCH_COUNT_MALLOC 0
#else
#define METERBENCH_COUNT_MALLOC 1
#endif

#if METERBENCH_COUNT_MALLOC
namespace {
std::atomic<long> g_allocations{0};
std::atomic<bool> g_counting{false};
void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* ptr, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);

void* malloc(std::size_t size) {
  count();
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
  count();
  return __libc_calloc(n, size);
}
void* realloc(void* ptr, std::size_t size) {
  count();
  return __libc_realloc(ptr, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  count();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  count();
  *out = __libc_memalign(alignment, size);
  return *out == nullptr ? 12 /* ENOMEM */ : 0;
}
}
#endif

namespace meterbench {
namespace {

// Contract: after one warm-up call per window, detect() allocates nothing, for every route: fully observed
// (shared factorisation), scattered gaps (imputation), a long gap (own factorisation), bisquare, log1p,
// log1p_relative, the robust start, weekday scale, run score and rules, the
// forward window (cached design), the too_short / constant / all_missing paths, and detect_rolling.
TEST(GamAllocation, DetectDoesNotAllocateOnTheHotPath) {
#if !METERBENCH_COUNT_MALLOC
  GTEST_SKIP() << "allocation counting is disabled under AddressSanitizer";
#else
  // The counter itself works: a vector and an Eigen vector allocate while counting.
  g_allocations = 0;
  g_counting = true;
  {
    std::vector<double> probe(100);
    Eigen::VectorXd eigen_probe(100);
    probe[0] = static_cast<double>(eigen_probe.size());
  }
  g_counting = false;
  ASSERT_GE(g_allocations.load(), 2) << "malloc wrapping is not in effect";

  const TimeGrid grid{parse_utc_timestamp("2021-01-04"), kSecondsPerDay, 730};
  std::vector<std::vector<float>> series;
  for (int s = 0; s < 7; ++s) {
    Rng rng(stream_key(31, static_cast<std::uint64_t>(s)));
    std::vector<float> y(730);
    for (std::size_t i = 0; i < 730; ++i) {
      y[i] = static_cast<float>(100.0 + 0.02 * static_cast<double>(i) + 8.0 * std::sin(2.0 * std::numbers::pi * static_cast<double>(i) / 7.0) +
                                2.0 * rng.normal());
      if (rng.bernoulli(0.02)) y[i] += 40.0f;
      if (s == 1 && rng.bernoulli(0.03)) y[i] = std::numeric_limits<float>::quiet_NaN();
      if (s == 2 && i >= 200 && i < 290) y[i] = std::numeric_limits<float>::quiet_NaN();
      if (s == 3) y[i] = i < 700 ? std::numeric_limits<float>::quiet_NaN() : y[i];  // too short
      if (s == 4) y[i] = 7.0f;                                                      // constant
      if (s == 5) y[i] = std::numeric_limits<float>::quiet_NaN();                   // all missing
      if (s == 6) y[i] = std::floor(y[i] / 20.0f);                                  // small counts (count_band)
    }
    series.push_back(std::move(y));
  }
  std::vector<float> e(730), lo(730), hi(730), sc(730);
  const DetectionOutput out{e, lo, hi, sc};
  for (const char* setting : {"loss=huber", "loss=bisquare", "transform=log1p", "transform=log1p_relative", "robust_start=on",
                              "weekday_scale=on", "run_score=on", "rules=on", "local_scale=on", "count_band=on"}) {
    const std::vector<std::string> settings{setting};
    const auto det = testing::make_base_gam(settings, grid);
    auto ws = det->make_workspace();
    for (const auto window : {DetectionWindow::retrospective(730), DetectionWindow::forward(700, 730)}) {
      (void)det->detect({series[0], 0}, window, *ws, out);  // warm-up: a forward window builds its design once
      g_allocations = 0;
      g_counting = true;
      for (std::size_t s = 0; s < series.size(); ++s) (void)det->detect({series[s], s}, window, *ws, out);
      g_counting = false;
      EXPECT_EQ(g_allocations.load(), 0) << setting << (window.fit_end == 730 ? " retrospective" : " forward");
    }
    // The weekly schedule (detect_rolling): after one warm-up call (which builds its design), none either,
    // also when detect() calls on other windows come in between. (loss=bisquare keeps the independent
    // schedule, reuses_work_across_periods() false: one design per window, as the backtest's week-major
    // loop runs it.)
    if (!det->reuses_work_across_periods()) continue;
    (void)det->detect_rolling({series[0], 0}, 730 - 52 * 7, 7, *ws, out);
    g_allocations = 0;
    g_counting = true;
    for (std::size_t s = 0; s < series.size(); ++s) {
      (void)det->detect_rolling({series[s], s}, 730 - 52 * 7, 7, *ws, out);
      (void)det->detect({series[s], s}, DetectionWindow::forward(700, 730), *ws, out);
    }
    g_counting = false;
    EXPECT_EQ(g_allocations.load(), 0) << setting << " rolling";
  }
#endif
}

}  // namespace
}  // namespace meterbench
