// Contract of the evaluation module (docs/metrics.md): on tiny series where every count
// is known by hand, the accumulator reproduces the hand counts; merging accumulators in any order gives the
// same report text; the threshold-grid curve at z equals the direct metrics at z.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "meterbench/evaluate/metrics.hpp"

namespace meterbench {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// One series under construction: flat usage 10, expected 10, band [8, 12], score 0, no labels set yet.
struct TestSeries {
  std::vector<float> values, expected, lower, upper, score;
  std::vector<std::uint8_t> labels;
  std::vector<EventRecord> events;
  double price = 1.0;
  std::uint64_t index = 0;
  std::int64_t begin = 0;
  std::int64_t end = -1;  // -1 = the whole series

  explicit TestSeries(std::size_t n, bool with_labels = true)
      : values(n, 10.0F), expected(n, 10.0F), lower(n, 8.0F), upper(n, 12.0F), score(n, 0.0F) {
    if (with_labels) labels.assign(n, 0);
  }
  // Adds an event and labels its steps [start, end] with its kind.
  TestSeries& event(AnomalyKind kind, std::int64_t start, std::int64_t stop, double size_sigma = 4.0, double impact_usd = 100.0,
                    std::int64_t effect_end = -1) {
    EventRecord ev;
    ev.series = index;
    ev.start = start;
    ev.end = stop;
    ev.effect_end = effect_end < 0 ? stop : effect_end;
    ev.size_sigma = size_sigma;
    ev.impact_usd = impact_usd;
    ev.kind = static_cast<std::uint8_t>(kind);
    events.push_back(ev);
    if (!labels.empty())
      for (std::int64_t t = start; t <= stop; ++t) labels[static_cast<std::size_t>(t)] = ev.kind;
    return *this;
  }
  TestSeries& flag(std::initializer_list<std::int64_t> steps, float s = 5.0F) {
    for (const std::int64_t t : steps) score[static_cast<std::size_t>(t)] = s;
    return *this;
  }
  TestSeries& gap(std::initializer_list<std::int64_t> steps) {
    for (const std::int64_t t : steps) {
      values[static_cast<std::size_t>(t)] = kNaN;
      score[static_cast<std::size_t>(t)] = kNaN;
      if (!labels.empty()) labels[static_cast<std::size_t>(t)] = static_cast<std::uint8_t>(AnomalyKind::gap);
    }
    return *this;
  }
  [[nodiscard]] SeriesEvaluationInput input() const {
    SeriesEvaluationInput in;
    in.values = values;
    in.labels = labels;
    in.events = events;
    in.expected = expected;
    in.lower = lower;
    in.upper = upper;
    in.score = score;
    in.price_per_unit = price;
    in.series_index = index;
    in.score_begin = begin;
    in.score_end = end < 0 ? static_cast<std::int64_t>(values.size()) : end;
    return in;
  }
};

EvaluationConfig small_config() {
  EvaluationConfig c;
  c.z = 3.0;
  c.delay_tolerance_steps = 2;
  c.merge_gap_steps = 2;
  c.steps_per_week = 7;
  return c;
}

EvaluationReport evaluate(const EvaluationConfig& config, const std::vector<TestSeries>& series, std::vector<Alert>* alerts = nullptr) {
  EvaluationAccumulator acc(config);
  for (const TestSeries& s : series) acc.add_series(s.input(), alerts);
  return acc.report();
}

// Point counts are over observed steps only: the NaN step (a gap event, not an anomaly) is in no count.
// n = 10, spike [3,4], flags at 4 and 6, gap at 8: observed 9; TP = {4}, FN = {3}, FP = {6}, TN = 9 - 3 = 6.
// Alerts {4} (true: overlaps [3,4]) and {6} (false). The spike is caught by the flag at 4 (delay 1 <= k = 2).
TEST(Evaluation, PointCountsIgnoreMissingSteps) {
  TestSeries s(10);
  s.event(AnomalyKind::spike, 3, 4).flag({4, 6}).gap({8});
  s.event(AnomalyKind::gap, 8, 8);
  const EvaluationReport r = evaluate(small_config(), {s});
  EXPECT_EQ(r.counts.observed_steps, 9);
  EXPECT_EQ(r.counts.flagged_steps, 2);
  EXPECT_EQ(r.counts.point_tp, 1);
  EXPECT_EQ(r.counts.point_fn, 1);
  EXPECT_EQ(r.counts.point_fp, 1);
  EXPECT_EQ(r.counts.point_tn, 6);
  EXPECT_DOUBLE_EQ(*r.point.precision, 0.5);
  EXPECT_DOUBLE_EQ(*r.point.recall, 0.5);
  EXPECT_DOUBLE_EQ(*r.point.f1, 0.5);
  EXPECT_EQ(r.counts.events.events, 1);  // the gap event is not an anomaly
  EXPECT_EQ(r.counts.events.caught, 1);
  EXPECT_EQ(r.counts.alerts.total, 2);
  EXPECT_EQ(r.counts.alerts.true_alerts, 1);
  EXPECT_EQ(r.counts.alerts.false_alerts, 1);
  EXPECT_DOUBLE_EQ(*r.event.precision, 0.5);
  EXPECT_DOUBLE_EQ(*r.event.recall, 1.0);
  EXPECT_DOUBLE_EQ(r.flag_rate(), 2.0 / 9.0);
}

// A missing step the detector scored (a rule alert on a meter that stopped reporting: score 1000 at a NaN
// value) is a scored step: its flags make an alert that catches the stopped_reporting event there.
// n = 12, stopped_reporting [8, 11] with the values missing; flags (score 1000) at 9-11: one true alert, recall 1.
TEST(Evaluation, FlaggedMissingStepsCount) {
  TestSeries s(12);
  s.event(AnomalyKind::stopped_reporting, 8, 11);
  for (std::size_t t = 8; t < 12; ++t) s.values[t] = kNaN;
  s.score[8] = kNaN;
  s.flag({9, 10, 11}, 1000.0F);
  std::vector<Alert> alerts;
  const EvaluationReport r = evaluate(small_config(), {s}, &alerts);
  EXPECT_EQ(r.counts.flagged_steps, 3);
  EXPECT_EQ(r.counts.events.events, 1);
  EXPECT_EQ(r.counts.events.caught, 1);
  EXPECT_EQ(r.counts.alerts.total, 1);
  EXPECT_EQ(r.counts.alerts.true_alerts, 1);
  ASSERT_EQ(alerts.size(), 1u);
}

// n = 20, k = 2. Events: A spike [0,1] (series start), B dip [5,6] and C spike [7,8] (adjacent), F unit_error
// [12,15] and G double_counting [14,16] (overlapping), E spike [19,19] (last step).
// Flags 1, 6-7, 16, 19 -> alerts {1}, [6,7] (spans B and C), {16}, {19}: all true, precision 4/4.
// Caught: A (delay 1), B (1), C (0), G (16 - 14 = 2 = k), E (0); F is not (16 is past its end): recall 5/6.
// Time to detect, delays {0,0,1,1,2} days: p50 = 3rd = 1 day, p90 = 5th = 2 days; within 7 days 5/6.
// Range-based (flat): recall = (1/2 + 1/2 + 1/2 + 0 + 1/3 + 1) / 6 = (17/6) / 6;
// precision = (1 + (1/2)(1/2 + 1/2) + 1 + 1) / 4 = 3.5 / 4 ([6,7] overlaps two events: gamma = 1/2).
// Buckets by size: A 2 -> [0,3); B 4, G 4 -> [3,5); C 6 -> [5,8); E 10 -> [8,12); F 20 -> [12,inf).
TEST(Evaluation, EdgesAdjacentOverlappingEventsAndAnAlertSpanningTwoEvents) {
  TestSeries s(20);
  s.event(AnomalyKind::spike, 0, 1, 2.0)
      .event(AnomalyKind::dip, 5, 6, 4.0)
      .event(AnomalyKind::spike, 7, 8, 6.0)
      .event(AnomalyKind::unit_error, 12, 15, 20.0)
      .event(AnomalyKind::double_counting, 14, 16, 4.0)
      .event(AnomalyKind::spike, 19, 19, 10.0)
      .flag({1, 6, 7, 16, 19});
  std::vector<Alert> alerts;
  const EvaluationReport r = evaluate(small_config(), {s}, &alerts);
  EXPECT_EQ(r.counts.events.events, 6);
  EXPECT_EQ(r.counts.events.caught, 5);
  EXPECT_EQ(r.counts.alerts.total, 4);
  EXPECT_EQ(r.counts.alerts.true_alerts, 4);
  EXPECT_DOUBLE_EQ(*r.event.precision, 1.0);
  EXPECT_DOUBLE_EQ(*r.event.recall, 5.0 / 6.0);
  ASSERT_EQ(alerts.size(), 4U);
  EXPECT_EQ(alerts[1].start, 6);
  EXPECT_EQ(alerts[1].end, 7);
  EXPECT_TRUE(alerts[1].overlaps_event);
  EXPECT_EQ(alerts[0].start, 1);
  EXPECT_EQ(alerts[3].start, 19);
  EXPECT_EQ(alerts[3].end, 19);
  EXPECT_EQ(r.time_to_detect.caught, 5);
  EXPECT_DOUBLE_EQ(*r.time_to_detect.p50_days, 1.0);
  EXPECT_DOUBLE_EQ(*r.time_to_detect.p90_days, 2.0);
  EXPECT_DOUBLE_EQ(*r.time_to_detect.within_7_days, 5.0 / 6.0);
  // The distribution behind the percentiles, delays 0..k steps (k = 2): {0,0,1,1,2}.
  EXPECT_EQ(r.time_to_detect.delay_histogram_steps, (std::vector<std::int64_t>{2, 2, 1}));
  EXPECT_EQ(r.to_json()["time_to_detect"]["delay_histogram_steps"], nlohmann::json({2, 2, 1}));
  EXPECT_NEAR(*r.range.recall, (17.0 / 6.0) / 6.0, 1e-9);
  EXPECT_NEAR(*r.range.precision, 3.5 / 4.0, 1e-9);
  const auto& kind = r.counts.per_kind;
  EXPECT_EQ(kind[static_cast<std::size_t>(AnomalyKind::spike)].events, 3);
  EXPECT_EQ(kind[static_cast<std::size_t>(AnomalyKind::spike)].caught, 3);
  EXPECT_EQ(kind[static_cast<std::size_t>(AnomalyKind::dip)].caught, 1);
  EXPECT_EQ(kind[static_cast<std::size_t>(AnomalyKind::unit_error)].events, 1);
  EXPECT_EQ(kind[static_cast<std::size_t>(AnomalyKind::unit_error)].caught, 0);
  EXPECT_EQ(kind[static_cast<std::size_t>(AnomalyKind::double_counting)].caught, 1);
  const auto& bucket = r.counts.per_size_bucket;
  EXPECT_EQ(bucket[0].events, 1);
  EXPECT_EQ(bucket[0].caught, 1);
  EXPECT_EQ(bucket[1].events, 2);
  EXPECT_EQ(bucket[1].caught, 2);
  EXPECT_EQ(bucket[2].events, 1);
  EXPECT_EQ(bucket[3].events, 1);
  EXPECT_EQ(bucket[4].events, 1);
  EXPECT_EQ(bucket[4].caught, 0);
  EXPECT_DOUBLE_EQ(*r.recall_per_size_bucket[4], 0.0);
  EXPECT_EQ(size_bucket_name(4), "[12,inf)");
  EXPECT_EQ(size_bucket_name(1), "[3,5)");
}

// Merge gap 2: flags 2 and 5 with missing 3, 4 -> one alert [2,5]; flags 10 and 14 with missing 11-13 (3 > 2)
// -> two alerts; flags 17 and 19 with an observed unflagged 18 -> two alerts. 5 alerts, no events: all false.
// Covered span 0..19 = 20 steps = 20/7 series-weeks: false alerts per 1000 series-weeks = 5 x 1000 x 7 / 20 = 1750.
TEST(Evaluation, MissingStepsWithinTheMergeGapJoinRuns) {
  TestSeries s(20);
  s.flag({2, 5, 10, 14, 17, 19}).gap({3, 4, 11, 12, 13});
  std::vector<Alert> alerts;
  const EvaluationReport r = evaluate(small_config(), {s}, &alerts);
  ASSERT_EQ(alerts.size(), 5U);
  EXPECT_EQ(alerts[0].start, 2);
  EXPECT_EQ(alerts[0].end, 5);
  EXPECT_EQ(alerts[1].start, 10);
  EXPECT_EQ(alerts[1].end, 10);
  EXPECT_EQ(alerts[2].start, 14);
  EXPECT_EQ(alerts[3].start, 17);
  EXPECT_EQ(alerts[4].start, 19);
  EXPECT_EQ(r.counts.alerts.false_alerts, 5);
  EXPECT_EQ(r.counts.covered_steps, 20);
  EXPECT_DOUBLE_EQ(*r.false_alerts_per_1000_series_weeks, 1750.0);
  EXPECT_FALSE(r.event.recall.has_value());  // no events: 0/0 is undefined
  EXPECT_DOUBLE_EQ(*r.event.precision, 0.0);
  EXPECT_TRUE(r.to_json()["event"]["recall"].is_null());
}

// k = 2: fraud_ramp [5,14] flagged only at 8 > 5 + 2 is missed, though its alert still overlaps it (true alert);
// dip [15,18] flagged at 17 = 15 + k is caught with delay 2.
TEST(Evaluation, AFlagAfterStartPlusKDoesNotCatch) {
  TestSeries s(20);
  s.event(AnomalyKind::fraud_ramp, 5, 14).event(AnomalyKind::dip, 15, 18).flag({8, 17});
  const EvaluationReport r = evaluate(small_config(), {s});
  EXPECT_EQ(r.counts.events.events, 2);
  EXPECT_EQ(r.counts.events.caught, 1);
  EXPECT_EQ(r.counts.per_kind[static_cast<std::size_t>(AnomalyKind::fraud_ramp)].caught, 0);
  EXPECT_EQ(r.counts.delay_histogram[2], 1);
  EXPECT_EQ(r.counts.alerts.true_alerts, 2);
  EXPECT_EQ(r.counts.alerts.false_alerts, 0);
}

// Weekly schedule, W = 7, scored from 7, k = 7: a flag in [7,13] is raised at 13, in [14,20] at 20, in [21,27] at 27.
// spike [9,9] flagged at 9: raised 13 <= 16, delay 4. dip [12,20] flagged at 15: raised 20 > 12 + 7: missed (the
// run that first covers its start, ending 13, did not flag it). spike [22,23] flagged at 23: raised 27, delay 5.
// spike [4,7] started before the window: not evaluated; its flag at 7 makes a do-not-care alert. The flag at 2
// lies outside the window and is ignored. Caught 2/3; p50 = 4 days, p90 = 5 days.
TEST(Evaluation, WeeklyScheduleRaisesFlagsAtTheEndOfTheirWeek) {
  TestSeries s(28);
  s.begin = 7;
  s.event(AnomalyKind::spike, 4, 7).event(AnomalyKind::spike, 9, 9).event(AnomalyKind::dip, 12, 20).event(AnomalyKind::spike, 22, 23);
  s.flag({2, 7, 9, 15, 23});
  EvaluationConfig c = small_config();
  c.schedule_period_steps = 7;
  c.delay_tolerance_steps = 7;
  std::vector<Alert> alerts;
  const EvaluationReport r = evaluate(c, {s}, &alerts);
  EXPECT_EQ(r.counts.scored_steps, 21);
  EXPECT_EQ(r.counts.events.events, 3);
  EXPECT_EQ(r.counts.events.caught, 2);
  ASSERT_EQ(alerts.size(), 4U);
  EXPECT_EQ(alerts[0].start, 7);
  EXPECT_TRUE(alerts[0].dont_care);
  EXPECT_EQ(alerts[0].raised_at, 13);
  EXPECT_EQ(alerts[1].raised_at, 13);
  EXPECT_EQ(alerts[2].start, 15);
  EXPECT_EQ(alerts[2].raised_at, 20);
  EXPECT_EQ(alerts[3].raised_at, 27);
  EXPECT_EQ(r.counts.alerts.true_alerts, 3);
  EXPECT_EQ(r.counts.alerts.dont_care, 1);
  EXPECT_EQ(r.counts.alerts.false_alerts, 0);
  EXPECT_DOUBLE_EQ(*r.time_to_detect.p50_days, 4.0);
  EXPECT_DOUBLE_EQ(*r.time_to_detect.p90_days, 5.0);
}

// level_shift [5,8], effect to the end, do-not-care cap 1 week (7 steps), next event spike at 13: the tail is
// [9, min(29, 8 + 7, 13 - 1)] = [9,12]. Flags 5, 10, 13, 20. Observed 30: positives 5..8 and 13 (5);
// do-not-care steps 9..12 (4); TP {5,13} = 2, FN 3, FP {20} = 1 (10 is in neither), TN = 30 - 4 - 5 - 1 = 20.
// Alerts {5} true, {10} do-not-care, {13} true, {20} false: precision 2/3.
TEST(Evaluation, StepsAfterALevelShiftAreDoNotCare) {
  TestSeries s(30);
  s.event(AnomalyKind::level_shift, 5, 8, 4.0, 100.0, 29).event(AnomalyKind::spike, 13, 13).flag({5, 10, 13, 20});
  EvaluationConfig c = small_config();
  c.dont_care_weeks = 1;
  const EvaluationReport r = evaluate(c, {s});
  EXPECT_EQ(r.counts.dont_care_steps, 4);
  EXPECT_EQ(r.counts.point_tp, 2);
  EXPECT_EQ(r.counts.point_fn, 3);
  EXPECT_EQ(r.counts.point_fp, 1);
  EXPECT_EQ(r.counts.point_tn, 20);
  EXPECT_EQ(r.counts.alerts.true_alerts, 2);
  EXPECT_EQ(r.counts.alerts.dont_care, 1);
  EXPECT_EQ(r.counts.alerts.false_alerts, 1);
  EXPECT_DOUBLE_EQ(*r.event.precision, 2.0 / 3.0);
  EXPECT_EQ(r.counts.events.caught, 2);
}

// Price 2 USD/unit, expected 10. spike A at 3 observed 70: alert impact 60 x 2 = 120 USD (kept). spike B [10,11]
// observed 30 at 10, flagged there only: 20 x 2 = 40 USD (dropped). A false alert at 15 observed 11: 2 USD (dropped).
// Event impacts 120 and 80 USD. Unfiltered: caught 2/2, precision 2/3, dollar recall 1. Filtered: caught 1/2
// (B was caught only by a dropped alert), precision 1/1, dollar recall 120 / 200 = 0.6, no false alert.
TEST(Evaluation, TheImpactFilterDropsSmallAlertsAndTheirCatches) {
  TestSeries s(20);
  s.price = 2.0;
  s.event(AnomalyKind::spike, 3, 3, 4.0, 120.0).event(AnomalyKind::spike, 10, 11, 4.0, 80.0).flag({3, 10, 15});
  s.values[3] = 70.0F;
  s.values[10] = 30.0F;
  s.values[15] = 11.0F;
  std::vector<Alert> alerts;
  const EvaluationReport r = evaluate(small_config(), {s}, &alerts);
  ASSERT_EQ(alerts.size(), 3U);
  EXPECT_DOUBLE_EQ(alerts[0].impact_usd, 120.0);
  EXPECT_TRUE(alerts[0].passes_filter);
  EXPECT_DOUBLE_EQ(alerts[1].impact_usd, 40.0);
  EXPECT_FALSE(alerts[1].passes_filter);
  EXPECT_DOUBLE_EQ(alerts[2].impact_usd, 2.0);
  EXPECT_EQ(alerts[0].observed, 70.0F);
  EXPECT_EQ(alerts[0].expected, 10.0F);
  EXPECT_EQ(alerts[0].lower, 8.0F);
  EXPECT_EQ(alerts[0].upper, 12.0F);
  EXPECT_EQ(alerts[0].max_score, 5.0F);
  EXPECT_EQ(r.counts.events.caught, 2);
  EXPECT_EQ(r.counts.events.caught_filtered, 1);
  EXPECT_DOUBLE_EQ(*r.event.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(*r.event_filtered.precision, 1.0);
  EXPECT_DOUBLE_EQ(*r.event_filtered.recall, 0.5);
  EXPECT_DOUBLE_EQ(*r.dollar_recall, 1.0);
  EXPECT_DOUBLE_EQ(*r.dollar_recall_filtered, 0.6);
  EXPECT_EQ(r.counts.alerts_filtered.false_alerts, 0);
  EXPECT_DOUBLE_EQ(*r.false_alerts_per_1000_series_weeks_filtered, 0.0);
  EXPECT_EQ(r.counts.alert_impact_cents, 16200);

  // Unknown price: impacts are NaN and the filter keeps every alert.
  s.price = std::numeric_limits<double>::quiet_NaN();
  alerts.clear();
  const EvaluationReport u = evaluate(small_config(), {s}, &alerts);
  EXPECT_TRUE(std::isnan(alerts[1].impact_usd));
  EXPECT_EQ(u.counts.events.caught_filtered, 2);
  EXPECT_EQ(u.counts.alerts_unknown_impact, 3);
}

// Range-based metrics, one event R = fraud_ramp [2,11] (10 steps), alerts P1 = [4,6] and P2 = [10,13].
// Flat: recall = gamma (1/2) x (3/10 + 2/10) = 0.25; precision = (1 + 2/4) / 2 = 0.75.
// Front (delta = |A| - i + 1): recall: total 55, P1 covers positions 3..5 (8 + 7 + 6 = 21), P2 positions 9..10
// (2 + 1 = 3): (1/2)(24/55) = 12/55; precision: P1 = 1, P2 positions 1..2 of 4 (4 + 3 = 7 of 10): (1 + 0.7) / 2 = 0.85.
// alpha = 0.5, flat: recall = 0.5 x 1 + 0.5 x 0.25 = 0.625.
TEST(Evaluation, RangeBasedPrecisionRecallWithFlatAndFrontBias) {
  TestSeries s(20);
  s.event(AnomalyKind::fraud_ramp, 2, 11).flag({4, 5, 6, 10, 11, 12, 13});
  EvaluationConfig c = small_config();
  const EvaluationReport flat = evaluate(c, {s});
  EXPECT_NEAR(*flat.range.recall, 0.25, 1e-9);
  EXPECT_NEAR(*flat.range.precision, 0.75, 1e-9);
  c.tatbul_recall_bias = PositionalBias::front;
  c.tatbul_precision_bias = PositionalBias::front;
  const EvaluationReport front = evaluate(c, {s});
  EXPECT_NEAR(*front.range.recall, 12.0 / 55.0, 1e-9);
  EXPECT_NEAR(*front.range.precision, 0.85, 1e-9);
  c = small_config();
  c.tatbul_alpha = 0.5;
  const EvaluationReport alpha = evaluate(c, {s});
  EXPECT_NEAR(*alpha.range.recall, 0.625, 1e-9);
}

// Scores 5 (labelled), 4, 3 (labelled), 1, 0.5, 0.25: AP = (1/2)(1/1) + (1/2)(2/3) = 5/6.
TEST(Evaluation, AucPrIsTheAveragePrecisionOfTheScoreHistogram) {
  TestSeries s(6);
  s.event(AnomalyKind::spike, 0, 0).event(AnomalyKind::spike, 2, 2);
  const float scores[] = {5.0F, 4.0F, 3.0F, 1.0F, 0.5F, 0.25F};
  for (std::size_t i = 0; i < 6; ++i) s.score[i] = scores[i];
  const EvaluationReport r = evaluate(small_config(), {s});
  EXPECT_NEAR(*r.auc_pr, 5.0 / 6.0, 1e-12);
}

// A series without labels still yields alerts (counted per 1,000 series-weeks) but no label metric.
TEST(Evaluation, WithoutLabelsAlertsAreCountedAndMetricsAreNull) {
  TestSeries s(14, /*with_labels=*/false);
  s.flag({3, 9});
  std::vector<Alert> alerts;
  const EvaluationReport r = evaluate(small_config(), {s}, &alerts);
  EXPECT_FALSE(r.has_labels);
  EXPECT_TRUE(r.labels_missing);
  EXPECT_EQ(alerts.size(), 2U);
  EXPECT_EQ(r.counts.alerts.total, 2);
  EXPECT_EQ(r.counts.alerts.unlabelled, 2);
  EXPECT_DOUBLE_EQ(*r.alerts_per_1000_series_weeks, 1000.0);  // 2 alerts over 14 steps = 2 weeks
  const nlohmann::json j = r.to_json();
  EXPECT_FALSE(j["labels"]["present"].get<bool>());
  EXPECT_TRUE(j["point"]["precision"].is_null());
  EXPECT_TRUE(j["event"]["recall"].is_null());
  EXPECT_TRUE(j["auc_pr"].is_null());
  EXPECT_TRUE(j["dollar_recall"].is_null());
  EXPECT_TRUE(j["false_alerts_per_1000_series_weeks"].is_null());
  EXPECT_EQ(j["counts"]["alerts"]["total"].get<int>(), 2);
  EXPECT_EQ(j.dump().find("NaN"), std::string::npos);
}

// Random series with events, gaps, do-not-care tails, unknown prices and scores around the filter.
std::vector<TestSeries> random_population(std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0F, 1.0F);
  std::uniform_int_distribution<int> pick(0, 99);
  std::vector<TestSeries> out;
  for (std::size_t i = 0; i < count; ++i) {
    TestSeries s(120, i % 17 != 5);
    s.index = i;
    s.price = i % 11 == 3 ? std::numeric_limits<double>::quiet_NaN() : 0.5 + 0.25 * static_cast<double>(i % 7);
    for (std::size_t t = 0; t < 120; ++t) {
      s.score[t] = std::fabs(noise(rng)) * 1.5F;
      s.values[t] = 100.0F + 20.0F * s.score[t];
      s.expected[t] = 100.0F;
    }
    for (std::int64_t start = 3 + pick(rng) % 10; start < 110; start += 12 + pick(rng) % 20) {
      const auto kind = static_cast<AnomalyKind>(1 + pick(rng) % 10);
      const std::int64_t len = 1 + pick(rng) % 8;
      const std::int64_t stop = std::min<std::int64_t>(start + len - 1, 119);
      s.event(kind, start, stop, pick(rng) / 5.0, pick(rng) * 3.0, is_persistent(kind) ? 119 : stop);
      for (std::int64_t t = start; t <= stop; ++t)
        if (pick(rng) < 60) s.score[static_cast<std::size_t>(t)] = 2.0F + static_cast<float>(pick(rng)) / 8.0F;
    }
    for (std::size_t t = 0; t < 120; ++t) s.values[t] = 100.0F + 20.0F * s.score[t];
    for (int g = 0; g < 6; ++g) s.gap({pick(rng) + 10});
    out.push_back(std::move(s));
  }
  return out;
}

// Merging is exact: any split of the series over accumulators, merged in any order, gives the same report text.
TEST(Evaluation, MergeOrderDoesNotChangeTheReport) {
  const auto population = random_population(60, 11);
  const EvaluationConfig c = small_config();
  EvaluationAccumulator all(c), even(c), odd(c), first(c), second(c);
  for (std::size_t i = 0; i < population.size(); ++i) {
    all.add_series(population[i].input());
    (i % 2 == 0 ? even : odd).add_series(population[i].input());
  }
  for (std::size_t i = population.size(); i-- > 0;) (i < 25 ? first : second).add_series(population[i].input());
  EvaluationAccumulator ab(c), ba(c);
  ab.merge(even);
  ab.merge(odd);
  ba.merge(second);
  ba.merge(first);
  const std::string expected = all.report().to_json().dump();
  EXPECT_EQ(ab.report().to_json().dump(), expected);
  EXPECT_EQ(ba.report().to_json().dump(), expected);
  EXPECT_TRUE(all.counts() == ba.counts());
  std::ostringstream c1, c2, k1, k2;
  write_pr_curve_csv(all.report(), c1);
  write_pr_curve_csv(ab.report(), c2);
  write_per_kind_csv(all.report(), k1);
  write_per_kind_csv(ba.report(), k2);
  EXPECT_EQ(c1.str(), c2.str());
  EXPECT_EQ(k1.str(), k2.str());
  EXPECT_GT(all.counts().events.events, 100);
  EXPECT_GT(all.counts().dont_care_steps, 0);
  EXPECT_GT(all.counts().alerts_filtered.total, 0);
  EXPECT_LT(all.counts().alerts_filtered.total, all.counts().alerts.total);
}

// The sweep computes every threshold in one pass; its row at z must equal the direct metrics at z, for z on
// the grid and off it (z = 3.1 is inserted), for both schedules.
TEST(Evaluation, CurveAtZEqualsTheDirectMetrics) {
  const auto population = random_population(80, 5);
  for (const double z : {3.0, 3.1}) {
    for (const std::int64_t period : {std::int64_t{0}, std::int64_t{7}}) {
      EvaluationConfig c = small_config();
      c.z = z;
      c.schedule_period_steps = period;
      c.delay_tolerance_steps = period > 0 ? 7 : 2;
      c.impact_filter_usd = 80.0;
      const EvaluationReport r = evaluate(c, population);
      const auto th = c.curve_thresholds();
      const auto at = static_cast<std::size_t>(std::find(th.begin(), th.end(), z) - th.begin());
      ASSERT_LT(at, th.size());
      const CurvePoint& p = r.curve[at];
      EXPECT_EQ(p.z, z);
      EXPECT_EQ(p.point_tp, r.counts.point_tp);
      EXPECT_EQ(p.point_fp, r.counts.point_fp);
      EXPECT_EQ(p.point_fn, r.counts.point_fn);
      EXPECT_EQ(p.caught, r.counts.events.caught);
      EXPECT_EQ(p.caught_impact_cents, r.counts.events.caught_impact_cents);
      EXPECT_EQ(p.caught_filtered, r.counts.events.caught_filtered);
      EXPECT_EQ(p.caught_filtered_impact_cents, r.counts.events.caught_filtered_impact_cents);
      EXPECT_TRUE(p.alerts == r.counts.alerts);
      EXPECT_TRUE(p.alerts_filtered == r.counts.alerts_filtered);
      EXPECT_EQ(p.event_recall, r.event.recall);
      EXPECT_EQ(p.alert_precision, r.event.precision);
      EXPECT_EQ(p.dollar_recall_filtered, r.dollar_recall_filtered);
      EXPECT_EQ(p.false_alerts_per_1000_series_weeks_filtered, r.false_alerts_per_1000_series_weeks_filtered);
      EXPECT_GT(r.counts.events.caught_filtered, 0);
      EXPECT_LT(r.counts.events.caught_filtered, r.counts.events.caught);
      // Nesting: a higher threshold never catches more.
      for (std::size_t g = 1; g < r.curve.size(); ++g) {
        EXPECT_LE(r.curve[g].caught, r.curve[g - 1].caught);
        EXPECT_LE(r.curve[g].caught_filtered, r.curve[g - 1].caught_filtered);
        EXPECT_LE(r.curve[g].point_tp, r.curve[g - 1].point_tp);
      }
    }
  }
}

// Every row of the sweep equals a direct evaluation at that row's threshold (alerts, catches, filter).
TEST(Evaluation, EveryCurveRowEqualsADirectEvaluationAtItsThreshold) {
  const auto population = random_population(50, 9);
  EvaluationConfig c = small_config();
  c.impact_filter_usd = 80.0;
  const EvaluationReport sweep = evaluate(c, population);
  for (const std::size_t g : {std::size_t{0}, std::size_t{5}, std::size_t{10}, std::size_t{23}, std::size_t{46}}) {
    EvaluationConfig at = c;
    at.z = sweep.curve[g].z;
    const EvaluationReport direct = evaluate(at, population);
    const CurvePoint& p = sweep.curve[g];
    EXPECT_EQ(p.point_tp, direct.counts.point_tp) << p.z;
    EXPECT_EQ(p.point_fp, direct.counts.point_fp) << p.z;
    EXPECT_EQ(p.caught, direct.counts.events.caught) << p.z;
    EXPECT_EQ(p.caught_filtered, direct.counts.events.caught_filtered) << p.z;
    EXPECT_EQ(p.caught_filtered_impact_cents, direct.counts.events.caught_filtered_impact_cents) << p.z;
    EXPECT_TRUE(p.alerts == direct.counts.alerts) << p.z;
    EXPECT_TRUE(p.alerts_filtered == direct.counts.alerts_filtered) << p.z;
  }
}

// Without the sweep the curve is the single row z and every headline metric is unchanged.
TEST(Evaluation, TurningTheSweepOffKeepsTheHeadlineMetrics) {
  const auto population = random_population(30, 4);
  EvaluationConfig c = small_config();
  const EvaluationReport with = evaluate(c, population);
  c.sweep_thresholds = false;
  const EvaluationReport without = evaluate(c, population);
  ASSERT_EQ(without.curve.size(), 1U);
  EXPECT_EQ(without.curve[0].z, 3.0);
  EXPECT_TRUE(without.curve[0].alerts == with.counts.alerts);
  nlohmann::json a = with.to_json(), b = without.to_json();
  a["config"].erase("curve_z");
  b["config"].erase("curve_z");
  EXPECT_EQ(a.dump(), b.dump());
}

TEST(Evaluation, ReportJsonAndCsvHaveTheDocumentedShape) {
  const auto population = random_population(10, 3);
  const EvaluationReport r = evaluate(small_config(), population);
  const nlohmann::json j = r.to_json();
  for (const char* key : {"/point/precision", "/point/recall", "/point/f1", "/event/precision", "/event/recall", "/event/f1",
                          "/event_filtered/f1", "/range/precision", "/range_filtered/recall", "/dollar_recall", "/dollar_recall_filtered",
                          "/false_alerts_per_1000_series_weeks", "/false_alerts_per_1000_series_weeks_filtered", "/auc_pr",
                          "/time_to_detect/p50_days", "/time_to_detect/within_14_days", "/per_size_bucket/[0,3)/recall",
                          "/counts/series", "/counts/alerts/total", "/labels/present", "/config/z"})
    EXPECT_TRUE(j.contains(nlohmann::json::json_pointer(key))) << key;
  EXPECT_EQ(j.dump().find("NaN"), std::string::npos);
  std::ostringstream kinds, curve, buckets;
  write_per_kind_csv(r, kinds);
  write_pr_curve_csv(r, curve);
  write_per_size_bucket_csv(r, buckets);
  const std::string k = kinds.str(), cv = curve.str(), bk = buckets.str();
  EXPECT_EQ(k.substr(0, k.find('\n')),
            "kind,events,caught,recall,caught_filtered,recall_filtered,impact_usd,caught_impact_usd,dollar_recall,"
            "caught_filtered_impact_usd,dollar_recall_filtered");
  EXPECT_EQ(std::count(k.begin(), k.end(), '\n'), 13);  // header + 12 kinds
  EXPECT_EQ(std::count(cv.begin(), cv.end(), '\n'), 1 + 47);  // 0.5 .. 12 by 0.25, z = 3 on the grid
  EXPECT_EQ(std::count(bk.begin(), bk.end(), '\n'), 6);
  // The bucket names hold a comma, so they are quoted: each row has the header's 11 fields.
  EXPECT_EQ(bk.substr(bk.find('\n') + 1, 8), "\"[0,3)\",");
}

TEST(Evaluation, ValidateNamesTheField) {
  EvaluationConfig c;
  c.z = -1.0;
  EXPECT_THROW(
      {
        try {
          c.validate();
        } catch (const std::invalid_argument& e) {
          EXPECT_STREQ(e.what(), "evaluation: z must be finite and >= 0, got -1");
          throw;
        }
      },
      std::invalid_argument);
  c = EvaluationConfig{};
  c.steps_per_week = 0;
  EXPECT_THROW(EvaluationAccumulator{c}, std::invalid_argument);
  c = EvaluationConfig{};
  c.tatbul_alpha = 2.0;
  EXPECT_THROW(c.validate(), std::invalid_argument);
  TestSeries s(10);
  SeriesEvaluationInput in = s.input();
  in.score = in.score.first(5);
  EvaluationAccumulator acc(EvaluationConfig{});
  EXPECT_THROW(acc.add_series(in), std::invalid_argument);
}

// Contract: the evaluation refuses an event whose steps lie outside its series (std::invalid_argument naming
// the series, kind and steps) instead of overflowing its window arithmetic (a step of 2^63 - 1 used to wrap
// end + 1 and index outside the series).
std::string evaluation_error(std::int64_t start, std::int64_t end) {
  TestSeries s(20);
  s.index = 4;
  s.events.push_back({.series = 4, .start = start, .end = end, .effect_end = end, .kind = 3});  // unlabelled: event() would label outside
  EvaluationConfig config;
  config.steps_per_week = 7;
  EvaluationAccumulator acc(config);
  try {
    acc.add_series(s.input(), nullptr);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "evaluated";
}

TEST(EvaluationEventRange, EventsOutsideTheSeriesAreRefused) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(evaluation_error(2, 5), "evaluated");
  EXPECT_EQ(evaluation_error(2, kMax), "evaluation: event of series 4 (kind 3, steps 2..9223372036854775807) lies outside the series' 20 steps");
  EXPECT_EQ(evaluation_error(kMax - 1, kMax),
            "evaluation: event of series 4 (kind 3, steps 9223372036854775806..9223372036854775807) lies outside the series' 20 steps");
  EXPECT_EQ(evaluation_error(-3, 4), "evaluation: event of series 4 (kind 3, steps -3..4) lies outside the series' 20 steps");
}

}  // namespace
}  // namespace meterbench
