// Contract: a write that fails half way (disk full, file size limit) ends every command that writes HDF5
// (generate with and without compression, ingest, backtest --save-bands) with exit code 1 and a message
// naming the file and the operating system's reason; never with a signal (libhdf5's shutdown used to
// crash on the file whose close had failed), and no output is left behind.
#include <filesystem>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::contains;
using testing::ScratchDir;

// The CLI under a file size limit of `kib` KiB (or less: dash counts 512-byte blocks) with SIGXFSZ ignored,
// so that writes past the limit fail with EFBIG as they would with ENOSPC on a full disk.
testing::CommandResult run_cli_with_file_limit(const std::string& arguments, int kib = 64) {
  return testing::run_command("trap '' XFSZ; ulimit -f " + std::to_string(kib) + " && exec " + std::string(METERBENCH_CLI) + " " +
                              arguments);
}

void expect_clean_failure(const testing::CommandResult& r, const std::filesystem::path& dir, const std::string& written) {
  EXPECT_EQ(r.exit_code, 1) << r.output;  // -1: killed by a signal
  EXPECT_TRUE(contains(r.output, "File too large (errno 27)")) << r.output;
  EXPECT_TRUE(contains(r.output, written)) << r.output;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_FALSE(contains(entry.path().filename().string(), ".tmp")) << "left behind: " << entry.path();
}

TEST(Hdf5WriteFailure, GenerateExitsWithTheReasonNotASignal) {
  ScratchDir dir;
  testing::write_file(dir / "s.toml", testing::small_scenario(400, 400));
  for (const char* compress : {"0", "6"}) {
    const auto r = run_cli_with_file_limit("generate --scenario " + (dir / "s.toml").string() + " --compress " + compress + " --out " +
                                           (dir / "d.h5").string());
    expect_clean_failure(r, dir.path(), "d.h5");
    EXPECT_FALSE(std::filesystem::exists(dir / "d.h5"));
  }
}

TEST(Hdf5WriteFailure, IngestExitsWithTheReasonNotASignal) {
  ScratchDir dir;
  std::ostringstream csv;
  csv << "customer,meter,date,quantity\n";
  for (int s = 0; s < 60; ++s)
    for (int day = 1; day <= 28; ++day)
      for (int month = 1; month <= 12; ++month) csv << "c" << s << ",m,2023-" << (month < 10 ? "0" : "") << month << '-' << (day < 10 ? "0" : "") << day << ',' << s + day << '\n';
  testing::write_file(dir / "u.csv", csv.str());
  const auto r = run_cli_with_file_limit("ingest --csv " + (dir / "u.csv").string() + " --out " + (dir / "u.h5").string(), 16);
  expect_clean_failure(r, dir.path(), "u.h5");
  EXPECT_FALSE(std::filesystem::exists(dir / "u.h5"));
}

TEST(Hdf5WriteFailure, BacktestSaveBandsExitsWithTheReasonNotASignal) {
  ScratchDir dir;
  testing::write_file(dir / "s.toml", testing::small_scenario(300, 400));
  ASSERT_EQ(testing::run_cli("generate --scenario " + (dir / "s.toml").string() + " --out " + (dir / "d.h5").string()).exit_code, 0);
  const auto r = run_cli_with_file_limit("backtest --data " + (dir / "d.h5").string() + " --no-baseline --save-bands --out " +
                                         (dir / "run").string(), 256);
  expect_clean_failure(r, dir.path(), "bands.h5");
  EXPECT_FALSE(std::filesystem::exists(dir / "run"));
}

}  // namespace
}  // namespace meterbench
