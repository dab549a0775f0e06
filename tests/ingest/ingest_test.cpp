// Contract: a usage export round-trips into the dataset exactly (values, gaps as NaN never zeros, summed
// duplicates, prices, labels and verdicts), independent of row order and of the memory budget; bad input
// is refused with the file, line, column and value; nothing is left behind on failure.
#include <cmath>

#include <gtest/gtest.h>

#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/csv.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

const char* kUsage =
    "customer,meter,date,quantity,price\n"
    "acme,storage,2024-01-01,10,0.5\n"
    "acme,storage,2024-01-02,11,0.5\n"
    "acme,storage,2024-01-04,13.5,0.6\n"  // 01-03 missing: a gap; the latest price wins
    "acme,compute,2024-01-02,7,\n"         // no price on any row: price unknown
    "\"beta, inc\",storage,2024-01-01,1,2\n"
    "\"beta, inc\",storage,2024-01-01,2,2\n"  // same series and day: summed
    "\"beta, inc\",storage,2024-01-05,0,2\n";  // a real zero stays zero

SeriesBlock read_all(const std::filesystem::path& path, DatasetInfo* info = nullptr) {
  DatasetReader reader(path);
  if (info != nullptr) *info = reader.info();
  SeriesBlock b;
  reader.read(0, reader.info().series_count, b);
  return b;
}

IngestSummary ingest(const ScratchDir& dir, const std::string& csv, IngestOptions o = {}) {
  testing::write_file(dir / "usage.csv", csv);
  o.csv = dir / "usage.csv";
  if (o.out.empty()) o.out = dir / "usage.h5";
  return ingest_csv(o);
}

TEST(Ingest, RoundTripKeepsValuesGapsDuplicatesAndPrices) {
  ScratchDir dir;
  const IngestSummary s = ingest(dir, kUsage);
  EXPECT_EQ(s.rows, 7);
  EXPECT_EQ(s.series, 3);
  EXPECT_EQ(s.steps, 5);
  EXPECT_EQ(s.summed_rows, 1);
  EXPECT_EQ(s.first_step, "2024-01-01");
  EXPECT_EQ(s.last_step, "2024-01-05");
  DatasetInfo info;
  const SeriesBlock b = read_all(dir / "usage.h5", &info);
  EXPECT_FALSE(info.has_labels);
  EXPECT_EQ(info.source, "ingested");
  EXPECT_EQ(info.grid.start_unix_seconds, parse_utc_timestamp("2024-01-01"));
  // Sorted by customer then meter: (acme, compute), (acme, storage), (beta, inc, storage).
  ASSERT_EQ(b.count, 3);
  EXPECT_EQ(b.series[0].customer(), "acme");
  EXPECT_EQ(b.series[0].meter(), "compute");
  EXPECT_EQ(b.series[2].customer(), "beta, inc");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::vector<float>> expected = {{nan, 7, nan, nan, nan}, {10, 11, nan, 13.5f, nan}, {3, nan, nan, nan, 0}};
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t t = 0; t < 5; ++t) {
      const float got = b.row(i)[static_cast<std::size_t>(t)];
      const float want = expected[static_cast<std::size_t>(i)][static_cast<std::size_t>(t)];
      if (std::isnan(want)) EXPECT_TRUE(std::isnan(got)) << i << "," << t;
      else EXPECT_EQ(got, want) << i << "," << t;
    }
  EXPECT_TRUE(std::isnan(b.series[0].price_per_unit));
  EXPECT_EQ(b.series[1].price_per_unit, 0.6);
  EXPECT_EQ(b.series[2].price_per_unit, 2.0);
}

TEST(Ingest, RowOrderAndMemoryBudgetDoNotChangeTheFile) {
  ScratchDir dir;
  ingest(dir, kUsage, {.out = dir / "a.h5"});
  // Reversed data rows, and a budget so small that every series needs its own pass.
  std::string reversed = "customer,meter,date,quantity,price\n";
  std::vector<std::string> lines;
  std::stringstream ss(std::string(kUsage).substr(std::string(kUsage).find('\n') + 1));
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) reversed += *it + "\n";
  const IngestSummary s = ingest(dir, reversed, {.out = dir / "b.h5", .memory_budget_bytes = 1});
  EXPECT_EQ(s.passes, 3);
  // Same data; only the provenance text (which names the input file) may differ, and it does not here.
  EXPECT_EQ(testing::read_file(dir / "a.h5"), testing::read_file(dir / "b.h5"));
}

