#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "meterbench/core/version.hpp"

namespace meterbench::cli {

void add_common_options(CLI::App& command, CommonOptions& common) {
  command.add_option("--threads", common.threads, "Worker threads (oneTBB limit for this command)")->capture_default_str();
  command.add_option("--log-level", common.log_level, "Log verbosity")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

void setup_logging(const CommonOptions& common) {
  auto logger = spdlog::stderr_color_mt("meterbench");
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(common.log_level));
  if (meterbench::is_unoptimized_build())
    spdlog::warn("this is a {} build without optimisation: timings are meaningless, use a Release build", meterbench::build_type());
}

std::string metric(const nlohmann::json& j, const char* path) {
  const nlohmann::json::json_pointer pointer(path);
  if (!j.contains(pointer) || j.at(pointer).is_null()) return "n/a";
  return fmt::format("{:.4f}", j.at(pointer).get<double>());
}

}  // namespace meterbench::cli
