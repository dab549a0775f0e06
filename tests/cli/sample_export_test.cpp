// Contract (the end-to-end targets on a realistic export): `sample-export` writes a year of Azure-style daily
// usage of 300 customers with seven planted billing incidents; ingested as it is (%m/%d/%Y dates, composite
// customer ids) and run through `detect` at its defaults, at least six of the seven incidents come out, at most
// 30 other incidents above 100 USD do, and none on the weekday-only customer or on the customer growing 6x.
// A folder of daily gzip files gives the incidents of the single file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <gtest/gtest.h>

#include "meterbench/io/csv.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::run_cli;
using testing::ScratchDir;

constexpr const char* kIngestExport =
    "--date-format %m/%d/%Y --map date=Date,customer=CustomerName+SubscriptionId,meter=MeterId,quantity=Quantity,price=EffectivePrice";
constexpr double kMinImpactUsd = 100.0;
constexpr std::size_t kPlanted = 7;
constexpr std::size_t kMinFound = 6;
constexpr std::size_t kMaxOthers = 30;

// A CSV file as rows of named cells.
std::vector<std::map<std::string, std::string>> read_table(const std::filesystem::path& path) {
  const std::string text = testing::read_file(path);
  CsvScanner scanner(text, path.string());
  std::vector<std::string_view> fields;
  std::vector<std::map<std::string, std::string>> rows;
  if (!scanner.next(fields)) return rows;
  const std::vector<std::string> header(fields.begin(), fields.end());
  while (scanner.next(fields)) {
    auto& row = rows.emplace_back();
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = std::string(fields[i]);
  }
  return rows;
}

// The value after "label: " on a line of the command's report.
std::string reported(const std::string& output, const std::string& label) {
  const std::size_t at = output.find(label + ": ");
  if (at == std::string::npos) return "";
  const std::size_t from = at + label.size() + 2;
  return output.substr(from, output.find('\n', from) - from);
}

// An incident shows a planted one when it is on the same series and overlaps its days (or the day after: a
// detector may see a fault when usage comes back).
bool shows(const std::map<std::string, std::string>& incident, const std::map<std::string, std::string>& planted) {
  return incident.at("customer") == planted.at("customer") && incident.at("meter") == planted.at("meter") &&
         incident.at("start") <= planted.at("end_plus_one") && incident.at("end") >= planted.at("start");
}

std::string next_day(const std::string& iso) {
  int y = 0, m = 0, d = 0;
  std::sscanf(iso.c_str(), "%d-%d-%d", &y, &m, &d);
  const int days_in_month[] = {31, (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (++d > days_in_month[m - 1]) d = 1, m = m == 12 ? 1 : m + 1, y += m == 1 ? 1 : 0;
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, d);
  return text;
}

TEST(SampleExportTargets, DetectAtDefaultsFindsSixOfTheSevenPlantedIncidentsAndFewOthers) {
  ScratchDir dir;
  const auto made = run_cli("sample-export --out " + (dir / "usage.csv").string());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string weekday_only = reported(made.output, "weekday-only customer");
  const std::string growing = reported(made.output, "customer growing 6x");
  ASSERT_FALSE(weekday_only.empty() || growing.empty()) << made.output;
  const auto ingested = run_cli("ingest --csv " + (dir / "usage.csv").string() + " " + kIngestExport + " --labels " +
                                (dir / "usage.csv.labels.csv").string() + " --out " + (dir / "usage.h5").string());
  ASSERT_EQ(ingested.exit_code, 0) << ingested.output;
  EXPECT_TRUE(testing::contains(ingested.output, "7 anomalies")) << ingested.output;
  const auto detected = run_cli("detect --data " + (dir / "usage.h5").string() + " --out " + (dir / "incidents.csv").string());
  ASSERT_EQ(detected.exit_code, 0) << detected.output;

  auto planted = read_table(dir / "usage.csv.labels.csv");
  ASSERT_EQ(planted.size(), kPlanted);
  for (auto& p : planted) p["end_plus_one"] = next_day(p.at("end"));
  const auto incidents = read_table(dir / "incidents.csv");
  std::size_t found = 0;
  std::string missed, others, on_special;
  for (const auto& p : planted) {
    if (std::any_of(incidents.begin(), incidents.end(), [&](const auto& in) { return shows(in, p); })) ++found;
    else missed += "  " + p.at("kind") + " " + p.at("start") + ".." + p.at("end") + ": " + p.at("description") + "\n";
  }
  std::size_t other_count = 0;
  for (const auto& in : incidents) {
    if (std::any_of(planted.begin(), planted.end(), [&](const auto& p) { return shows(in, p); })) continue;
    const std::string line = "  " + in.at("customer") + " " + in.at("kind") + " " + in.at("start") + ".." + in.at("end") + " impact " + in.at("impact") + "\n";
    if (in.at("customer") == weekday_only || in.at("customer") == growing) on_special += line;
    if (in.at("impact").empty() || std::fabs(std::stod(in.at("impact"))) >= kMinImpactUsd) ++other_count, others += line;
  }
  EXPECT_GE(found, kMinFound) << "found " << found << " of " << kPlanted << "; missed:\n" << missed;
  EXPECT_LE(other_count, kMaxOthers) << other_count << " other incidents above " << kMinImpactUsd << " USD:\n" << others;
  EXPECT_EQ(on_special, "") << "incidents on the weekday-only customer (" << weekday_only << ") or the growing one (" << growing << ")";
  std::printf("planted incidents found: %zu of %zu; other incidents above %.0f USD: %zu\n", found, kPlanted, kMinImpactUsd, other_count);
}

TEST(SampleExportTargets, AFolderOfDailyGzipFilesGivesTheIncidentsOfOneFile) {
  ScratchDir dir;
  const std::string size = " --customers 40 --days 150 --seed 3";
  ASSERT_EQ(run_cli("sample-export --out " + (dir / "usage.csv").string() + size).exit_code, 0);
  const auto daily = run_cli("sample-export --daily-files --gzip --out " + (dir / "daily").string() + size);
  ASSERT_EQ(daily.exit_code, 0) << daily.output;
  for (const std::string name : {"usage.csv", "daily"}) {
    const auto ingested = run_cli("ingest --csv " + (dir / name).string() + " " + kIngestExport + " --out " + (dir / (name + ".h5")).string());
    ASSERT_EQ(ingested.exit_code, 0) << ingested.output;
    const auto detected = run_cli("detect --min-impact 0 --data " + (dir / (name + ".h5")).string() + " --out " + (dir / (name + ".incidents.csv")).string());
    ASSERT_EQ(detected.exit_code, 0) << detected.output;
  }
  const std::string one_file = testing::read_file(dir / "usage.csv.incidents.csv");
  EXPECT_GT(std::count(one_file.begin(), one_file.end(), '\n'), 3);
  EXPECT_EQ(testing::read_file(dir / "daily.incidents.csv"), one_file);
}

}  // namespace
}  // namespace meterbench
