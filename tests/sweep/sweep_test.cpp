// Contract: grid errors name the option and the parameter; the tuning/test split is a deterministic function
// of (customer, meter) that cuts about half; the chosen point is the tuning half's best row of sweep.csv and
// its test-half metrics equal an independent fit-and-evaluate of the test-half series at that point and z;
// sweep.csv and best.json are bit-identical for any thread count and block size; a sweep over the time
// limit and an existing directory are refused before any work.
#include <algorithm>
#include <functional>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/gam_parameters.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "meterbench/sweep/sweep.hpp"
#include "support/small_dataset.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

nlohmann::json read_json(const std::filesystem::path& path) { return nlohmann::json::parse(testing::read_file(path)); }

std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(cells);
  }
  return rows;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

class SweepTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("sweep-suite");
    testing::generate_small_dataset(data(), 160, 400, 2);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::filesystem::path data() { return *dir_ / "data.h5"; }

  SweepOptions options(const std::string& name) const {
    SweepOptions o;
    o.data = data();
    o.model = "gam";
    // run_score off: with it, every step's score is at least the larger of three, so the curve's lowest
    // thresholds flag nearly every step, and on this small population flagging 89% of the steps at z 0.5 is the
    // best event F1 (0.69), which the random baseline at that flag rate matches: no test of the sweep is left.
    o.grid = {"changepoints=0,10", "transform=none,log1p", "run_score=off"};
    o.out_dir = scratch / name;
    return o;
  }
  nlohmann::json sweep(SweepOptions o, int threads = 2) {
    const ThreadLimit limit(threads);
    return run_sweep(o);
  }
  static ScratchDir* dir_;
  ScratchDir scratch;
};
ScratchDir* SweepTest::dir_ = nullptr;

TEST(SweepGrid, ParsingErrorsNameTheOptionAndTheProblem) {
  EXPECT_NE(error_of([] { parse_grid_axis("changepoints"); }).find("--grid 'changepoints': expected key=v1,v2,... (no '=')"), std::string::npos);
  EXPECT_NE(error_of([] { parse_grid_axis("=1,2"); }).find("parameter name before '=' is empty"), std::string::npos);
  EXPECT_NE(error_of([] { parse_grid_axis("changepoints="); }).find("empty value for 'changepoints'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_grid_axis("changepoints=1,,2"); }).find("empty value for 'changepoints'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_grid_axis("changepoints=1,2,1"); }).find("value '1' of 'changepoints' is repeated"), std::string::npos);
  EXPECT_NE(error_of([] { expand_grid({}); }).find("at least one --grid"), std::string::npos);
  const GridAxis a = parse_grid_axis(" loss = huber, squared ");
  EXPECT_EQ(a.key, "loss");
  EXPECT_EQ(a.values, (std::vector<std::string>{"huber", "squared"}));
  const auto points = expand_grid({parse_grid_axis("a=1,2"), parse_grid_axis("b=x,y,z")});
  ASSERT_EQ(points.size(), 6U);
  EXPECT_EQ(points[1], (std::vector<std::string>{"a=1", "b=y"}));  // the last axis varies fastest
  EXPECT_NE(error_of([] { objective_from_string("f2"); }).find("unknown objective 'f2' (known: event_f1"), std::string::npos);
}

TEST_F(SweepTest, BadGridsAndParametersAreRefusedNamingThem) {
  const auto fails_with = [&](std::vector<std::string> grid, std::vector<std::string> settings, const std::string& expected) {
    SweepOptions o = options("bad");
    o.grid = std::move(grid);
    o.settings = std::move(settings);
    const std::string e = error_of([&] { sweep(o); });
    EXPECT_NE(e.find(expected), std::string::npos) << e;
    EXPECT_FALSE(std::filesystem::exists(o.out_dir));
  };
  fails_with({"wobble=1,2"}, {}, "--grid 'wobble=1,2': unknown parameter 'wobble' of gam (known: changepoints");
  fails_with({"changepoints=1,2", "changepoints=3"}, {}, "parameter 'changepoints' is given by two --grid options");
  fails_with({"z=2,3"}, {}, "'z' cannot be swept");
  fails_with({"width=0.9,0.99"}, {}, "'width' cannot be swept");
  fails_with({"changepoints=1,2"}, {"changepoints=5"}, "parameter 'changepoints' is also fixed by --set changepoints=5");
  fails_with({"changepoints=10,-3"}, {}, "grid point 1 (changepoints=-3)");
  fails_with({"loss=huber,cubic"}, {}, "cubic");
  fails_with({}, {}, "at least one --grid");
  SweepOptions o = options("badmodel");
  o.model = "prophet";
  EXPECT_NE(error_of([&] { sweep(o); }).find("unknown model 'prophet'"), std::string::npos);
}

