#include "meterbench/runtime/run_context.hpp"

#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/core/version.hpp"

namespace meterbench {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}

}  // namespace

RunContext current_run_context(int threads) {
  RunContext c;
  c.tool_version = tool_version();
  c.build_type = build_type();
  c.arch = build_arch();
  c.cpu_model = cpu_model();
  c.cores = static_cast<int>(std::thread::hardware_concurrency());
  c.threads = threads;
  c.libraries = library_versions();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  c.started_at = format_utc_timestamp(now);
  c.unoptimized = is_unoptimized_build();
  return c;
}

nlohmann::json to_json(const RunContext& c) {
  return {{"tool_version", c.tool_version}, {"build_type", c.build_type}, {"arch", c.arch}, {"cpu", c.cpu_model}, {"cores", c.cores},
          {"threads", c.threads}, {"libraries", c.libraries}, {"started_at", c.started_at}, {"unoptimized_build", c.unoptimized}};
}

std::uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024u;  // Linux reports KiB
}

}  // namespace meterbench
