// Contract: without an MPI launcher the group is this one process; its collectives return their input; a
// failure report names the rank and its series; the backtest's scale-out path (range, integer reduction,
// alert parts, fingerprint gather) over a group of one gives exactly the plain run's results, and so does the
// sweep's; the plan's dataset fingerprint (the --resume key) is summary.json's; evaluation counts survive the
// integer form exactly, and summed halves equal the whole (the reduction is exact).
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "meterbench/backtest/backtest.hpp"
#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "meterbench/sweep/sweep.hpp"
#include "support/small_dataset.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

TEST(SingleProcess, GroupOfOneWithoutALauncher) {
  if (launcher_world_size() > 1) GTEST_SKIP() << "running under an MPI launcher";
  ProcessGroup& group = process_group();
  EXPECT_EQ(group.rank(), 0);
  EXPECT_EQ(group.size(), 1);
  std::vector<std::int64_t> v = {1, -2, 3};
  group.allreduce_sum(v);
  group.allreduce_max(v);
  EXPECT_EQ(v, (std::vector<std::int64_t>{1, -2, 3}));
  EXPECT_EQ(group.gather("abc", 0), std::vector<std::string>{"abc"});
  group.barrier();
}

TEST(SingleProcess, AgreedFailureNamesTheRankAndItsSeries) {
  SingleProcessGroup group;
  EXPECT_NO_THROW(agree_on_failure(group, "", {10, 5}, "backtest"));
  try {
    agree_on_failure(group, "cannot read block", {10, 5}, "backtest");
    FAIL() << "no exception";
  } catch (const DistributedError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 (series [10, 15)): cannot read block"), std::string::npos) << e.what();
  }
}

TEST(SingleProcess, OnlyStagedOutputsOfProcessesThatNoLongerRunAreRemoved) {
  ScratchDir dir;
  const std::filesystem::path dead = dir / ".run.tmp-99999999";  // above pid_max: cannot be running
  const std::filesystem::path mine = dir / fmt::format(".run.tmp-{}", ::getpid());
  const std::filesystem::path other = dir / ".other.tmp-99999999";
  const std::filesystem::path not_a_pid = dir / ".run.tmp-x1";
  for (const auto& p : {dead, mine, other, not_a_pid}) std::filesystem::create_directories(p);
  testing::write_file(dead / "summary.json", "{}");
  EXPECT_EQ(remove_stale_temporaries(dir / "run"), 1);
  EXPECT_FALSE(std::filesystem::exists(dead));
  for (const auto& p : {mine, other, not_a_pid}) EXPECT_TRUE(std::filesystem::exists(p)) << p;
}

class ScaleOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::generate_small_dataset(dir / "data.h5", 90, 300, 2);
  }
  ScratchDir dir;
};