TEST(SweepSplit, IsADeterministicFunctionOfTheIdsThatCutsAboutHalf) {
  std::int64_t test = 0;
  constexpr int n = 20000;
  for (int i = 0; i < n; ++i) {
    const std::string customer = fmt::format("customer-{}", i / 4), meter = fmt::format("meter-{}", i % 4);
    const SplitHalf h = split_half(customer, meter);
    EXPECT_EQ(h, split_half(customer, meter));
    test += h == SplitHalf::test ? 1 : 0;
  }
  // Binomial(20000, 1/2): sd 71; 500 is 7 sd.
  EXPECT_NEAR(static_cast<double>(test), n / 2.0, 500.0);
  // The boundary between the ids matters: ("ab", "c") and ("a", "bc") are different series.
  int differ = 0;
  for (int i = 0; i < 64; ++i)
    differ += split_half(fmt::format("ab{}", i), "c") != split_half("a", fmt::format("b{}c", i)) ? 1 : 0;
  EXPECT_GT(differ, 10);
}

// The test-half metrics of the best point, computed independently: fit the test-half series with the best
// parameters and z, and evaluate them at z directly (no curve, no sweep pipeline).
struct Independent {
  EvaluationReport report;
  std::int64_t series = 0;
};
Independent evaluate_half(const std::filesystem::path& data, const nlohmann::json& best, SplitHalf half) {
  DatasetReader reader(data);
  const DatasetInfo& info = reader.info();
  SeriesBlock block;
  reader.read(0, info.series_count, block);
  std::vector<std::string> settings;
  for (const auto& [key, value] : best["parameters"].items())
    if (key != "width" && key != "z") settings.push_back(key + "=" + value.get<std::string>());
  settings.push_back(fmt::format("z={}", best["z"].get<double>()));
  const auto detector = make_detector("gam", settings, info.grid);
  EvaluationConfig config;
  config.z = best["z"].get<double>();
  config.sweep_thresholds = false;
  EvaluationAccumulator acc(config);
  auto ws = detector->make_workspace();
  const auto t = static_cast<std::size_t>(info.grid.steps);
  std::vector<float> e(t), lo(t), up(t), sc(t);
  Independent out;
  for (std::int64_t i = 0; i < block.count; ++i) {
    const SeriesRecord& r = block.series[static_cast<std::size_t>(i)];
    if (split_half(r.customer(), r.meter()) != half) continue;
    ++out.series;
    detector->detect({block.row(i), static_cast<std::uint64_t>(i)}, DetectionWindow::retrospective(info.grid.steps), *ws, {e, lo, up, sc});
    SeriesEvaluationInput in;
    in.values = block.row(i);
    in.labels = block.label_row(i);
    in.events = std::span<const EventRecord>(block.events).subspan(r.first_event, r.event_count);
    in.expected = e;
    in.lower = lo;
    in.upper = up;
    in.score = sc;
    in.price_per_unit = r.price_per_unit;
    in.series_index = static_cast<std::uint64_t>(i);
    in.score_end = info.grid.steps;
    acc.add_series(in);
  }
  out.report = acc.report();
  return out;
}

