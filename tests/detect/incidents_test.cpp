// Contract: flagged steps become incidents as the evaluation groups flags into alerts (missing steps up to the
// merge gap bridge a run, an observed unflagged step ends it), with totals over the flagged steps, a signed
// impact, a kind guessed from the shape, and the --min-impact and --last filters applied to whole incidents.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/detect/incidents.hpp"

namespace meterbench {
namespace {

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

// A flat series at 100 with score 0 except where `flagged` puts score 5 and the observed value given.
struct Series {
  std::vector<float> observed = std::vector<float>(40, 100.0F), expected = std::vector<float>(40, 100.0F), score = std::vector<float>(40, 0.0F);
  Series& flag(std::int64_t t, float value) {
    observed[static_cast<std::size_t>(t)] = value;
    score[static_cast<std::size_t>(t)] = 5.0F;
    return *this;
  }
  Series& missing(std::int64_t t) {
    observed[static_cast<std::size_t>(t)] = kMissing;
    score[static_cast<std::size_t>(t)] = kMissing;
    return *this;
  }
  std::vector<Incident> incidents(double price = 2.0, IncidentFilter filter = {.z = 3.0}) const {
    std::vector<Incident> out;
    find_incidents({.series_index = 7, .observed = observed, .expected = expected, .score = score, .rule_kind = rule_kind, .price = price},
                   filter, out);
    return out;
  }
  std::vector<std::uint8_t> rule_kind;  // empty: the detector gives no kinds
  // A rule alert of `kind` at t (score 1000), the value missing when `value` is NaN.
  Series& rule(std::int64_t t, float value, AnomalyKind kind) {
    if (rule_kind.empty()) rule_kind.assign(observed.size(), 0);
    observed[static_cast<std::size_t>(t)] = value;
    score[static_cast<std::size_t>(t)] = 1000.0F;
    rule_kind[static_cast<std::size_t>(t)] = static_cast<std::uint8_t>(kind);
    return *this;
  }
};

// Contract: a rule alert names its incident's kind, and flagged missing steps (a meter that stopped reporting)
// belong to the incident as usage 0, so its impact is the expected usage no longer billed.
TEST(DetectIncidents, RuleAlertsNameTheKindAndFlaggedGapsCount) {
  Series s;
  for (std::int64_t t = 30; t < 40; ++t) s.rule(t, kMissing, AnomalyKind::stopped_reporting);
  for (std::int64_t t = 10; t < 16; ++t) s.rule(t, 80.0F, AnomalyKind::stuck_meter);
  const auto found = s.incidents();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, IncidentKind::stuck_meter);
  EXPECT_EQ(incident_kind_name(found[0].kind), "stuck_meter");
  EXPECT_EQ(found[1].kind, IncidentKind::stopped_reporting);
  EXPECT_EQ(found[1].start, 30);
  EXPECT_EQ(found[1].end, 39);
  EXPECT_DOUBLE_EQ(found[1].observed_total, 0.0);
  EXPECT_DOUBLE_EQ(found[1].impact, -1000.0 * 2.0);
}

TEST(DetectIncidents, AThreeDayUnitErrorIsOneIncidentWithTheSummedImpact) {
  const auto found = Series().flag(10, 100000.0F).flag(11, 90000.0F).flag(12, 110000.0F).incidents();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].series_index, 7u);
  EXPECT_EQ(found[0].start, 10);
  EXPECT_EQ(found[0].end, 12);
  EXPECT_EQ(found[0].kind, IncidentKind::unit_error);
  EXPECT_TRUE(found[0].over());
  EXPECT_DOUBLE_EQ(found[0].observed_total, 300000.0);
  EXPECT_DOUBLE_EQ(found[0].expected_total, 300.0);
  EXPECT_DOUBLE_EQ(found[0].impact, (300000.0 - 300.0) * 2.0);
  EXPECT_EQ(incident_kind_name(found[0].kind), "unit_error");
}

TEST(DetectIncidents, KindsFollowTheShape) {
  auto found = Series().flag(5, 300.0F).flag(20, 10.0F).flag(21, 20.0F).incidents();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, IncidentKind::spike);
  EXPECT_EQ(found[1].kind, IncidentKind::dip);
  EXPECT_FALSE(found[1].over());
  EXPECT_DOUBLE_EQ(found[1].impact, (30.0 - 200.0) * 2.0);  // signed: under-billing is negative
  found = Series().flag(5, 150.0F).flag(6, 150.0F).flag(7, 160.0F).flag(30, 0.0F).flag(31, 0.0F).flag(32, 0.0F).incidents();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, IncidentKind::level_shift);
  EXPECT_EQ(found[1].kind, IncidentKind::stopped_reporting);
  // Small flagged deviations beside a spike or a run of zeros (a fit pulled by them) do not change the kind.
  found = Series().flag(4, 90.0F).flag(5, 400.0F).flag(6, 90.0F).flag(7, 95.0F).flag(20, 110.0F).flag(21, 0.0F).flag(22, 0.0F).flag(23, 0.0F).incidents();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, IncidentKind::spike);
  EXPECT_EQ(found[0].end, 7);
  EXPECT_EQ(found[1].kind, IncidentKind::stopped_reporting);
  found = Series().flag(5, 0.1F).incidents();  // /1000 of the expected usage
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, IncidentKind::unit_error);
  EXPECT_FALSE(found[0].over());
  // A near-outage at 1/200 of the usual use (the bike data's 2012 hurricane day) is a dip, not a unit mix-up.
  found = Series().flag(5, 0.1F).flag(20, 0.5F).incidents();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].kind, IncidentKind::unit_error);
  EXPECT_EQ(found[1].kind, IncidentKind::dip);
}

