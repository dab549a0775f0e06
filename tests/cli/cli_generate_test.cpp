// Contract: `meterbench generate` writes the file and reports it; bad input gets a clear message naming the
// problem, a non-zero exit, and no output file; an existing output is replaced only with --force.
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::run_cli;
using testing::ScratchDir;

using testing::contains;

TEST(CliGenerate, GeneratesTheDefaultScenarioAtAGivenSize) {
  ScratchDir dir;
  const auto r = run_cli("generate --scenario " + testing::source_path("datasets/scenarios/default.toml").string() +
                         " --series 200 --days 100 --seed 9 --threads 2 --out " + (dir / "d.h5").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "200 series x 100 steps")) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "d.h5"));
}

TEST(CliGenerate, ExistingOutputNeedsForce) {
  ScratchDir dir;
  testing::write_file(dir / "s.toml", testing::small_scenario(5, 20));
  const std::string args = "generate --scenario " + (dir / "s.toml").string() + " --out " + (dir / "d.h5").string();
  ASSERT_EQ(run_cli(args).exit_code, 0);
  const std::string before = testing::read_file(dir / "d.h5");
  const auto again = run_cli(args + " --seed 8");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(contains(again.output, "already exists (use --force to replace it)")) << again.output;
  EXPECT_EQ(testing::read_file(dir / "d.h5"), before);
  EXPECT_EQ(run_cli(args + " --seed 8 --force").exit_code, 0);
  EXPECT_NE(testing::read_file(dir / "d.h5"), before);
}

struct BadInput {
  std::string name;
  std::string scenario;    // scenario text ("" = use small_scenario)
  std::string arguments;   // extra arguments
  std::string message;     // expected part of the error
};

// Test names show the case, not the struct's bytes.
void PrintTo(const BadInput& bad, std::ostream* os) { *os << bad.name; }

class CliGenerateBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliGenerateBadInput, FailsWithAClearMessageAndNoFile) {
  ScratchDir dir;
  const BadInput& bad = GetParam();
  testing::write_file(dir / "s.toml", bad.scenario.empty() ? testing::small_scenario(5, 20) : bad.scenario);
  const auto r = run_cli("generate --scenario " + (dir / "s.toml").string() + " --out " + (dir / "d.h5").string() + " " + bad.arguments);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, bad.message)) << "expected '" << bad.message << "' in:\n" << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "d.h5"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator{}), 1)
      << "a temporary file was left behind";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliGenerateBadInput,
    ::testing::Values(BadInput{"UnknownKey", "[population]\nseries = 3\ncolour = 1\n", "", "s.toml:3: unknown key 'population.colour'"},
                      BadInput{"NegativeRate", "[population]\n[injections.dip]\nrate = -0.5\n", "",
                               "s.toml:3: key 'injections.dip.rate': value -0.5 is out of range"},
                      BadInput{"MinAboveMax", "[population]\n[injections.dip]\nrate = 1\nsize = [9, 3]\n", "",
                               "s.toml:4: key 'injections.dip.size': min 9 is greater than max 3"},
                      BadInput{"ZeroSeries", "", "--series 0", "series must be between 1 and 1000000000, got 0"},
                      BadInput{"AbsurdDays", "", "--days 1000000", "days must be between 1 and 36600, got 1000000"},
                      BadInput{"ZeroThreads", "", "--threads 0", "--threads must be between 1 and 1024, got 0"},
                      BadInput{"BadCompression", "", "--compress 12", "--compress"},
                      BadInput{"AbsurdSizeForTheDisk", "", "--series 1000000000 --days 36600", "GB are free there"}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(CliGenerate, MissingScenarioAndMissingDirectoryAreNamed) {
  ScratchDir dir;
  auto r = run_cli("generate --scenario " + (dir / "none.toml").string() + " --out " + (dir / "d.h5").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "cannot read scenario file '" + (dir / "none.toml").string() + "'")) << r.output;
  testing::write_file(dir / "s.toml", testing::small_scenario(5, 20));
  r = run_cli("generate --scenario " + (dir / "s.toml").string() + " --out " + (dir / "no" / "d.h5").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "output directory '" + (dir / "no").string() + "' does not exist")) << r.output;
}

TEST(CliGenerate, HelpListsTheOptions) {
  const auto r = run_cli("generate --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* option : {"--scenario", "--series", "--days", "--seed", "--out", "--force", "--threads", "--log-level", "--compress"})
    EXPECT_TRUE(contains(r.output, option)) << option;
}

}  // namespace
}  // namespace meterbench
