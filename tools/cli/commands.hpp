#pragma once
// What every subcommand of the meterbench CLI shares, and one registration function per subcommand (each in
// its own <name>_command.cpp). The CLI only parses options, calls the engine and reports.
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace meterbench::cli {

/// Options every subcommand takes.
struct CommonOptions {
  int threads = 0;  ///< set to the hardware threads by main()
  std::string log_level = "info";
};

/// Adds --threads and --log-level to a subcommand.
void add_common_options(CLI::App& command, CommonOptions& common);
/// Installs the stderr logger at the chosen level; warns when the build is unoptimised.
void setup_logging(const CommonOptions& common);
/// A metric at a JSON pointer path with 4 decimals, or "n/a" when it is absent or null.
std::string metric(const nlohmann::json& j, const char* path);

void add_generate_command(CLI::App& app, CommonOptions& common);
void add_backtest_command(CLI::App& app, CommonOptions& common);
void add_ingest_command(CLI::App& app, CommonOptions& common);
void add_detect_command(CLI::App& app, CommonOptions& common);
void add_report_command(CLI::App& app, CommonOptions& common);
void add_sweep_command(CLI::App& app, CommonOptions& common);
void add_models_command(CLI::App& app);
void add_capacity_command(CLI::App& app, CommonOptions& common);

}  // namespace meterbench::cli
