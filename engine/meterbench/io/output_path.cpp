#include "meterbench/io/output_path.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "meterbench/io/output_file.hpp"

namespace meterbench {

namespace fs = std::filesystem;

namespace {

// The staged outputs of this process, for the SIGINT/SIGTERM thread. Commit holds the lock while placing an
// output, so an interrupt never removes a temporary name that is being renamed.
struct StagingRegistry {
  std::mutex mutex;
  std::uint64_t next_id = 1;
  std::vector<std::pair<std::uint64_t, fs::path>> paths;
};

StagingRegistry& staging_registry() {
  static StagingRegistry* const instance = new StagingRegistry;  // never destroyed: the interrupt thread may outlive main
  return *instance;
}

std::uint64_t register_staged(const fs::path& path) {
  StagingRegistry& r = staging_registry();
  const std::lock_guard lock(r.mutex);
  r.paths.emplace_back(r.next_id, path);
  return r.next_id++;
}

void unregister_staged_locked(std::uint64_t id) {
  auto& paths = staging_registry().paths;
  for (auto it = paths.begin(); it != paths.end(); ++it)
    if (it->first == id) {
      paths.erase(it);
      return;
    }
}

void unregister_staged(std::uint64_t id) {
  const std::lock_guard lock(staging_registry().mutex);
  unregister_staged_locked(id);
}

// Field 22 of /proc/PID/stat (start time in clock ticks since boot); empty when the process does not exist.
std::string process_start_time(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  const std::size_t paren = line.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return {};
  std::istringstream fields(line.substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22 && (fields >> field); ++i)
    if (i == 22) return field;
  return {};
}

bool same_inode(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// False when nothing is at `path`; symbolic links are followed, as the run would.
bool stat_if_exists(const fs::path& path, struct stat& st) { return ::stat(path.c_str(), &st) == 0; }

// `path` or one of its ancestors is `target` (compared as device and inode).
bool is_or_is_inside(const fs::path& path, const struct stat& target) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  while (true) {
    struct stat st {};
    if (stat_if_exists(p, st) && same_inode(st, target)) return true;
    if (!p.has_relative_path()) return false;
    p = p.parent_path();
  }
}

// "run/" names the directory "run".
fs::path without_trailing_separator(fs::path path) {
  while (!path.has_filename() && path.has_relative_path()) path = path.parent_path();
  return path;
}

void check_replaceable(const fs::path& final, OutputKind kind, bool overwrite, const std::vector<fs::path>& inputs) {
  struct stat target {};
  if (!stat_if_exists(final, target)) {
    // Nothing there, or a symbolic link to nothing: placing the output would fail on it after all the work.
    if (::lstat(final.c_str(), &target) == 0)
      throw OutputError(fmt::format("output '{}' is a symbolic link to '{}', which does not exist: remove it or choose another path",
                                    final.string(), fs::read_symlink(final).string()));
    return;
  }
  if (is_or_is_inside(fs::current_path(), target))
    throw OutputError(fmt::format("output '{}' is the current directory or one of its ancestors: choose a new path for the output",
                                  final.string()));
  for (const fs::path& input : inputs) {
    if (input.empty() || !is_or_is_inside(input, target)) continue;
    struct stat in {};
    const bool same = stat_if_exists(input, in) && same_inode(in, target);
    throw OutputError(fmt::format("output '{}' {} the input '{}': choose another path for the output", final.string(),
                                  same ? "is" : "contains", input.string()));
  }
  if (!overwrite) throw OutputError(fmt::format("output '{}' already exists (use --force to replace it)", final.string()));
  const bool is_dir = S_ISDIR(target.st_mode);
  if (kind == OutputKind::file && is_dir)
    throw OutputError(fmt::format("output '{}' is a directory, but this output is a file: remove it or choose another path", final.string()));
  if (kind == OutputKind::directory && !is_dir)
    throw OutputError(fmt::format("output '{}' is a file, but this output is a directory: remove it or choose another path", final.string()));
  if (kind == OutputKind::file && !S_ISREG(target.st_mode))
    throw OutputError(fmt::format("output '{}' is not a regular file: refusing to replace it", final.string()));
  if (kind == OutputKind::directory && !is_meterbench_output_directory(final))
    throw OutputError(fmt::format(
        "output '{}' is a directory meterbench did not write (it has no {}, no summary.json of a backtest and no best.json of a "
        "sweep): refusing to replace it with --force",
        final.string(), kOutputMarker));
}

bool has_json_keys(const fs::path& path, std::initializer_list<const char*> keys, const char* kind_value) {
  std::ifstream in(path);
  if (!in) return false;
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object()) return false;
  for (const char* key : keys)
    if (!j.contains(key)) return false;
  return kind_value == nullptr || j.value("kind", std::string()) == kind_value;
}

// Renames with renameat2 flags; ENOSYS/EINVAL mean the file system cannot do it.
int rename_with(const fs::path& from, const fs::path& to, unsigned flags) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0 ? 0 : errno;
}

