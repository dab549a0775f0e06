// Contract: a usage export goes through `ingest` and `detect` on the command line; planted anomalies come out
// as one incident each, largest |impact| first, with their kind, dates, direction and signed financial impact;
// --min-impact and --last filter the incidents; --format json writes the same incidents as a JSON object, and
// --out - writes to standard output (the report and logs to standard error); backtest's alerts on usage without
// labels say `unknown` in true_event; errors name the file, line, column and value and leave no
// output behind.
#include <cmath>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::run_cli;
using testing::ScratchDir;

using testing::contains;

// Three customers' daily usage over 150 days from 2024-01-01: a weekly pattern, deterministic small noise,
// and planted anomalies: acme/storage +400 units on 2024-04-20 (day 110) at 0.5 USD per unit, beta/compute's
// usage tripled on 2024-05-10 (day 130) at 2 USD per unit, gamma/egress reported x1000 on 2024-03-04 to
// 2024-03-06 (days 63-65, a unit error) at 0.01 USD per unit, and beta/compute at a tenth on 2024-02-21
// (day 51, a dip).
std::string usage_csv() {
  std::ostringstream csv;
  csv << "CustomerId,MeterId,UsageDate,UsageQuantity,Price\n";
  const char* names[3][2] = {{"acme", "storage"}, {"beta", "compute"}, {"gamma", "egress"}};
  const double levels[3] = {200.0, 50.0, 1000.0};
  const double prices[3] = {0.5, 2.0, 0.01};
  for (int day = 0; day < 150; ++day) {
    for (int s = 0; s < 3; ++s) {
      const int dow = (day + 0) % 7;  // 2024-01-01 was a Monday
      double q = levels[s] * (dow >= 5 ? 0.6 : 1.0) * (1.0 + 0.03 * std::sin(day * 1.7 + s));
      if (s == 0 && day == 110) q += 400.0;
      if (s == 1 && day == 130) q *= 3.0;
      if (s == 2 && day >= 63 && day <= 65) q *= 1000.0;
      if (s == 1 && day == 51) q *= 0.1;
      const int month = day < 31 ? 1 : day < 60 ? 2 : day < 91 ? 3 : day < 121 ? 4 : 5;
      const int dom = day - (month == 1 ? 0 : month == 2 ? 31 : month == 3 ? 60 : month == 4 ? 91 : 121) + 1;
      char date[16];
      std::snprintf(date, sizeof(date), "2024-%02d-%02d", month, dom);
      csv << names[s][0] << ',' << names[s][1] << ',' << date << ',' << q << ',' << prices[s] << '\n';
    }
  }
  return csv.str();
}

std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& path) { return testing::read_simple_csv(path); }

class CliIngestDetect : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_file(dir / "usage.csv", usage_csv());
    const auto r = run_cli("ingest --csv " + (dir / "usage.csv").string() +
                           " --map customer=CustomerId,meter=MeterId,date=UsageDate,quantity=UsageQuantity,price=Price --out " +
                           (dir / "usage.h5").string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_TRUE(contains(r.output, "450 rows -> 3 series x 150 steps (2024-01-01 .. 2024-05-29)")) << r.output;
  }
  ScratchDir dir;
};

// Columns of an incident row.
enum Column { kCustomer, kMeter, kKind, kStart, kEnd, kDays, kDirection, kObserved, kExpected, kImpact, kCurrency, kPeakScore };

const std::vector<std::string>* find_row(const std::vector<std::vector<std::string>>& rows, const std::string& customer, const std::string& start) {
  for (const auto& row : rows)
    if (row.size() > kStart && row[kCustomer] == customer && row[kStart] == start) return &row;
  return nullptr;
}