TEST_F(ScaleOutTest, GroupOfOneThroughTheSeamEqualsThePlainRun) {
  const ThreadLimit limit(2);
  BacktestOptions o;
  o.data = dir / "data.h5";
  o.out_dir = dir / "plain";
  o.block_series = 16;
  const nlohmann::json plain = to_json(run_backtest(o));
  SingleProcessGroup group;
  BacktestScaleOut scale_out(group, false);
  o.out_dir = dir / "seam";
  const nlohmann::json seam = to_json(run_backtest(o, &scale_out));
  EXPECT_EQ(plain["metrics"].dump(), seam["metrics"].dump());
  EXPECT_EQ(plain["baseline_random"]["metrics"].dump(), seam["baseline_random"]["metrics"].dump());
  EXPECT_EQ(plain["fit_status"], seam["fit_status"]);
  EXPECT_EQ(plain["alerts"], seam["alerts"]);
  EXPECT_EQ(plain["dataset"]["fingerprint"], seam["dataset"]["fingerprint"]);
  EXPECT_EQ(testing::read_file(dir / "plain" / "alerts.csv"), testing::read_file(dir / "seam" / "alerts.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir / ".seam.parts")) << "parts are removed once the run is committed";
}

TEST_F(ScaleOutTest, SweepThroughTheSeamEqualsThePlainRun) {
  const ThreadLimit limit(2);
  SweepOptions o;
  o.data = dir / "data.h5";
  o.model = "seasonal-mad";
  o.grid = {"weeks=4,8"};
  o.block_series = 16;
  o.out_dir = dir / "plain";
  nlohmann::json plain = run_sweep(o);
  SingleProcessGroup group;
  ScaleOut scale_out(group);
  o.out_dir = dir / "seam";
  nlohmann::json seam = run_sweep(o, &scale_out);
  EXPECT_EQ(testing::read_file(dir / "plain" / "sweep.csv"), testing::read_file(dir / "seam" / "sweep.csv"));
  EXPECT_EQ(seam["processes"]["count"], 1);
  ASSERT_FALSE(plain["best"].is_null());
  for (nlohmann::json* j : {&plain, &seam})
    for (const char* key : {"throughput", "context", "command", "processes"}) j->erase(key);
  EXPECT_EQ(plain.dump(), seam.dump());
}

TEST_F(ScaleOutTest, ThePlansFingerprintIsTheSummarys) {
  const ThreadLimit limit(2);
  const BacktestSummary summary = run_backtest({.data = dir / "data.h5", .out_dir = dir / "run", .random_baseline = false});
  DatasetReader reader(dir / "data.h5");
  SingleProcessGroup group;
  ScaleOut scale_out(group);
  scale_out.partition(reader, dir / "unused", "test", true);
  EXPECT_EQ(scale_out.dataset_fingerprint(), summary.dataset.fingerprint);
  EXPECT_EQ(scale_out.range(), (SeriesRange{0, 90}));
}

TEST_F(ScaleOutTest, CountsSurviveIntegersAndSummedHalvesEqualTheWhole) {
  DatasetReader reader(dir / "data.h5");
  const DatasetInfo& info = reader.info();
  const std::unique_ptr<Detector> detector = make_detector("seasonal-mad", {}, info.grid);
  EvaluationConfig config;
  config.z = detector->flag_threshold();
  EvaluationAccumulator whole(config), first(config), second(config);
  SeriesBlock b;
  reader.read(0, info.series_count, b);
  const auto t = static_cast<std::size_t>(b.steps);
  std::vector<float> e(t), lo(t), hi(t), sc(t);
  const auto ws = detector->make_workspace();
  for (std::int64_t i = 0; i < b.count; ++i) {
    detector->detect({b.row(i), static_cast<std::uint64_t>(i)}, DetectionWindow::retrospective(b.steps), *ws, {e, lo, hi, sc});
    SeriesEvaluationInput in;
    in.values = b.row(i);
    in.labels = b.label_row(i);
    const SeriesRecord& r = b.series[static_cast<std::size_t>(i)];
    in.events = std::span<const EventRecord>(b.events).subspan(r.first_event, r.event_count);
    in.expected = e, in.lower = lo, in.upper = hi, in.score = sc;
    in.price_per_unit = r.price_per_unit;
    in.series_index = static_cast<std::uint64_t>(i);
    in.score_end = b.steps;
    whole.add_series(in);
    (i < 37 ? first : second).add_series(in);
  }
  const std::vector<std::int64_t> a = counts_to_integers(first.counts()), c = counts_to_integers(second.counts());
  ASSERT_EQ(a.size(), c.size());
  EXPECT_EQ(counts_from_integers(a, first.counts()), first.counts());
  std::vector<std::int64_t> sum(a.size());
  for (std::size_t k = 0; k < a.size(); ++k) sum[k] = a[k] + c[k];
  EXPECT_EQ(sum, counts_to_integers(whole.counts()));
  EvaluationAccumulator merged(config);
  merged.merge(counts_from_integers(sum, whole.counts()));
  EXPECT_GT(merged.counts().flagged_steps, 0);
  EXPECT_EQ(merged.report().to_json().dump(), whole.report().to_json().dump());
  EXPECT_THROW(counts_from_integers(std::span(sum).first(sum.size() - 1), whole.counts()), std::invalid_argument);
}

}  // namespace
}  // namespace meterbench
