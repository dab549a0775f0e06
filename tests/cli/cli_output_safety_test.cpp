// Contract: no command loses data through its output. --force never replaces the current directory or an
// ancestor, an input, a directory meterbench did not write, or something of the other kind (file vs
// directory), and says so before any work; `--out run/` names `run`; SIGINT and SIGTERM remove the staged
// output and exit 128 + signal; a later run removes what a killed run staged; a failed write names the
// system's reason and leaves nothing staged.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

namespace fs = std::filesystem;
using testing::contains;
using testing::run_cli;
using testing::run_command;
using testing::ScratchDir;

// Anything staged (a `.NAME.tmp-...` entry) left in `dir`.
std::string staged_leftovers(const fs::path& dir) {
  std::string found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) found += entry.path().string() + " ";
  return found;
}

class CliOutputSafety : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_dir_ = new ScratchDir("CliOutputSafety");
    testing::write_file(*data_dir_ / "s.toml", testing::small_scenario(40, 200));
    const auto r = run_cli("generate --scenario " + (*data_dir_ / "s.toml").string() + " --threads 2 --out " + data().string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete data_dir_;
    data_dir_ = nullptr;
  }
  static fs::path data() { return *data_dir_ / "d.h5"; }
  // A command run with `dir` as the current directory.
  static testing::CommandResult run_in(const fs::path& dir, const std::string& arguments) {
    return run_command("cd '" + dir.string() + "' && " + METERBENCH_CLI + " " + arguments);
  }

  ScratchDir dir;

 private:
  static ScratchDir* data_dir_;
};

ScratchDir* CliOutputSafety::data_dir_ = nullptr;

TEST_F(CliOutputSafety, ForceNeverReplacesTheCurrentDirectoryOrAnAncestor) {
  fs::copy_file(data(), dir / "d.h5");
  testing::write_file(dir / "precious.txt", "keep");
  fs::create_directories(dir / "sub");
  for (const auto& [cwd, out] : {std::pair{dir.path(), std::string(".")}, std::pair{dir.path(), std::string("./")},
                                 std::pair{dir / "sub", std::string("..")}, std::pair{dir / "sub", dir.path().string()}}) {
    const auto r = run_in(cwd, "backtest --data " + (dir / "d.h5").string() + " --out " + out + " --force --log-level warn");
    EXPECT_EQ(r.exit_code, 1) << out << ": " << r.output;
    EXPECT_TRUE(contains(r.output, "must not replace") || contains(r.output, "is the current directory or one of its ancestors")) << r.output;
    EXPECT_EQ(testing::read_file(dir / "precious.txt"), "keep") << out;
    EXPECT_TRUE(fs::exists(dir / "d.h5")) << out;
  }
}

TEST_F(CliOutputSafety, ForceNeverReplacesTheInputHoweverItIsSpelled) {
  fs::copy_file(data(), dir / "d.h5");
  fs::create_hard_link(dir / "d.h5", dir / "alias.h5");
  const std::string before = testing::read_file(dir / "d.h5");
  for (const std::string out : {"d.h5", "./d.h5", "alias.h5"}) {
    const auto r = run_in(dir.path(), "detect --data d.h5 --out " + out + " --force --log-level warn");
    EXPECT_EQ(r.exit_code, 1) << out << ": " << r.output;
    EXPECT_TRUE(contains(r.output, "output '" + out + "' is the input 'd.h5'")) << r.output;
  }
  EXPECT_TRUE(testing::read_file(dir / "d.h5") == before) << "the input was changed";
  testing::write_file(dir / "s.toml", testing::small_scenario(5, 20));
  const auto scenario = run_in(dir.path(), "generate --scenario s.toml --out ./s.toml --force");
  EXPECT_EQ(scenario.exit_code, 1) << scenario.output;
  EXPECT_TRUE(contains(scenario.output, "output './s.toml' is the input 's.toml'")) << scenario.output;
  EXPECT_EQ(testing::read_file(dir / "s.toml"), testing::small_scenario(5, 20));
  // A run directory that holds the input is refused too.
  fs::create_directories(dir / "run");
  testing::write_file(dir / "run" / ".meterbench-output", "");
  fs::copy_file(data(), dir / "run" / "in.h5");
  const auto r = run_in(dir.path(), "backtest --data run/in.h5 --out run --force --log-level warn");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "output 'run' contains the input 'run/in.h5'")) << r.output;
  EXPECT_TRUE(fs::exists(dir / "run" / "in.h5"));
}

