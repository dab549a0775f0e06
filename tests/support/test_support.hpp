#pragma once
// Shared test helpers: a scratch directory per test, running the CLI, writing small input files.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace meterbench::testing {

/// A fresh directory removed at the end of the test.
class ScratchDir {
 public:
  /// Named after the running test.
  ScratchDir() : ScratchDir(current_test_name()) {}
  /// Named explicitly (for suite-level fixtures, where no test is running).
  explicit ScratchDir(const std::string& name) {
    path_ = std::filesystem::temp_directory_path() / ("meterbench-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  static std::string current_test_name() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return info == nullptr ? "suite" : std::string(info->test_suite_name()) + "-" + info->name();
  }
  std::filesystem::path path_;
};

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The lines of a CSV file without quoted fields, split at commas (a trailing comma gives an empty last cell).
inline std::vector<std::vector<std::string>> read_simple_csv(const std::filesystem::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(cells);
  }
  return rows;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr together
  int wait_status = -1;  ///< the raw status from pclose (WIFSIGNALED tells a crash from an exit)
};

/// Runs a shell command line, capturing its output and exit code.
inline CommandResult run_command(const std::string& command_line) {
  CommandResult result;
  FILE* pipe = ::popen((command_line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) result.output += buffer.data();
  const int status = ::pclose(pipe);
  result.wait_status = status;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

/// Runs the meterbench CLI built beside the tests.
inline CommandResult run_cli(const std::string& arguments) { return run_command(std::string(METERBENCH_CLI) + " " + arguments); }

/// Staged outputs (`.NAME.tmp-...` entries) anywhere under `dir`, space-separated; empty when there are none.
inline std::string staged_entries(const std::filesystem::path& dir) {
  std::string found;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec))
    if (it->path().filename().string().find(".tmp-") != std::string::npos) found += it->path().string() + " ";
  return found;
}

/// The staging owner tag ("pid-start time") of this test's parent process, which stays alive for the whole test.
inline std::string parent_staging_tag() {
  std::ifstream stat("/proc/" + std::to_string(::getppid()) + "/stat");
  std::string line;
  std::getline(stat, line);
  // Field 22 (start time) counted from the first field after the command name, which may hold spaces.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string start;
  for (int field = 3; field <= 22; ++field) fields >> start;
  return std::to_string(::getppid()) + "-" + start;
}

inline std::filesystem::path source_path(const std::string& relative) { return std::filesystem::path(METERBENCH_SOURCE_DIR) / relative; }

/// A small scenario: every injection kind on, short series, few series.
inline std::string small_scenario(std::int64_t series = 64, std::int64_t days = 400, const std::string& step = "1d") {
  return "[population]\nseries = " + std::to_string(series) + "\ndays = " + std::to_string(days) +
         "\nstart = \"2024-01-01\"\nstep = \"" + step +
         "\"\nseed = 5\n"
         "[profiles]\nsteady = 1\ngrowing = 1\nweekly = 1\nyearly = 1\nintermittent = 1\nheavy_tailed = 1\n"
         "[level]\nmin = 5.0\nmax = 5000.0\n"
         "[noise]\ngaussian = 1\npoisson = 1\nnegative_binomial = 1\nlognormal = 1\n"
         "[price]\nmin = 0.01\nmax = 1.0\n"
         "[injections.spike]\nrate = 3\nlength = [1, 3]\nsize = [4, 10]\n"
         "[injections.dip]\nrate = 1\nlength = [1, 3]\nsize = [4, 8]\n"
         "[injections.level_shift]\nrate = 1\nlength = 14\nsize = [4, 8]\n"
         "[injections.trend_change]\nrate = 1\nlength = 28\nsize = [4, 8]\n"
         "[injections.seasonality_change]\nrate = 1\nlength = 14\nsize = [4, 8]\n"
         "[injections.unit_error]\nrate = 1\nlength = [1, 3]\n"
         "[injections.double_counting]\nrate = 1\nlength = [3, 10]\n"
         "[injections.dropped_reporting]\nrate = 1\nlength = [2, 7]\n"
         "[injections.stuck_meter]\nrate = 1\nlength = [5, 10]\n"
         "[injections.fraud_ramp]\nrate = 1\nlength = [20, 40]\nsize = [4, 8]\n"
         "[injections.stopped_reporting]\nrate = 0.5\nlength = [14, 40]\n"
         "[injections.gap]\nrate = 2\nlength = [1, 60]\n";
}

/// The error message of a refused run with the scratch directory's path removed, so that a test can assert the
/// exact text that names the files (`usage.csv:3: ...`), after checking that the run left no `output` behind.
inline std::string refusal_message(const std::exception& e, const ScratchDir& dir, const std::filesystem::path& output) {
  EXPECT_FALSE(std::filesystem::exists(output)) << output;
  std::string message = e.what();
  const std::string prefix = (dir / "").string();
  for (auto pos = message.find(prefix); pos != std::string::npos; pos = message.find(prefix)) message.erase(pos, prefix.size());
  return message;
}

}  // namespace meterbench::testing