void expect_metrics_equal(const nlohmann::json& m, const Independent& ind) {
  const EvaluationReport& r = ind.report;
  EXPECT_EQ(m["series"].get<std::int64_t>(), ind.series);
  EXPECT_EQ(m["events"].get<std::int64_t>(), r.counts.events.events);
  EXPECT_EQ(m["point_precision"].get<double>(), *r.point.precision);
  EXPECT_EQ(m["point_recall"].get<double>(), *r.point.recall);
  EXPECT_EQ(m["event_precision"].get<double>(), *r.event.precision);
  EXPECT_EQ(m["event_recall"].get<double>(), *r.event.recall);
  EXPECT_EQ(m["event_f1"].get<double>(), *r.event.f1);
  EXPECT_EQ(m["dollar_recall"].get<double>(), *r.dollar_recall);
  EXPECT_EQ(m["false_alerts_per_1000_series_weeks"].get<double>(), *r.false_alerts_per_1000_series_weeks);
}

TEST_F(SweepTest, BestIsTheTuningHalfArgmaxAndItsTestMetricsEqualAnIndependentRun) {
  const nlohmann::json result = sweep(options("run"));
  const nlohmann::json written = read_json(scratch / "run" / "best.json");
  EXPECT_EQ(written["best"], result["best"]);
  for (const char* key : {"/kind", "/objective", "/budget", "/grid/changepoints", "/grid/transform", "/best/point", "/best/parameters/changepoints",
                          "/best/z", "/best/tuning/event_f1", "/best/test/event_f1", "/best/random_test/event_f1", "/command",
                          "/context/cpu", "/throughput/wall_seconds"})
    EXPECT_TRUE(written.contains(nlohmann::json::json_pointer(key))) << key;
  EXPECT_EQ(written["kind"], "sweep");
  EXPECT_EQ(written["grid"]["transform"], (std::vector<std::string>{"none", "log1p"}));

  const auto rows = read_csv(scratch / "run" / "sweep.csv");
  ASSERT_GT(rows.size(), 1U);
  EXPECT_EQ(testing::read_file(scratch / "run" / "sweep.csv").substr(0, 200).find(
                "point,changepoints,transform,run_score,z,point_precision,point_recall,point_f1,event_precision,event_recall,event_f1,dollar_recall,"
                "false_alerts_per_1000_series_weeks,flag_rate,objective\n"),
            0U);
  // 4 points x the same thresholds; the best row is the largest objective.
  EXPECT_EQ((rows.size() - 1) % 4, 0U);
  double top = -1.0;
  std::size_t top_row = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), rows[0].size()) << i;
    if (!rows[i].back().empty() && std::stod(rows[i].back()) > top) {
      top = std::stod(rows[i].back());
      top_row = i;
    }
  }
  const nlohmann::json& best = result["best"];
  EXPECT_EQ(best["objective"].get<double>(), top);
  EXPECT_EQ(best["tuning"]["event_f1"].get<double>(), top);
  EXPECT_EQ(std::stoul(rows[top_row][0]), best["point"].get<std::size_t>());
  EXPECT_EQ(std::stod(rows[top_row][4]), best["z"].get<double>());
  EXPECT_GT(top, 0.2);  // the default population is far from random at its best point
  // The curve reaches the top of gam's z range (20), past the evaluation's default curve (12).
  double curve_top = 0.0;
  for (std::size_t i = 1; i < rows.size(); ++i) curve_top = std::max(curve_top, std::stod(rows[i][4]));
  EXPECT_EQ(curve_top, 20.0);

  // The honest numbers: both halves equal an independent fit-and-evaluate of their series at (point, z).
  const Independent test = evaluate_half(data(), best, SplitHalf::test);
  const Independent tuning = evaluate_half(data(), best, SplitHalf::tuning);
  EXPECT_EQ(test.series + tuning.series, 160);
  EXPECT_EQ(result["split"]["test_series"].get<std::int64_t>(), test.series);
  expect_metrics_equal(best["test"], test);
  expect_metrics_equal(best["tuning"], tuning);
  // The random baseline ran on the test half at the flag rate of the best run there, and is far worse.
  EXPECT_EQ(best["random_test"]["series"].get<std::int64_t>(), test.series);
  EXPECT_NEAR(best["random_test"]["flag_rate"].get<double>(), best["test"]["flag_rate"].get<double>(),
              0.3 * best["test"]["flag_rate"].get<double>());
  EXPECT_LT(best["random_test"]["event_f1"].get<double>(), best["test"]["event_f1"].get<double>());

  // The reproducing command is a valid backtest with the chosen parameters and z.
  std::string command = result["command"].get<std::string>();
  ASSERT_EQ(command.rfind("meterbench backtest ", 0), 0U) << command;
  command.replace(0, std::string("meterbench").size(), METERBENCH_CLI);
  const auto run = testing::run_command(command + " --threads 2 --no-alerts");
  ASSERT_EQ(run.exit_code, 0) << command << "\n" << run.output;
  const nlohmann::json summary = read_json(scratch / "run" / "best_backtest" / "summary.json");
  EXPECT_EQ(summary["model"]["flag_threshold"].get<double>(), best["z"].get<double>());
  EXPECT_EQ(summary["model"]["parameters"]["changepoints"], best["parameters"]["changepoints"]);
  EXPECT_EQ(summary["model"]["parameters"]["transform"], best["parameters"]["transform"]);
  // best.json's parameters are those in force at the chosen z: the reproducing backtest's, z included.
  EXPECT_EQ(summary["model"]["parameters"], best["parameters"]);
  EXPECT_EQ(best["parameters"]["z"], fmt::format("{}", best["z"].get<double>()));
}

