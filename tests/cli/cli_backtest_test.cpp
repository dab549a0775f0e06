// Contract: generate -> backtest through the CLI writes the run directory and prints the headline metrics;
// on the default scenario the gam beats the random detector at the same flag rate by a wide margin; bad input
// gets a clear message and a non-zero exit.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::run_cli;
using testing::ScratchDir;

using testing::contains;

class CliBacktest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("CliBacktest");
    const auto r = run_cli("generate --scenario " + testing::source_path("datasets/scenarios/default.toml").string() +
                           " --series 1000 --out " + data().string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::filesystem::path data() { return dir_->path() / "default.h5"; }
  static ScratchDir* dir_;
};
ScratchDir* CliBacktest::dir_ = nullptr;

TEST_F(CliBacktest, GamBeatsRandomByAWideMarginOnTheDefaultScenario) {
  const auto out = dir_->path() / "gam";
  const auto r = run_cli("backtest --data " + data().string() + " --model gam --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "event  precision")) << r.output;
  const auto s = nlohmann::json::parse(testing::read_file(out / "summary.json"));
  const auto& m = s["metrics"];
  const auto& random = s["baseline_random"]["metrics"];
  // Same flag rate, so the margins are the detector's skill alone: a detector no better than chance fails
  // every line. Measured at the defaults chosen on real usage (tail_scale, z 7, log1p_relative, rules; 1,000
  // series): event F1 0.38 vs 0.07, precision 0.93, recall 0.24, dollar recall 0.64 vs 0.01, AUC-PR 0.36 vs 0.09
  // (the share of labelled steps); before the tail scale (z 16.75) recall was 0.16 at precision 0.98. At the former
  // defaults (z 3.5, fitted as it is) recall was 0.46 at 30x the false alerts.
  EXPECT_GT(m["event"]["recall"].get<double>(), 0.2);
  EXPECT_GT(m["event"]["f1"].get<double>(), 2.0 * random["event"]["f1"].get<double>());
  EXPECT_GT(m["dollar_recall"].get<double>(), 2.5 * random["dollar_recall"].get<double>());
  EXPECT_GT(m["auc_pr"].get<double>(), 2.0 * random["auc_pr"].get<double>());
}

struct BadRun {
  std::string name;
  std::string arguments;  // appended to "backtest"
  std::string message;
};
void PrintTo(const BadRun& bad, std::ostream* os) { *os << bad.name; }

class CliBacktestBadInput : public CliBacktest, public ::testing::WithParamInterface<BadRun> {};

TEST_P(CliBacktestBadInput, FailsWithAClearMessage) {
  const BadRun& bad = GetParam();
  std::string args = bad.arguments;
  for (const auto& [token, value] : {std::pair<std::string, std::string>{"DATA", data().string()}, {"DIR", dir_->path().string()}})
    for (auto pos = args.find(token); pos != std::string::npos; pos = args.find(token)) args.replace(pos, token.size(), value);
  testing::write_file(dir_->path() / "text.h5", "hello");
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);  // the checksummed format: an older one is refused earlier
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
  const hid_t f = H5Fcreate((dir_->path() / "plain.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Fclose(f);
  H5Pclose(fapl);
  std::filesystem::create_directories(dir_->path() / "existing");
  const auto r = run_cli("backtest " + args);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, bad.message)) << "expected '" << bad.message << "' in:\n" << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliBacktestBadInput,
    ::testing::Values(BadRun{"MissingFile", "--data DIR/none.h5 --out DIR/r1", "none.h5: no such file"},
                      BadRun{"NotHdf5", "--data DIR/text.h5 --out DIR/r2", "text.h5: not an HDF5 file (no HDF5 signature)"},
                      BadRun{"NotMeterbench", "--data DIR/plain.h5 --out DIR/r3", "plain.h5: not a meterbench dataset"},
                      BadRun{"UnknownModel", "--data DATA --model prophet --out DIR/r4", "unknown model 'prophet'"},
                      BadRun{"UnknownParameter", "--data DATA --set colour=red --out DIR/r5", "gam: unknown parameter 'colour'"},
                      BadRun{"BadValue", "--data DATA --set weekly_order=-2 --out DIR/r6", "gam: parameter 'weekly_order' has value '-2'"},
                      BadRun{"ZeroThreads", "--data DATA --threads 0 --out DIR/r7", "--threads must be between 1 and 1024, got 0"},
                      BadRun{"ExistingDirectory", "--data DATA --out DIR/existing", "already exists (use --force to replace it)"},
                      BadRun{"UnknownSchedule", "--data DATA --schedule daily --out DIR/r8", "unknown schedule 'daily'"}),
    [](const auto& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace meterbench
