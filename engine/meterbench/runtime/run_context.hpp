#pragma once
// The context every stored figure carries: what ran, where, how (commit, CPU, cores, threads, build type and instruction set,
// library versions, schema version), and the process's peak memory.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace meterbench {

struct RunContext {
  std::string tool_version;   ///< "meterbench 0.1.0 (commit ..., Release)"
  std::string build_type;
  std::string arch;           ///< instruction set of the build (METERBENCH_ARCH)
  std::string cpu_model;      ///< from /proc/cpuinfo
  int cores = 0;              ///< hardware threads of the machine
  int threads = 0;            ///< threads the run was allowed
  std::string libraries;
  std::string started_at;     ///< UTC, ISO 8601
  bool unoptimized = false;   ///< a Debug or sanitizer build: timings are meaningless
};

RunContext current_run_context(int threads);
nlohmann::json to_json(const RunContext& context);
/// Peak resident memory of this process so far, in bytes.
std::uint64_t peak_rss_bytes();

}  // namespace meterbench
