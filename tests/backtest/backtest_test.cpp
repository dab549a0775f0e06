// Contract: a backtest's metrics, alerts and dataset fingerprint are bit-identical for any thread count and
// block size; the run directory holds the documented files and keys; a dataset without labels still runs;
// the weekly schedule raises alerts at the end of the week of their first flag; an existing run directory is not replaced unless asked;
// alerts.csv holds one row per incident (detect's columns and kind guess, then raised_at and true_event), largest
// |impact| first, those with a known |impact| below --min-impact left out.
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "meterbench/backtest/backtest.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "support/small_dataset.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

nlohmann::json read_json(const std::filesystem::path& path) { return nlohmann::json::parse(testing::read_file(path)); }

std::string first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

class BacktestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::generate_small_dataset(dir / "data.h5", 120, 400, 2);
  }
  nlohmann::json backtest(const std::string& name, int threads, std::int64_t block, const std::string& model = "gam",
                          Schedule schedule = Schedule::retrospective, double min_impact = 100.0) {
    const ThreadLimit limit(threads);
    BacktestOptions o;
    o.data = dir / "data.h5";
    o.model = model;
    o.out_dir = dir / name;
    o.block_series = block;
    o.schedule = schedule;
    o.weeks = 8;
    o.impact_filter_usd = min_impact;
    return to_json(run_backtest(o));
  }
  ScratchDir dir;
};

TEST_F(BacktestTest, MetricsAndAlertsAreBitIdenticalForAnyThreadCountAndBlockSize) {
  const nlohmann::json a = backtest("t1", 1, 7);
  const nlohmann::json b = backtest("t2", 2, 50);
  const nlohmann::json c = backtest("t2big", 2, 1000);
  ASSERT_FALSE(a["metrics"].is_null());
  EXPECT_EQ(a["metrics"].dump(), b["metrics"].dump());
  EXPECT_EQ(a["metrics"].dump(), c["metrics"].dump());
  EXPECT_EQ(a["baseline_random"]["metrics"].dump(), b["baseline_random"]["metrics"].dump());
  EXPECT_EQ(a["fit_status"], b["fit_status"]);
  EXPECT_EQ(a["dataset"]["fingerprint"], b["dataset"]["fingerprint"]);
  EXPECT_EQ(a["dataset"]["fingerprint"], c["dataset"]["fingerprint"]);
  EXPECT_EQ(testing::read_file(dir / "t1" / "alerts.csv"), testing::read_file(dir / "t2" / "alerts.csv"));
  EXPECT_EQ(testing::read_file(dir / "t1" / "pr_curve.csv"), testing::read_file(dir / "t2big" / "pr_curve.csv"));
  EXPECT_EQ(testing::read_file(dir / "t1" / "per_kind.csv"), testing::read_file(dir / "t2" / "per_kind.csv"));
}

TEST_F(BacktestTest, RandomBaselineSampleIsDeterministicAndRecorded) {
  auto sampled = [&](const std::string& name, int threads, std::int64_t block) {
    const ThreadLimit limit(threads);
    BacktestOptions o;
    o.data = dir / "data.h5";
    o.out_dir = dir / name;
    o.block_series = block;
    o.write_alerts = false;
    o.random_baseline_series = 40;
    o.random_baseline_chunk = 10;
    return to_json(run_backtest(o));
  };
  const nlohmann::json a = sampled("s1", 1, 7);
  const nlohmann::json b = sampled("s2", 2, 50);
  const nlohmann::json full = backtest("full", 2, 0);
  EXPECT_EQ(a["baseline_random"]["series"], 40);
  EXPECT_EQ(a["baseline_random"]["sample"]["chunks"], 4);
  EXPECT_EQ(a["baseline_random"]["sample"]["of_chunks"], 12);
  EXPECT_EQ(a["baseline_random"]["metrics"].dump(), b["baseline_random"]["metrics"].dump());
  EXPECT_EQ(a["baseline_random"]["sample"], b["baseline_random"]["sample"]);
  // The sample sees fewer series than the full run; the main metrics and the flag rate are the full run's.
  EXPECT_LT(a["baseline_random"]["metrics"]["counts"]["series"].get<std::int64_t>(), 120);
  EXPECT_EQ(full["baseline_random"]["series"], 120);
  EXPECT_TRUE(full["baseline_random"]["sample"].is_null());
  EXPECT_EQ(a["metrics"].dump(), full["metrics"].dump());
  EXPECT_EQ(a["baseline_random"]["flag_rate"], full["baseline_random"]["flag_rate"]);
}

