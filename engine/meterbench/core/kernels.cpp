#include "meterbench/core/kernels.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

namespace meterbench::kernels {
namespace {

std::atomic<int> g_level{-1};  // -1: not decided yet

Level decide() {
  const char* env = std::getenv("METERBENCH_KERNELS");
  const std::string want = env ? env : "auto";
  if (want == "baseline") return Level::baseline;
  if (want != "auto" && want != "avx2")
    spdlog::warn("METERBENCH_KERNELS='{}' is not baseline, avx2 or auto: using auto", want);
  if (want == "avx2" && !supported(Level::avx2)) spdlog::warn("METERBENCH_KERNELS=avx2: this CPU has no AVX2, using the baseline kernels");
  return supported(Level::avx2) ? Level::avx2 : Level::baseline;
}

}  // namespace

bool supported(Level level) {
  if (level == Level::baseline) return true;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

Level active_level() {
  int level = g_level.load(std::memory_order_relaxed);
  if (level < 0) {
    int expected = -1;
    g_level.compare_exchange_strong(expected, static_cast<int>(decide()), std::memory_order_relaxed);
    level = g_level.load(std::memory_order_relaxed);
  }
  return static_cast<Level>(level);
}

Level force_level(Level level) {
  const Level previous = active_level();
  g_level.store(static_cast<int>(supported(level) ? level : Level::baseline), std::memory_order_relaxed);
  return previous;
}

std::string_view name(Level level) { return level == Level::avx2 ? "avx2" : "baseline"; }

}  // namespace meterbench::kernels
