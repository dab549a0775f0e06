// Contract of `meterbench report DIR`: for a backtest run (with bands) and for a sweep directory it writes an
// HTML page whose every <img> exists beside it, with PNGs of the documented pixel size, readable offline; the
// page states the run's metrics; a run without labels still gets a report; a directory that is not a
// meterbench run, an existing output without --force and a failing script are clear errors that leave nothing
// behind. The figures need Debian's python3 with matplotlib: without it the tests that draw are skipped.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;
using testing::ScratchDir;

// Empty when the report's Python can draw; else why not (the reason a test is skipped).
std::string python_missing() {
  const char* env = std::getenv("METERBENCH_PYTHON");
  const std::string python = env != nullptr && *env != '\0' ? env : (fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  const auto r = testing::run_command(python + " -c 'import matplotlib, numpy, pandas, h5py'");
  if (r.exit_code == 0) return {};
  return python + " cannot import matplotlib, numpy, pandas and h5py (Debian: python3-matplotlib python3-numpy python3-pandas "
                  "python3-h5py): " + r.output;
}

#define SKIP_WITHOUT_PYTHON()                                        \
  do {                                                               \
    if (const std::string why = python_missing(); !why.empty()) GTEST_SKIP() << why; \
  } while (false)

struct PngSize {
  std::uint32_t width = 0, height = 0;
};

// Width and height from the IHDR chunk, which a PNG must start with.
PngSize png_size(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[24] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  if (!in || h[0] != 0x89 || h[1] != 'P' || h[12] != 'I' || h[13] != 'H' || h[14] != 'D' || h[15] != 'R') return {};
  auto be32 = [&](int at) {
    return (std::uint32_t{h[at]} << 24) | (std::uint32_t{h[at + 1]} << 16) | (std::uint32_t{h[at + 2]} << 8) | std::uint32_t{h[at + 3]};
  };
  return {be32(16), be32(20)};
}

struct Image {
  std::string src;
  std::uint32_t width = 0, height = 0;
};

std::vector<Image> images(const std::string& html) {
  std::vector<Image> out;
  const std::regex img(R"re(<img src="([^"]+)" width="(\d+)" height="(\d+)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), img); it != std::sregex_iterator(); ++it)
    out.push_back({(*it)[1].str(), static_cast<std::uint32_t>(std::stoul((*it)[2].str())),
                   static_cast<std::uint32_t>(std::stoul((*it)[3].str()))});
  return out;
}

// Every image the page names is a file beside it, relative (offline), of the size the page states.
void expect_images_exist(const fs::path& html_path, const std::vector<Image>& imgs) {
  for (const Image& img : imgs) {
    EXPECT_EQ(img.src.find("://"), std::string::npos) << img.src;
    EXPECT_FALSE(fs::path(img.src).is_absolute()) << img.src;
    const fs::path file = html_path.parent_path() / img.src;
    ASSERT_TRUE(fs::is_regular_file(file)) << file;
    const PngSize size = png_size(file);
    EXPECT_EQ(size.width, img.width) << file;
    EXPECT_EQ(size.height, img.height) << file;
  }
}

bool has_image(const std::vector<Image>& imgs, const std::string& name) {
  for (const Image& img : imgs)
    if (fs::path(img.src).filename() == name) return true;
  return false;
}

std::string four_decimals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

// One small labelled backtest run with bands, shared by the tests (a second or so to make).
class Report : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>("ReportSuite");
    testing::write_file(*dir_ / "small.toml", testing::small_scenario(24, 240));
    auto g = run_cli("generate --scenario " + (*dir_ / "small.toml").string() + " --out " + (*dir_ / "small.h5").string() +
                     " --log-level warn");
    ASSERT_EQ(g.exit_code, 0) << g.output;
    auto b = run_cli("backtest --data " + (*dir_ / "small.h5").string() + " --out " + run().string() + " --save-bands --log-level warn");
    ASSERT_EQ(b.exit_code, 0) << b.output;
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static fs::path run() { return *dir_ / "run"; }
  static std::unique_ptr<ScratchDir> dir_;
};
std::unique_ptr<ScratchDir> Report::dir_;

TEST_F(Report, BacktestReportReferencesEveryFigureAtItsSizeAndStatesTheMetrics) {
  SKIP_WITHOUT_PYTHON();
  ScratchDir out;
  const fs::path html = out / "bt.html";
  const auto r = run_cli("report " + run().string() + " --out " + html.string() + " --series 3 --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(html.string()), std::string::npos) << r.output;
  const std::string page = testing::read_file(html);
  const auto imgs = images(page);
  expect_images_exist(html, imgs);
  int series = 0;
  for (const Image& img : imgs) {
    EXPECT_EQ(img.src.rfind("bt_files/", 0), 0U) << img.src;
    series += fs::path(img.src).filename().string().rfind("series_", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(series, 3);
  for (const char* name : {"pr_curve.png", "recall.png", "time_to_detect.png", "false_alerts.png"})
    EXPECT_TRUE(has_image(imgs, name)) << name;
  // The documented size of the precision/recall figure (FIGURE_SIZES in tools/report/report.py at 100 dpi).
  EXPECT_EQ(png_size(out / "bt_files" / "pr_curve.png").width, 1100U);
  EXPECT_EQ(png_size(out / "bt_files" / "pr_curve.png").height, 460U);
  EXPECT_EQ(png_size(out / "bt_files" / "recall.png").width, 1100U);
  // The page states the run's metrics, as summary.json has them.
  const auto summary = nlohmann::json::parse(testing::read_file(run() / "summary.json"));
  EXPECT_NE(page.find(four_decimals(summary["metrics"]["event"]["f1"].get<double>())), std::string::npos);
  EXPECT_NE(page.find(four_decimals(summary["metrics"]["point"]["precision"].get<double>())), std::string::npos);
  EXPECT_NE(page.find(four_decimals(summary["baseline_random"]["metrics"]["event"]["f1"].get<double>())), std::string::npos);
  for (const char* text : {"event recall", "false alerts per 1,000 series-weeks", "AUC-PR", "series per second", "random at the same flag rate"})
    EXPECT_NE(page.find(text), std::string::npos) << text;
  // The incidents of alerts.csv, largest |impact| first, with their kind and direction.
  for (const char* text : {"Largest incidents by financial impact", "<th>kind</th>", "<th>direction</th>", "<th>impact</th>", "<th>true_event</th>"})
    EXPECT_NE(page.find(text), std::string::npos) << text;
  // Nothing staged is left behind.
  for (const auto& entry : fs::directory_iterator(out.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

TEST_F(Report, ExistingOutputIsRefusedWithoutForceAndReplacedWithIt) {
  ScratchDir out;
  const fs::path html = out / "r.html";
  testing::write_file(html, "keep");
  const auto refused = run_cli("report " + run().string() + " --out " + html.string() + " --log-level warn");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("already exists (use --force"), std::string::npos) << refused.output;
  EXPECT_EQ(testing::read_file(html), "keep");
  SKIP_WITHOUT_PYTHON();
  const auto forced = run_cli("report " + run().string() + " --out " + html.string() + " --series 1 --force --log-level warn");
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(testing::read_file(html).find("<img"), std::string::npos);
}

TEST_F(Report, ADirectoryThatIsNotARunIsAClearError) {
  ScratchDir d;
  auto r = run_cli("report " + d.path().string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("is not a meterbench run directory"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("summary.json"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d / "report.html"));

  r = run_cli("report " + (d / "nowhere").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;

  testing::write_file(d / "summary.json", R"({"schema_version": 1, "model": {}, "dataset": {}, "throughput": {}, "metrics": {}})");
  r = run_cli("report " + d.path().string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("has no pr_curve.csv, per_kind.csv"), std::string::npos) << r.output;

  ScratchDir s("Report-sweep-kind");
  testing::write_file(s / "sweep.csv", "point,z,objective\n");
  testing::write_file(s / "best.json", R"({"kind": "backtest"})");
  r = run_cli("report " + s.path().string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(R"(has no "kind": "sweep")"), std::string::npos) << r.output;
}

TEST_F(Report, AFailingScriptLeavesNothingBehind) {
  SKIP_WITHOUT_PYTHON();
  ScratchDir d;
  fs::copy(run(), d / "run", fs::copy_options::recursive);
  testing::write_file(d / "run" / "pr_curve.csv", "z,point_precision\n1,0.5\n");
  const auto r = run_cli("report " + (d / "run").string() + " --log-level warn");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("pr_curve.csv: missing column(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing was written"), std::string::npos) << r.output;
  for (const auto& entry : fs::directory_iterator(d / "run")) {
    EXPECT_NE(entry.path().filename(), "report.html");
    EXPECT_NE(entry.path().filename(), "report_files");
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

// A dataset without labels (an ingested usage export): the report shows detection and throughput and says
// the metrics are skipped.
TEST(ReportWithoutLabels, SaysMetricsAreSkippedAndStillDrawsTheSeries) {
  SKIP_WITHOUT_PYTHON();
  ScratchDir d;
  std::string csv = "customer,meter,date,quantity\n";
  for (int s = 0; s < 3; ++s)
    for (int day = 0; day < 120; ++day) {
      if (s == 1 && day >= 40 && day < 55) continue;  // a gap
      const int value = 100 + 10 * s + (day % 7 == 5 ? -30 : 0) + (s == 2 && day == 90 ? 400 : 0) + (day * 7 + s * 3) % 11;
      const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::year{2024} / 1 / 1} + std::chrono::days{day}};
      char date[16];
      std::snprintf(date, sizeof date, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                    static_cast<unsigned>(ymd.day()));
      csv += fmt::format("c{},m,{},{}\n", s, date, value);
    }
  testing::write_file(d / "usage.csv", csv);
  auto r = run_cli("ingest --csv " + (d / "usage.csv").string() + " --out " + (d / "usage.h5").string() + " --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("backtest --data " + (d / "usage.h5").string() + " --out " + (d / "run").string() + " --save-bands --log-level error");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("report " + (d / "run").string() + " --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path html = d / "run" / "report.html";
  const std::string page = testing::read_file(html);
  EXPECT_NE(page.find("no labels"), std::string::npos);
  const auto imgs = images(page);
  expect_images_exist(html, imgs);
  EXPECT_EQ(imgs.size(), 3U);  // the three series; no metric figures
  EXPECT_FALSE(has_image(imgs, "pr_curve.png"));
}

// A sweep directory in the format `meterbench sweep` writes: three grid keys, so a heat map over the two with
// the most values and parallel coordinates; the chosen point and its command are on the page.
TEST(ReportSweep, HeatMapParallelCoordinatesAndTheChosenPoint) {
  SKIP_WITHOUT_PYTHON();
  ScratchDir d;
  std::string csv =
      "point,changepoints,weekly_order,loss,z,point_precision,point_recall,point_f1,event_precision,event_recall,event_f1,"
      "dollar_recall,false_alerts_per_1000_series_weeks,flag_rate,objective\n";
  int point = 0;
  for (const char* cp : {"10", "25", "50"})
    for (const char* wo : {"2", "3", "4", "5"})
      for (const char* loss : {"huber", "squared"}) {
        for (const double z : {2.0, 3.0, 4.0}) {
          const double f1 = 0.2 + 0.01 * point + (z == 3.0 ? 0.05 : 0.0) - (std::string(loss) == "squared" ? 0.04 : 0.0);
          csv += std::to_string(point) + "," + cp + "," + wo + "," + loss + "," + std::to_string(z) +
                 ",0.3,0.4,0.34,0.35,0.5,0.41,0.8,12.5,0.02," + std::to_string(f1) + "\n";
        }
        ++point;
      }
  testing::write_file(d / "sweep.csv", csv);
  const nlohmann::json best = {
      {"kind", "sweep"},
      {"objective", "event_f1"},
      {"budget", nullptr},
      {"grid", {{"changepoints", {10, 25, 50}}, {"weekly_order", {2, 3, 4, 5}}, {"loss", {"huber", "squared"}}}},
      {"best",
       {{"point", 22},
        {"parameters", {{"changepoints", "50"}, {"weekly_order", "5"}, {"loss", "huber"}}},
        {"z", 3.0},
        {"tuning", {{"event_f1", 0.47}, {"event_recall", 0.5}}},
        {"test", {{"event_f1", 0.4567}, {"event_recall", 0.48}}},
        {"random_test", {{"event_f1", 0.0712}, {"event_recall", 0.1}}}}},
      {"command", "meterbench backtest --data d.h5 --model gam --set changepoints=50 --set weekly_order=5 --set loss=huber --set z=3"},
      {"context", {{"tool_version", "meterbench test"}, {"cores", 2}}},
      {"throughput", {{"wall_seconds", 1.5}, {"series_per_second", 1000.0}}}};
  testing::write_file(d / "best.json", best.dump(1));
  const auto r = run_cli("report " + d.path().string() + " --out " + (d / "sweep.html").string() + " --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path html = d / "sweep.html";
  const std::string page = testing::read_file(html);
  const auto imgs = images(page);
  expect_images_exist(html, imgs);
  EXPECT_TRUE(has_image(imgs, "sweep_heatmap.png"));
  EXPECT_TRUE(has_image(imgs, "sweep_parallel.png"));
  EXPECT_EQ(png_size(d / "sweep_files" / "sweep_heatmap.png").width, 900U);
  EXPECT_EQ(png_size(d / "sweep_files" / "sweep_heatmap.png").height, 600U);
  for (const char* text : {"0.4567", "0.0712", "--set changepoints=50", "event_f1", "test half"})
    EXPECT_NE(page.find(text), std::string::npos) << text;
}

}  // namespace
}  // namespace meterbench
