// Verdicts as labels: the Wilson interval against statsmodels' values, the counting of reviewed incidents over
// the threshold curve, the alerts at z, and the suppression of incidents a reviewer judged false.
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "meterbench/feedback/verdict_metrics.hpp"

namespace meterbench {
namespace {

// Reference: statsmodels.stats.proportion.proportion_confint(k, n, method="wilson").
TEST(VerdictMetrics, WilsonIntervalMatchesStatsmodels) {
  struct Case {
    std::int64_t k, n;
    double low, high;
  };
  for (const Case c : {Case{8, 10, 0.490162471537, 0.943317848546}, Case{0, 5, 0.0, 0.434482464783}, Case{40, 60, 0.540568664521, 0.772707384765},
                       Case{30, 30, 0.886486606826, 1.0}}) {
    const WilsonEstimate w = wilson_interval(c.k, c.n);
    ASSERT_TRUE(w.value && w.low && w.high);
    EXPECT_DOUBLE_EQ(*w.value, static_cast<double>(c.k) / static_cast<double>(c.n));
    EXPECT_NEAR(*w.low, c.low, 1e-9) << c.k << "/" << c.n;
    EXPECT_NEAR(*w.high, c.high, 1e-9) << c.k << "/" << c.n;
  }
  const WilsonEstimate none = wilson_interval(0, 0);
  EXPECT_FALSE(none.value || none.low || none.high);
}

FeedbackRecord record(Verdict v, const std::string& customer, const std::string& start, const std::string& end, std::int64_t seq) {
  FeedbackRecord r;
  r.seq = seq;
  r.verdict = v;
  r.customer = customer;
  r.meter = "m";
  r.start = start;
  r.end = end;
  return r;
}

// One series of 20 daily steps from 2024-01-01; scores 0 except where set.
struct Series {
  std::vector<float> values = std::vector<float>(20, 1.0F);
  std::vector<float> score = std::vector<float>(20, 0.0F);
};

// A verdict is alerted at threshold th when a step inside it scores above th: "anomaly" verdicts are true
// positives, "not_anomaly" ones false positives; unalerted anomalies are missed; alerts outside every verdict are
// unreviewed (unknown), not false.
TEST(VerdictMetrics, ReviewedIncidentsAreTrueOrFalsePositivesOverTheCurve) {
  FeedbackLog log;
  log.records = {record(Verdict::anomaly, "c", "2024-01-03", "2024-01-04", 1),      // steps 2-3, score 6 at step 3
                 record(Verdict::not_anomaly, "c", "2024-01-08", "2024-01-08", 2),  // step 7, score 4
                 record(Verdict::anomaly, "c", "2024-01-12", "2024-01-13", 3),      // steps 11-12, no flag: missed
                 record(Verdict::anomaly, "other", "2024-01-03", "2024-01-04", 4)}; // no such series in this run
  const TimeGrid grid{.start_unix_seconds = parse_utc_timestamp("2024-01-01"), .step_seconds = kSecondsPerDay, .steps = 20};
  const VerdictIndex index(log, grid, false);
  std::vector<VerdictSteps> verdicts;
  index.verdicts_of("c", "m", {}, verdicts);
  ASSERT_EQ(verdicts.size(), 3U);
  EXPECT_EQ(verdicts[0].start, 2);
  EXPECT_EQ(verdicts[0].end, 3);

  Series s;
  s.score[3] = 6.0F;
  s.score[7] = 4.0F;
  s.score[16] = 9.0F;             // an alert no one reviewed
  s.values[12] = std::nanf("");   // missing: never counts
  s.score[12] = 20.0F;
  VerdictAccumulator acc({1.0, 3.5, 5.0, 8.0}, 3.5);
  std::vector<Alert> alerts(2);
  alerts[0].start = alerts[0].end = 3;
  alerts[1].start = alerts[1].end = 16;
  acc.add_series(verdicts, s.values, s.score, 0, 20, alerts);
  const std::int64_t unmatched = index.file_verdicts() - acc.counts().matched_file_verdicts;
  EXPECT_EQ(unmatched, 1);

  const ReviewedMetrics at_z = reviewed_metrics_at_z(acc, unmatched, 2);
  EXPECT_EQ(at_z.anomaly, 2);
  EXPECT_EQ(at_z.not_anomaly, 1);
  EXPECT_EQ(at_z.true_positives, 1);
  EXPECT_EQ(at_z.false_positives, 1);
  EXPECT_DOUBLE_EQ(*at_z.precision.value, 0.5);
  EXPECT_DOUBLE_EQ(*at_z.recall.value, 0.5);
  EXPECT_EQ(*at_z.alerts_reviewed, 1);
  EXPECT_EQ(at_z.warnings.size(), 2U);  // 2 and 2 verdicts behind the figures
  // At z = 5 the not_anomaly verdict (score 4) is no longer alerted: precision 1.
  const ReviewedMetrics at_5 = reviewed_metrics(acc, 2, unmatched);
  EXPECT_EQ(at_5.true_positives, 1);
  EXPECT_EQ(at_5.false_positives, 0);
  EXPECT_DOUBLE_EQ(*at_5.precision.value, 1.0);
  // At z = 8 nothing reviewed is alerted: precision undefined, recall 0.
  const ReviewedMetrics at_8 = reviewed_metrics(acc, 3, unmatched);
  EXPECT_FALSE(at_8.precision.value.has_value());
  EXPECT_DOUBLE_EQ(*at_8.recall.value, 0.0);

  // Merging is exact and the integer layout round-trips.
  VerdictAccumulator twice({1.0, 3.5, 5.0, 8.0}, 3.5);
  twice.merge(acc);
  twice.merge(acc);
  std::vector<std::int64_t> integers;
  twice.counts().append_integers(integers);
  VerdictAccumulator read({1.0, 3.5, 5.0, 8.0}, 3.5);
  std::size_t at = 0;
  read.counts().read_integers(integers, at);
  EXPECT_EQ(at, integers.size());
  EXPECT_EQ(reviewed_metrics(read, 1, 0).true_positives, 2);
  EXPECT_EQ(read.counts().anomaly, 4);
}

TEST(VerdictMetrics, VerdictsOutsideTheScoredWindowAreCountedApart) {
  FeedbackLog log;
  log.records = {record(Verdict::anomaly, "c", "2023-12-01", "2023-12-02", 1), record(Verdict::anomaly, "c", "2024-01-02", "2024-01-02", 2)};
  const TimeGrid grid{.start_unix_seconds = parse_utc_timestamp("2024-01-01"), .step_seconds = kSecondsPerDay, .steps = 20};
  const VerdictIndex index(log, grid, false);
  std::vector<VerdictSteps> verdicts;
  index.verdicts_of("c", "m", {}, verdicts);
  Series s;
  VerdictAccumulator acc({3.5}, 3.5);
  acc.add_series(verdicts, s.values, s.score, 5, 20, {});  // a weekly schedule scoring from step 5
  EXPECT_EQ(acc.counts().outside_window, 2);
  EXPECT_EQ(acc.counts().anomaly, 0);
}

// Ingested labels are verdicts too: anomaly events as "anomaly", kind normal (verdict=not_anomaly rows) as
// "not_anomaly"; gaps are neither.
TEST(VerdictMetrics, IngestedLabelsAreVerdicts) {
  const TimeGrid grid{.start_unix_seconds = 0, .step_seconds = kSecondsPerDay, .steps = 20};
  const VerdictIndex index(FeedbackLog{}, grid, true);
  std::vector<EventRecord> events(3);
  events[0] = {.start = 1, .end = 2, .kind = static_cast<std::uint8_t>(AnomalyKind::reported)};
  events[1] = {.start = 5, .end = 5, .kind = static_cast<std::uint8_t>(AnomalyKind::normal)};
  events[2] = {.start = 8, .end = 9, .kind = static_cast<std::uint8_t>(AnomalyKind::gap)};
  std::vector<VerdictSteps> verdicts;
  index.verdicts_of("c", "m", events, verdicts);
  ASSERT_EQ(verdicts.size(), 2U);
  EXPECT_EQ(verdicts[0].verdict, Verdict::anomaly);
  EXPECT_EQ(verdicts[1].verdict, Verdict::not_anomaly);
  EXPECT_EQ(verdicts[1].start, 5);
  EXPECT_FALSE(verdicts[1].from_file);
}

// An incident overlapping a standing not_anomaly verdict of its series is not raised again; one that also
// overlaps a confirmed anomaly, or belongs to another series, stays.
TEST(VerdictMetrics, IncidentsJudgedFalseAreDropped) {
  FeedbackLog log;
  log.records = {record(Verdict::not_anomaly, "c", "2024-01-03", "2024-01-05", 1), record(Verdict::anomaly, "c", "2024-01-10", "2024-01-10", 2),
                 record(Verdict::not_anomaly, "c", "2024-01-11", "2024-01-11", 3)};
  const TimeGrid grid{.start_unix_seconds = parse_utc_timestamp("2024-01-01"), .step_seconds = kSecondsPerDay, .steps = 20};
  std::unordered_map<std::uint64_t, SeriesRecord> series;
  series[0].set_ids("c", "m");
  series[1].set_ids("d", "m");
  std::vector<Incident> incidents(4);
  incidents[0] = {.series_index = 0, .start = 4, .end = 6};   // overlaps the first not_anomaly verdict: dropped
  incidents[1] = {.series_index = 0, .start = 9, .end = 10};  // overlaps the anomaly and the second not_anomaly: kept
  incidents[2] = {.series_index = 1, .start = 4, .end = 6};   // another series: kept
  incidents[3] = {.series_index = 0, .start = 14, .end = 15}; // no verdict: kept
  EXPECT_EQ(drop_reviewed_false_alerts(incidents, series, log, grid), 1);
  ASSERT_EQ(incidents.size(), 3U);
  EXPECT_EQ(incidents[0].start, 9);
  EXPECT_EQ(incidents[1].series_index, 1U);
}

}  // namespace
}  // namespace meterbench
