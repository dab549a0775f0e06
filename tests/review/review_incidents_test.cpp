// Contract of the review page's incidents (engine/meterbench/review/review_incidents.hpp): detect's CSV and JSON
// read alike, in inventory order (|impact| descending, unknown impact last by peak score); bad files are errors
// naming the file, line and column; queries filter (strictly above the impact floor, substrings case-insensitive,
// kind and direction exact, the last N days of the data) before paging.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/review/review_incidents.hpp"
#include "meterbench/review/review_state.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

constexpr const char* kHeader = "customer,meter,kind,start,end,days,direction,observed_total,expected_total,impact,currency,peak_score\n";

std::vector<std::string> customers(const std::vector<ReviewIncident>& rows) {
  std::vector<std::string> names;
  for (const ReviewIncident& f : rows) names.push_back(f.customer);
  return names;
}

std::vector<std::string> customers(const IncidentPage& page) {
  std::vector<std::string> names;
  for (const ReviewIncident* f : page.rows) names.push_back(f->customer);
  return names;
}

std::vector<ReviewIncident> sample(const testing::ScratchDir& dir) {
  testing::write_file(dir / "incidents.csv",
                      std::string(kHeader) +
                          "small,compute,spike,2024-03-01,2024-03-01,1,over,20,10,100,USD,5\n"
                          "nopriceA,Storage-GB,dip,2024-03-02,2024-03-03,2,under,1,10,,USD,7\n"
                          "under,storage-gb,dip,2024-12-20,2024-12-21,2,under,10,1000,-5000,USD,9\n"
                          "\"quoted, name\",compute,level_shift,2024-11-01,2024-11-10,10,over,2000,100,300,USD,8\n"
                          "nopriceB,compute,spike,2024-06-01,2024-06-01,1,over,50,10,,USD,12\n"
                          "big,compute,unit_error,2024-12-01,2024-12-05,5,over,1e6,10,9000,USD,100\n");
  return read_review_incidents(dir / "incidents.csv");
}

TEST(ReviewIncidents, InInventoryOrderWithIds) {
  testing::ScratchDir dir;
  const std::vector<ReviewIncident> rows = sample(dir);
  EXPECT_EQ(customers(rows), (std::vector<std::string>{"big", "under", "quoted, name", "small", "nopriceB", "nopriceA"}));
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].id, static_cast<std::int64_t>(i));
  EXPECT_TRUE(std::isnan(rows[4].impact));
  EXPECT_EQ(rows[1].start_seconds, parse_utc_timestamp("2024-12-20"));
  EXPECT_EQ(rows[1].first_reported, "2024-12-20");  // no first_reported column: the start
  EXPECT_EQ(rows[1].direction, "under");
}

TEST(ReviewIncidents, JsonReadsAsCsv) {
  testing::ScratchDir dir;
  testing::write_file(dir / "incidents.json", R"({"model": "gam", "incidents": [
    {"customer": "a", "meter": "m", "kind": "spike", "start": "2024-01-02", "end": "2024-01-02", "days": 1, "direction": "over",
     "observed_total": 5, "expected_total": 1, "impact": null, "currency": "USD", "peak_score": 3, "offer": "basic"},
    {"customer": "b", "meter": "m", "kind": "dip", "start": "2024-01-03", "end": "2024-01-04", "days": 2, "direction": "under",
     "observed_total": 1, "expected_total": 5, "impact": -250.5, "currency": "USD", "peak_score": 4}]})");
  const std::vector<ReviewIncident> rows = read_review_incidents(dir / "incidents.json");
  EXPECT_EQ(customers(rows), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(rows[0].impact, -250.5);
  EXPECT_EQ(rows[1].offer, "basic");
  EXPECT_TRUE(std::isnan(rows[1].impact));
}

TEST(ReviewIncidents, JsonSkipsWhatReviewDoesNotRead) {
  testing::ScratchDir dir;
  testing::write_file(dir / "incidents.json", R"({"dataset": {"path": "x.h5", "list": [1, [2, {"customer": "no"}]]},
    "incidents": [{"customer": "a", "meter": "m", "extra": {"customer": "no", "deeper": [{"meter": "no"}]}, "tags": ["x", "y"],
                   "kind": "spike", "start": "2024-01-02", "end": "2024-01-02", "direction": "over", "impact": 12}],
    "after": [{"customer": "no"}]})");
  const std::vector<ReviewIncident> rows = read_review_incidents(dir / "incidents.json");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].customer, "a");
  EXPECT_EQ(rows[0].meter, "m");
  EXPECT_EQ(rows[0].impact, 12.0);
}

