// Contract: a usage export goes through `ingest` and `detect` on the command line; planted anomalies come out
// first, with the right date and financial impact; --min-impact and --last filter the rows; errors name
// the file, line, column and value and leave no output behind.
#include <cmath>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::run_cli;
using testing::ScratchDir;

using testing::contains;

// Three customers' daily usage over 150 days from 2024-01-01: a weekly pattern, deterministic small noise,
// and two planted anomalies: acme/storage +400 units on 2024-04-20 (day 110) at 0.5 USD per unit, and
// beta/compute's usage tripled on 2024-05-10 (day 130) at 2 USD per unit.
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
      const int month = day < 31 ? 1 : day < 60 ? 2 : day < 91 ? 3 : day < 121 ? 4 : 5;
      const int dom = day - (month == 1 ? 0 : month == 2 ? 31 : month == 3 ? 60 : month == 4 ? 91 : 121) + 1;
      char date[16];
      std::snprintf(date, sizeof(date), "2024-%02d-%02d", month, dom);
      csv << names[s][0] << ',' << names[s][1] << ',' << date << ',' << q << ',' << prices[s] << '\n';
    }
  }
  return csv.str();
}

std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream in(testing::read_file(path));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(cells);
  }
  return rows;
}

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

TEST_F(CliIngestDetect, PlantedAnomaliesComeFirstWithTheirImpact) {
  const auto r = run_cli("detect --data " + (dir / "usage.h5").string() + " --min-impact 0 --out " + (dir / "alerts.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = read_csv(dir / "alerts.csv");
  ASSERT_GE(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"customer", "meter", "date", "observed", "expected", "lower", "upper", "score", "impact_usd"}));
  // beta's tripled day: about 2 x 50 units x 2 USD = 200 USD; acme's spike: 400 units x 0.5 USD = 200 USD.
  std::set<std::string> top = {rows[1][0] + "@" + rows[1][2], rows[2][0] + "@" + rows[2][2]};
  EXPECT_EQ(top, (std::set<std::string>{"acme@2024-04-20", "beta@2024-05-10"}));
  for (int i = 1; i <= 2; ++i) {
    const double observed = std::stod(rows[static_cast<std::size_t>(i)][3]);
    const double expected = std::stod(rows[static_cast<std::size_t>(i)][4]);
    const double price = rows[static_cast<std::size_t>(i)][0] == "acme" ? 0.5 : 2.0;
    EXPECT_NEAR(std::stod(rows[static_cast<std::size_t>(i)][8]), std::fabs(observed - expected) * price, 1e-3);
    EXPECT_NEAR(std::stod(rows[static_cast<std::size_t>(i)][8]), 200.0, 30.0);
    EXPECT_GT(observed, std::stod(rows[static_cast<std::size_t>(i)][6]));  // above the upper bound
  }
  for (std::size_t i = 2; i < rows.size(); ++i)  // sorted by impact, descending
    EXPECT_GE(std::stod(rows[i - 1][8]), std::stod(rows[i][8]));
}

TEST_F(CliIngestDetect, MinImpactAndLastFilterTheRows) {
  auto r = run_cli("detect --data " + (dir / "usage.h5").string() + " --min-impact 150 --out " + (dir / "a.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto rows = read_csv(dir / "a.csv");
  EXPECT_EQ(rows.size(), 3u);  // header + the two planted anomalies
  r = run_cli("detect --data " + (dir / "usage.h5").string() + " --min-impact 0 --last 30 --out " + (dir / "b.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  rows = read_csv(dir / "b.csv");
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_GE(rows[i][2], "2024-04-30") << "outside the last 30 days";
  bool beta = false;
  for (std::size_t i = 1; i < rows.size(); ++i) beta = beta || (rows[i][0] == "beta" && rows[i][2] == "2024-05-10");
  EXPECT_TRUE(beta);
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

}  // namespace
}  // namespace meterbench