bool renameat2_unsupported(int err) { return err == ENOSYS || err == EINVAL || err == ENOTSUP; }

}  // namespace

bool is_meterbench_output_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  if (fs::is_regular_file(dir / kOutputMarker, ec)) return true;
  // Run directories written before the marker existed.
  return has_json_keys(dir / "summary.json", {"schema_version", "model"}, nullptr) || has_json_keys(dir / "best.json", {"kind"}, "sweep");
}

RemovedOnInterrupt::RemovedOnInterrupt(fs::path path) : id_(register_staged(path)) {}
RemovedOnInterrupt::~RemovedOnInterrupt() { unregister_staged(id_); }

std::vector<fs::path> remove_staged_outputs_for_exit() noexcept {
  StagingRegistry& r = staging_registry();
  r.mutex.lock();  // released by the end of the process: nothing is committed after this
  std::vector<fs::path> removed;
  for (const auto& entry : r.paths) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(entry.second, ec))) continue;  // registered, not yet created
    // A thread may still be writing into a staged directory: retry when an entry appeared meanwhile.
    for (int attempt = 0; attempt < 3 && fs::exists(fs::symlink_status(entry.second, ec)); ++attempt) fs::remove_all(entry.second, ec);
    removed.push_back(entry.second);
  }
  return removed;
}

std::string staging_owner_tag() {  // not cached: a forked child is another owner
  const std::string pid = std::to_string(::getpid());
  const std::string start = process_start_time("self");
  return start.empty() ? pid : pid + "-" + start;
}

bool staging_owner_alive(const std::string& tag) {
  const std::size_t dash = tag.find('-');
  const std::string pid = tag.substr(0, dash);
  if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) return true;  // not ours to judge
  if (dash == std::string::npos) {  // the pid alone (staged before start times were recorded)
    const int alive = ::kill(static_cast<pid_t>(std::stol(pid)), 0);
    return alive == 0 || errno != ESRCH;
  }
  const std::size_t end = tag.find('-', dash + 1);  // a suffix after the start time names another staging file of the owner
  const std::string start = process_start_time(pid);
  return !start.empty() && start == tag.substr(dash + 1, end == std::string::npos ? std::string::npos : end - dash - 1);
}

int remove_stale_staged_outputs(const fs::path& output) {
  const fs::path final = without_trailing_separator(output);
  const fs::path dir = final.parent_path().empty() ? fs::path(".") : final.parent_path();
  const std::string prefix = fmt::format(".{}.tmp-", final.filename().string());
  const std::string parked = fmt::format(".{}.old-", final.filename().string());
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, parked.size(), parked) == 0)
      spdlog::warn("'{}' holds an earlier '{}' that a killed --force run had moved aside; it is kept: move it back or delete it",
                   entry.path().string(), final.string());
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string tag = name.substr(prefix.size());
    if (tag.find_first_not_of("0123456789-") != std::string::npos || tag.front() == '-' || tag == staging_owner_tag()) continue;
    if (staging_owner_alive(tag)) continue;
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (rm) continue;
    spdlog::warn("removed '{}', left by a run that was killed (process {} no longer runs)", entry.path().string(), tag.substr(0, tag.find('-')));
    ++removed;
  }
  return removed;
}