TEST(Ingest, ColumnMapAndHourlyStep) {
  ScratchDir dir;
  const std::string csv =
      "UsageDate,CustomerId,MeterId,UsageQuantity\n"
      "2024-03-01T00:15:00Z,c1,m1,1\n"
      "2024-03-01T00:45:00Z,c1,m1,2\n"  // same hour: summed
      "2024-03-01T03:00:00.000Z,c1,m1,4\n";
  IngestOptions o;
  o.column_map = {"date=UsageDate", "customer=CustomerId", "meter=MeterId", "quantity=UsageQuantity"};
  o.step = "1h";
  const IngestSummary s = ingest(dir, csv, o);
  EXPECT_EQ(s.steps, 4);
  EXPECT_EQ(s.summed_rows, 1);
  DatasetInfo info;
  const SeriesBlock b = read_all(dir / "usage.h5", &info);
  EXPECT_EQ(info.grid.step_seconds, kSecondsPerHour);
  EXPECT_EQ(b.row(0)[0], 3.0f);
  EXPECT_TRUE(std::isnan(b.row(0)[1]));
  EXPECT_EQ(b.row(0)[3], 4.0f);
}

TEST(Ingest, LabelsBecomeGroundTruthAndVerdictsAreKept) {
  ScratchDir dir;
  testing::write_file(dir / "labels.csv",
                      "customer,meter,start,end,kind,verdict\n"
                      "acme,storage,2024-01-02,2024-01-02,spike,anomaly\n"
                      "acme,storage,2024-01-04,2024-01-04,,not_anomaly\n"
                      "\"beta, inc\",storage,2024-01-01,2024-01-01,,\n");
  const IngestSummary s = ingest(dir, kUsage, {.labels = dir / "labels.csv"});
  EXPECT_EQ(s.anomaly_labels, 2);
  EXPECT_EQ(s.normal_verdicts, 1);
  DatasetReader reader(dir / "usage.h5");
  EXPECT_TRUE(reader.info().has_labels);
  SeriesBlock b;
  reader.read(0, 3, b);
  EXPECT_EQ(b.label_row(1)[1], static_cast<std::uint8_t>(AnomalyKind::spike));
  EXPECT_EQ(b.label_row(1)[3], 0);  // "not an anomaly": no label, but an event of kind normal
  EXPECT_EQ(b.label_row(2)[0], static_cast<std::uint8_t>(AnomalyKind::reported));
  ASSERT_EQ(b.events.size(), 3u);
  EXPECT_EQ(b.events[1].kind, static_cast<std::uint8_t>(AnomalyKind::normal));
  EXPECT_EQ(b.events[1].start, 3);
  EXPECT_EQ(b.series[1].event_count, 2u);
}

std::string ingest_error(const std::string& csv, IngestOptions o = {}, const std::string& labels = "") {
  ScratchDir dir;
  if (!labels.empty()) {
    testing::write_file(dir / "labels.csv", labels);
    o.labels = dir / "labels.csv";
  }
  try {
    ingest(dir, csv, o);
  } catch (const std::exception& e) {
    return testing::refusal_message(e, dir, dir / "usage.h5");
  }
  return "ingested";
}

TEST(Ingest, BadInputIsNamedWithFileLineColumnAndValue) {
  EXPECT_EQ(ingest_error("customer,meter,day,qty\nc,m,2024-01-01,1\n"),
            "usage.csv: missing column(s) 'date' (for date), 'quantity' (for quantity) in the header: customer,meter,day,qty "
            "(rename with --map field=column)");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\nc,m,2024-01-01,1\nc,m,01/02/2024,2\n"),
            "usage.csv:3: column 'date': invalid date '01/02/2024': not a date (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]) (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\nc,m,2024-01-01,1O\n"), "usage.csv:2: column 'quantity': '1O' is not a number (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\nc,m,2024-01-01,-4\n"),
            "usage.csv:2: column 'quantity': '-4' is a negative quantity (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\nc,m,2024-01-01,inf\n"),
            "usage.csv:2: column 'quantity': 'inf' is not a finite quantity (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity,price\nc,m,2024-01-01,1,cheap\n"),
            "usage.csv:2: column 'price': 'cheap' is not a price (a non-negative number per unit) (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\nc,m,2024-01-01\n"), "usage.csv:2: has 3 fields, the header has 4 (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error(""), "usage.csv: the file is empty (expected a header: customer,meter,date,quantity[,price])");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\n"), "usage.csv: no data rows after the header");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\n\"c,m,2024-01-01,1\n"), "usage.csv:2: unterminated quoted field");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\nc,m,2024-01-01,1\n", {.column_map = {"when=Date"}}),
            "--map 'when=Date': expected field=column with field one of customer, meter, date, quantity, price");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\nc,m,2024-01-01,1\n", {.step = "7h"}), "--step 7h does not divide a day (use e.g. 1d or 1h, or 1mo for a monthly grid)");
}

