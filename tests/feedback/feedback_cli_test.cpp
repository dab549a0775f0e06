// The verdicts of reviewers through the CLI: backtest, sweep and report read --feedback (reviewed incidents as
// true or false positives, unreviewed alerts unknown), ingested labels with a verdict column count the same way,
// detect --feedback does not raise again what a reviewer judged false, and sweep warns about small samples.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "meterbench/feedback/feedback_log.hpp"
#include "meterbench/feedback/verdict_metrics.hpp"
#include "meterbench/sweep/sweep.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::contains;
using testing::read_file;
using testing::run_cli;
using testing::ScratchDir;
using testing::write_file;

nlohmann::json read_json(const std::filesystem::path& path) { return nlohmann::json::parse(read_file(path)); }

struct IncidentRow {
  std::string customer, meter, start, end;
};

// customer,meter,kind,start,end,...: generated ids hold no commas or quotes.
std::vector<IncidentRow> read_incidents(const std::filesystem::path& csv) {
  std::istringstream in(read_file(csv));
  std::string line;
  std::getline(in, line);
  std::vector<IncidentRow> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) f.push_back(cell);
    rows.push_back({f.at(0), f.at(1), f.at(3), f.at(4)});
  }
  return rows;
}

void append(const std::filesystem::path& file, Verdict v, const IncidentRow& row) {
  FeedbackRecord r;
  r.verdict = v;
  r.customer = row.customer;
  r.meter = row.meter;
  r.start = row.start;
  r.end = row.end;
  r.user = "test";
  append_feedback(file, r);
}

// A generated dataset and its incidents, shared by the tests of the suite.
class FeedbackCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("FeedbackCli");
    write_file(*dir_ / "scenario.toml", testing::small_scenario(48, 300));
    const auto g = run_cli("generate --scenario " + (*dir_ / "scenario.toml").string() + " --out " + data().string());
    ASSERT_EQ(g.exit_code, 0) << g.output;
    const auto d = run_cli("detect --data " + data().string() + " --min-impact 0 --out " + (*dir_ / "incidents.csv").string());
    ASSERT_EQ(d.exit_code, 0) << d.output;
    incidents_ = new std::vector<IncidentRow>(read_incidents(*dir_ / "incidents.csv"));
    ASSERT_GE(incidents_->size(), 12U);
  }
  static void TearDownTestSuite() {
    delete incidents_;
    delete dir_;
  }
  static std::filesystem::path data() { return *dir_ / "g.h5"; }
  // The first 10 incidents reviewed: 6 anomalies, 4 not an anomaly.
  static void write_verdicts(const std::filesystem::path& file) {
    for (std::size_t i = 0; i < 10; ++i) append(file, i < 6 ? Verdict::anomaly : Verdict::not_anomaly, (*incidents_)[i]);
  }
  static ScratchDir* dir_;
  static std::vector<IncidentRow>* incidents_;
};
ScratchDir* FeedbackCli::dir_ = nullptr;
std::vector<IncidentRow>* FeedbackCli::incidents_ = nullptr;

