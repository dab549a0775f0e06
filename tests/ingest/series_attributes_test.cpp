// Contract: ingest carries what a real export says about each series beyond its values. --keep COL,... stores
// dimension columns per series (the values of its latest row) in the dataset, readable block by block with
// SeriesBlock::dimension and named by DatasetInfo::dimensions; --currency COL refuses a series or dataset
// mixing currencies (naming the series, both currencies and the rows) unless --rates converts the prices to
// USD; the dataset records its currency. --skip-bad skips every kind of bad row, counted by reason, each listed
// with its column in the rejects file. --step 1mo builds a calendar-month grid from YYYY-MM or YYYY-MM-DD dates.
#include <gtest/gtest.h>

#include <cmath>

#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

const std::string kDimensionExport = R"(Date,Customer,Meter,Qty,Price,Currency,MeterName,Unit,Region
2024-01-01,acme,m1,1,2,EUR,Compute,Hours,westeurope
2024-01-02,acme,m1,2,3,EUR,"Compute, v2",Hours,westeurope
2024-01-01,beta,m2,5,,EUR,Storage,GB,
2024-01-02,acme,m3,4,1,EUR,API,1k calls,eastus
)";

IngestOptions export_options(const ScratchDir& dir) {
  return {.csv = dir / "usage.csv",
          .column_map = {"date=Date", "customer=Customer", "meter=Meter", "quantity=Qty", "price=Price"},
          .out = dir / "usage.h5"};
}

std::string attribute_error(const std::string& csv, IngestOptions o) {
  ScratchDir dir("IngestAttributeError");
  testing::write_file(dir / "usage.csv", csv);
  const IngestOptions defaults = export_options(dir);
  o.csv = defaults.csv;
  o.out = defaults.out;
  if (o.column_map.empty()) o.column_map = defaults.column_map;
  if (!o.rates.empty()) o.rates = dir / o.rates;
  try {
    ingest_csv(o);
  } catch (const std::exception& e) {
    return testing::refusal_message(e, dir, dir / "usage.h5");
  }
  return "ingested";
}

TEST(IngestKeep, DimensionsAreStoredPerSeriesFromTheLatestRow) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", kDimensionExport);
  IngestOptions o = export_options(dir);
  o.keep = {"MeterName", "Unit", "Region"};
  ingest_csv(o);
  DatasetReader reader(dir / "usage.h5");
  EXPECT_EQ(reader.info().dimensions, (std::vector<std::string>{"MeterName", "Unit", "Region"}));
  SeriesBlock b;
  reader.read(0, 3, b);
  // Series sorted by (customer, meter): acme/m1, acme/m3, beta/m2.
  EXPECT_EQ(b.dimension(0, 0), "Compute, v2");  // the latest row's name
  EXPECT_EQ(b.dimension(0, 1), "Hours");
  EXPECT_EQ(b.dimension(1, 0), "API");
  EXPECT_EQ(b.dimension(1, 2), "eastus");
  EXPECT_EQ(b.dimension(2, 2), "");  // an empty cell is kept empty
  // A block read from the middle sees its own series' values.
  reader.read(2, 1, b);
  EXPECT_EQ(b.dimension(0, 0), "Storage");
  EXPECT_EQ(b.series[0].customer(), "beta");
}

TEST(IngestKeep, WithoutKeepAndForGeneratedDataTheTableHasNoColumns) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", kDimensionExport);
  ingest_csv(export_options(dir));
  DatasetReader reader(dir / "usage.h5");
  EXPECT_TRUE(reader.info().dimensions.empty());
  EXPECT_EQ(reader.info().currency, "USD");
  SeriesBlock b;
  reader.read(0, 3, b);
  EXPECT_EQ(b.dimensions.columns, 0u);
}

TEST(IngestKeep, AbsentOrRepeatedColumnsAreRefused) {
  EXPECT_EQ(attribute_error(kDimensionExport, {.keep = {"Location"}}),
            "usage.csv: missing column 'Location' (for --keep) in the header: Date,Customer,Meter,Qty,Price,Currency,MeterName,Unit,Region");
  EXPECT_EQ(attribute_error(kDimensionExport, {.keep = {"Unit", "Unit"}}), "--keep names column 'Unit' twice");
}

