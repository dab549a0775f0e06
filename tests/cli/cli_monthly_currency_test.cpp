// Contract: the Azure monthly usage report (Month, UsageQuantity, UsageUnits, ACR_USD and the ServiceLevel and
// customer dimensions) ingests onto a calendar-month grid with --step 1mo, keeping its dimensions, and gam fits
// it with a yearly term of 12 steps (no weekly term): a planted spike is found, in the right month; the weekly
// schedule, which scores weeks, is refused on it with a clear message. The dataset's currency (--currency)
// is the currency every incident row names. Ids of any length reach every output whole.
#include <cmath>
#include <sstream>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::contains;
using testing::run_cli;
using testing::ScratchDir;

// Two customers, 48 months from 2021-01: a trend, a yearly cycle (December high, summer low) and small
// deterministic noise; Contoso's Compute usage tripled in 2024-05 (month 40).
std::string monthly_report() {
  std::ostringstream csv;
  csv << "Month,CustomerName,ServiceLevel1,ServiceLevel2,ServiceLevel3,ServiceLevel4,CustomerSegment,CustomerMarket,UsageQuantity,UsageUnits,"
         "ACR_USD\n";
  const char* customers[2] = {"Contoso", "Fabrikam"};
  for (int m = 0; m < 48; ++m)
    for (int c = 0; c < 2; ++c) {
      double q = (1000.0 + 10.0 * m) * (1.0 + 0.2 * std::cos(2.0 * 3.14159265358979 * (m % 12 - 11) / 12.0)) * (1.0 + 0.01 * std::sin(m * 2.3 + c));
      if (c == 0 && m == 40) q *= 3.0;
      char month[16];
      std::snprintf(month, sizeof(month), "%04d-%02d", 2021 + m / 12, m % 12 + 1);
      csv << month << ',' << customers[c] << ",Compute,Virtual Machines,D Series,D2 v3,Enterprise,US," << q << ",Hours," << q * 0.1 << '\n';
    }
  return csv.str();
}

const std::string kMap = " --map date=Month,customer=CustomerName,meter=ServiceLevel4,quantity=UsageQuantity";

TEST(CliMonthly, TheMonthlyUsageReportIngestsOntoAMonthGridAndGamFindsTheSpike) {
  ScratchDir dir;
  testing::write_file(dir / "report.csv", monthly_report());
  auto r = run_cli("ingest --csv " + (dir / "report.csv").string() + kMap + " --step 1mo --keep ServiceLevel1,UsageUnits,CustomerSegment --out " +
                   (dir / "m.h5").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "96 rows -> 2 series x 48 steps (2021-01-01 .. 2024-12-01)")) << r.output;
  r = run_cli("detect --data " + (dir / "m.h5").string() + " --model gam --min-impact 0 --out " + (dir / "incidents.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Fitted, not the too-short fallback: four years of months carry the trend's changepoints and the yearly term.
  EXPECT_TRUE(contains(r.output, "fit status ok 2")) << r.output;
  const std::string incidents = testing::read_file(dir / "incidents.csv");
  std::stringstream lines(incidents);
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  EXPECT_TRUE(first.starts_with("Contoso,D2 v3,Compute,Hours,Enterprise,spike,2024-05-01,2024-05-01,")) << incidents;  // kept dimensions after meter
  // The yearly cycle is fitted, not flagged: no other incident of Contoso or Fabrikam outside the spike month.
  for (std::string line; std::getline(lines, line);) EXPECT_TRUE(contains(line, "2024-05-01")) << incidents;
}

TEST(CliMonthly, TheWeeklyScheduleIsRefusedOnAMonthGrid) {
  ScratchDir dir;
  testing::write_file(dir / "report.csv", monthly_report());
  ASSERT_EQ(run_cli("ingest --csv " + (dir / "report.csv").string() + kMap + " --step 1mo --out " + (dir / "m.h5").string()).exit_code, 0);
  const auto r = run_cli("backtest --data " + (dir / "m.h5").string() + " --schedule weekly --out " + (dir / "run").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "the weekly schedule scores one week at a time: it needs a step of a day or less, and this dataset's step is 1mo "
                                 "(use --schedule retrospective)"))
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "run"));
}

