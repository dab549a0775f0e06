#include "meterbench/io/output_path.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace meterbench {

namespace fs = std::filesystem;

StagedOutput::StagedOutput(fs::path final_path, bool overwrite) : final_(std::move(final_path)), overwrite_(overwrite) {
  if (final_.empty()) throw OutputError("output path is empty");
  std::error_code ec;
  if (fs::exists(final_, ec) && !overwrite_)
    throw OutputError(fmt::format("output '{}' already exists (use --force to replace it)", final_.string()));
  fs::path dir = final_.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) throw OutputError(fmt::format("output directory '{}' does not exist", dir.string()));
  if (::access(dir.c_str(), W_OK) != 0) throw OutputError(fmt::format("output directory '{}' is not writable", dir.string()));
  temp_ = dir / fmt::format(".{}.tmp-{}", final_.filename().string(), ::getpid());
  fs::remove_all(temp_, ec);  // a leftover of a crashed run with the same pid
}

StagedOutput::~StagedOutput() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(temp_, ec);
}

void StagedOutput::require_free_space(std::uintmax_t bytes) const {
  std::error_code ec;
  const fs::space_info space = fs::space(temp_.parent_path(), ec);
  if (ec) return;  // cannot tell: let the write itself fail with its own error
  if (space.available < bytes)
    throw OutputError(fmt::format("output '{}' needs about {:.2f} GB but only {:.2f} GB are free there", final_.string(),
                                  static_cast<double>(bytes) / 1e9, static_cast<double>(space.available) / 1e9));
}

void StagedOutput::commit() {
  std::error_code ec;
  if (overwrite_ && fs::is_directory(final_, ec)) fs::remove_all(final_, ec);
  fs::rename(temp_, final_, ec);
  if (ec) throw OutputError(fmt::format("cannot rename '{}' to '{}': {}", temp_.string(), final_.string(), ec.message()));
  committed_ = true;
}

}  // namespace meterbench