TEST_F(CliIngestDetect, PlantedAnomaliesComeOutAsOneIncidentEachByImpact) {
  const auto r = run_cli("detect --data " + (dir / "usage.h5").string() + " --min-impact 0 --out " + (dir / "incidents.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string text = testing::read_file(dir / "incidents.csv");
  const auto rows = read_csv(dir / "incidents.csv");
  ASSERT_GE(rows.size(), 5u) << text;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"customer", "meter", "kind", "start", "end", "days", "direction", "observed_total",
                                               "expected_total", "impact", "currency", "peak_score"}));
  // The 3-day x1000 unit error: one row, first, its impact the sum over the three days (about 3 x 999 x 1000 units x 0.01 USD).
  EXPECT_EQ(rows[1], (std::vector<std::string>{"gamma", "egress", "unit_error", "2024-03-04", "2024-03-06", "3", "over", rows[1][kObserved],
                                               rows[1][kExpected], rows[1][kImpact], "USD", rows[1][kPeakScore]})) << text;
  EXPECT_NEAR(std::stod(rows[1][kImpact]), (std::stod(rows[1][kObserved]) - std::stod(rows[1][kExpected])) * 0.01, 0.5);
  EXPECT_NEAR(std::stod(rows[1][kImpact]), 3 * 999 * 1000 * 0.01, 0.05 * 3 * 999 * 1000 * 0.01);
  // The spikes: about 2 x 50 units x 2 USD and 400 units x 0.5 USD, over-billing.
  for (const auto& [customer, day] : {std::pair{"acme", "2024-04-20"}, std::pair{"beta", "2024-05-10"}}) {
    const auto* row = find_row(rows, customer, day);
    ASSERT_NE(row, nullptr) << customer << " " << day << "\n" << text;
    EXPECT_EQ((*row)[kKind], "spike");
    EXPECT_EQ((*row)[kEnd], day);
    EXPECT_EQ((*row)[kDays], "1");
    EXPECT_EQ((*row)[kDirection], "over");
    EXPECT_NEAR(std::stod((*row)[kImpact]), 200.0, 30.0);
  }
  // The dip: under-billing, a negative impact (about -45 units x 2 USD).
  const auto* dip = find_row(rows, "beta", "2024-02-21");
  ASSERT_NE(dip, nullptr) << text;
  EXPECT_EQ((*dip)[kKind], "dip");
  EXPECT_EQ((*dip)[kDirection], "under");
  EXPECT_NEAR(std::stod((*dip)[kImpact]), -90.0, 15.0);
  for (std::size_t i = 2; i < rows.size(); ++i)  // sorted by |impact|, descending
    EXPECT_GE(std::fabs(std::stod(rows[i - 1][kImpact])), std::fabs(std::stod(rows[i][kImpact]))) << text;
}