// A keep value from a block of several thousand series, cut at any block size, reads back the same.
TEST(IngestKeep, ManySeriesAndLongIdsRoundTripInAnyBlocks) {
  ScratchDir dir;
  std::string csv = "Date,Customer,Meter,Qty,Price,Currency,MeterName,Unit,Region\n";
  const auto customer = [](int i) { return "customer-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 150), 'x'); };
  for (int i = 0; i < 5000; ++i)
    csv += "2024-01-0" + std::to_string(1 + i % 3) + "," + customer(i) + ",m,1,,EUR,name-" + std::to_string(i) + ",u,r" + std::to_string(i % 7) + "\n";
  testing::write_file(dir / "usage.csv", csv);
  IngestOptions o = export_options(dir);
  o.keep = {"MeterName", "Region"};
  o.memory_budget_bytes = 20000;  // several fill passes, so several written blocks
  ingest_csv(o);
  DatasetReader reader(dir / "usage.h5");
  SeriesBlock b;
  for (const std::int64_t block : {std::int64_t{1}, std::int64_t{333}, std::int64_t{5000}}) {
    std::int64_t checked = 0;
    for (std::int64_t first = 0; first < 5000; first += block) {
      const std::int64_t n = std::min(block, 5000 - first);
      reader.read(first, n, b);
      for (std::int64_t i = 0; i < n; ++i) {
        const std::string id(b.series[static_cast<std::size_t>(i)].customer());
        const int number = std::stoi(id.substr(9));
        ASSERT_EQ(id, customer(number));
        ASSERT_EQ(b.dimension(i, 0), "name-" + std::to_string(number));
        ASSERT_EQ(b.dimension(i, 1), "r" + std::to_string(number % 7));
        ++checked;
      }
    }
    EXPECT_EQ(checked, 5000);
  }
}

TEST(IngestCurrency, OneCurrencyIsRecorded) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", kDimensionExport);
  IngestOptions o = export_options(dir);
  o.currency = "Currency";
  ingest_csv(o);
  EXPECT_EQ(DatasetReader(dir / "usage.h5").info().currency, "EUR");
}

TEST(IngestCurrency, ASeriesMixingCurrenciesIsRefusedNamingItsRows) {
  const std::string mixed = kDimensionExport + "2024-01-03,acme,m1,1,2,USD,Compute,Hours,westeurope\n2024-01-03,acme,m3,1,2,GBP,API,1k calls,eastus\n";
  EXPECT_EQ(attribute_error(mixed, {.currency = "Currency"}),
            "usage.csv:6: customer 'acme', meter 'm1' mixes currencies: EUR from usage.csv:2 on, then USD; a dataset has one currency "
            "(--rates FILE converts them to USD)");
  const std::string two_series = kDimensionExport + "2024-01-03,zeta,m9,1,2,USD,X,u,r\n";
  EXPECT_EQ(attribute_error(two_series, {.currency = "Currency"}),
            "usage.csv:6: customer 'zeta', meter 'm9' is in USD, but customer 'acme', meter 'm1' is in EUR (from usage.csv:2); a dataset "
            "has one currency (--rates FILE converts them to USD)");
  EXPECT_EQ(attribute_error(kDimensionExport + "2024-01-03,acme,m1,1,2,,X,u,r\n", {.currency = "Currency"}),
            "usage.csv:6: column 'Currency': '' is not a currency code (1 to 8 letters, e.g. USD) (--skip-bad skips such rows)");
  EXPECT_EQ(attribute_error(kDimensionExport, {.currency = "Curr"}),
            "usage.csv: missing column 'Curr' (for --currency) in the header: Date,Customer,Meter,Qty,Price,Currency,MeterName,Unit,Region");
}

