// Contract: --date-format reads the dates an export writes (strftime-style, English month abbreviations,
// one- or two-digit fields) into the same instants as their ISO spelling, and refuses a date that does
// not match with the file, line, column, value and format; a format it cannot honour is refused up front.
#include "meterbench/ingest/date_format.hpp"

#include <cstring>
#include <stdexcept>

#include <gtest/gtest.h>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;
using usage_csv::DateFormat;

std::int64_t parsed(const char* format, const char* text) {
  std::int64_t t = -1;
  EXPECT_TRUE(DateFormat(format).parse(text, t)) << format << " " << text << ": " << DateFormat(format).mismatch(text);
  return t;
}

TEST(IngestDateFormat, ParsesTheCommonExportSpellings) {
  const std::int64_t jan5 = parse_utc_timestamp("2024-01-05");
  EXPECT_EQ(parsed("%m/%d/%Y", "01/05/2024"), jan5);
  EXPECT_EQ(parsed("%m/%d/%Y", "1/5/2024"), jan5);
  EXPECT_EQ(parsed("%d.%m.%Y", "05.01.2024"), jan5);
  EXPECT_EQ(parsed("%Y%m%d", "20240105"), jan5);
  EXPECT_EQ(parsed("%d-%b-%Y", "05-Jan-2024"), jan5);
  EXPECT_EQ(parsed("%d %b %Y", "5 JAN 2024"), jan5);
  EXPECT_EQ(parsed("%b %d, %Y", "dec 31, 2023"), parse_utc_timestamp("2023-12-31"));
  EXPECT_EQ(parsed("%d.%m.%Y %H:%M", "29.02.2024 23:59"), parse_utc_timestamp("2024-02-29T23:59"));
  EXPECT_EQ(parsed("%Y-%m-%dT%H:%M:%S", "2024-03-01T07:08:09"), parse_utc_timestamp("2024-03-01T07:08:09"));
  EXPECT_EQ(parsed("%Y %%%m%%%d", "2024 %3%1"), parse_utc_timestamp("2024-03-01"));
}

TEST(IngestDateFormat, RefusesTextThatDoesNotMatch) {
  const DateFormat us("%m/%d/%Y");
  std::int64_t t = 42;
  for (const char* bad : {"2024-01-05", "13/01/2024", "0/1/2024", "02/30/2024", "02/29/2023", "1/5/24", "1/5/2024 ", "1/5/20245", "", "1//2024",
                          "123/5/2024"}) {
    EXPECT_FALSE(us.parse(bad, t)) << bad;
    EXPECT_FALSE(us.mismatch(bad).empty()) << bad;
  }
  EXPECT_EQ(t, 42);  // untouched on failure
  EXPECT_FALSE(DateFormat("%d-%b-%Y").parse("05-Jab-2024", t));
  EXPECT_FALSE(DateFormat("%d.%m.%Y %H:%M").parse("05.01.2024 24:00", t));
  EXPECT_FALSE(DateFormat("%d.%m.%Y %H:%M").parse("05.01.2024 10:60", t));
  EXPECT_EQ(us.mismatch("02/30/2024"), "does not match --date-format '%m/%d/%Y': day out of range");
  EXPECT_EQ(us.mismatch("1/5/24"), "does not match --date-format '%m/%d/%Y' at character 5: expected a 4-digit year for %Y");
  EXPECT_EQ(us.mismatch("1-5-2024"), "does not match --date-format '%m/%d/%Y' at character 2: expected a literal character of the format");
}

TEST(IngestDateFormat, RefusesFormatsItCannotHonour) {
  const auto error = [](const char* format) {
    try {
      DateFormat{format};
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(error("%m/%d/%y").find("'%y' is not supported"), std::string::npos);
  EXPECT_NE(error("%m/%d").find("it needs a year (%Y) and a month (%m or %b)"), std::string::npos);
  EXPECT_NE(error("%Y-%m-%d %").find("lone '%'"), std::string::npos);
  EXPECT_NE(error("%Y-%m-%d %b").find("'%b' gives a field given before"), std::string::npos);
  EXPECT_NE(error("").find("it needs a year"), std::string::npos);
}

SeriesBlock ingested(const ScratchDir& dir, const std::string& name, const std::string& csv, IngestOptions o) {
  testing::write_file(dir / (name + ".csv"), csv);
  o.csv = dir / (name + ".csv");
  o.out = dir / (name + ".h5");
  ingest_csv(o);
  DatasetReader reader(o.out);
  SeriesBlock b;
  reader.read(0, reader.info().series_count, b);
  return b;
}

TEST(IngestDateFormat, AnExportInItsOwnDateFormatMatchesItsIsoTwin) {
  ScratchDir dir;
  const SeriesBlock iso = ingested(dir, "iso",
                                   "customer,meter,date,quantity\n"
                                   "a,m,2024-01-30,1\n"
                                   "a,m,2024-02-02,2\n"
                                   "b,m,2024-01-31,3\n",
                                   {});
  const SeriesBlock us = ingested(dir, "us",
                                  "CustomerName,MeterId,Date,Quantity\n"
                                  "a,m,1/30/2024,1\n"
                                  "a,m,02/02/2024,2\n"
                                  "b,m,1/31/2024,3\n",
                                  {.column_map = {"customer=CustomerName", "meter=MeterId", "date=Date", "quantity=Quantity"}, .date_format = "%m/%d/%Y"});
  ASSERT_EQ(us.count, iso.count);
  ASSERT_EQ(us.values.size(), iso.values.size());
  ASSERT_EQ(us.values.size(), 2u * 4u);
  EXPECT_EQ(std::memcmp(us.values.data(), iso.values.data(), us.values.size() * sizeof(float)), 0);
  EXPECT_EQ(us.values[3], 2.0f);
}

TEST(IngestDateFormat, AMismatchNamesFileLineColumnValueAndFormat) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", "customer,meter,date,quantity\nc,m,01/05/2024,1\nc,m,2024-01-06,1\n");
  const IngestOptions o{.csv = dir / "usage.csv", .date_format = "%m/%d/%Y", .out = dir / "usage.h5"};
  try {
    ingest_csv(o);
    FAIL() << "accepted an ISO date under --date-format %m/%d/%Y";
  } catch (const std::exception& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "usage.csv").string() +
                                         ":3: column 'date': '2024-01-06' does not match --date-format '%m/%d/%Y' at character 1: month out of range (--skip-bad skips such rows)");
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "usage.h5"));
  EXPECT_THROW(ingest_csv({.csv = dir / "usage.csv", .date_format = "%d.%m", .out = dir / "usage.h5"}), std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(dir / "usage.h5"));
}

}  // namespace
}  // namespace meterbench
