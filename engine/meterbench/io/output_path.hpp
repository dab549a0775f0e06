#pragma once
// Nothing is lost: every output (a file or a directory) is written under a temporary name beside its final
// path and renamed into place only when complete. An existing output is never replaced unless asked.
#include <cstdint>
#include <filesystem>
#include <stdexcept>

namespace meterbench {

/// Bad output path: exists without --force, directory missing or unwritable, not enough space.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StagedOutput {
 public:
  /// Checks the final path (throws OutputError naming it) and picks the temporary name; creates nothing.
  StagedOutput(std::filesystem::path final_path, bool overwrite);
  ~StagedOutput();  ///< removes the temporary output unless committed
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;

  [[nodiscard]] const std::filesystem::path& temp_path() const { return temp_; }
  [[nodiscard]] const std::filesystem::path& final_path() const { return final_; }
  /// Throws OutputError when the final path's file system has fewer than `bytes` free.
  void require_free_space(std::uintmax_t bytes) const;
  /// Renames the temporary output to the final path (replacing it if overwrite was asked).
  void commit();

 private:
  std::filesystem::path final_;
  std::filesystem::path temp_;
  bool overwrite_ = false;
  bool committed_ = false;
};

}  // namespace meterbench