TEST(CliCurrency, IncidentsSayTheDatasetsCurrency) {
  ScratchDir dir;
  std::string csv = "customer,meter,date,quantity,price,BillingCurrency\n";
  for (int d = 1; d <= 28; ++d)
    csv += "c,m,2024-02-" + std::string(d < 10 ? "0" : "") + std::to_string(d) + "," + std::to_string(d == 20 ? 900 : 100 + d % 3) + ",2,EUR\n";
  testing::write_file(dir / "eur.csv", csv);
  auto r = run_cli("ingest --csv " + (dir / "eur.csv").string() + " --currency BillingCurrency --out " + (dir / "eur.h5").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("detect --data " + (dir / "eur.h5").string() + " --min-impact 0 --out " + (dir / "incidents.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string incidents = testing::read_file(dir / "incidents.csv");
  EXPECT_TRUE(contains(incidents, "c,m,spike,2024-02-20,2024-02-20,1,over,")) << incidents;
  EXPECT_TRUE(contains(incidents, ",EUR,")) << incidents;
  EXPECT_FALSE(contains(incidents, "USD")) << incidents;
}

// Ids of any length go through ingest, backtest's alert rows and detect's incident rows whole.
TEST(CliLongIds, LongIdsReachEveryOutputWhole) {
  ScratchDir dir;
  const std::string customer(300, 'c'), meter = "/subscriptions/" + std::string(200, 's') + "/resourceGroups/rg/providers/Microsoft.Compute/vm";
  std::string csv = "customer,meter,date,quantity,price\n";
  for (int d = 1; d <= 28; ++d)
    csv += customer + ",\"" + meter + "\",2024-02-" + std::string(d < 10 ? "0" : "") + std::to_string(d) + "," + std::to_string(d == 20 ? 900 : 100 + d % 3) + ",2\n";
  testing::write_file(dir / "long.csv", csv);
  ASSERT_EQ(run_cli("ingest --csv " + (dir / "long.csv").string() + " --out " + (dir / "long.h5").string()).exit_code, 0);
  auto r = run_cli("backtest --data " + (dir / "long.h5").string() + " --out " + (dir / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // alerts.csv rows are incidents: customer,meter,kind,start,...
  EXPECT_TRUE(contains(testing::read_file(dir / "run" / "alerts.csv"), "\n" + customer + "," + meter + ",spike,2024-02-20,"))
      << testing::read_file(dir / "run" / "alerts.csv");
  r = run_cli("detect --data " + (dir / "long.h5").string() + " --min-impact 0 --out " + (dir / "incidents.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(testing::read_file(dir / "incidents.csv"), "\n" + customer + "," + meter + ",spike,2024-02-20,"));
}

// Kept dimensions reach every incident row after customer and meter: detect's CSV and JSON, backtest's alerts.csv.
TEST(CliKeptDimensions, EveryIncidentRowCarriesTheSeriesKeptDimensions) {
  ScratchDir dir;
  std::string csv = "Customer,Meter,Date,Qty,Price,MeterName,Region\n";
  for (int d = 1; d <= 28; ++d) {
    const std::string day = "2024-02-" + std::string(d < 10 ? "0" : "") + std::to_string(d);
    // The latest row's name wins: the meter was renamed on the 28th.
    const std::string name = d == 28 ? "\"D2 v3, renamed\"" : "D2 v3";
    csv += "acme,vm1," + day + "," + std::to_string(d == 20 ? 900 : 100 + d % 3) + ",2," + name + ",westeurope\n";
    csv += "acme,disk," + day + "," + std::to_string(50 + d % 2) + ",1,P10 Disk,eastus\n";
  }
  testing::write_file(dir / "u.csv", csv);
  auto r = run_cli("ingest --csv " + (dir / "u.csv").string() + " --map customer=Customer,meter=Meter,date=Date,quantity=Qty,price=Price" +
                   " --keep MeterName,Region --out " + (dir / "u.h5").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("detect --data " + (dir / "u.h5").string() + " --min-impact 0 --out " + (dir / "i.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string incidents = testing::read_file(dir / "i.csv");
  EXPECT_TRUE(incidents.starts_with("customer,meter,MeterName,Region,kind,start,end,")) << incidents;
  EXPECT_TRUE(contains(incidents, "\nacme,vm1,\"D2 v3, renamed\",westeurope,spike,2024-02-20,")) << incidents;
  r = run_cli("detect --data " + (dir / "u.h5").string() + " --min-impact 0 --out " + (dir / "i.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(testing::read_file(dir / "i.json"), "\"Region\": \"westeurope\"")) << testing::read_file(dir / "i.json");
  r = run_cli("backtest --data " + (dir / "u.h5").string() + " --min-impact 0 --out " + (dir / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string alerts = testing::read_file(dir / "run" / "alerts.csv");
  EXPECT_TRUE(alerts.starts_with("customer,meter,MeterName,Region,kind,")) << alerts;
  EXPECT_TRUE(contains(alerts, "\nacme,vm1,\"D2 v3, renamed\",westeurope,spike,2024-02-20,")) << alerts;
}

// `detect --by` a kept dimension: the series summed per value of it, the rows naming the value in its column.
TEST(CliKeptDimensions, ByAKeptDimensionRollsUpPerValueAndNamesIt) {
  ScratchDir dir;
  std::string csv = "Customer,Meter,Date,Qty,Price,Region\n";
  for (int d = 1; d <= 28; ++d) {
    const std::string day = "2024-02-" + std::string(d < 10 ? "0" : "") + std::to_string(d);
    // Two west meters of two customers (acme's spikes on the 20th) and one east meter.
    csv += "acme,vm1," + day + "," + std::to_string(d == 20 ? 900 : 100 + d % 3) + ",2,west\n";
    csv += "beta,vm2," + day + "," + std::to_string(200 + d % 2) + ",1,west\n";
    csv += "beta,disk," + day + "," + std::to_string(50 + d % 2) + ",1,east\n";
  }
  testing::write_file(dir / "u.csv", csv);
  auto r = run_cli("ingest --csv " + (dir / "u.csv").string() + " --map customer=Customer,meter=Meter,date=Date,quantity=Qty,price=Price" +
                   " --keep Region --out " + (dir / "u.h5").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("detect --data " + (dir / "u.h5").string() + " --by Region --min-impact 0 --out " + (dir / "r.csv").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, ": 2 series,")) << r.output;  // east and west
  const std::string rows = testing::read_file(dir / "r.csv");
  EXPECT_TRUE(rows.starts_with("customer,meter,Region,kind,")) << rows;
  EXPECT_TRUE(contains(rows, "\n*,Region=west,west,spike,2024-02-20,")) << rows;
  r = run_cli("detect --data " + (dir / "u.h5").string() + " --by Continent --out " + (dir / "x.csv").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "--by 'Continent': not a dimension of the dataset (known: customer, meter, Region)")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.csv"));
}

}  // namespace
}  // namespace meterbench