TEST(Ingest, LabelProblemsAreNamed) {
  const std::string usage = "customer,meter,date,quantity\nc,m,2024-01-01,1\nc,m,2024-01-09,1\n";
  EXPECT_EQ(ingest_error(usage, {}, "customer,meter,start,end\nc,m,2024-01-02,2024-01-03\nc,m,2024-01-02,2024-01-03\n"),
            "labels.csv:3: duplicates the label on line 2");
  EXPECT_EQ(ingest_error(usage, {}, "customer,meter,start,end\nc,m,2024-01-02,2024-01-05\nc,m,2024-01-04,2024-01-06\n"),
            "labels.csv:3: overlaps the label on line 2 of the same series");
  EXPECT_EQ(ingest_error(usage, {}, "customer,meter,start,end\nc,m,2024-01-02,2024-01-03,spike\n"), "labels.csv:2: has 5 fields, the header has 4");
  EXPECT_EQ(ingest_error(usage, {}, "customer,meter,start,end\nx,m,2024-01-02,2024-01-03\n"),
            "labels.csv:2: no usage for customer 'x' and meter 'm'");
  EXPECT_EQ(ingest_error(usage, {}, "customer,meter,start,end\nc,m,2024-01-05,2024-01-03\n"), "labels.csv:2: end 2024-01-03 is before start 2024-01-05");
  EXPECT_EQ(ingest_error(usage, {}, "customer,meter,start,end\nc,m,2024-01-05,2024-02-03\n"),
            "labels.csv:2: 2024-01-05..2024-02-03 is outside the usage's range 2024-01-01..2024-01-09");
  EXPECT_EQ(ingest_error(usage, {}, "customer,meter,start,end,kind\nc,m,2024-01-05,2024-01-06,meteor\n"),
            "labels.csv:2: unknown anomaly kind 'meteor' (known: spike, dip, level_shift, trend_change, seasonality_change, unit_error, "
            "double_counting, dropped_reporting, stuck_meter, fraud_ramp, reported, stopped_reporting)");
}

TEST(Ingest, SkipBadSkipsAndCountsBadQuantities) {
  ScratchDir dir;
  const IngestSummary s = ingest(dir, "customer,meter,date,quantity\nc,m,2024-01-01,1\nc,m,2024-01-02,-1\nc,m,2024-01-03,nan\nc,m,2024-01-04,4\n",
                                 {.skip_bad = true});
  EXPECT_EQ(s.rows, 4);
  EXPECT_EQ(s.skipped_rows, 2);
  const SeriesBlock b = read_all(dir / "usage.h5");
  EXPECT_EQ(b.row(0)[0], 1.0f);
  EXPECT_TRUE(std::isnan(b.row(0)[1]));  // skipped: missing, not zero
  EXPECT_TRUE(std::isnan(b.row(0)[2]));
  EXPECT_EQ(b.row(0)[3], 4.0f);
}

// The dataset stores floats: a quantity beyond float's range, or a sum of rows beyond it, would be stored
// as infinity; both are refused (a single row like other bad quantities, skippable with --skip-bad).
TEST(Ingest, QuantitiesBeyondFloatRangeAreRefused) {
  const std::string header = "customer,meter,date,quantity\nc,m,2024-01-01,1\n";
  for (const std::string q : {"1e39", "3.5e38", "1e308"})
    EXPECT_EQ(ingest_error(header + "c,m,2024-01-02," + q + "\n"),
              "usage.csv:3: column 'quantity': '" + q +
                  "' exceeds the largest quantity a dataset stores (3.40282e+38, float32) (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error(header + "c,m,2024-01-02,1e400\n"),
            "usage.csv:3: column 'quantity': '1e400' is out of range (a dataset stores quantities up to 3.40282e+38, float32) "
            "(--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error(header + "c,m,2024-01-02,3e38\nd,m,2024-01-02,3e38\nc,m,2024-01-02,3e38\n"),
            "usage.csv: the rows of customer 'c', meter 'm' on 2024-01-02 sum to 6e+38, more than the largest quantity a dataset stores "
            "(3.40282e+38, float32)");
  ScratchDir dir;
  const IngestSummary s = ingest(dir, header + "c,m,2024-01-02,1e39\nc,m,2024-01-03,3.4028234e38\n", {.skip_bad = true});
  EXPECT_EQ(s.skipped_rows, 1);
  const SeriesBlock b = read_all(dir / "usage.h5");
  EXPECT_TRUE(std::isnan(b.row(0)[1]));
  EXPECT_EQ(b.row(0)[2], std::numeric_limits<float>::max());  // the largest float itself is kept
}

