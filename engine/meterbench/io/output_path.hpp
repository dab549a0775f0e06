#pragma once
// Nothing is lost: every output (a file or a directory) is written under a temporary name beside its final
// path and placed only when complete. Placement is exclusive (a path that appeared meanwhile, e.g. written by
// a concurrent run, is never replaced); --force exchanges the old output with the new one and only then
// removes the old. Everything that could make --force destroy something else (the current directory or an
// ancestor, an input, a directory meterbench did not write, a file where a directory belongs) is refused
// before any work starts. Staged outputs are removed on SIGINT/SIGTERM (see remove_staged_outputs_for_exit)
// and, after kill -9, by the next run of the same output once their process is gone.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace meterbench {

/// Bad output path: exists without --force, directory missing or unwritable, not enough space, unsafe to replace.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class OutputKind { file, directory };

/// The file every directory output gets at commit: what lets a later --force recognise a meterbench output.
inline constexpr const char* kOutputMarker = ".meterbench-output";

/// True for a directory meterbench wrote: it holds kOutputMarker, a backtest's summary.json (with
/// "schema_version" and "model") or a sweep's best.json (with "kind": "sweep").
[[nodiscard]] bool is_meterbench_output_directory(const std::filesystem::path& dir);

/// Keeps `path` on the list that remove_staged_outputs_for_exit removes, for as long as it lives.
class RemovedOnInterrupt {
 public:
  explicit RemovedOnInterrupt(std::filesystem::path path);
  ~RemovedOnInterrupt();
  RemovedOnInterrupt(const RemovedOnInterrupt&) = delete;
  RemovedOnInterrupt& operator=(const RemovedOnInterrupt&) = delete;

 private:
  std::uint64_t id_;
};

/// What SIGINT/SIGTERM do before the process exits: removes every registered staged output and returns
/// the paths of those that existed. Holds the registry lock on return, so nothing is committed afterwards:
/// call it only right before ending the process.
std::vector<std::filesystem::path> remove_staged_outputs_for_exit() noexcept;

/// The temporary name's owner tag of this process, "<pid>-<start time>" (the start time, in clock ticks
/// since boot from /proc/self/stat, tells a recycled pid from the process that staged the output).
[[nodiscard]] std::string staging_owner_tag();

/// True while the process a staging owner tag names ("<pid>" or "<pid>-<start time>") runs.
[[nodiscard]] bool staging_owner_alive(const std::string& tag);

/// Removes `.<name>.tmp-<owner>` beside `output` left by processes that no longer run (a killed run, which
/// could not clean up); never this process's nor a live one's. Returns how many it removed.
int remove_stale_staged_outputs(const std::filesystem::path& output);

class StagedOutput {
 public:
  /// Checks the final path (throws OutputError naming it and the reason) and picks the temporary name;
  /// creates nothing. `inputs`: files the run reads, which the output may neither be nor contain.
  StagedOutput(std::filesystem::path final_path, bool overwrite, OutputKind kind = OutputKind::file,
               const std::vector<std::filesystem::path>& inputs = {});
  ~StagedOutput();  ///< removes the temporary output unless committed
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;

  [[nodiscard]] const std::filesystem::path& temp_path() const { return temp_; }
  [[nodiscard]] const std::filesystem::path& final_path() const { return final_; }
  /// Throws OutputError when the final path's file system has fewer than `bytes` free.
  void require_free_space(std::uintmax_t bytes) const;
  /// Places the temporary output at the final path: exclusively, or, when overwrite was asked and the old
  /// output was there at construction, by exchanging the two and then removing the old one. Throws
  /// OutputError (and removes the temporary output) when the final path appeared meanwhile.
  void commit();

 private:
  void place_exclusively();
  [[nodiscard]] bool replace_existing();  ///< true when the old output is left under the temporary name

  std::filesystem::path final_;
  std::filesystem::path temp_;
  OutputKind kind_ = OutputKind::file;
  bool replace_ = false;  // overwrite asked and the old output was there at construction
  bool committed_ = false;
  std::uint64_t registration_ = 0;
};

}  // namespace meterbench
