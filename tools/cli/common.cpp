#include <cstdlib>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/distributed/process_group.hpp"

namespace meterbench::cli {

void add_common_options(CLI::App& command, CommonOptions& common) {
  command.add_option("--threads", common.threads, "Worker threads (oneTBB limit for this command)")->capture_default_str();
  command.add_option("--log-level", common.log_level, "Log verbosity")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

void setup_logging(const CommonOptions& common) {
  auto logger = spdlog::stderr_color_mt("meterbench");
  // Under mpirun every process logs: tag the lines with the rank.
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (rank == nullptr) rank = std::getenv("PMI_RANK");
  logger->set_pattern(rank != nullptr && meterbench::launcher_world_size() > 1 ? fmt::format("[%H:%M:%S.%e] [rank {}] [%^%l%$] %v", rank)
                                                                                : std::string("[%H:%M:%S.%e] [%^%l%$] %v"));
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
