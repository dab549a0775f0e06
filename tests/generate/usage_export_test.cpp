// Contract: the sample usage export is a function of its options (same seed, same bytes); every row has the 18
// columns of an Azure cost export with %m/%d/%Y dates, rows are not in date order, some ResourceIds are longer
// than 63 bytes and some Tags hold JSON with commas and quotes; the labels file names the seven planted
// incidents with the ids ingest builds; a folder of daily files (plain or gzip) holds exactly the rows of the
// single file, each in its day's file; bad options are refused before anything is written.
#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "meterbench/generate/usage_export.hpp"
#include "meterbench/io/csv.hpp"
#include "meterbench/io/output_path.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

constexpr std::size_t kColumns = 18;

UsageExportOptions small_export(const std::filesystem::path& out, std::uint64_t seed = 7) {
  return {.out = out, .seed = seed, .days = 150, .customers = 40};
}

// The data lines of an export file, without the header.
std::vector<std::string> data_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t at = text.find('\n') + 1;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return lines;
}

TEST(UsageExport, SameSeedSameBytesAnotherSeedOtherBytes) {
  ScratchDir dir;
  const UsageExportSummary a = write_usage_export(small_export(dir / "a.csv"));
  write_usage_export(small_export(dir / "b.csv"));
  write_usage_export(small_export(dir / "c.csv", 8));
  EXPECT_EQ(testing::read_file(dir / "a.csv"), testing::read_file(dir / "b.csv"));
  EXPECT_EQ(testing::read_file(dir / "a.csv.labels.csv"), testing::read_file(dir / "b.csv.labels.csv"));
  EXPECT_NE(testing::read_file(dir / "a.csv"), testing::read_file(dir / "c.csv"));
  EXPECT_EQ(a.customers, 40);
  EXPECT_EQ(a.series, 3 * 40 - 1);
  EXPECT_EQ(a.files, 1);
  EXPECT_EQ(a.first_date, "2025-01-01");
  EXPECT_EQ(a.last_date, "2025-05-30");
}

TEST(UsageExport, RowsHaveTheColumnsOfAnAzureExportUnsorted) {
  ScratchDir dir;
  const UsageExportSummary s = write_usage_export(small_export(dir / "usage.csv"));
  const std::string text = testing::read_file(dir / "usage.csv");
  CsvScanner scanner(text, "usage.csv");
  std::vector<std::string_view> fields;
  ASSERT_TRUE(scanner.next(fields));
  ASSERT_EQ(fields.size(), kColumns);
  EXPECT_EQ(fields[0], "Date");
  EXPECT_EQ(fields[15], "Tags");
  std::int64_t rows = 0, long_ids = 0, tags_with_comma_and_quote = 0, out_of_order = 0;
  std::string previous_date;
  std::set<std::string> currencies;
  while (scanner.next(fields)) {
    ASSERT_EQ(fields.size(), kColumns) << "line " << scanner.line();
    ++rows;
    const std::string date(fields[0]);
    ASSERT_EQ(date.size(), 10u) << date;
    EXPECT_TRUE(date[2] == '/' && date[5] == '/' && date.substr(6) == "2025") << date;
    if (!previous_date.empty() && date < previous_date) ++out_of_order;
    previous_date = date;
    if (fields[14].size() > 63) ++long_ids;
    if (fields[15].find(',') != std::string_view::npos && fields[15].find('"') != std::string_view::npos) ++tags_with_comma_and_quote;
    currencies.insert(std::string(fields[12]));
    EXPECT_GE(std::stod(std::string(fields[9])), 0.0);
  }
  EXPECT_EQ(rows, s.rows);
  EXPECT_GT(rows, s.series * 100);  // about a row per series and day
  EXPECT_EQ(long_ids, rows);
  EXPECT_GT(tags_with_comma_and_quote, 0);
  EXPECT_GT(out_of_order, rows / 4);
  EXPECT_EQ(currencies, (std::set<std::string>{"EUR", "USD"}));
}

