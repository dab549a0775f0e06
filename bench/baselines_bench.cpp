// Cost per series of the baseline detectors (seasonal-mad, stl-esd, random), retrospective schedule, one
// thread: a block of 1,024 synthetic series (weekly pattern, noise, 2% gaps, one planted spike each) is
// prepared outside the timed loop, the detector's output on the block is verified first (statuses, finite
// outputs, spikes flagged or the random flag rate), and a wrong answer reports an error instead of a time.
// Items per second = series per second.
//
//   build-*/bench/baselines_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench {
namespace {

constexpr std::int64_t kBlock = 1024;

struct Block {
  TimeGrid grid;
  std::vector<float> values;         // kBlock x grid.steps, row-major
  std::vector<std::int64_t> spikes;  // the planted spike's step of each series
};

// Level 20-2000, weekly pattern, daily cycle on hourly grids, 3% noise, 2% gaps, one +8 sd spike.
Block make_block(const TimeGrid& grid) {
  static constexpr double kWeekday[7] = {1.0, 1.1, 1.05, 1.0, 0.9, 0.4, 0.3};
  Block block{grid, std::vector<float>(static_cast<std::size_t>(kBlock * grid.steps)), std::vector<std::int64_t>(kBlock)};
  const std::int64_t per_day = grid.steps_per_day();
  Rng rng(20240101);  // the engine's deterministic generator
  for (std::int64_t s = 0; s < kBlock; ++s) {
    const double level = 20.0 * std::pow(100.0, rng.uniform());
    float* y = block.values.data() + s * grid.steps;
    for (std::int64_t t = 0; t < grid.steps; ++t) {
      const double hour = static_cast<double>(t % per_day) / static_cast<double>(per_day);
      const double daily = per_day > 1 ? 1.0 + 0.3 * std::sin(2.0 * std::numbers::pi * hour) : 1.0;
      const double clean = level * kWeekday[(t / per_day) % 7] * daily;
      y[t] = static_cast<float>(clean + 0.03 * level * rng.normal());
      if (rng.uniform() < 0.02) y[t] = std::numeric_limits<float>::quiet_NaN();
    }
    const auto spike = static_cast<std::int64_t>(static_cast<double>(grid.steps) * (0.1 + 0.8 * rng.uniform()));
    const double hour = static_cast<double>(spike % per_day) / static_cast<double>(per_day);
    const double daily = per_day > 1 ? 1.0 + 0.3 * std::sin(2.0 * std::numbers::pi * hour) : 1.0;
    y[spike] = static_cast<float>(level * kWeekday[(spike / per_day) % 7] * daily + 0.25 * level);
    block.spikes[static_cast<std::size_t>(s)] = spike;
  }
  return block;
}

const Block& daily_block() {
  static const Block block = make_block({days_from_civil({2024, 1, 1}) * kSecondsPerDay, kSecondsPerDay, 730});
  return block;
}
const Block& hourly_block() {
  static const Block block = make_block({days_from_civil({2024, 1, 1}) * kSecondsPerDay, kSecondsPerHour, 90 * 24});
  return block;
}

struct Outputs {
  explicit Outputs(std::int64_t steps)
      : expected(static_cast<std::size_t>(steps)), lower(expected.size()), upper(expected.size()), score(expected.size()) {}
  DetectionOutput view() { return {expected, lower, upper, score}; }
  std::vector<float> expected, lower, upper, score;
};

// Runs the detector over the block once and checks the answer; returns an error text or "".
std::string verify(const Detector& detector, const Block& block) {
  const auto ws = detector.make_workspace();
  Outputs out(block.grid.steps);
  const auto window = DetectionWindow::retrospective(block.grid.steps);
  std::int64_t caught = 0;
  std::int64_t flags = 0;
  std::int64_t observed = 0;
  for (std::int64_t s = 0; s < kBlock; ++s) {
    const std::span<const float> y(block.values.data() + s * block.grid.steps, static_cast<std::size_t>(block.grid.steps));
    const FitStatus status = detector.detect({y, static_cast<std::uint64_t>(s)}, window, *ws, out.view());
    if (status != FitStatus::ok) return "series " + std::to_string(s) + ": status " + std::string(to_string(status));
    for (std::int64_t t = 0; t < block.grid.steps; ++t) {
      if (std::isnan(y[t]) != std::isnan(out.score[t])) return "series " + std::to_string(s) + ": NaN score mismatch";
      if (!std::isfinite(out.expected[t]) || !std::isfinite(out.lower[t]) || !std::isfinite(out.upper[t]))
        return "series " + std::to_string(s) + ": non-finite expected range";
      if (!std::isnan(y[t])) {
        ++observed;
        flags += out.score[t] > 3.0F ? 1 : 0;
      }
    }
    caught += out.score[block.spikes[static_cast<std::size_t>(s)]] > 3.0F ? 1 : 0;
  }
  if (detector.name() == "random") {
    // flag_rate 0.01: the flag count is within 6 binomial sd.
    const double expected = 0.01 * static_cast<double>(observed);
    if (std::abs(static_cast<double>(flags) - expected) > 6.0 * std::sqrt(expected)) return "random flag rate off";
  } else if (caught < kBlock * 95 / 100) {
    return "only " + std::to_string(caught) + " of " + std::to_string(kBlock) + " spikes flagged";
  }
  return "";
}

void run_detector(benchmark::State& state, const char* name, const Block& block) {
  const auto detector = make_detector(name, {}, block.grid);
  if (const std::string error = verify(*detector, block); !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const auto ws = detector->make_workspace();
  Outputs out(block.grid.steps);
  const auto window = DetectionWindow::retrospective(block.grid.steps);
  for (auto _ : state) {
    for (std::int64_t s = 0; s < kBlock; ++s) {
      const std::span<const float> y(block.values.data() + s * block.grid.steps, static_cast<std::size_t>(block.grid.steps));
      benchmark::DoNotOptimize(detector->detect({y, static_cast<std::uint64_t>(s)}, window, *ws, out.view()));
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBlock);
  state.counters["steps"] = static_cast<double>(block.grid.steps);
}

// BM_<detector>_<block> for every detector on each block (the daily block's first).
[[maybe_unused]] const bool kRegistered = [] {
  const std::pair<const char*, const char*> detectors[] = {{"SeasonalMad", "seasonal-mad"}, {"StlEsd", "stl-esd"}, {"Random", "random"}};
  const std::pair<const char*, const Block& (*)()> blocks[] = {{"Daily730", daily_block}, {"Hourly90", hourly_block}};
  for (const auto& [block_name, block] : blocks)
    for (const auto& [detector_name, model] : detectors)
      benchmark::RegisterBenchmark(("BM_" + std::string(detector_name) + "_" + block_name).c_str(),
                                   [model = model, block = block](benchmark::State& state) { run_detector(state, model, block()); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  return true;
}();

}  // namespace
}  // namespace meterbench

