#pragma once
// Shared by the fuzz targets: one scratch directory per process for the engine entry points that read a path
// (the input is written to a file there, rewritten for each input), quiet logging and a single thread.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "meterbench/runtime/parallel.hpp"

namespace meterbench::fuzzing {

inline constexpr std::string_view kScratchPrefix = "meterbench-fuzz-";

/// Removes the scratch directories of processes that are gone: libFuzzer ends a process with _Exit on a finding,
/// a timeout or the end of a fork-mode job, so their own exit handlers never run.
inline void remove_stale_scratch_dirs(const std::filesystem::path& base) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kScratchPrefix, 0) != 0) continue;
    const std::string pid_text = name.substr(kScratchPrefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove_all(entry.path(), ec);
  }
}

/// Per-process scratch directory: under /dev/shm when it exists (the inputs never touch a disk), else $TMPDIR.
/// Removed at exit, or by the next fuzz process when this one ended without running its exit handlers.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                                  : std::filesystem::temp_directory_path();
    remove_stale_scratch_dirs(base);
    std::filesystem::path d = base / (std::string(kScratchPrefix) + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

/// Writes the input bytes to `name` in the scratch directory and returns its path.
inline std::filesystem::path write_input(const std::string& name, const std::uint8_t* data, std::size_t size) {
  std::filesystem::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

/// Once per process: no log output (the engine warns about odd inputs, which fuzzing produces by the million) and
/// one thread, so that an input replays exactly the same way.
inline void prepare_process() {
  static const auto once = [] {
    spdlog::set_level(spdlog::level::off);
    return std::make_unique<ThreadLimit>(1);
  }();
  (void)once;
}

}  // namespace meterbench::fuzzing