TEST(UsageExport, TheLabelsNameTheSevenIncidentsWithIngestIds) {
  ScratchDir dir;
  const UsageExportSummary s = write_usage_export(small_export(dir / "usage.csv"));
  ASSERT_EQ(s.incidents.size(), 7u);
  std::multiset<std::string> kinds;
  std::set<std::string> series;
  for (const PlantedIncident& in : s.incidents) {
    kinds.insert(std::string(to_string(in.kind)));
    series.insert(in.customer + "/" + in.meter);
    EXPECT_NE(in.customer.find('|'), std::string::npos);  // CustomerName|SubscriptionId
    EXPECT_LE(in.end, 150 - 21);
    EXPECT_GE(in.start, 21);
  }
  EXPECT_EQ(series.size(), 7u);  // one incident a series
  EXPECT_EQ(kinds, (std::multiset<std::string>{"unit_error", "unit_error", "stopped_reporting", "stuck_meter", "double_counting", "spike",
                                               "dropped_reporting"}));
  const std::string labels = testing::read_file(dir / "usage.csv.labels.csv");
  EXPECT_EQ(std::count(labels.begin(), labels.end(), '\n'), 8);
  EXPECT_TRUE(labels.starts_with("customer,meter,start,end,kind,description\n"));
  EXPECT_NE(s.weekday_only_customer, s.growing_customer);
  for (const PlantedIncident& in : s.incidents) {
    EXPECT_NE(in.customer, s.weekday_only_customer);
    EXPECT_NE(in.customer, s.growing_customer);
  }
}

TEST(UsageExport, DailyFilesHoldTheRowsOfTheSingleFileEachInItsDay) {
  ScratchDir dir;
  write_usage_export(small_export(dir / "usage.csv"));
  UsageExportOptions daily = small_export(dir / "daily");
  daily.daily_files = true;
  daily.labels = dir / "daily-labels.csv";
  const UsageExportSummary s = write_usage_export(daily);
  EXPECT_EQ(s.files, 150);
  EXPECT_EQ(testing::read_file(dir / "daily-labels.csv"), testing::read_file(dir / "usage.csv.labels.csv"));

  std::vector<std::string> joined;
  const std::string single_text = testing::read_file(dir / "usage.csv");
  const std::string header = single_text.substr(0, single_text.find('\n') + 1);
  for (const auto& entry : std::filesystem::directory_iterator(dir / "daily")) {
    const std::string name = entry.path().filename().string();
    if (name == kOutputMarker) continue;
    ASSERT_TRUE(name.starts_with("usage-2025-") && name.ends_with(".csv")) << name;
    const std::string text = testing::read_file(entry.path());
    EXPECT_TRUE(text.starts_with(header)) << name;
    const std::string date = name.substr(11, 2) + "/" + name.substr(14, 2) + "/" + name.substr(6, 4);  // usage-YYYY-MM-DD.csv
    for (std::string& line : data_lines(text)) {
      EXPECT_TRUE(line.starts_with(date)) << name << ": " << line;
      joined.push_back(std::move(line));
    }
  }
  std::vector<std::string> single = data_lines(single_text);
  std::sort(single.begin(), single.end());
  std::sort(joined.begin(), joined.end());
  EXPECT_EQ(joined, single);
}

TEST(UsageExport, GzipFilesAreGzip) {
  ScratchDir dir;
  UsageExportOptions o = small_export(dir / "usage.csv.gz");
  o.gzip = true;
  write_usage_export(o);
  write_usage_export(small_export(dir / "usage.csv"));
  const testing::CommandResult r = testing::run_command("gzip -dc " + (dir / "usage.csv.gz").string() + " | cmp - " + (dir / "usage.csv").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(UsageExport, BadOptionsAreRefusedBeforeAnythingIsWritten) {
  ScratchDir dir;
  const auto refusal = [&](UsageExportOptions o) {
    try {
      write_usage_export(o);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  UsageExportOptions o = small_export(dir / "usage.csv");
  o.gzip = true;
  EXPECT_TRUE(testing::contains(refusal(o), "--gzip writes gzip, so the file name must end in .gz")) << refusal(o);
  EXPECT_TRUE(testing::contains(refusal(small_export(dir / "usage.csv.gz")), "add --gzip"));
  o = small_export(dir / "usage.csv");
  o.days = 30;
  EXPECT_TRUE(testing::contains(refusal(o), "--days must be 120 to 3660")) << refusal(o);
  o = small_export(dir / "usage.csv");
  o.customers = 3;
  EXPECT_TRUE(testing::contains(refusal(o), "--customers must be 10 to 100000")) << refusal(o);
  o = small_export(dir / "daily");
  o.daily_files = true;
  o.labels = dir / "daily" / "labels.csv";
  EXPECT_TRUE(testing::contains(refusal(o), "must not be inside the folder of daily files")) << refusal(o);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  write_usage_export(small_export(dir / "usage.csv"));
  EXPECT_TRUE(testing::contains(refusal(small_export(dir / "usage.csv")), "exists")) << refusal(small_export(dir / "usage.csv"));
  o = small_export(dir / "usage.csv", 9);
  o.overwrite = true;
  write_usage_export(o);
  EXPECT_EQ(testing::staged_entries(dir.path()), "");
}

}  // namespace
}  // namespace meterbench