TEST(ReviewIncidents, ExtraAndRepeatedColumnsAreIgnored) {
  testing::ScratchDir dir;
  testing::write_file(dir / "incidents.csv", "note,customer,meter,kind,start,end,direction,impact,note,offer,first_reported\n"
                                             "x,a,m,spike,2024-01-02,2024-01-02,over,150,y,basic,2024-01-03\n");
  const std::vector<ReviewIncident> rows = read_review_incidents(dir / "incidents.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].offer, "basic");
  EXPECT_EQ(rows[0].first_reported, "2024-01-03");
  EXPECT_EQ(rows[0].first_reported_seconds, parse_utc_timestamp("2024-01-03"));
  EXPECT_EQ(rows[0].impact, 150.0);
}

TEST(ReviewIncidents, BadFilesNameTheFileLineAndColumn) {
  testing::ScratchDir dir;
  const auto error_of = [&](const std::string& text) {
    testing::write_file(dir / "bad.csv", text);
    try {
      read_review_incidents(dir / "bad.csv");
    } catch (const IncidentFileError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_PRED2(testing::contains, error_of(std::string(kHeader) + "a,m,spike,2024-01-01,2024-01-01,1,over,x,1,2,USD,3\n"),
               "bad.csv line 2: column 'observed_total' is 'x', not a number");
  EXPECT_PRED2(testing::contains, error_of(std::string(kHeader) + "a,m,spike,2024-13-01,2024-01-01,1,over,1,1,2,USD,3\n"),
               "bad.csv line 2: column 'start' is '2024-13-01', not a UTC date or time");
  EXPECT_PRED2(testing::contains, error_of(std::string(kHeader) + "a,m,spike,2024-01-02,2024-01-01,1,over,1,1,2,USD,3\n"),
               "bad.csv line 2: 'end' 2024-01-01 is before 'start' 2024-01-02");
  EXPECT_PRED2(testing::contains, error_of(std::string(kHeader) + "a,m,spike\n"), "bad.csv line 2: 3 fields, the header has 12");
  EXPECT_PRED2(testing::contains, error_of("customer,meter,kind,start,end\n"), "bad.csv line 1: no 'direction' column");
  EXPECT_PRED2(testing::contains, error_of(""), "bad.csv: empty file");
  EXPECT_PRED2(testing::contains, error_of("{\"incidents\": [{\"customer\": \"a\"}]}"), "bad.csv incident 1: no 'meter' field");
  EXPECT_PRED2(testing::contains, error_of("{\"incidents\": 3"), "bad.csv: not valid JSON");
  EXPECT_PRED2(testing::contains, error_of(R"({"incidents": [3]})"), "bad.csv incident 1: not an object");
  EXPECT_PRED2(testing::contains, error_of(R"({"model": "gam"})"), "bad.csv: no 'incidents' array");
  EXPECT_PRED2(testing::contains,
               error_of(R"({"incidents": [{"customer": 5, "meter": "m", "kind": "spike", "start": "2024-01-01", "end": "2024-01-01",
                          "direction": "over", "impact": 1}]})"),
               "bad.csv incident 1: 'customer' is not a string");
  EXPECT_PRED2(testing::contains,
               error_of(R"({"incidents": [{"customer": "a", "meter": "m", "kind": "spike", "start": "2024-01-01", "end": "2024-01-01",
                          "direction": "over", "impact": "1"}]})"),
               "bad.csv incident 1: 'impact' is not a number");
  EXPECT_THROW(read_review_incidents(dir / "missing.csv"), IncidentFileError);
}

