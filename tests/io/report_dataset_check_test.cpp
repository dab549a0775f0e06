// Contract: `meterbench report RUN --data FILE` draws FILE's series against the run's bands only when FILE is
// the dataset the run was made from (its content fingerprint equals summary.json's dataset.fingerprint);
// another dataset of the same shape is refused with exit 1, naming both files and both fingerprints.
#include <gtest/gtest.h>

#include "meterbench/io/dataset_fingerprint.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::contains;
using testing::run_cli;
using testing::ScratchDir;

TEST(ReportDatasetCheck, AnotherDatasetOfTheSameShapeIsRefused) {
  ScratchDir dir;
  testing::write_file(dir / "s.toml", testing::small_scenario(16, 120));
  const std::string scenario = " --scenario " + (dir / "s.toml").string();
  ASSERT_EQ(run_cli("generate" + scenario + " --out " + (dir / "d.h5").string()).exit_code, 0);
  ASSERT_EQ(run_cli("generate" + scenario + " --seed 6 --out " + (dir / "other.h5").string()).exit_code, 0);
  const auto run = dir / "run";
  const auto b = run_cli("backtest --data " + (dir / "d.h5").string() + " --no-baseline --out " + run.string() + " --log-level warn");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  // The fingerprint the backtest recorded is the one file_fingerprint computes for its file.
  EXPECT_TRUE(contains(testing::read_file(run / "summary.json"), "\"fingerprint\": \"" + format_fingerprint(file_fingerprint(dir / "d.h5")) + "\""));

  const auto r = run_cli("report " + run.string() + " --data " + (dir / "other.h5").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, (dir / "other.h5").string() + ": not the dataset run " + run.string() + " was made from: its fingerprint is " +
                                     format_fingerprint(file_fingerprint(dir / "other.h5"))))
      << r.output;
  EXPECT_TRUE(contains(r.output, (dir / "d.h5").string())) << r.output;
  EXPECT_FALSE(std::filesystem::exists(run / "report.html"));
}

}  // namespace
}  // namespace meterbench