// A --map target must exist in the header (price too, though price is optional); a field renamed twice or
// a used column that the header holds twice is ambiguous. Unused columns may repeat.
TEST(Ingest, HeaderAndColumnMapProblemsAreNamed) {
  const std::string usage = "customer,meter,date,quantity,price\nc,m,2024-01-01,1,2\n";
  EXPECT_EQ(ingest_error(usage, {.column_map = {"price=NoSuchColumn"}}),
            "usage.csv: missing column(s) 'NoSuchColumn' (for price, from --map) in the header: customer,meter,date,quantity,price "
            "(rename with --map field=column)");
  EXPECT_EQ(ingest_error(usage, {.column_map = {"quantity=Qty"}}),
            "usage.csv: missing column(s) 'Qty' (for quantity, from --map) in the header: customer,meter,date,quantity,price "
            "(rename with --map field=column)");
  EXPECT_EQ(ingest_error(usage, {.column_map = {"date=date", "date=day"}}), "--map 'date=day': date is renamed twice (to 'date' first)");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity,quantity\nc,m,2024-01-01,1,5\n"),
            "usage.csv: column 'quantity' (for quantity) appears 2 times in the header, as columns 4 and 5: which one to read is ambiguous "
            "(header: customer,meter,date,quantity,quantity)");
  EXPECT_EQ(ingest_error("Q,customer,meter,date,Q\n1,c,m,2024-01-01,5\n", {.column_map = {"quantity=Q"}}),
            "usage.csv: column 'Q' (for quantity) appears 2 times in the header, as columns 1 and 5: which one to read is ambiguous "
            "(header: Q,customer,meter,date,Q)");
  ScratchDir dir;
  EXPECT_EQ(ingest(dir, "note,customer,meter,date,quantity,note\nx,c,m,2024-01-01,1,y\n").rows, 1);
}

// Every row has the header's number of fields: an extra one means a separator was lost or gained.
TEST(Ingest, RowsWithMoreFieldsThanTheHeaderAreRefused) {
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\nc,m,2024-01-01,1\nc,m,2024-01-02,1,5\n"), "usage.csv:3: has 5 fields, the header has 4 (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error("customer,meter,date,quantity,price\nc,m,2024-01-01,1\n"), "usage.csv:2: has 4 fields, the header has 5 (--skip-bad skips such rows)");
}

// Ids are stored in fixed fields of 64 bytes with a terminating NUL: longer ids and control characters
// (a NUL would cut the id short and merge two series) are refused with the file, line and column.
TEST(Ingest, IdsAreCheckedWithFileLineAndColumn) {
  const std::string header = "customer,meter,date,quantity\nc,m,2024-01-01,1\n";
  EXPECT_EQ(ingest_error(header + std::string("c\0x,m,2024-01-01,1\n", 19)),
            "usage.csv:3: column 'customer': the id 'c\\x00x' holds the control character \\x00 at byte 2; ids must be printable text (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error(header + "c,\"m\nn\",2024-01-01,1\n"),
            "usage.csv:3: column 'meter': the id 'm\\x0An' holds the control character \\x0A at byte 2; ids must be printable text (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error(header + "c\x1fm,m,2024-01-01,1\n"),
            "usage.csv:3: column 'customer': the id 'c\\x1Fm' holds the control character \\x1F at byte 2; ids must be printable text (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error(header + ",m,2024-01-01,1\n"), "usage.csv:3: column 'customer': the id is empty (--skip-bad skips such rows)");
  ScratchDir dir;
  // Ids have any length (a 1,000-byte customer, a 111-byte resource id as the meter).
  ingest(dir, "customer,meter,date,quantity\n" + std::string(1000, 'c') + ",m\xC3\xA9ter,2024-01-01,1\n" + "d," + std::string(111, 'r') + ",2024-01-01,2\n");
  const SeriesBlock b = read_all(dir / "usage.h5");
  EXPECT_EQ(b.series[0].customer(), std::string(1000, 'c'));
  EXPECT_EQ(b.series[1].meter(), std::string(111, 'r'));
  EXPECT_EQ(b.series[0].meter(), "m\xC3\xA9ter");  // UTF-8 is text, not control characters
}

