// The capacity arithmetic: the cost model recovers known parameters from synthetic runs, the answer follows
// from the model by hand-checkable arithmetic, and bad questions are refused with the field named.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "meterbench/capacity/capacity_run.hpp"
#include "meterbench/capacity/cost_model.hpp"

namespace meterbench {
namespace {

// Runs that follow wall = fixed + series x t / (threads x E_threads) exactly.
std::vector<CapacityPoint> synthetic(double fixed, double t, double e) {
  std::vector<CapacityPoint> points;
  for (const std::int64_t series : {10'000, 100'000, 1'000'000})
    for (const int threads : {1, 2}) {
      CapacityPoint p;
      p.series = series;
      p.threads = threads;
      p.wall_seconds = fixed + static_cast<double>(series) * t / (threads * (threads > 1 ? e : 1.0));
      points.push_back(p);
    }
  return points;
}

TEST(CostModel, RecoversKnownParametersFromExactRuns) {
  const CostModel m = fit_cost_model(synthetic(0.75, 50e-6, 0.9));
  EXPECT_NEAR(m.fixed_seconds, 0.75, 1e-9);
  EXPECT_NEAR(m.seconds_per_series, 50e-6, 1e-15);
  EXPECT_NEAR(m.parallel_efficiency, 0.9, 1e-9);
  EXPECT_TRUE(m.efficiency_measured);
  EXPECT_NEAR(m.rms_residual_seconds, 0.0, 1e-9);
  EXPECT_EQ(m.points, 6u);
  EXPECT_NEAR(predict_wall_seconds(m, 2e6, 2), 0.75 + 2e6 * 50e-6 / 1.8, 1e-9);
  EXPECT_NEAR(predict_wall_seconds(m, 2e6, 1), 0.75 + 100.0, 1e-9);
}

TEST(CostModel, AveragesNoiseAndReportsTheResidual) {
  auto points = synthetic(2.0, 80e-6, 0.85);
  for (std::size_t i = 0; i < points.size(); ++i) points[i].wall_seconds *= (i % 2 == 0 ? 1.01 : 0.99);
  const CostModel m = fit_cost_model(points);
  EXPECT_NEAR(m.seconds_per_series, 80e-6, 2e-6);
  EXPECT_NEAR(m.parallel_efficiency, 0.85, 0.03);
  EXPECT_GT(m.rms_residual_seconds, 0.0);
}

TEST(CostModel, OneThreadCountAssumesFullEfficiency) {
  auto points = synthetic(1.0, 30e-6, 0.5);
  std::erase_if(points, [](const CapacityPoint& p) { return p.threads != 1; });
  const CostModel m = fit_cost_model(points);
  EXPECT_FALSE(m.efficiency_measured);
  EXPECT_DOUBLE_EQ(m.parallel_efficiency, 1.0);
  EXPECT_NEAR(m.seconds_per_series, 30e-6, 1e-15);
}

TEST(CostModel, RefusesRunsThatCannotDetermineIt) {
  EXPECT_THROW(fit_cost_model({}), std::invalid_argument);
  auto one_size = synthetic(1.0, 30e-6, 0.9);
  std::erase_if(one_size, [](const CapacityPoint& p) { return p.series != 10'000; });
  EXPECT_THROW(fit_cost_model(one_size), std::invalid_argument);
  auto bad = synthetic(1.0, 30e-6, 0.9);
  bad[0].wall_seconds = -1.0;
  EXPECT_THROW(fit_cost_model(bad), std::invalid_argument);
  // Runs that get faster with size: no positive cost per series.
  std::vector<CapacityPoint> shrinking = {{.series = 1000, .threads = 1, .wall_seconds = 10.0}, {.series = 2000, .threads = 1, .wall_seconds = 5.0}};
  try {
    fit_cost_model(shrinking);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not positive"), std::string::npos) << e.what();
  }
}

CostModel model(double fixed, double t, double e) {
  CostModel m;
  m.fixed_seconds = fixed;
  m.seconds_per_series = t;
  m.parallel_efficiency = e;
  m.efficiency_measured = true;
  return m;
}

TEST(CapacityAnswer, CoresAndMachinesByHand) {
  // 50M series x 100 us = 5000 core-seconds at E = 1; E = 0.8 above one core; window 1000 s, fixed 0 s.
  const CostModel m = model(0.0, 100e-6, 0.8);
  CapacityQuestion q;
  q.series = 50e6;
  q.window_seconds = 1000.0;
  q.cores_per_machine = 2;
  q.network.latency_seconds = 0.0;
  const CapacityAnswer a = answer_capacity(m, MergeCost{}, q);  // a free reduction
  // One machine: c x 0.8 >= 5 -> c = 7 (6.25 rounded up).
  EXPECT_EQ(a.cores_one_machine, 7);
  // Machines of 2 cores: K x 2 x 0.8 >= 5 -> K = 4 (3.125 rounded up), 8 cores.
  EXPECT_TRUE(a.feasible);
  EXPECT_EQ(a.machines, 4);
  EXPECT_EQ(a.total_cores, 8);
  EXPECT_NEAR(a.predicted_wall_seconds, 5000.0 / (4 * 2 * 0.8), 1e-9);
  EXPECT_NEAR(a.core_hours, 5000.0 / 0.8 / 3600.0, 1e-12);
  EXPECT_EQ(a.cores_per_machine_needed, 2);  // 1250 s of work per machine in 1000 s: 1250 / 0.8 / 1000 -> 2
}

TEST(CapacityAnswer, SmallJobsNeedOneCoreAndNoEfficiencyLoss) {
  CapacityQuestion q;
  q.series = 1000;
  q.window_seconds = 10.0;
  const CapacityAnswer a = answer_capacity(model(1.0, 1e-3, 0.5), MergeCost{}, q);
  EXPECT_EQ(a.cores_one_machine, 1);  // 1 s fixed + 1 s of work on one core fits 10 s
  EXPECT_EQ(a.machines, 1);
  EXPECT_DOUBLE_EQ(a.communication_seconds, 0.0);
}

TEST(CapacityAnswer, GivenMachinesAddTheTreeReduction) {
  const MergeCost merge{1'000'000, 0.01, 0.02};
  NetworkAssumption net{1e8, 0.001};
  // Per round: 0.01 pack + 0.001 latency + 1e6 / 1e8 = 0.01 send + 0.02 merge = 0.041 s; 8 machines: 3 rounds.
  EXPECT_NEAR(merge_seconds(merge, net, 8), 3 * 0.041, 1e-12);
  EXPECT_NEAR(merge_seconds(merge, net, 5), 3 * 0.041, 1e-12);
  EXPECT_DOUBLE_EQ(merge_seconds(merge, net, 1), 0.0);
  CapacityQuestion q;
  q.series = 1e6;
  q.window_seconds = 100.0;
  q.cores_per_machine = 4;
  q.machines = 8;
  q.network = net;
  const CapacityAnswer a = answer_capacity(model(2.0, 1e-3, 1.0), merge, q);
  EXPECT_EQ(a.machines, 8);
  EXPECT_NEAR(a.compute_seconds, 1000.0 / 32, 1e-9);
  EXPECT_NEAR(a.predicted_wall_seconds, 2.0 + 1000.0 / 32 + 3 * 0.041, 1e-9);
  EXPECT_TRUE(a.feasible);
  EXPECT_EQ(a.cores_per_machine_needed, 2);  // 125 s of work per machine in 100 - 2 - 0.123 s -> 2 cores
}

TEST(CapacityAnswer, ImpossibleWindowsSayWhy) {
  CapacityQuestion q;
  q.series = 1e6;
  q.window_seconds = 5.0;
  const CapacityAnswer a = answer_capacity(model(10.0, 1e-4, 0.9), MergeCost{}, q);  // fixed 10 s > 5 s
  EXPECT_FALSE(a.feasible);
  EXPECT_EQ(a.cores_one_machine, 0);
  EXPECT_NE(a.reason.find("fixed overhead"), std::string::npos) << a.reason;
  q.machines = 3;
  const CapacityAnswer b = answer_capacity(model(1.0, 1e-4, 0.9), MergeCost{}, q);  // 100 core-s over 3 x 2 x 0.9 > 4 s
  EXPECT_FALSE(b.feasible);
  EXPECT_NE(b.reason.find("more than the 5 s window"), std::string::npos) << b.reason;
}

TEST(CapacityAnswer, RefusesBadQuestions) {
  const CostModel m = model(1.0, 1e-4, 0.9);
  const auto message = [&](CapacityQuestion q) {
    try {
      answer_capacity(m, MergeCost{}, q);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CapacityQuestion ok;
  ok.series = 10;
  ok.window_seconds = 10;
  CapacityQuestion q = ok;
  q.series = 0;
  EXPECT_NE(message(q).find("--series"), std::string::npos);
  q = ok;
  q.window_seconds = 0;
  EXPECT_NE(message(q).find("--window"), std::string::npos);
  q = ok;
  q.cores_per_machine = 0;
  EXPECT_NE(message(q).find("--cores-per-machine"), std::string::npos);
  q = ok;
  q.machines = -1;
  EXPECT_NE(message(q).find("--machines"), std::string::npos);
}

TEST(WindowText, ParsesDurations) {
  EXPECT_DOUBLE_EQ(parse_window_seconds("2h"), 7200.0);
  EXPECT_DOUBLE_EQ(parse_window_seconds("90m"), 5400.0);
  EXPECT_DOUBLE_EQ(parse_window_seconds("1h30m"), 5400.0);
  EXPECT_DOUBLE_EQ(parse_window_seconds("3600s"), 3600.0);
  EXPECT_DOUBLE_EQ(parse_window_seconds("1d"), 86400.0);
  EXPECT_DOUBLE_EQ(parse_window_seconds("2.5h"), 9000.0);
  for (const char* bad : {"", "2", "h", "2x", "two hours", "2h-", "0h", "1..5h", "-2h"}) {
    try {
      parse_window_seconds(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(MergeCost, PacksEveryCountAndMeasures) {
  EvaluationConfig config;
  EvaluationAccumulator acc(config);
  std::vector<std::int64_t> buffer;
  pack_counts(acc.counts(), buffer);
  // The histograms and the threshold curve dominate: at least the two score histograms.
  EXPECT_GE(buffer.size(), 2 * kScoreHistogramSize);
  const MergeCost m = measure_merge_cost(5);
  EXPECT_GE(m.bytes, buffer.size() * sizeof(std::int64_t));  // its accumulators hold series: delay histograms grown
  EXPECT_GT(m.merge_seconds, 0.0);
  EXPECT_GE(m.pack_seconds, 0.0);
}

TEST(CapacityDocument, RoundTripsTheMeasurement) {
  CapacityMeasurement m;
  m.scenario = "s.toml";
  m.model = "gam";
  m.schedule = Schedule::weekly;
  m.weeks = 1;
  m.runs = synthetic(0.5, 40e-6, 0.9);
  m.merge = {1000, 1e-6, 2e-6};
  const CapacityMeasurement back = capacity_measurement_from_json(to_json(m), "test");
  EXPECT_EQ(back.schedule, Schedule::weekly);
  ASSERT_EQ(back.runs.size(), m.runs.size());
  EXPECT_DOUBLE_EQ(back.runs[3].wall_seconds, m.runs[3].wall_seconds);
  EXPECT_EQ(back.merge.bytes, 1000u);
  nlohmann::json broken = to_json(m);
  broken.erase("runs");
  EXPECT_THROW(capacity_measurement_from_json(broken, "test"), std::invalid_argument);
}

}  // namespace
}  // namespace meterbench

namespace meterbench {
namespace {

TEST(CostModel, NegativeOverheadIsClampedToZero) {
  // Walls proportional to size, with noise that makes the free intercept negative.
  std::vector<CapacityPoint> points = {{.series = 10'000, .threads = 1, .wall_seconds = 0.9},
                                       {.series = 100'000, .threads = 1, .wall_seconds = 10.0},
                                       {.series = 10'000, .threads = 2, .wall_seconds = 0.5},
                                       {.series = 100'000, .threads = 2, .wall_seconds = 5.6}};
  const CostModel m = fit_cost_model(points);
  EXPECT_TRUE(m.fixed_clamped);
  EXPECT_DOUBLE_EQ(m.fixed_seconds, 0.0);
  EXPECT_GT(m.seconds_per_series, 0.0);
}

TEST(CapacityAnswer, CpuBoundCrossCheck) {
  std::vector<CapacityPoint> points = {{.series = 1000, .threads = 1, .wall_seconds = 1.0, .process_cpu_seconds = 0.1},
                                       {.series = 3000, .threads = 2, .wall_seconds = 2.0, .process_cpu_seconds = 0.3}};
  EXPECT_NEAR(cpu_seconds_per_series(points), 1e-4, 1e-15);
  CapacityQuestion q;
  q.series = 1e7;  // 1000 CPU-seconds
  q.window_seconds = 300.0;
  q.cores_per_machine = 2;
  const CpuBound c = cpu_bound_answer(1e-4, q);
  EXPECT_EQ(c.cores, 4);     // 1000 / 300 = 3.33 -> 4
  EXPECT_EQ(c.machines, 2);
  EXPECT_EQ(cpu_bound_answer(0.0, q).cores, 0);
}

}  // namespace
}  // namespace meterbench