// detect's own incidents, reviewed, read back at the same parameters: each verdict is alerted, anomalies are
// true positives, not_anomaly verdicts false positives, the other alerts unreviewed (unknown).
TEST_F(FeedbackCli, BacktestCountsReviewedIncidentsAndLeavesOthersUnknown) {
  const ScratchDir dir;
  const auto feedback = dir / "feedback.jsonl";
  write_verdicts(feedback);
  const auto r = run_cli("backtest --data " + data().string() + " --feedback " + feedback.string() + " --no-baseline --out " + (dir / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json summary = read_json(dir / "run" / "summary.json");
  ASSERT_TRUE(summary.contains("reviewed")) << summary.dump(1);
  const nlohmann::json& rv = summary["reviewed"];
  EXPECT_EQ(rv["verdicts"]["anomaly"], 6);
  EXPECT_EQ(rv["verdicts"]["not_anomaly"], 4);
  EXPECT_EQ(rv["verdicts"]["unmatched"], 0);
  EXPECT_EQ(rv["true_positives"], 6);
  EXPECT_EQ(rv["false_positives"], 4);
  EXPECT_DOUBLE_EQ(rv["precision"]["value"].get<double>(), 0.6);
  EXPECT_EQ(rv["precision"]["n"], 10);
  const WilsonEstimate w = wilson_interval(6, 10);
  EXPECT_DOUBLE_EQ(rv["precision"]["ci95_low"].get<double>(), *w.low);
  EXPECT_DOUBLE_EQ(rv["precision"]["ci95_high"].get<double>(), *w.high);
  EXPECT_DOUBLE_EQ(rv["recall"]["value"].get<double>(), 1.0);
  const std::int64_t alerts = summary["alerts"];
  EXPECT_EQ(rv["alerts"]["total"], alerts);
  EXPECT_EQ(rv["alerts"]["reviewed"], 10);
  EXPECT_EQ(rv["alerts"]["unreviewed"], alerts - 10);
  // Fewer than 30 verdicts behind both figures: warned in summary.json and in the log.
  EXPECT_EQ(rv["warnings"].size(), 2U);
  EXPECT_TRUE(contains(r.output, "reviewed precision rests on 10")) << r.output;
  EXPECT_TRUE(contains(r.output, "reviewed (6 anomaly, 4 not_anomaly verdicts): precision 0.6000")) << r.output;
  // Integer counts: the same figures on one thread.
  const auto one = run_cli("backtest --threads 1 --block 7 --data " + data().string() + " --feedback " + feedback.string() +
                           " --no-baseline --out " + (dir / "run1").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(read_json(dir / "run1" / "summary.json")["reviewed"], rv);
}

// A damaged line is reported with its line number, never taken for a verdict; the run goes on.
TEST_F(FeedbackCli, DamagedFeedbackLinesAreWarnedAbout) {
  const ScratchDir dir;
  const auto feedback = dir / "feedback.jsonl";
  write_verdicts(feedback);
  std::ofstream(feedback, std::ios::app) << "{\"not\": \"a verdict\"\n";
  const auto r = run_cli("backtest --data " + data().string() + " --feedback " + feedback.string() + " --no-baseline --no-alerts --out " +
                         (dir / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "line 12: not valid JSON")) << r.output;
  EXPECT_EQ(read_json(dir / "run" / "summary.json")["reviewed"]["verdicts"]["anomaly"], 6);
  write_file(dir / "other.jsonl", "{\"format\":\"something\"}\n");
  const auto bad = run_cli("backtest --data " + data().string() + " --feedback " + (dir / "other.jsonl").string() + " --out " + (dir / "run2").string());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.output, "line 1: not a meterbench feedback file")) << bad.output;
}

// Incidents a reviewer marked "not an anomaly" are not raised again for the same series and period.
TEST_F(FeedbackCli, DetectDropsIncidentsJudgedFalse) {
  const ScratchDir dir;
  const auto feedback = dir / "feedback.jsonl";
  write_verdicts(feedback);
  const auto r = run_cli("detect --data " + data().string() + " --min-impact 0 --feedback " + feedback.string() + " --out " +
                         (dir / "incidents.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::vector<IncidentRow> kept = read_incidents(dir / "incidents.csv");
  EXPECT_EQ(kept.size(), incidents_->size() - 4);
  for (std::size_t i = 6; i < 10; ++i) {
    const IncidentRow& judged = (*incidents_)[i];
    for (const IncidentRow& k : kept)
      EXPECT_FALSE(k.customer == judged.customer && k.meter == judged.meter && k.start == judged.start) << judged.customer;
  }
}

// sweep --feedback: reviewed columns in sweep.csv, reviewed metrics in best.json, the reviewed_f1 objective, and
// warnings about the small number of verdicts.
TEST_F(FeedbackCli, SweepReadsVerdicts) {
  const ScratchDir dir;
  const auto feedback = dir / "feedback.jsonl";
  // In each half of the split: 4 incidents marked anomaly, then 2 not an anomaly.
  int marked[2] = {0, 0};
  for (const IncidentRow& row : *incidents_) {
    int& n = marked[static_cast<int>(split_half(row.customer, row.meter))];
    if (n < 6) append(feedback, n++ < 4 ? Verdict::anomaly : Verdict::not_anomaly, row);
  }
  ASSERT_EQ(marked[0] + marked[1], 12);
  const auto r = run_cli("sweep --data " + data().string() + " --grid transform=none,log1p --objective reviewed_f1 --feedback " + feedback.string() +
                         " --no-baseline --out " + (dir / "sweep").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(read_file(dir / "sweep" / "sweep.csv").substr(0, 400), ",objective,reviewed_precision,reviewed_recall,reviewed_f1\n"));
  const nlohmann::json best = read_json(dir / "sweep" / "best.json");
  ASSERT_FALSE(best["best"].is_null()) << best.dump(1);
  const std::int64_t tuning = best["best"]["tuning"]["reviewed"]["verdicts"]["anomaly"], test = best["best"]["test"]["reviewed"]["verdicts"]["anomaly"];
  EXPECT_EQ(tuning, 4);
  EXPECT_EQ(test, 4);
  EXPECT_DOUBLE_EQ(best["best"]["objective"].get<double>(), best["best"]["tuning"]["reviewed"]["f1"].get<double>());
  EXPECT_TRUE(contains(best["warnings"].dump(), "not_anomaly verdicts (fewer than 30)")) << best["warnings"].dump();
  EXPECT_TRUE(contains(best["command"].get<std::string>(), "--feedback")) << best["command"];
  const auto none = run_cli("sweep --data " + data().string() + " --grid transform=none --objective reviewed_f1 --out " + (dir / "s2").string());
  EXPECT_NE(none.exit_code, 0);
  EXPECT_TRUE(contains(none.output, "--objective reviewed_f1 needs reviewers' verdicts")) << none.output;
}

// report --feedback scores a backtest's alerts.csv against the verdicts: the same figures as backtest --feedback.
TEST_F(FeedbackCli, ReportScoresTheAlertsAgainstVerdicts) {
  if (run_cli("models").exit_code != 0 || testing::run_command("/usr/bin/python3 -c 'import matplotlib, pandas, h5py'").exit_code != 0)
    GTEST_SKIP() << "the report needs python3 with matplotlib, pandas and h5py";
  const ScratchDir dir;
  const auto feedback = dir / "feedback.jsonl";
  write_verdicts(feedback);
  ASSERT_EQ(run_cli("backtest --data " + data().string() + " --no-baseline --out " + (dir / "run").string()).exit_code, 0);
  const auto r = run_cli("report " + (dir / "run").string() + " --series 0 --feedback " + feedback.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json reviewed = read_json(dir / "run" / "report_files" / "reviewed.json");
  EXPECT_EQ(reviewed["true_positives"], 6);
  EXPECT_EQ(reviewed["false_positives"], 4);
  EXPECT_EQ(reviewed["alerts"]["reviewed"], 10);
  EXPECT_TRUE(contains(read_file(dir / "run" / "report.html"), "Reviewed incidents"));
}

// A small usage export: 40 series x 200 days, spikes on day 150 (even series) and day 120 (every fourth).
void write_export(const std::filesystem::path& usage, const std::filesystem::path& labels, bool with_not_anomaly) {
  std::string u = "customer,meter,date,quantity,price\n", l = "customer,meter,start,end,verdict\n";
  const std::int64_t start = parse_utc_timestamp("2024-01-01");
  for (int c = 0; c < 40; ++c) {
    const std::string id = fmt::format("c{:02}", c);
    for (int d = 0; d < 200; ++d) {
      double q = 100.0 + static_cast<double>((c * 7919 + d * 104729) % 11) - 5.0;
      if (d == 150 && c % 2 == 0) q *= 5.0;
      if (d == 120 && c % 4 == 1) q *= 4.0;
      u += fmt::format("{},m,{},{},0.5\n", id, format_utc_date(start + d * kSecondsPerDay), q);
    }
    if (c % 2 == 0) l += fmt::format("{},m,{},{},anomaly\n", id, format_utc_date(start + 150 * kSecondsPerDay), format_utc_date(start + 150 * kSecondsPerDay));
    if (c % 4 == 1 && with_not_anomaly)
      l += fmt::format("{},m,{},{},not_anomaly\n", id, format_utc_date(start + 120 * kSecondsPerDay), format_utc_date(start + 120 * kSecondsPerDay));
  }
  write_file(usage, u);
  write_file(labels, l);
}

// Ingested labels are a reviewer's verdicts: verdict=not_anomaly rows change the reviewed precision, and alerts
// no label covers are unknown rather than false. sweep on them warns about their small number and, for the
// dollar objective, says that ingested labels carry no impact.
TEST(FeedbackIngested, LabelsWithAVerdictColumnCountAsVerdicts) {
  const ScratchDir dir;
  std::vector<double> precision;
  for (const bool with_not_anomaly : {false, true}) {
    const std::string tag = with_not_anomaly ? "b" : "a";
    write_export(dir / ("usage" + tag + ".csv"), dir / ("labels" + tag + ".csv"), with_not_anomaly);
    const auto i = run_cli("ingest --csv " + (dir / ("usage" + tag + ".csv")).string() + " --labels " + (dir / ("labels" + tag + ".csv")).string() +
                           " --out " + (dir / (tag + ".h5")).string());
    ASSERT_EQ(i.exit_code, 0) << i.output;
    const auto b = run_cli("backtest --data " + (dir / (tag + ".h5")).string() + " --no-baseline --out " + (dir / ("run" + tag)).string());
    ASSERT_EQ(b.exit_code, 0) << b.output;
    const nlohmann::json summary = read_json(dir / ("run" + tag) / "summary.json");
    ASSERT_TRUE(summary.contains("reviewed")) << summary.dump(1);
    EXPECT_EQ(summary["reviewed"]["sources"], nlohmann::json::array({"ingested labels"}));
    EXPECT_EQ(summary["reviewed"]["verdicts"]["anomaly"], 20);
    EXPECT_EQ(summary["reviewed"]["verdicts"]["not_anomaly"], with_not_anomaly ? 10 : 0);
    precision.push_back(summary["reviewed"]["precision"]["value"].get<double>());
  }
  // Without verdicts of "not an anomaly" no reviewed alert is false: unreviewed alerts do not count against it.
  EXPECT_DOUBLE_EQ(precision[0], 1.0);
  EXPECT_LT(precision[1], 1.0);

  const auto s = run_cli("sweep --data " + (dir / "b.h5").string() + " --grid transform=none,log1p --objective dollar_recall_at_budget --no-baseline --out " +
                         (dir / "sweep").string());
  ASSERT_EQ(s.exit_code, 0) << s.output;
  EXPECT_TRUE(contains(s.output, "carry no impact (labels ingested from a CSV have none)")) << s.output;
  const nlohmann::json best = read_json(dir / "sweep" / "best.json");
  EXPECT_TRUE(contains(best["warnings"].dump(), "labelled events (fewer than 30)")) << best["warnings"].dump();
  EXPECT_TRUE(contains(best["warnings"].dump(), "carry no impact")) << best["warnings"].dump();
  EXPECT_TRUE(contains(best["warnings"].dump(), "--objective reviewed_f1 counts them as unknown")) << best["warnings"].dump();
}

}  // namespace
}  // namespace meterbench