StagedOutput::StagedOutput(fs::path final_path, bool overwrite, OutputKind kind, const std::vector<fs::path>& inputs)
    : final_(without_trailing_separator(std::move(final_path))), kind_(kind) {
  if (final_.empty()) throw OutputError("output path is empty");
  if (!final_.has_filename() || final_.filename() == "." || final_.filename() == "..")
    throw OutputError(fmt::format("output '{}' is a directory meterbench must not replace: choose a new path for the output", final_.string()));
  check_replaceable(final_, kind, overwrite, inputs);
  std::error_code ec;
  replace_ = overwrite && fs::exists(fs::symlink_status(final_, ec));
  fs::path dir = final_.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec))
    throw OutputError(fmt::format("output directory '{}' {}", dir.string(), fs::exists(dir, ec) ? "is not a directory" : "does not exist"));
  if (::access(dir.c_str(), W_OK) != 0) throw OutputError(fmt::format("output directory '{}' is not writable", dir.string()));
  remove_stale_staged_outputs(final_);
  temp_ = dir / fmt::format(".{}.tmp-{}", final_.filename().string(), staging_owner_tag());
  fs::remove_all(temp_, ec);  // this process's own abandoned attempt
  registration_ = register_staged(temp_);
}

StagedOutput::~StagedOutput() {
  unregister_staged(registration_);
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
  if (kind_ == OutputKind::directory) {
    OutputFile marker(temp_ / kOutputMarker);
    marker << "written by meterbench; `--force` replaces only directories that hold this file\n";
    marker.close();
  }
  bool old_output_staged = false;  // after an exchange, the old output sits under the temporary name
  {
    const std::lock_guard lock(staging_registry().mutex);
    try {
      if (replace_) old_output_staged = replace_existing();
      else place_exclusively();
    } catch (const OutputError&) {
      std::error_code ec;
      fs::remove_all(temp_, ec);
      throw;
    }
  }
  // Outside the lock: an interrupt need not wait for a large old output to be deleted (it stays registered, so
  // an interrupt now removes it too).
  std::error_code ec;
  if (old_output_staged) fs::remove_all(temp_, ec);
  const std::lock_guard lock(staging_registry().mutex);
  committed_ = true;
  unregister_staged_locked(registration_);
  registration_ = 0;
}

void StagedOutput::place_exclusively() {
  int err = rename_with(temp_, final_, RENAME_NOREPLACE);
  if (renameat2_unsupported(err) && kind_ == OutputKind::file) {  // link() is exclusive too; the file system has no renameat2
    err = ::link(temp_.c_str(), final_.c_str()) == 0 ? 0 : errno;
    if (err == 0) ::unlink(temp_.c_str());
  } else if (renameat2_unsupported(err)) {  // a directory: rename() replaces only an empty directory, never a run
    err = std::rename(temp_.c_str(), final_.c_str()) == 0 ? 0 : errno;
  }
  if (err == EEXIST || err == ENOTEMPTY)
    throw OutputError(fmt::format("output '{}' exists: another run wrote it while this one ran; this run's output was removed",
                                  final_.string()));
  if (err != 0) throw OutputError(fmt::format("cannot rename '{}' to '{}': {}", temp_.string(), final_.string(), std::strerror(err)));
}

bool StagedOutput::replace_existing() {
  // The old output stays in place until the new one is: exchange the two, then remove the old one.
  int err = rename_with(temp_, final_, RENAME_EXCHANGE);
  if (err == ENOENT) {  // removed meanwhile: nothing left to replace
    place_exclusively();
    return false;
  }
  if (renameat2_unsupported(err)) {
    // Without an atomic exchange the old output is parked under a name no later run deletes, so a kill between
    // the two renames leaves it on disk (a later run names it) rather than losing it.
    const fs::path old = final_.parent_path() / fmt::format(".{}.old-{}", final_.filename().string(), staging_owner_tag());
    if (std::rename(final_.c_str(), old.c_str()) != 0) {
      err = errno;
    } else if (std::rename(temp_.c_str(), final_.c_str()) != 0) {
      err = errno;
      std::rename(old.c_str(), final_.c_str());  // put the old output back
    } else {
      std::error_code ec;
      fs::remove_all(old, ec);
      return false;
    }
  }
  if (err != 0) throw OutputError(fmt::format("cannot replace '{}' with '{}': {} (the old output is unchanged)", final_.string(),
                                              temp_.string(), std::strerror(err)));
  return true;
}

}  // namespace meterbench