TEST(DetectIncidents, MissingStepsUpToTheMergeGapBridgeARunAndObservedOnesEndIt) {
  auto found = Series().flag(10, 300.0F).missing(11).missing(12).flag(13, 300.0F).incidents();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].start, 10);
  EXPECT_EQ(found[0].end, 13);
  EXPECT_DOUBLE_EQ(found[0].observed_total, 600.0);  // totals over the flagged steps only
  found = Series().flag(10, 300.0F).missing(11).missing(12).missing(13).flag(14, 300.0F).incidents();
  EXPECT_EQ(found.size(), 2u);
  found = Series().flag(10, 300.0F).flag(12, 300.0F).incidents();  // step 11 observed and not flagged
  EXPECT_EQ(found.size(), 2u);
}

TEST(DetectIncidents, FiltersApplyToWholeIncidents) {
  const Series s = Series().flag(2, 130.0F).flag(3, 130.0F).flag(20, 400.0F).flag(38, 50.0F);
  // impacts at 2 USD: +120 (steps 2-3), +600 (step 20), -100 (step 38)
  auto found = s.incidents(2.0, {.z = 3.0, .min_abs_impact = 110.0});
  ASSERT_EQ(found.size(), 2u);  // |-100| < 110 is dropped, the two-step +120 is kept though each step is +60
  EXPECT_EQ(found[0].start, 2);
  EXPECT_EQ(found[1].start, 20);
  found = s.incidents(2.0, {.z = 3.0, .first_end_step = 3});
  ASSERT_EQ(found.size(), 3u);  // an incident ending at the first kept step is kept
  found = s.incidents(2.0, {.z = 3.0, .first_end_step = 21});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].start, 38);
  found = s.incidents(std::numeric_limits<double>::quiet_NaN(), {.z = 3.0, .min_abs_impact = 1e9});
  ASSERT_EQ(found.size(), 3u);  // without a price nothing is filtered by impact
  EXPECT_TRUE(std::isnan(found[0].impact));
}

TEST(DetectIncidents, SortedByAbsoluteImpactThenUnpricedByPeakScore) {
  std::vector<Incident> rows(4);
  rows[0] = {.series_index = 1, .impact = 50.0};
  rows[1] = {.series_index = 2, .impact = -300.0};
  rows[2] = {.series_index = 3, .impact = std::numeric_limits<double>::quiet_NaN(), .peak_score = 4.0F};
  rows[3] = {.series_index = 4, .impact = std::numeric_limits<double>::quiet_NaN(), .peak_score = 9.0F};
  sort_by_impact(rows);
  EXPECT_EQ(rows[0].series_index, 2u);
  EXPECT_EQ(rows[1].series_index, 1u);
  EXPECT_EQ(rows[2].series_index, 4u);
  EXPECT_EQ(rows[3].series_index, 3u);
}

TEST(DetectIncidents, TheTextSortKeyOrdersAsSortByImpact) {
  const double unknown = std::numeric_limits<double>::quiet_NaN();
  std::vector<Incident> incidents;
  const double impacts[] = {5.0, -250.0, 250.0, 0.0, unknown, 1e-300, -7.5, unknown, 1e12, 5.0};
  const float peaks[] = {4.0F, 6.0F, 3.5F, 9.0F, 12.0F, 4.0F, 5.0F, 3.6F, 4.0F, 4.0F};
  for (std::size_t i = 0; i < std::size(impacts); ++i)
    incidents.push_back({.series_index = (i * 7) % 4, .start = static_cast<std::int64_t>(i * 13 % 5) + static_cast<std::int64_t>(i) * 100,
                         .impact = impacts[i], .peak_score = peaks[i]});
  std::vector<Incident> sorted = incidents;
  sort_by_impact(sorted);
  std::vector<std::pair<std::string, std::size_t>> keyed;
  for (std::size_t i = 0; i < incidents.size(); ++i) {
    std::string key;
    append_incident_sort_key(key, incidents[i]);
    EXPECT_EQ(key.size(), kIncidentSortKeyLength);
    keyed.emplace_back(key, i);
  }
  std::sort(keyed.begin(), keyed.end());
  ASSERT_EQ(keyed.size(), sorted.size());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const Incident& by_key = incidents[keyed[i].second];
    EXPECT_EQ(by_key.series_index, sorted[i].series_index) << i;
    EXPECT_EQ(by_key.start, sorted[i].start) << i;
  }
  EXPECT_EQ(sorted.front().impact, 1e12);
  EXPECT_TRUE(std::isnan(sorted.back().impact));
}

}  // namespace
}  // namespace meterbench
