// Cost of the gam detector per series, over blocks of generated series (generated outside the timed loop),
// with the output verified before timing: a wrong answer reports an error instead of a time.
//
//   build/bench/gam_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Timing is per thread (one workspace, series after series); series per second on one core = items/s.
//
// Target: the weekly schedule over 52 weeks by detect_rolling, <= 20 us per series-week all included
// (BM_GamDaily730Weekly52Rolling; BM_GamDaily730Weekly52Independent is the schedule it replaces).
//
// Target: one 730-day daily series, default gam (weekly + yearly + changepoints, Huber), <= 30 us
// per series per core. Items per second = series per second on one thread.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "meterbench/core/random.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/gam_detector.hpp"

namespace {

using meterbench::DetectionOutput;
using meterbench::DetectionWindow;
using meterbench::Detector;
using meterbench::FitStatus;
using meterbench::TimeGrid;

constexpr int kBlock = 1024;

struct Block {
  TimeGrid grid;
  std::vector<std::vector<float>> series;
  std::vector<std::vector<std::uint8_t>> outlier;
};

// Level + trend + weekly + yearly (+ daily on sub-daily grids) + Gaussian noise, 1% outliers of 8-15 sigma,
// 2% single missing steps and, in one series of eight, a 20-day gap (no missing steps when `gaps` is false).
Block make_block(const TimeGrid& grid, std::uint64_t seed, bool gaps) {
  Block block{grid, {}, {}};
  const auto n = static_cast<std::size_t>(grid.steps);
  for (int s = 0; s < kBlock; ++s) {
    meterbench::Rng rng(meterbench::stream_key(seed, static_cast<std::uint64_t>(s)));
    const double level = rng.uniform(50.0, 500.0);
    const double sigma = level * rng.uniform(0.02, 0.08);
    const double slope = level * rng.uniform(-0.2, 0.4);
    const double weekly = level * rng.uniform(0.0, 0.2), yearly = level * rng.uniform(0.0, 0.2), daily = level * rng.uniform(0.0, 0.3);
    const double phase = rng.uniform(0.0, 1.0);
    std::vector<float> v(n);
    std::vector<std::uint8_t> out(n, 0);
    const auto gap_start = static_cast<std::size_t>(rng.integer(0, static_cast<std::int64_t>(n) - 1));
    const bool has_gap = gaps && s % 8 == 3;
    const double two_pi = 2.0 * std::numbers::pi;
    for (std::size_t i = 0; i < n; ++i) {
      const double days = grid.days_at(static_cast<std::int64_t>(i));
      const double t = static_cast<double>(i) / static_cast<double>(n);
      double y = level + slope * t + weekly * std::sin(two_pi * (days / 7.0 + phase)) + yearly * std::cos(two_pi * (days / 365.25 + phase)) +
                 (grid.step_seconds < meterbench::kSecondsPerDay ? daily * std::sin(two_pi * days) : 0.0) + sigma * rng.normal();
      if (rng.bernoulli(0.01)) {
        y += sigma * rng.uniform(8.0, 15.0) * (rng.bernoulli(0.7) ? 1.0 : -1.0);
        out[i] = 1;
      }
      const auto gap_len = static_cast<std::size_t>(20 * grid.steps_per_day());
      if ((rng.bernoulli(0.02) && gaps) || (has_gap && i >= gap_start && i < gap_start + gap_len)) y = std::numeric_limits<double>::quiet_NaN();
      v[i] = static_cast<float>(y);
    }
    block.series.push_back(std::move(v));
    block.outlier.push_back(std::move(out));
  }
  return block;
}

// `gaps` = false: no missing steps at all (every series on the shared factorisation). `forward_days` > 0:
// fit on all but the last forward_days days and score those (the weekly schedule).
void run_gam(benchmark::State& state, const TimeGrid& grid, const std::vector<std::string>& settings, bool gaps = true,
             std::int64_t forward_days = 0) {
  const Block block = make_block(grid, 20261122, gaps);
  const std::unique_ptr<Detector> detector = meterbench::make_gam_detector(settings, grid);
  auto workspace = detector->make_workspace();
  const auto n = static_cast<std::size_t>(grid.steps);
  std::vector<float> expected(n), lower(n), upper(n), score(n);
  const DetectionOutput out{expected, lower, upper, score};
  const auto window = forward_days > 0 ? DetectionWindow::forward(grid.steps - forward_days * grid.steps_per_day(), grid.steps)
                                       : DetectionWindow::retrospective(grid.steps);

  // Verify first: every status ok, no NaN for observed steps, and the 99% band covers 97-100% of the
  // clean observed points.
  std::int64_t clean = 0, covered = 0, bad_status = 0, iterations = 0;
  for (std::size_t s = 0; s < block.series.size(); ++s) {
    const auto& v = block.series[s];
    if (detector->detect({v, s}, window, *workspace, out) != FitStatus::ok) ++bad_status;
    iterations += static_cast<const meterbench::GamWorkspace&>(*workspace).iterations();
    for (auto i = static_cast<std::size_t>(window.score_begin); i < static_cast<std::size_t>(window.score_end); ++i) {
      if (std::isnan(expected[i]) || std::isnan(lower[i]) || std::isnan(upper[i])) {
        state.SkipWithError("NaN in expected/lower/upper");
        return;
      }
      if (std::isnan(v[i])) continue;
      if (std::isnan(score[i])) {
        state.SkipWithError("NaN score at an observed step");
        return;
      }
      if (block.outlier[s][i]) continue;
      ++clean;
      covered += (v[i] >= lower[i] && v[i] <= upper[i]) ? 1 : 0;
    }
  }
  const double coverage = static_cast<double>(covered) / static_cast<double>(clean);
  if (bad_status > 0 || coverage < (forward_days > 0 ? 0.95 : 0.97)) {
    state.SkipWithError("wrong answer: a status is not ok or the 99% band covers less than 97% of clean points");
    return;
  }
  state.counters["coverage"] = coverage;
  state.counters["iterations"] = static_cast<double>(iterations) / static_cast<double>(block.series.size());

  for (auto _ : state) {
    for (std::size_t s = 0; s < block.series.size(); ++s) {
      const FitStatus status = detector->detect({block.series[s], s}, window, *workspace, out);
      benchmark::DoNotOptimize(status);
      benchmark::DoNotOptimize(score.data());
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(block.series.size()));
  state.counters["us_per_series"] = benchmark::Counter(
      static_cast<double>(state.iterations() * block.series.size()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The weekly schedule over the last 52 weeks of a 730-day daily series: detect_rolling (sliding
// updates and warm starts, series by series) when `rolling`, else the independent per-week forward fits it
// replaces, run week-major over the block as the backtest runs them (so each week's design is built once per
// block). Verified first (statuses ok, no NaN where observed, 99% band coverage of clean points >= 95%);
// items = series-weeks.
void run_rolling(benchmark::State& state, bool rolling) {
  const TimeGrid grid{meterbench::parse_utc_timestamp("2023-01-02"), meterbench::kSecondsPerDay, 730};
  constexpr std::int64_t kWeeks = 52, kPeriod = 7;
  const std::int64_t first = grid.steps - kWeeks * kPeriod;
  const Block block = make_block(grid, 20261122, true);
  const std::unique_ptr<Detector> detector = meterbench::make_gam_detector({}, grid);
  auto workspace = detector->make_workspace();
  const auto n = static_cast<std::size_t>(grid.steps);
  const std::size_t count = block.series.size();
  std::vector<float> expected(n * count), lower(n * count), upper(n * count), score(n * count);
  const auto out_of = [&](std::size_t s) {
    const auto part = [&](std::vector<float>& v) { return std::span<float>(v.data() + s * n, n); };
    return DetectionOutput{part(expected), part(lower), part(upper), part(score)};
  };
  // Runs the schedule over the block; returns the number of non-ok statuses.
  const auto run = [&]() {
    std::int64_t bad = 0;
    if (rolling) {
      for (std::size_t s = 0; s < count; ++s)
        bad += detector->detect_rolling({block.series[s], s}, first, kPeriod, *workspace, out_of(s)) != FitStatus::ok ? 1 : 0;
    } else {
      for (std::int64_t w = first; w < grid.steps; w += kPeriod)
        for (std::size_t s = 0; s < count; ++s)
          bad += detector->detect({block.series[s], s}, DetectionWindow::forward(w, std::min(w + kPeriod, grid.steps)), *workspace,
                                  out_of(s)) != FitStatus::ok ? 1 : 0;
    }
    return bad;
  };
  const std::int64_t bad_status = run();
  std::int64_t clean = 0, covered = 0;
  for (std::size_t s = 0; s < count; ++s) {
    const auto& v = block.series[s];
    for (auto i = static_cast<std::size_t>(first); i < n; ++i) {
      const std::size_t k = s * n + i;
      if (std::isnan(expected[k]) || std::isnan(lower[k]) || std::isnan(upper[k]) || (!std::isnan(v[i]) && std::isnan(score[k]))) {
        state.SkipWithError("NaN output at a scored step");
        return;
      }
      if (std::isnan(v[i]) || block.outlier[s][i]) continue;
      ++clean;
      covered += (v[i] >= lower[k] && v[i] <= upper[k]) ? 1 : 0;
    }
  }
  const double coverage = static_cast<double>(covered) / static_cast<double>(clean);
  if (bad_status > 0 || coverage < 0.95) {
    state.SkipWithError("wrong answer: a status is not ok or the 99% band covers less than 95% of clean points");
    return;
  }
  state.counters["coverage"] = coverage;
  for (auto _ : state) {
    benchmark::DoNotOptimize(run());
    benchmark::ClobberMemory();
  }
  const auto items = state.iterations() * static_cast<std::int64_t>(count) * kWeeks;
  state.SetItemsProcessed(items);
  state.counters["us_per_series_week"] =
      benchmark::Counter(static_cast<double>(items), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

const std::int64_t kStart = meterbench::parse_utc_timestamp("2023-01-02");

void BM_GamDaily730(benchmark::State& state) { run_gam(state, {kStart, meterbench::kSecondsPerDay, 730}, {}); }
void BM_GamHourly90(benchmark::State& state) { run_gam(state, {kStart, meterbench::kSecondsPerHour, 90 * 24}, {}); }
void BM_GamDaily730NoGaps(benchmark::State& state) { run_gam(state, {kStart, meterbench::kSecondsPerDay, 730}, {}, false); }
void BM_GamDaily730ForwardWeek(benchmark::State& state) {
  run_gam(state, {kStart, meterbench::kSecondsPerDay, 730}, {}, true, 7);
}
void BM_GamDaily730Bisquare(benchmark::State& state) {
  run_gam(state, {kStart, meterbench::kSecondsPerDay, 730}, {"loss=bisquare"});
}
void BM_GamDaily730Log1p(benchmark::State& state) { run_gam(state, {kStart, meterbench::kSecondsPerDay, 730}, {"transform=log1p"}); }
void BM_GamDaily730LocalScale(benchmark::State& state) { run_gam(state, {kStart, meterbench::kSecondsPerDay, 730}, {"local_scale=on"}); }

void BM_GamDaily730Weekly52Rolling(benchmark::State& state) { run_rolling(state, true); }
void BM_GamDaily730Weekly52Independent(benchmark::State& state) { run_rolling(state, false); }

BENCHMARK(BM_GamDaily730)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GamHourly90)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GamDaily730NoGaps)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GamDaily730ForwardWeek)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GamDaily730Bisquare)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GamDaily730Log1p)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GamDaily730LocalScale)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GamDaily730Weekly52Rolling)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GamDaily730Weekly52Independent)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
