// Contract: integer options take plain decimal integers within their range and nothing else: a negative
// value for an unsigned option, a value past the type's range or a malformed one is refused naming the
// option and the range (never wrapped, clamped or read as octal); ingest's --map and --max-steps work from
// the command line, refusals leaving no output behind.
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::contains;
using testing::run_cli;
using testing::ScratchDir;

std::string generate_args(const ScratchDir& dir) {
  return "generate --scenario " + testing::source_path("datasets/scenarios/default.toml").string() + " --series 2 --days 30 --out " +
         (dir / "g.h5").string();
}

// Writes `csv` to u.csv and returns an ingest command line of it into u.h5.
std::string ingest_args(const ScratchDir& dir, const std::string& csv) {
  testing::write_file(dir / "u.csv", csv);
  return "ingest --csv " + (dir / "u.csv").string() + " --out " + (dir / "u.h5").string();
}

TEST(CliOptionValues, SeedOutsideItsRangeIsRefused) {
  ScratchDir dir;
  for (const std::string seed : {"-1", "18446744073709551616", "1e3", "0x10", ""}) {
    const auto r = run_cli(generate_args(dir) + " --seed '" + seed + "'");
    EXPECT_NE(r.exit_code, 0) << seed;
    EXPECT_TRUE(contains(r.output, "--seed: '" + seed + "' is not an integer in [0, 18446744073709551615]")) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "g.h5")) << seed;
  }
  // The largest seed is valid, and a leading zero is decimal, not octal.
  EXPECT_EQ(run_cli(generate_args(dir) + " --seed 18446744073709551615").exit_code, 0);
  const auto r = run_cli(generate_args(dir) + " --force --seed 010");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "seed 10,")) << r.output;
}

TEST(CliOptionValues, OtherIntegerOptionsAreNeitherWrappedNorClamped) {
  ScratchDir dir;
  const std::string ingest = ingest_args(dir, "customer,meter,date,quantity\nc,m,2024-01-01,1\n");
  const std::pair<std::string, std::string> cases[] = {
      {ingest + " --memory-budget-mib -1", "--memory-budget-mib: '-1' is not an integer in [1, 1073741824]"},
      {ingest + " --max-steps 0", "--max-steps: '0' is not an integer in [1, 9223372036854775807]"},
      {ingest + " --threads 4294967297", "--threads: '4294967297' is not an integer in [-2147483648, 2147483647]"},
      {generate_args(dir) + " --series 9223372036854775808", "--series: '9223372036854775808' is not an integer in [-9223372036854775808, 9223372036854775807]"},
      {generate_args(dir) + " --compress 010", "--compress: '010' is not an integer in [0, 9]"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_cli(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_TRUE(contains(r.output, message)) << args << "\n" << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "u.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir / "g.h5"));
}

TEST(CliOptionValues, IngestMapTargetAndMaxSteps) {
  ScratchDir dir;
  const std::string ingest = ingest_args(dir, "customer,meter,date,quantity,price\nc,m,2024-01-01,1,2\nc,m,2024-01-10,1,2\n");
  auto r = run_cli(ingest + " --map price=NoSuchColumn");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "missing column(s) 'NoSuchColumn' (for price, from --map) in the header: customer,meter,date,quantity,price"))
      << r.output;
  r = run_cli(ingest + " --max-steps 9");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "the rows span 2024-01-01 (line 2) .. 2024-01-10 (line 3): 10 steps of 1d, more than --max-steps 9")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "u.h5"));
  r = run_cli(ingest + " --max-steps 10");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "u.h5"));
}

// --map takes field=column pairs separated by commas, in one option or repeated.
TEST(CliOptionValues, IngestMapIsRepeatableOrCommaSeparated) {
  ScratchDir dir;
  const std::string ingest = ingest_args(dir, "customer,meter,D,Q\nc,m,2024-01-01,1\n") + " --force";
  auto r = run_cli(ingest + " --map date=D --map quantity=Q");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run_cli(ingest + " --map date=D,quantity=Q");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace meterbench
