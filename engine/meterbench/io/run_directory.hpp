#pragma once
// What a meterbench run directory is, for the commands that read one (`meterbench report`): a backtest run
// (summary.json, pr_curve.csv, per_kind.csv, ...; see README "Results") or a sweep (sweep.csv and best.json
// with "kind": "sweep"). Anything else is refused with a message naming what is missing.
#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace meterbench {

enum class RunKind { backtest, sweep };

[[nodiscard]] std::string_view to_string(RunKind kind);

/// Not a meterbench run directory, or one with a file missing or unreadable.
class RunDirectoryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The kind of run in `dir`; throws RunDirectoryError naming the directory and the missing or bad file.
[[nodiscard]] RunKind identify_run_directory(const std::filesystem::path& dir);

}  // namespace meterbench