// One mistyped year must not silently build millions of steps: past 100 years of steps (or --max-steps)
// the grid is refused, naming the first and last dates with their lines.
TEST(Ingest, AGridBeyondTheStepLimitNeedsMaxSteps) {
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\nc,m,2024-01-01,1\nc,m,9999-12-31,1\nc,m,2024-01-02,1\n"),
            "usage.csv: the rows span 2024-01-01 (line 2) .. 9999-12-31 (line 3): 2913174 steps of 1d, more than the default limit of 36525 "
            "(100 years of 1d steps); is a date wrong? --max-steps N allows a longer grid");
  const std::string last_allowed = format_utc_date(parse_utc_timestamp("2000-01-01") + (kDefaultMaxGridDays - 1) * kSecondsPerDay);
  const std::string one_more = format_utc_date(parse_utc_timestamp("2000-01-01") + kDefaultMaxGridDays * kSecondsPerDay);
  EXPECT_NE(ingest_error("customer,meter,date,quantity\nc,m,2000-01-01,1\nc,m," + one_more + ",1\n"), "ingested");
  const std::string ten_days = "customer,meter,date,quantity\nc,m,2024-01-10T05:00:00Z,1\nc,m,2024-01-01,1\n";
  EXPECT_EQ(ingest_error(ten_days, {.max_steps = 9}),
            "usage.csv: the rows span 2024-01-01 (line 3) .. 2024-01-10 (line 2): 10 steps of 1d, more than --max-steps 9; is a date wrong? "
            "--max-steps N allows a longer grid");
  EXPECT_EQ(ingest_error(ten_days, {.max_steps = 0}), "--max-steps must be at least 1, got 0");
  ScratchDir dir;  // after ingest_error, which uses (and removes) a directory of the same name
  EXPECT_EQ(ingest(dir, "customer,meter,date,quantity\nc,m,2000-01-01,1\nc,m," + last_allowed + ",1\n").steps, kDefaultMaxGridDays);
  EXPECT_EQ(ingest(dir, ten_days, {.out = dir / "ten.h5", .max_steps = 10}).steps, 10);
}

// An empty quantity cell is a missing value: skipped and counted with --skip-bad, else an error.
TEST(Ingest, EmptyQuantityIsABadQuantity) {
  const std::string csv = "customer,meter,date,quantity,price\nc,m,2024-01-01,1,2\nc,m,2024-01-02,,2\nc,m,2024-01-03,-0,2\n";
  EXPECT_EQ(ingest_error(csv), "usage.csv:3: column 'quantity' is empty (--skip-bad skips such rows)");
  ScratchDir dir;
  const IngestSummary s = ingest(dir, csv, {.skip_bad = true});
  EXPECT_EQ(s.skipped_rows, 1);
  const SeriesBlock b = read_all(dir / "usage.h5");
  EXPECT_TRUE(std::isnan(b.row(0)[1]));
  EXPECT_EQ(b.row(0)[2], 0.0f);
  EXPECT_FALSE(std::signbit(b.row(0)[2]));  // "-0" is stored as zero, without a sign
}

// Spreadsheet exports: a byte order mark, CRLF line ends, a header-only file, date-times on a daily grid.
TEST(Ingest, ByteOrderMarkCrlfAndHeaderOnlyFiles) {
  EXPECT_EQ(ingest_error("customer,meter,date,quantity\r\n\r\n"), "usage.csv: no data rows after the header");
  EXPECT_EQ(ingest_error("\n\n"), "usage.csv: the file is empty (expected a header: customer,meter,date,quantity[,price])");
  ScratchDir dir;
  const IngestSummary s = ingest(dir, "\xEF\xBB\xBF" "customer,meter,date,quantity\r\nc,m,2024-01-01T23:59:59Z,1\r\nc,m,2024-01-02 00:00,2\r\n");
  EXPECT_EQ(s.steps, 2);
}

TEST(Ingest, SingleRowSeriesAndExistingOutput) {
  ScratchDir dir;
  const IngestSummary s = ingest(dir, "customer,meter,date,quantity\nc,m,2024-01-01,5\n");
  EXPECT_EQ(s.series, 1);
  EXPECT_EQ(s.steps, 1);
  EXPECT_THROW(ingest(dir, "customer,meter,date,quantity\nc,m,2024-01-01,6\n"), OutputError);
  EXPECT_EQ(read_all(dir / "usage.h5").row(0)[0], 5.0f);
}

}  // namespace
}  // namespace meterbench