TEST_F(BacktestTest, RunDirectoryHoldsTheDocumentedFilesAndKeys) {
  const ThreadLimit limit(2);
  run_backtest({.data = dir / "data.h5", .out_dir = dir / "run", .save_bands = true});
  const nlohmann::json s = read_json(dir / "run" / "summary.json");
  for (const char* key : {"/metrics/point/precision", "/metrics/point/recall", "/metrics/point/f1", "/metrics/event/precision",
                          "/metrics/event/recall", "/metrics/event/f1", "/metrics/dollar_recall", "/metrics/false_alerts_per_1000_series_weeks",
                          "/metrics/auc_pr", "/throughput/series_per_second", "/throughput/points_per_second", "/throughput/wall_seconds",
                          "/peak_rss_bytes", "/dataset/fingerprint", "/model/name", "/model/parameters", "/schedule/name",
                          "/fit_status/ok", "/context/cpu", "/context/build_type", "/context/libraries", "/schema_version",
                          "/baseline_random/metrics/event/f1"})
    EXPECT_TRUE(s.contains(nlohmann::json::json_pointer(key))) << key;
  EXPECT_EQ(s["dataset"]["series"], 120);
  EXPECT_EQ(s["model"]["name"], "gam");
  EXPECT_EQ(first_line(dir / "run" / "alerts.csv"),
            "customer,meter,kind,start,end,days,direction,observed_total,expected_total,impact,currency,peak_score,raised_at,true_event");
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "per_kind.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "pr_curve.csv"));
  const auto dump = testing::run_command("h5dump -H " + (dir / "run" / "bands.h5").string());
  for (const char* band : {"\"expected\"", "\"lower\"", "\"upper\"", "\"score\""})
    EXPECT_NE(dump.output.find(std::string("DATASET ") + band), std::string::npos) << dump.output;
  EXPECT_NE(dump.output.find("SIMPLE { ( 120, 400 )"), std::string::npos);
}

std::vector<std::vector<std::string>> alert_rows(const std::filesystem::path& path) {
  auto rows = testing::read_simple_csv(path);
  rows.erase(rows.begin());  // the header
  return rows;
}

TEST_F(BacktestTest, AlertsAreIncidentsByImpactWithoutThoseBelowMinImpact) {
  constexpr std::size_t kKind = 2, kStart = 3, kEnd = 4, kDirection = 6, kImpact = 9, kTrueEvent = 13;
  backtest("all", 2, 0, "gam", Schedule::retrospective, 0.0);
  backtest("large", 2, 0, "gam", Schedule::retrospective, 100.0);
  const auto all = alert_rows(dir / "all" / "alerts.csv");
  const auto large = alert_rows(dir / "large" / "alerts.csv");
  ASSERT_GT(large.size(), 5u);
  ASSERT_GT(all.size(), large.size());
  std::set<std::string> kinds, verdicts, all_keys;
  double previous = std::numeric_limits<double>::infinity();
  for (const auto& row : all) {
    ASSERT_EQ(row.size(), 14u);
    kinds.insert(row[kKind]);
    verdicts.insert(row[kTrueEvent]);
    EXPECT_LE(row[kStart], row[kEnd]);
    const double impact = std::stod(row[kImpact]);  // the generated prices are all known
    EXPECT_EQ(row[kDirection], impact > 0 ? "over" : "under");
    EXPECT_LE(std::fabs(impact), previous) << "sorted by |impact|";
    previous = std::fabs(impact);
    all_keys.insert(row[0] + "," + row[1] + "," + row[kStart]);
  }
  EXPECT_EQ(verdicts, (std::set<std::string>{"false", "true"}));
  EXPECT_TRUE(kinds.count("spike") && kinds.count("level_shift")) << kinds.size();
  for (const auto& row : large) {
    EXPECT_GE(std::fabs(std::stod(row[kImpact])), 100.0);
    EXPECT_EQ(all_keys.count(row[0] + "," + row[1] + "," + row[kStart]), 1u);
  }
}