TEST_F(CliOutputSafety, ForceReplacesOnlyDirectoriesMeterbenchWrote) {
  fs::create_directories(dir / "photos");
  testing::write_file(dir / "photos" / "cat.jpg", "meow");
  const auto refused = run_cli("backtest --data " + data().string() + " --out " + (dir / "photos").string() + " --force --log-level warn");
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_TRUE(contains(refused.output, "is a directory meterbench did not write")) << refused.output;
  EXPECT_EQ(testing::read_file(dir / "photos" / "cat.jpg"), "meow");

  const std::string args = "backtest --data " + data().string() + " --out " + (dir / "run").string() + " --log-level warn";
  ASSERT_EQ(run_cli(args).exit_code, 0);
  testing::write_file(dir / "run" / "old-extra.txt", "from the first run");
  const auto replaced = run_cli(args + " --force");
  EXPECT_EQ(replaced.exit_code, 0) << replaced.output;
  EXPECT_TRUE(fs::exists(dir / "run" / "summary.json"));
  EXPECT_FALSE(fs::exists(dir / "run" / "old-extra.txt")) << "the old run is replaced as a whole";
  EXPECT_EQ(staged_leftovers(dir.path()), "");
}

TEST_F(CliOutputSafety, ForceChecksTheKindOfTheExistingOutputBeforeTheWork) {
  testing::write_file(dir / "file", "a file");
  fs::create_directories(dir / "folder");
  const auto dir_over_file = run_cli("backtest --data " + data().string() + " --out " + (dir / "file").string() + " --force");
  EXPECT_EQ(dir_over_file.exit_code, 1);
  EXPECT_TRUE(contains(dir_over_file.output, "is a file, but this output is a directory")) << dir_over_file.output;
  EXPECT_FALSE(contains(dir_over_file.output, "backtest:")) << "refused before the work: " << dir_over_file.output;
  const auto file_over_dir = run_cli("detect --data " + data().string() + " --out " + (dir / "folder").string() + " --force");
  EXPECT_EQ(file_over_dir.exit_code, 1);
  EXPECT_TRUE(contains(file_over_dir.output, "is a directory, but this output is a file")) << file_over_dir.output;
  EXPECT_EQ(testing::read_file(dir / "file"), "a file");
  EXPECT_TRUE(fs::is_directory(dir / "folder"));
  EXPECT_EQ(staged_leftovers(dir.path()), "");
}

TEST_F(CliOutputSafety, TrailingSlashNamesTheDirectory) {
  const auto r = run_cli("backtest --data " + data().string() + " --out " + (dir / "run").string() + "/ --log-level warn");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "run" / "summary.json"));
}

TEST_F(CliOutputSafety, ALaterRunRemovesWhatAKilledRunStaged) {
  // Pid 99999999 is above the kernel's pid_max: that owner cannot be running.
  fs::create_directories(dir / ".flags.csv.tmp-99999999-12345");
  testing::write_file(dir / ".flags.csv.tmp-99999999-12345" / "junk", "from a killed run");
  testing::write_file(dir / ".flags.csv.tmp-99999998", "from a killed run, pid only");
  const auto r = run_cli("detect --data " + data().string() + " --out " + (dir / "flags.csv").string() + " --log-level warn");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "left by a run that was killed")) << r.output;
  EXPECT_EQ(staged_leftovers(dir.path()), "");
}