TEST(IngestCurrency, RatesConvertPricesToUsd) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", kDimensionExport + "2024-01-03,acme,m1,1,4,usd,Compute,Hours,westeurope\n2024-01-03,acme,m3,1,10,GBP,API,1k calls,eastus\n");
  testing::write_file(dir / "rates.csv", "currency,rate_to_usd\nEUR,1.5\nGBP,1.25\nUSD,1\n");
  IngestOptions o = export_options(dir);
  o.currency = "Currency";
  o.rates = dir / "rates.csv";
  ingest_csv(o);
  DatasetReader reader(dir / "usage.h5");
  EXPECT_EQ(reader.info().currency, "USD");
  SeriesBlock b;
  reader.read(0, 3, b);
  EXPECT_EQ(b.series[0].price_per_unit, 4.0);    // acme/m1: its latest row, in USD
  EXPECT_EQ(b.series[1].price_per_unit, 12.5);   // acme/m3: 10 GBP
  EXPECT_TRUE(std::isnan(b.series[2].price_per_unit));
}

TEST(IngestCurrency, RateProblemsNameFileAndLine) {
  ScratchDir dir("IngestRateFiles");
  testing::write_file(dir / "r1.csv", "currency,rate_to_usd\nEUR,1.1\nGBP,-2\n");
  testing::write_file(dir / "r2.csv", "currency,usd\n");
  testing::write_file(dir / "r3.csv", "currency,rate_to_usd\nGBP,1.2\n");
  testing::write_file(dir / "r4.csv", "currency,rate_to_usd\nEUR,1\neur,2\n");
  const auto error = [&](const char* rates) {
    testing::write_file(dir / "usage.csv", kDimensionExport);
    IngestOptions o = export_options(dir);
    o.currency = "Currency";
    o.rates = dir / rates;
    try {
      ingest_csv(o);
    } catch (const std::exception& e) {
      return testing::refusal_message(e, dir, dir / "usage.h5");
    }
    return std::string("ingested");
  };
  EXPECT_EQ(error("r1.csv"), "r1.csv:3: column 'rate_to_usd': '-2' is not a positive number");
  EXPECT_EQ(error("r2.csv"), "r2.csv:1: expected the header currency,rate_to_usd");
  EXPECT_EQ(error("r3.csv"), "usage.csv:2: column 'Currency': currency 'EUR' has no rate in r3.csv (--skip-bad skips such rows)");
  EXPECT_EQ(error("r4.csv"), "r4.csv:3: currency 'EUR' is listed twice");
  EXPECT_EQ(attribute_error(kDimensionExport, {.rates = "r.csv"}), "--rates converts the currency of --currency COL: name that column too");
}