TEST_F(CliIngestDetect, MinImpactAndLastFilterTheIncidents) {
  auto r = run_cli("detect --data " + (dir / "usage.h5").string() + " --min-impact 150 --out " + (dir / "a.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "3 incidents written")) << r.output;
  auto rows = read_csv(dir / "a.csv");
  EXPECT_EQ(rows.size(), 4u) << testing::read_file(dir / "a.csv");  // header + the unit error and the two spikes
  r = run_cli("detect --data " + (dir / "usage.h5").string() + " --min-impact 80 --out " + (dir / "d.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(find_row(read_csv(dir / "d.csv"), "beta", "2024-02-21"), nullptr) << "a negative impact passes by its size";
  r = run_cli("detect --data " + (dir / "usage.h5").string() + " --min-impact 0 --last 30 --out " + (dir / "b.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  rows = read_csv(dir / "b.csv");
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_GE(rows[i][kEnd], "2024-04-30") << "ended before the last 30 days";
  EXPECT_NE(find_row(rows, "beta", "2024-05-10"), nullptr);
  EXPECT_EQ(find_row(rows, "gamma", "2024-03-04"), nullptr);
}

TEST_F(CliIngestDetect, JsonHoldsTheSameIncidentsWithTheirProvenance) {
  const std::string data = " --data " + (dir / "usage.h5").string() + " --min-impact 0 --set z=4";
  auto r = run_cli("detect" + data + " --out " + (dir / "i.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("detect" + data + " --out " + (dir / "i.json").string());  // json from the extension
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = read_csv(dir / "i.csv");
  const nlohmann::json document = nlohmann::json::parse(testing::read_file(dir / "i.json"));
  EXPECT_EQ(document["dataset"]["path"], (dir / "usage.h5").string());
  EXPECT_EQ(document["dataset"]["series"], 3);
  EXPECT_EQ(document["model"], "gam");
  EXPECT_EQ(document["parameters"]["z"], "4");
  EXPECT_TRUE(contains(document["generated_by"].get<std::string>(), "meterbench")) << document["generated_by"];
  const nlohmann::json& incidents = document["incidents"];
  ASSERT_EQ(incidents.size() + 1, rows.size());
  for (std::size_t i = 0; i < incidents.size(); ++i) {
    const auto& row = rows[i + 1];
    const nlohmann::json& incident = incidents[i];
    for (const auto& [column, name] : {std::pair{kCustomer, "customer"}, std::pair{kMeter, "meter"}, std::pair{kKind, "kind"},
                                       std::pair{kStart, "start"}, std::pair{kEnd, "end"}, std::pair{kDirection, "direction"},
                                       std::pair{kCurrency, "currency"}})
      EXPECT_EQ(incident[name].get<std::string>(), row[column]) << name << " of incident " << i;
    for (const auto& [column, name] : {std::pair{kDays, "days"}, std::pair{kObserved, "observed_total"}, std::pair{kExpected, "expected_total"},
                                       std::pair{kImpact, "impact"}, std::pair{kPeakScore, "peak_score"}})
      EXPECT_NEAR(incident[name].get<double>(), std::stod(row[column]), 1e-5 * std::fabs(std::stod(row[column])) + 1e-9) << name << " of incident " << i;
  }
  EXPECT_EQ(incidents[0]["kind"], "unit_error");
}

TEST_F(CliIngestDetect, DashWritesToStandardOutputAndLogsStayOnStandardError) {
  const std::string data = " --data " + (dir / "usage.h5").string() + " --min-impact 0";
  auto r = run_cli("detect" + data + " --out " + (dir / "i.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string errors = (dir / "stderr.txt").string();
  r = testing::run_command("{ " + std::string(METERBENCH_CLI) + " detect" + data + " --out - 2>" + errors + "; }");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, testing::read_file(dir / "i.csv"));  // nothing but the incidents
  EXPECT_TRUE(contains(testing::read_file(errors), "incidents written to standard output")) << testing::read_file(errors);
  EXPECT_FALSE(std::filesystem::exists("-")) << "a file named -";
  EXPECT_EQ(testing::staged_entries(dir.path()), "");
  r = testing::run_command("{ " + std::string(METERBENCH_CLI) + " detect" + data + " --format json --out - 2>" + errors + "; }");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["incidents"][0]["kind"], "unit_error");
}

TEST_F(CliIngestDetect, AFormatThatContradictsTheExtensionIsAnError) {
  const std::string data = " --data " + (dir / "usage.h5").string();
  auto r = run_cli("detect" + data + " --format csv --out " + (dir / "x.json").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "--format csv does not match --out")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.json"));
  r = run_cli("detect" + data + " --format xml --out " + (dir / "x.xml").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "--format must be csv or json, got 'xml'")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.xml"));
  r = run_cli("detect" + data + " --format json --out " + (dir / "x.txt").string());  // an extension that names no format
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(nlohmann::json::parse(testing::read_file(dir / "x.txt")).contains("incidents"));
}

TEST_F(CliIngestDetect, BacktestAlertsOnUsageWithoutLabelsSayUnknown) {
  const auto r = run_cli("backtest --data " + (dir / "usage.h5").string() + " --no-baseline --out " + (dir / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = read_csv(dir / "run" / "alerts.csv");
  ASSERT_GE(rows.size(), 3u) << testing::read_file(dir / "run" / "alerts.csv");
  ASSERT_EQ(rows[0].back(), "true_event");
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_EQ(rows[i].back(), "unknown") << "row " << i;
}

TEST_F(CliIngestDetect, ErrorsNameTheProblemAndLeaveNothingBehind) {
  testing::write_file(dir / "bad.csv", "customer,meter,date,quantity\nc,m,2024-01-01,3\nc,m,2024-01-02,-1\n");
  auto r = run_cli("ingest --csv " + (dir / "bad.csv").string() + " --out " + (dir / "bad.h5").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "bad.csv:3: column 'quantity': '-1' is a negative quantity (--skip-bad skips such rows)")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.h5"));
  r = run_cli("ingest --csv " + (dir / "bad.csv").string() + " --skip-bad --out " + (dir / "bad.h5").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "1 skipped")) << r.output;

  testing::write_file(dir / "cols.csv", "customer,date,quantity\nc,2024-01-01,3\n");
  r = run_cli("ingest --csv " + (dir / "cols.csv").string() + " --out " + (dir / "cols.h5").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "missing column(s) 'meter' (for meter)")) << r.output;

  r = run_cli("ingest --csv " + (dir / "usage.csv").string() + " --out " + (dir / "usage.h5").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "already exists (use --force to replace it)")) << r.output;

  r = run_cli("detect --data " + (dir / "usage.h5").string() + " --out " + (dir / "alerts.csv").string() + " --last -3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "--last must be >= 0 days, got -3")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "alerts.csv"));

  r = run_cli("detect --data " + (dir / "usage.h5").string() + " --out " + (dir / "alerts.csv").string() + " --block -5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "--block must be >= 0, got -5")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "alerts.csv"));
}

// The rows of a CSV file after its header, each cut to its first `columns` cells.
std::vector<std::vector<std::string>> leading_cells(const std::filesystem::path& path, std::size_t columns) {
  auto rows = read_csv(path);
  rows.erase(rows.begin());
  for (auto& row : rows) row.resize(std::min(row.size(), columns));
  return rows;
}

TEST_F(CliIngestDetect, BacktestAlertsAreDetectsIncidentsWithTheMinImpactFilter) {
  const std::string data = " --data " + (dir / "usage.h5").string();
  for (const char* min_impact : {"0", "150"}) {
    auto r = run_cli("detect" + data + " --min-impact " + min_impact + " --out " + (dir / ("d" + std::string(min_impact) + ".csv")).string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = run_cli("backtest" + data + " --no-baseline --min-impact " + min_impact + " --out " + (dir / ("b" + std::string(min_impact))).string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto detected = leading_cells(dir / ("d" + std::string(min_impact) + ".csv"), kPeakScore + 1);
    const auto alerts = read_csv(dir / ("b" + std::string(min_impact)) / "alerts.csv");
    EXPECT_EQ(leading_cells(dir / ("b" + std::string(min_impact)) / "alerts.csv", kPeakScore + 1), detected) << "--min-impact " << min_impact;
    EXPECT_EQ(alerts[0].size(), kPeakScore + 3);
    EXPECT_EQ(alerts[0][kPeakScore + 1], "raised_at");
  }
  EXPECT_EQ(read_csv(dir / "b150" / "alerts.csv").size(), 4u) << "header + the unit error and the two spikes";
}

// The weekly production run: the data up to a week after DATE, `detect --since DATE`. Its incidents are the
// backtest's (weekly-refit schedule, on all the data) for the week starting at DATE, for gam and a baseline.
TEST_F(CliIngestDetect, SinceReproducesTheWeeklyRefitBacktestsWeek) {
  std::string until_week_end;
  std::stringstream all(usage_csv());
  for (std::string line; std::getline(all, line);)
    if (line.find(",2024-05-") == std::string::npos || line.substr(line.find(",2024-05-") + 1, 10) < "2024-05-16") until_week_end += line + "\n";
  testing::write_file(dir / "week.csv", until_week_end);
  auto r = run_cli("ingest --csv " + (dir / "week.csv").string() +
                   " --map customer=CustomerId,meter=MeterId,date=UsageDate,quantity=UsageQuantity,price=Price --out " + (dir / "week.h5").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(contains(r.output, "3 series x 136 steps (2024-01-01 .. 2024-05-15)")) << r.output;
  for (const char* model : {"gam", "seasonal-mad"}) {
    const std::string settings = std::string(" --model ") + model + " --min-impact 0";
    r = run_cli("detect --data " + (dir / "week.h5").string() + settings + " --since 2024-05-09 --out " + (dir / (std::string(model) + ".csv")).string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = run_cli("backtest --data " + (dir / "usage.h5").string() + settings + " --no-baseline --schedule weekly-refit --weeks 3 --out " +
                (dir / model).string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto monitoring = leading_cells(dir / (std::string(model) + ".csv"), kPeakScore + 1);
    std::vector<std::vector<std::string>> backtest_week;
    for (auto& row : leading_cells(dir / model / "alerts.csv", kPeakScore + 1))
      if (row[kStart] <= "2024-05-15") backtest_week.push_back(row);
    EXPECT_FALSE(monitoring.empty()) << model;
    EXPECT_EQ(monitoring, backtest_week) << model;
    EXPECT_NE(find_row(read_csv(dir / (std::string(model) + ".csv")), "beta", "2024-05-10"), nullptr) << model << ": the tripled day";
    for (const auto& row : monitoring) EXPECT_GE(row[kStart], "2024-05-09") << "nothing before --since is scored";
  }
  r = run_cli("detect --data " + (dir / "week.h5").string() + " --since 2024-05-09 --out " + (dir / "since.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(testing::read_file(dir / "since.json"))["dataset"]["scored_from"], "2024-05-09");
  r = run_cli("detect --data " + (dir / "usage.h5").string() + " --since 2024-05-09T12:00 --out " + (dir / "x.csv").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "--since '2024-05-09T12:00' is not a step of the dataset's grid after its first: steps of 1d from 2024-01-01 to 2024-05-29"))
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.csv"));
}

TEST_F(CliIngestDetect, LastKeepsTheIncidentsEndingInTheServicesPeriods) {
  const std::string data = " --data " + (dir / "usage.h5").string() + " --min-impact 0";
  auto r = run_cli("detect" + data + " --out " + (dir / "all.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto all = leading_cells(dir / "all.csv", kPeakScore + 1);
  std::size_t previous = 0;
  // The grid ends on 2024-05-29: the last 30, 60 and 90 days start on 04-30, 03-31 and 03-01.
  for (const auto& [days, first_day] : {std::pair{"30", "2024-04-30"}, std::pair{"60", "2024-03-31"}, std::pair{"90", "2024-03-01"}}) {
    r = run_cli("detect" + data + " --last " + days + " --out " + (dir / (std::string(days) + ".csv")).string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto kept = leading_cells(dir / (std::string(days) + ".csv"), kPeakScore + 1);
    std::vector<std::vector<std::string>> expected;
    for (const auto& row : all)
      if (row[kEnd] >= first_day) expected.push_back(row);
    EXPECT_EQ(kept, expected) << "--last " << days;
    EXPECT_GE(kept.size(), previous);
    previous = kept.size();
  }
  EXPECT_NE(find_row(read_csv(dir / "90.csv"), "gamma", "2024-03-04"), nullptr);
  EXPECT_EQ(find_row(read_csv(dir / "60.csv"), "gamma", "2024-03-04"), nullptr);
}

TEST_F(CliIngestDetect, ByCustomerRollsTheSeriesUpAndSaysWhichLevel) {
  // A second meter for gamma: its egress unit error is then part of gamma's whole bill.
  std::string text = usage_csv();
  std::stringstream all(usage_csv());
  std::string line;
  std::getline(all, line);
  while (std::getline(all, line))
    if (line.rfind("gamma,egress,", 0) == 0) text += "gamma,storage," + line.substr(13, 11) + "500,0.02\n";
  testing::write_file(dir / "two.csv", text);
  auto r = run_cli("ingest --csv " + (dir / "two.csv").string() +
                   " --map customer=CustomerId,meter=MeterId,date=UsageDate,quantity=UsageQuantity,price=Price --out " + (dir / "two.h5").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("detect --data " + (dir / "two.h5").string() + " --by customer --min-impact 0 --out " + (dir / "c.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, ": 3 series,")) << r.output;
  const auto rows = read_csv(dir / "c.csv");
  ASSERT_GE(rows.size(), 2u);
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_EQ(rows[i][kMeter], "*");
  // Costs are summed: the unit error's impact is in USD, as per meter (3 x 999 x 1000 units x 0.01 USD).
  EXPECT_EQ(rows[1][kCustomer], "gamma");
  EXPECT_EQ(rows[1][kKind], "unit_error");
  EXPECT_EQ(rows[1][kStart], "2024-03-04");
  EXPECT_NEAR(std::stod(rows[1][kImpact]), 3 * 999 * 1000 * 0.01, 0.05 * 3 * 999 * 1000 * 0.01);
  r = run_cli("detect --data " + (dir / "two.h5").string() + " --by meter --min-impact 0 --format json --out " + (dir / "m.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto document = nlohmann::json::parse(testing::read_file(dir / "m.json"));
  EXPECT_EQ(document["dataset"]["by"], "meter");
  EXPECT_EQ(document["dataset"]["scored_from"], "2024-01-01");
  EXPECT_EQ(document["dataset"]["series"], 3);  // storage (acme and gamma), compute, egress
  ASSERT_FALSE(document["incidents"].empty());
  for (const auto& incident : document["incidents"]) EXPECT_EQ(incident["customer"], "*");
  r = run_cli("detect --data " + (dir / "two.h5").string() + " --by region --out " + (dir / "r.csv").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "--by 'region': not a dimension of the dataset (known: customer, meter)")) << r.output;
  EXPECT_EQ(testing::staged_entries(dir.path()), "");
  EXPECT_FALSE(std::filesystem::exists(dir / "r.csv"));
}

}  // namespace
}  // namespace meterbench