TEST(ReviewIncidents, QueriesFilterBeforePaging) {
  testing::ScratchDir dir;
  const std::vector<ReviewIncident> rows = sample(dir);
  IncidentQuery query;  // the default: |impact| > 100 USD, strictly (small's 100 is out), unknown impact out
  EXPECT_EQ(customers(query_incidents(rows, query)), (std::vector<std::string>{"big", "under", "quoted, name"}));
  query.min_abs_impact = 0.0;  // All
  EXPECT_EQ(query_incidents(rows, query).total, 6);
  query.meter = "STORAGE";
  EXPECT_EQ(customers(query_incidents(rows, query)), (std::vector<std::string>{"under", "nopriceA"}));
  query.meter.clear();
  query.customer = "NAME";
  EXPECT_EQ(customers(query_incidents(rows, query)), (std::vector<std::string>{"quoted, name"}));
  query.customer.clear();
  query.kind = "spike";
  query.direction = "over";
  EXPECT_EQ(customers(query_incidents(rows, query)), (std::vector<std::string>{"small", "nopriceB"}));
  query.kind.clear();
  query.direction.clear();
  query.as_of_seconds = parse_utc_timestamp("2024-12-31");
  query.last_days = 30;  // ending on or after 2024-12-01
  EXPECT_EQ(customers(query_incidents(rows, query)), (std::vector<std::string>{"big", "under"}));
  query.last_days = 0;
  query.page_size = 4;
  query.page = 1;
  const IncidentPage second = query_incidents(rows, query);
  EXPECT_EQ(second.total, 6);
  EXPECT_EQ(customers(second), (std::vector<std::string>{"nopriceB", "nopriceA"}));
}

TEST(ReviewIncidents, RefusedQueriesSayWhy) {
  IncidentQuery query;
  EXPECT_FALSE(invalid_query_reason(query));
  query.page_size = 0;
  EXPECT_PRED2(testing::contains, invalid_query_reason(query).value_or(""), "page_size must be in [1, 1000]");
  query = {};
  query.direction = "up";
  EXPECT_PRED2(testing::contains, invalid_query_reason(query).value_or(""), "direction must be over or under");
  query = {};
  query.min_abs_impact = -1;
  EXPECT_TRUE(invalid_query_reason(query));
}

TEST(ReviewIncidents, SeriesNeighboursInTimeOrder) {
  testing::ScratchDir dir;
  testing::write_file(dir / "incidents.csv", std::string(kHeader) +
                                                 "a,m,spike,2024-05-01,2024-05-01,1,over,20,10,500,USD,5\n"
                                                 "b,m,spike,2024-04-01,2024-04-01,1,over,20,10,400,USD,5\n"
                                                 "a,m,spike,2024-02-01,2024-02-01,1,over,20,10,300,USD,5\n"
                                                 "a,n,spike,2024-01-01,2024-01-01,1,over,20,10,200,USD,5\n");
  const std::vector<ReviewIncident> rows = read_review_incidents(dir / "incidents.csv");
  const std::vector<const ReviewIncident*> series = incidents_of_series(rows, "a", "m");
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0]->start, "2024-02-01");
  EXPECT_EQ(series[1]->start, "2024-05-01");
}

TEST(ReviewVerdicts, RequestsAreCheckedWithReasons) {
  const auto reason_of = [](const std::string& body) {
    try {
      parse_verdict_request(body);
    } catch (const ReviewRequestError& e) {
      EXPECT_EQ(e.status(), 400);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(reason_of(R"({"verdict": "anomaly", "corrected_usage": 0})"), "accepted");
  EXPECT_EQ(reason_of(R"({"verdict": "not_anomaly", "reason": "load test"})"), "accepted");
  EXPECT_PRED2(testing::contains, reason_of(R"({"verdict": "anomaly"})"), "needs the corrected usage");
  EXPECT_PRED2(testing::contains, reason_of(R"({"verdict": "not_anomaly", "reason": " \n"})"), "needs a reason");
  EXPECT_PRED2(testing::contains, reason_of(R"({"verdict": "not_anomaly", "reason": "x", "corrected_usage": 1})"), "belongs to 'Mark as anomaly'");
  EXPECT_PRED2(testing::contains, reason_of(R"({"verdict": "anomaly", "corrected_usage": -0.5})"), "must be a number >= 0");
  EXPECT_PRED2(testing::contains, reason_of(R"({"verdict": "Anomaly", "corrected_usage": 1})"), "'verdict' must be");
  EXPECT_PRED2(testing::contains, reason_of(R"({"verdict": "anomaly", "corrected_usage": 1, "user": "mallory"})"), "unknown key 'user'");
  EXPECT_PRED2(testing::contains, reason_of("[1]"), "not a JSON object");
  EXPECT_PRED2(testing::contains, reason_of("{"), "not JSON");
}

}  // namespace
}  // namespace meterbench