// Every kind of bad row is skipped with --skip-bad, counted, and listed with its reason and column.
TEST(IngestSkipBad, EveryBadRowIsSkippedWithItsReasonAndColumn) {
  ScratchDir dir;
  const std::string csv = "customer,meter,date,quantity,price,cur\n"
                          "c,m,2024-01-01,1,1,EUR\n"
                          "c,m,2024-01-02\n"               // 3: wrong number of fields
                          "c,m,2024-13-02,1,1,EUR\n"       // 4: bad date
                          "c,m,2024-01-02,,1,EUR\n"        // 5: empty quantity
                          "c,m,2024-01-02,abc,1,EUR\n"     // 6: non-numeric quantity
                          "c,m,2024-01-02,-3,1,EUR\n"      // 7: negative quantity (a credit)
                          "c,m,2024-01-02,1,free,EUR\n"    // 8: bad price
                          "c\tx,m,2024-01-02,1,1,EUR\n"    // 9: bad id
                          ",m,2024-01-02,1,1,EUR\n"        // 10: empty id
                          "c,m,2024-01-02,1,1,\n"          // 11: empty currency
                          "c,m,2024-01-02,1,1,E1\n"        // 12: bad currency
                          "c,m,2024-01-03,2,1,EUR\n";
  testing::write_file(dir / "usage.csv", csv);
  const IngestSummary s = ingest_csv({.csv = dir / "usage.csv", .out = dir / "usage.h5", .skip_bad = true, .currency = "cur"});
  EXPECT_EQ(s.rows, 12);
  EXPECT_EQ(s.skipped_rows, 10);
  const std::string f = (dir / "usage.csv").string();
  EXPECT_EQ(testing::read_file(dir / "usage.h5.rejects.csv"),
            "file,line,column,reason,raw_line\n" +
            f + ",3,,wrong number of fields,\"c,m,2024-01-02\"\n" +
            f + ",4,date,bad date,\"c,m,2024-13-02,1,1,EUR\"\n" +
            f + ",5,quantity,empty quantity,\"c,m,2024-01-02,,1,EUR\"\n" +
            f + ",6,quantity,non-numeric quantity,\"c,m,2024-01-02,abc,1,EUR\"\n" +
            f + ",7,quantity,negative quantity,\"c,m,2024-01-02,-3,1,EUR\"\n" +
            f + ",8,price,bad price,\"c,m,2024-01-02,1,free,EUR\"\n" +
            f + ",9,customer,bad id,\"c\tx,m,2024-01-02,1,1,EUR\"\n" +
            f + ",10,customer,bad id,\",m,2024-01-02,1,1,EUR\"\n" +
            f + ",11,cur,empty currency,\"c,m,2024-01-02,1,1,\"\n" +
            f + ",12,cur,bad currency,\"c,m,2024-01-02,1,1,E1\"\n");
  DatasetReader reader(dir / "usage.h5");
  EXPECT_EQ(reader.info().series_count, 1);
  SeriesBlock b;
  reader.read(0, 1, b);
  EXPECT_EQ(b.values[0], 1.0f);
  EXPECT_TRUE(std::isnan(b.values[1]));
  EXPECT_EQ(b.values[2], 2.0f);
}

TEST(IngestMonthly, MonthDatesBuildACalendarMonthGrid) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", "customer,meter,date,quantity\nc,m,2023-12,1\nc,m,2024-02-01,2\nc,m,2024-03-17,3\nd,m,2024-01,4\n");
  const IngestSummary s = ingest_csv({.csv = dir / "usage.csv", .step = "1mo", .out = dir / "usage.h5"});
  EXPECT_EQ(s.steps, 4);
  DatasetReader reader(dir / "usage.h5");
  const TimeGrid& grid = reader.info().grid;
  EXPECT_TRUE(grid.monthly());
  EXPECT_EQ(format_step(grid.step_seconds), "1mo");
  EXPECT_EQ(format_utc_timestamp(grid.time_at(0)), "2023-12-01");
  EXPECT_EQ(format_utc_timestamp(grid.time_at(2)), "2024-02-01");
  EXPECT_EQ(format_utc_timestamp(grid.time_at(3)), "2024-03-01");
  SeriesBlock b;
  reader.read(0, 2, b);
  EXPECT_EQ(b.values[0], 1.0f);
  EXPECT_TRUE(std::isnan(b.values[1]));
  EXPECT_EQ(b.values[2], 2.0f);
  EXPECT_EQ(b.values[3], 3.0f);  // mid-month falls in its month
  EXPECT_EQ(b.values[5], 4.0f);
  // A month written another way, with --date-format without a day.
  testing::write_file(dir / "named.csv", "customer,meter,date,quantity\nc,m,Mar 2024,1\nc,m,Jan 2025,2\n");
  const IngestSummary named = ingest_csv({.csv = dir / "named.csv", .date_format = "%b %Y", .step = "1mo", .out = dir / "named.h5"});
  EXPECT_EQ(named.steps, 11);
  EXPECT_EQ(named.first_step, "2024-03-01");
  // On a daily grid a month is not a date.
  testing::write_file(dir / "daily.csv", "customer,meter,date,quantity\nc,m,2024-03,1\n");
  EXPECT_THROW(ingest_csv({.csv = dir / "daily.csv", .out = dir / "daily.h5"}), std::exception);
}

}  // namespace
}  // namespace meterbench