// Contract: best.json's parameters show the chosen threshold, not the point's own, also when the fixed
// settings gave it another way (gam's width): z is the chosen one and width the coverage it implies.
TEST_F(SweepTest, BestParametersShowTheChosenThreshold) {
  SweepOptions o = options("chosen");
  o.grid = {"changepoints=0,10"};
  o.settings = {"width=0.99"};
  o.random_baseline = false;
  const nlohmann::json result = sweep(o);
  const nlohmann::json& best = result["best"];
  ASSERT_FALSE(best.is_null());
  const double z = best["z"].get<double>();
  EXPECT_NE(z, normal_two_sided_quantile(0.99)) << "choose a grid whose best z differs from the point's own";
  EXPECT_EQ(best["parameters"]["z"], fmt::format("{}", z));
  EXPECT_EQ(best["parameters"]["width"], fmt::format("{}", normal_two_sided_coverage(z)));
  const std::string command = result["command"].get<std::string>();
  EXPECT_EQ(command.find("width="), std::string::npos) << command;
  EXPECT_NE(command.find(fmt::format(" --set z={}", z)), std::string::npos) << command;
}

TEST_F(SweepTest, BudgetObjectivesOnlyChooseRowsWithinTheBudget) {
  SweepOptions o = options("budget");
  o.objective = SweepObjective::dollar_recall_at_budget;
  o.budget = 40.0;
  o.random_baseline = false;
  const nlohmann::json result = sweep(o);
  const auto rows = read_csv(scratch / "budget" / "sweep.csv");
  std::size_t eligible = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].back().empty()) continue;
    ++eligible;
    EXPECT_LE(std::stod(rows[i][rows[i].size() - 3]), 40.0) << i;          // false alerts
    EXPECT_EQ(rows[i].back(), rows[i][rows[i].size() - 4]) << i;            // objective = dollar recall
  }
  ASSERT_GT(eligible, 0U);
  ASSERT_FALSE(result["best"].is_null());
  EXPECT_LE(result["best"]["tuning"]["false_alerts_per_1000_series_weeks"].get<double>(), 40.0);
  EXPECT_EQ(result["best"]["objective"], result["best"]["tuning"]["dollar_recall"]);
}