TEST_F(BacktestTest, ExistingRunDirectoryIsNotReplacedUnlessAsked) {
  std::filesystem::create_directories(dir / "run");
  testing::write_file(dir / "run" / "notes.txt", "mine");
  EXPECT_THROW(backtest("run", 1, 0), OutputError);
  EXPECT_EQ(testing::read_file(dir / "run" / "notes.txt"), "mine");
}

TEST_F(BacktestTest, WeeklyScheduleRaisesAlertsAtWeekEnds) {
  const nlohmann::json s = backtest("weekly", 2, 0, "gam", Schedule::weekly);
  EXPECT_EQ(s["schedule"]["name"], "weekly");
  EXPECT_EQ(s["schedule"]["weeks"], 8);
  std::ifstream in(dir / "weekly" / "alerts.csv");
  std::string line;
  std::getline(in, line);
  int alerts = 0;
  // The weekly runs happen at the end of each scored week: the last step (a Sunday here) of 8 weeks back.
  const std::int64_t first_scored = parse_utc_timestamp("2024-01-01") + (400 - 8 * 7) * kSecondsPerDay;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    ASSERT_EQ(cells.size(), 14u) << line;
    // An alert is raised by the run that first sees its first flag: at the end of that flag's week, never
    // before the alert starts and less than a week after.
    const std::int64_t start = parse_utc_timestamp(cells[3]);
    const std::int64_t raised = parse_utc_timestamp(cells[12]);
    EXPECT_GE(raised, start) << line;
    EXPECT_LT(raised - start, 7 * kSecondsPerDay) << line;
    EXPECT_EQ((raised - first_scored) / kSecondsPerDay % 7, 6) << line;
    ++alerts;
  }
  EXPECT_GT(alerts, 0);
}

TEST(Backtest, DatasetWithoutLabelsStillRunsWithoutMetrics) {
  ScratchDir dir;
  DatasetInfo info;
  info.grid = {parse_utc_timestamp("2024-01-01"), kSecondsPerDay, 200};
  info.series_count = 5;
  info.has_labels = false;
  info.source = "test";
  {
    DatasetWriter writer(dir / "u.h5", info);
    SeriesBlock b;
    b.reset(0, 5, 200, false);
    for (std::int64_t i = 0; i < 5; ++i) {
      for (std::int64_t t = 0; t < 200; ++t) b.row(i)[static_cast<std::size_t>(t)] = 100.0f + static_cast<float>((t * 7919 + i * 31) % 13);
      b.row(i)[150] = 900.0f;  // an obvious spike
      b.series[static_cast<std::size_t>(i)].set_ids("c" + std::to_string(i), "m");
      b.series[static_cast<std::size_t>(i)].price_per_unit = 1.0;
    }
    writer.write(b);
    writer.finish();
  }
  BacktestOptions o;
  o.data = dir / "u.h5";
  o.out_dir = dir / "run";
  const ThreadLimit limit(1);
  const nlohmann::json s = to_json(run_backtest(o));
  EXPECT_TRUE(s["metrics"].is_null());
  EXPECT_FALSE(s.contains("baseline_random"));
  EXPECT_GE(s["alerts"].get<int>(), 5);
  EXPECT_FALSE(std::filesystem::exists(dir / "run" / "per_kind.csv"));
  EXPECT_NE(testing::read_file(dir / "run" / "alerts.csv").find("c3,m,spike,2024-05-30,2024-05-30,1,over,"), std::string::npos);  // step 150
}

}  // namespace
}  // namespace meterbench
