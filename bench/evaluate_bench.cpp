// Evaluation benchmarks: the cost of EvaluationAccumulator::add_series per 730-step daily series (one thread,
// items = series), on a block of 1024 synthetic series (scores, labels, events, gaps) prepared outside the timed
// loop. Before timing, the accumulated counts are checked against a naive recomputation (point counts, alerts
// and their classes, caught events); a mismatch gets no figure.
//   build-evaluate/bench/evaluate_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Target: a few microseconds per series (the detector fit budget is 30 us per series).
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "meterbench/core/version.hpp"
#include "meterbench/evaluate/metrics.hpp"

namespace mb = meterbench;

namespace {

constexpr std::int64_t kSteps = 730;
constexpr std::int64_t kSeries = 1024;

struct Block {
  std::vector<float> values, expected, lower, upper, score;
  std::vector<std::uint8_t> labels;
  std::vector<mb::EventRecord> events;
  std::vector<std::size_t> first_event, event_count;
  std::vector<double> price;

  mb::SeriesEvaluationInput input(std::int64_t i, std::int64_t score_begin = 0) const {
    const auto row = static_cast<std::size_t>(i * kSteps);
    const auto n = static_cast<std::size_t>(kSteps);
    const auto u = static_cast<std::size_t>(i);
    mb::SeriesEvaluationInput in;
    in.values = {values.data() + row, n};
    in.labels = {labels.data() + row, n};
    in.events = {events.data() + first_event[u], event_count[u]};
    in.expected = {expected.data() + row, n};
    in.lower = {lower.data() + row, n};
    in.upper = {upper.data() + row, n};
    in.score = {score.data() + row, n};
    in.price_per_unit = price[u];
    in.series_index = static_cast<std::uint64_t>(i);
    in.score_begin = score_begin;
    in.score_end = kSteps;
    return in;
  }
};

// Scores |N(0,1)| (a well calibrated band model), ~1 event per 2 months with 60% of its steps scoring 2..14,
// ~1% missing steps. Kinds are the non-persistent ones, so the naive check needs no do-not-care logic.
Block make_block() {
  static constexpr mb::AnomalyKind kinds[] = {mb::AnomalyKind::spike,       mb::AnomalyKind::dip,         mb::AnomalyKind::unit_error,
                                              mb::AnomalyKind::double_counting, mb::AnomalyKind::dropped_reporting,
                                              mb::AnomalyKind::stuck_meter, mb::AnomalyKind::fraud_ramp};
  Block b;
  const auto total = static_cast<std::size_t>(kSeries * kSteps);
  b.values.resize(total);
  b.expected.resize(total);
  b.lower.resize(total);
  b.upper.resize(total);
  b.score.resize(total);
  b.labels.assign(total, 0);
  std::mt19937_64 rng(42);
  std::normal_distribution<float> noise(0.0F, 1.0F);
  std::uniform_int_distribution<int> pick(0, 999);
  for (std::int64_t i = 0; i < kSeries; ++i) {
    const auto row = static_cast<std::size_t>(i * kSteps);
    b.first_event.push_back(b.events.size());
    b.price.push_back(0.05 * static_cast<double>(1 + i % 40));
    for (std::size_t t = 0; t < static_cast<std::size_t>(kSteps); ++t) b.score[row + t] = std::fabs(noise(rng));
    for (std::int64_t start = pick(rng) % 60; start < kSteps; start += 30 + pick(rng) % 60) {
      mb::EventRecord ev;
      ev.series = static_cast<std::uint64_t>(i);
      ev.kind = static_cast<std::uint8_t>(kinds[pick(rng) % 7]);
      ev.start = start;
      ev.end = std::min<std::int64_t>(kSteps - 1, start + pick(rng) % 14);
      ev.effect_end = ev.end;
      ev.size_sigma = static_cast<double>(pick(rng)) / 60.0;
      ev.impact_usd = static_cast<double>(pick(rng));
      for (std::int64_t t = ev.start; t <= ev.end; ++t) {
        const auto p = row + static_cast<std::size_t>(t);
        b.labels[p] = ev.kind;
        if (pick(rng) < 600) b.score[p] = 2.0F + static_cast<float>(pick(rng)) / 80.0F;
      }
      b.events.push_back(ev);
    }
    b.event_count.push_back(b.events.size() - b.first_event.back());
    for (std::size_t t = 0; t < static_cast<std::size_t>(kSteps); ++t) {
      const auto p = row + t;
      b.expected[p] = 100.0F;
      b.lower[p] = 97.0F;
      b.upper[p] = 103.0F;
      b.values[p] = 100.0F + 10.0F * b.score[p];
      if (pick(rng) < 10 && b.labels[p] == 0) {
        b.values[p] = std::numeric_limits<float>::quiet_NaN();
        b.score[p] = std::numeric_limits<float>::quiet_NaN();
        b.labels[p] = static_cast<std::uint8_t>(mb::AnomalyKind::gap);
      }
    }
  }
  return b;
}

// The naive recomputation: point counts, alerts (runs of flags joined across <= gap missing steps) and their
// classes, events caught by a flag in [start, min(end, start + k)] (retrospective schedule).
bool matches_naive(const Block& b, const mb::EvaluationConfig& c, const mb::EvaluationCounts& got) {
  std::int64_t tp = 0, fp = 0, fn = 0, alerts = 0, true_alerts = 0, caught = 0, events = 0;
  for (std::int64_t i = 0; i < kSeries; ++i) {
    const mb::SeriesEvaluationInput in = b.input(i);
    auto flagged = [&](std::int64_t t) {
      return !std::isnan(in.values[static_cast<std::size_t>(t)]) && in.score[static_cast<std::size_t>(t)] > c.z;
    };
    for (std::int64_t t = 0; t < kSteps; ++t) {
      if (std::isnan(in.values[static_cast<std::size_t>(t)])) continue;
      const bool pos = mb::is_anomaly(in.labels[static_cast<std::size_t>(t)]);
      if (flagged(t) && pos) ++tp;
      if (flagged(t) && !pos) ++fp;
      if (!flagged(t) && pos) ++fn;
    }
    std::int64_t t = 0;
    while (t < kSteps) {
      if (!flagged(t)) {
        ++t;
        continue;
      }
      const std::int64_t start = t;
      std::int64_t end = t;
      for (std::int64_t u = t + 1; u < kSteps; ++u) {
        if (flagged(u)) {
          end = u;
          continue;
        }
        if (!std::isnan(in.values[static_cast<std::size_t>(u)])) break;
        std::int64_t missing = 0;
        while (u + missing < kSteps && std::isnan(in.values[static_cast<std::size_t>(u + missing)])) ++missing;
        if (missing > c.merge_gap_steps || u + missing >= kSteps || !flagged(u + missing)) break;
        u += missing - 1;
      }
      ++alerts;
      bool overlaps = false;
      for (const mb::EventRecord& ev : in.events) overlaps = overlaps || (mb::is_anomaly(ev.kind) && ev.start <= end && ev.end >= start);
      if (overlaps) ++true_alerts;
      t = end + 1;
    }
    for (const mb::EventRecord& ev : in.events) {
      if (!mb::is_anomaly(ev.kind)) continue;
      ++events;
      bool hit = false;
      for (std::int64_t u = ev.start; u <= std::min(ev.end, ev.start + c.delay_tolerance_steps); ++u) hit = hit || flagged(u);
      if (hit) ++caught;
    }
  }
  return tp == got.point_tp && fp == got.point_fp && fn == got.point_fn && alerts == got.alerts.total &&
         true_alerts == got.alerts.true_alerts && alerts - true_alerts == got.alerts.false_alerts && events == got.events.events &&
         caught == got.events.caught;
}

void run(benchmark::State& state, bool with_alerts, bool sweep = true) {
  static const Block block = make_block();
  mb::EvaluationConfig config;
  config.z = 3.0;
  config.sweep_thresholds = sweep;
  mb::EvaluationAccumulator check(config);
  for (std::int64_t i = 0; i < kSeries; ++i) check.add_series(block.input(i));
  if (!matches_naive(block, config, check.counts())) {
    state.SkipWithError("evaluation counts differ from the naive recomputation");
    return;
  }
  if (check.counts().events.caught == 0 || check.counts().alerts.false_alerts == 0) {
    state.SkipWithError("degenerate synthetic block");
    return;
  }
  mb::EvaluationAccumulator acc(config);
  std::vector<mb::Alert> alerts;
  alerts.reserve(1 << 16);
  std::int64_t i = 0;
  for (auto _ : state) {
    alerts.clear();
    acc.add_series(block.input(i), with_alerts ? &alerts : nullptr);
    benchmark::DoNotOptimize(acc.counts().flagged_steps);
    if (++i == kSeries) i = 0;
  }
  benchmark::DoNotOptimize(acc.report().curve.size());
  state.SetItemsProcessed(state.iterations());
  state.counters["steps_per_second"] = benchmark::Counter(static_cast<double>(state.iterations() * kSteps), benchmark::Counter::kIsRate);
}

void BM_EvaluateSeries(benchmark::State& state) { run(state, false); }
void BM_EvaluateSeriesWithAlerts(benchmark::State& state) { run(state, true); }
// Without the threshold sweep (the curve is the single row z): the cost of the headline metrics alone.
void BM_EvaluateSeriesNoSweep(benchmark::State& state) { run(state, false, false); }
BENCHMARK(BM_EvaluateSeries);
BENCHMARK(BM_EvaluateSeriesWithAlerts);
BENCHMARK(BM_EvaluateSeriesNoSweep);

// Merge and report of two full accumulators: once per thread per run, not per series.
void BM_MergeAndReport(benchmark::State& state) {
  static const Block block = make_block();
  mb::EvaluationConfig config;
  mb::EvaluationAccumulator a(config), b(config);
  for (std::int64_t i = 0; i < kSeries; ++i) (i % 2 == 0 ? a : b).add_series(block.input(i));
  for (auto _ : state) {
    mb::EvaluationAccumulator total(config);
    total.merge(a);
    total.merge(b);
    benchmark::DoNotOptimize(total.report().to_json().dump().size());
  }
}
BENCHMARK(BM_MergeAndReport);

}  // namespace