TEST_F(SweepTest, WeeklyScheduleSweepsAndItsCommandReproducesTheSchedule) {
  SweepOptions o = options("weekly");
  o.grid = {"changepoints=0,10"};
  o.schedule = Schedule::weekly;
  o.weeks = 8;
  const nlohmann::json result = sweep(o);
  EXPECT_EQ(result["schedule"]["name"], "weekly");
  ASSERT_FALSE(result["best"].is_null());
  EXPECT_GT(result["best"]["test"]["events"].get<std::int64_t>(), 0);
  EXPECT_NE(result["command"].get<std::string>().find(" --schedule weekly --weeks 8 "), std::string::npos) << result["command"];
  // The weekly schedule scores only the last 8 weeks: fewer events than the retrospective run sees.
  SweepOptions r = options("retro");
  r.grid = {"changepoints=0,10"};
  r.random_baseline = false;
  EXPECT_LT(result["best"]["test"]["events"].get<std::int64_t>(), sweep(r)["best"]["test"]["events"].get<std::int64_t>());
}

TEST_F(SweepTest, OutputsAreBitIdenticalForAnyThreadCountAndBlockSize) {
  SweepOptions a = options("t1"), b = options("t2"), c = options("t2big");
  a.block_series = 7;
  b.block_series = 50;
  c.block_series = 1000;
  const nlohmann::json ra = sweep(a, 1), rb = sweep(b, 2), rc = sweep(c, 2);
  const std::string csv = testing::read_file(scratch / "t1" / "sweep.csv");
  EXPECT_EQ(csv, testing::read_file(scratch / "t2" / "sweep.csv"));
  EXPECT_EQ(csv, testing::read_file(scratch / "t2big" / "sweep.csv"));
  EXPECT_EQ(ra["best"].dump(), rb["best"].dump());
  EXPECT_EQ(ra["best"].dump(), rc["best"].dump());
  EXPECT_EQ(ra["dataset"]["fingerprint"], rc["dataset"]["fingerprint"]);
}

TEST_F(SweepTest, RefusesAGridOverTheTimeLimitBeforeStartingAndSaysHowLarge) {
  SweepOptions o = options("slow");
  o.max_minutes = 1e-7;
  try {
    sweep(o);
    FAIL() << "no refusal";
  } catch (const SweepTooLarge& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("sweep too large for --max-minutes 1e-07: 4 grid points x 160 series (640 fits) would take about"), std::string::npos) << m;
    EXPECT_NE(m.find("minutes on 2 threads"), std::string::npos) << m;
  }
  EXPECT_FALSE(std::filesystem::exists(o.out_dir));
  // Through the CLI: a non-zero exit and the same message.
  const auto run = testing::run_cli("sweep --data " + data().string() + " --grid changepoints=0,10 --max-minutes 0.0000001 --threads 1 --out " +
                                    (scratch / "slowcli").string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("sweep too large for --max-minutes 1e-07: 2 grid points x 160 series"), std::string::npos) << run.output;
}

TEST_F(SweepTest, AnExistingDirectoryIsNotReplacedWithoutForce) {
  std::filesystem::create_directories(scratch / "exists");
  testing::write_file(scratch / "exists" / "keep.txt", "mine");
  SweepOptions o = options("exists");
  o.grid = {"changepoints=0"};
  o.random_baseline = false;
  EXPECT_THROW(sweep(o), OutputError);
  EXPECT_TRUE(std::filesystem::exists(scratch / "exists" / "keep.txt"));
  o.overwrite = true;
  EXPECT_THROW(sweep(o), OutputError) << "--force replaces only a directory meterbench wrote";
  EXPECT_TRUE(std::filesystem::exists(scratch / "exists" / "keep.txt"));
  testing::write_file(scratch / "exists" / kOutputMarker, "");
  sweep(o);
  EXPECT_FALSE(std::filesystem::exists(scratch / "exists" / "keep.txt"));
  EXPECT_TRUE(std::filesystem::exists(scratch / "exists" / "sweep.csv"));
  // The CLI names the directory and exits non-zero.
  const auto run = testing::run_cli("sweep --data " + data().string() + " --grid changepoints=0 --threads 1 --out " + (scratch / "exists").string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find((scratch / "exists").string()), std::string::npos) << run.output;
}

}  // namespace
}  // namespace meterbench
