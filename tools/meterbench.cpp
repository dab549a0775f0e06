// The meterbench command line: parses options, calls the engine, reports. Nothing else lives here.
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "meterbench/core/version.hpp"
#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace mb = meterbench;

namespace {

// Options every subcommand takes.
struct CommonOptions {
  int threads = mb::hardware_threads();
  std::string log_level = "info";
};

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
  if (mb::is_unoptimized_build())
    spdlog::warn("this is a {} build without optimisation: timings are meaningless, use a Release build", mb::build_type());
}

struct GenerateCommand {
  std::string scenario;
  std::optional<std::int64_t> series, days;
  std::optional<std::uint64_t> seed;
  mb::GenerateOptions options;
  std::int64_t chunk = 0;
  int compress = 0;

  void add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("generate", "Generate a synthetic population of usage series with labelled anomalies (HDF5)");
    cmd->add_option("--scenario", scenario, "Scenario TOML file (see datasets/scenarios/)")->required();
    cmd->add_option("--series", series, "Number of series (overrides the scenario)");
    cmd->add_option("--days", days, "Length in days (overrides the scenario)");
    cmd->add_option("--seed", seed, "Random seed (overrides the scenario)");
    cmd->add_option("--out", options.out, "Output HDF5 file")->required();
    cmd->add_flag("--force", options.overwrite, "Replace the output file if it exists");
    cmd->add_option("--block", options.block_series, "Series per pipeline block (0 = about 4 MiB of values)")->capture_default_str();
    cmd->add_option("--chunk", chunk, "Series per HDF5 chunk (0 = about 1 MiB of values)")->capture_default_str();
    cmd->add_option("--compress", compress, "gzip level 0 (off) to 9")->check(CLI::Range(0, 9))->capture_default_str();
    add_common_options(*cmd, common);
    cmd->callback([this, &common] { run(common); });
  }

  void run(const CommonOptions& common) {
    setup_logging(common);
    const mb::ThreadLimit limit(common.threads);
    mb::Scenario sc = mb::load_scenario(scenario);
    sc.override_size(series, days, seed);
    if (options.block_series < 0) throw std::invalid_argument(fmt::format("--block must be >= 0, got {}", options.block_series));
    if (chunk < 0) throw std::invalid_argument(fmt::format("--chunk must be >= 0, got {}", chunk));
    options.write.chunk_series = chunk;
    options.write.compression_level = compress;
    const mb::GenerateSummary s = mb::generate_dataset(sc, options);
    std::printf("generated %s: %lld series x %lld steps, %lld events, %.0f USD injected impact\n", options.out.c_str(),
                static_cast<long long>(s.series), static_cast<long long>(s.steps), static_cast<long long>(s.events), s.impact_usd);
    std::printf("  %.2f s wall, %.0f series/s, %.1f MB/s written (%.1f MB), %d threads\n", s.wall_seconds,
                static_cast<double>(s.series) / s.wall_seconds, static_cast<double>(s.file_bytes) / 1e6 / s.wall_seconds,
                static_cast<double>(s.file_bytes) / 1e6, limit.threads());
    std::printf("  events by kind:");
    for (std::size_t k = 1; k < mb::kAnomalyKindCount; ++k)
      if (s.events_by_kind[k] > 0)
        std::printf(" %s=%lld", std::string(mb::to_string(static_cast<mb::AnomalyKind>(k))).c_str(),
                    static_cast<long long>(s.events_by_kind[k]));
    std::printf("\n  series by profile:");
    for (std::size_t p = 1; p < mb::kUsageProfileCount; ++p)
      std::printf(" %s=%lld", std::string(mb::to_string(static_cast<mb::UsageProfile>(p))).c_str(),
                  static_cast<long long>(s.series_by_profile[p]));
    std::printf("\n");
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"meterbench: parallel backtesting and benchmarks for anomaly detection on metered-billing usage"};
  app.require_subcommand(1);
  app.set_version_flag("--version", mb::tool_version());
  CommonOptions common;
  GenerateCommand generate;
  generate.add_to(app, common);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    if (spdlog::default_logger() != nullptr) spdlog::error("{}", e.what());
    else std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