// The parts directory of a distributed generate that was killed is removed by the next generate of that output.
TEST_F(CliOutputSafety, ALaterGenerateRemovesAKilledRunsParts) {
  testing::write_file(dir / "s.toml", testing::small_scenario(5, 20));
  fs::create_directories(dir / ".g.h5.parts");
  testing::write_file(dir / ".g.h5.parts" / "owner", "99999999-7\n");
  testing::write_file(dir / ".g.h5.parts" / "generate.rank-1-of-2.bin", "part of a killed run");
  const auto r = run_cli("generate --scenario " + (dir / "s.toml").string() + " --out " + (dir / "g.h5").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "left by a run that was killed (process 99999999 no longer runs)")) << r.output;
  EXPECT_FALSE(fs::exists(dir / ".g.h5.parts"));
}

// SIGTERM or SIGINT while the output is staged: exit 128 + signal, nothing staged left.
void expect_interrupt_removes_the_staged_output(int signal, const fs::path& dir, const fs::path& scenario) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  const fs::path log = dir / "stderr.txt";
  if (child == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    // Big enough to still be running when interrupted; the test stops it as soon as its output is staged.
    ::execl(METERBENCH_CLI, METERBENCH_CLI, "generate", "--scenario", scenario.c_str(), "--series", "2000000", "--days", "400",
            "--threads", "1", "--log-level", "warn", "--out", (dir / "big.h5").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  bool staged = false;
  for (int i = 0; i < 6000 && !staged; ++i) {  // polls for up to a minute on a loaded machine
    staged = !staged_leftovers(dir).empty();
    if (!staged) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(staged) << "the output was never staged";
  ::kill(child, signal);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 128 + signal);
  const std::string message = testing::read_file(log);
  EXPECT_TRUE(contains(message, signal == SIGTERM ? "stopped by SIGTERM" : "stopped by SIGINT")) << message;
  EXPECT_TRUE(contains(message, "removed the unfinished output '" + (dir / ".big.h5.tmp-").string())) << message;
  EXPECT_EQ(staged_leftovers(dir), "");
  EXPECT_FALSE(fs::exists(dir / "big.h5"));
}

TEST_F(CliOutputSafety, SigtermAndSigintRemoveTheStagedOutput) {
  testing::write_file(dir / "s.toml", testing::small_scenario(40, 200));
  expect_interrupt_removes_the_staged_output(SIGTERM, dir.path(), dir / "s.toml");
  expect_interrupt_removes_the_staged_output(SIGINT, dir.path(), dir / "s.toml");
}

// A full disk (here a file-size limit: writes fail with EFBIG once it is reached, SIGXFSZ ignored).
TEST_F(CliOutputSafety, AFailedWriteNamesTheReasonAndLeavesNothingStaged) {
  const std::string limit = "trap '' XFSZ; ulimit -f 8; ";  // 8 KiB
  const auto detect = run_command(limit + METERBENCH_CLI + " detect --data " + data().string() + " --set z=2 --out " +
                                  (dir / "flags.csv").string() + " --log-level warn");  // z 2: enough incidents to pass the limit
  EXPECT_EQ(detect.exit_code, 1) << detect.output;
  EXPECT_TRUE(contains(detect.output, "cannot write '")) << detect.output;
  EXPECT_TRUE(contains(detect.output, "File too large")) << detect.output;
  const auto backtest = run_command(limit + METERBENCH_CLI + " backtest --data " + data().string() + " --out " + (dir / "run").string() +
                                    " --log-level warn");
  EXPECT_EQ(backtest.exit_code, 1) << backtest.output;
  EXPECT_TRUE(contains(backtest.output, "File too large")) << backtest.output;
  EXPECT_FALSE(fs::exists(dir / "flags.csv"));
  EXPECT_FALSE(fs::exists(dir / "run"));
  EXPECT_EQ(staged_leftovers(dir.path()), "");
}

}  // namespace
}  // namespace meterbench
