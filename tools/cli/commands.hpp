#pragma once
// One registration function per subcommand of the meterbench CLI (each in its own <name>_command.cpp); what
// they share is in common.hpp. The CLI only parses options, calls the engine and reports.
#include <CLI/CLI.hpp>

#include "cli/common.hpp"

namespace meterbench::cli {

void add_generate_command(CLI::App& app, CommonOptions& common);
void add_backtest_command(CLI::App& app, CommonOptions& common);
void add_ingest_command(CLI::App& app, CommonOptions& common);
void add_detect_command(CLI::App& app, CommonOptions& common);
void add_report_command(CLI::App& app, CommonOptions& common);
void add_sweep_command(CLI::App& app, CommonOptions& common);
void add_models_command(CLI::App& app, CommonOptions& common);
void add_capacity_command(CLI::App& app, CommonOptions& common);
void add_inject_command(CLI::App& app, CommonOptions& common);
void add_review_command(CLI::App& app, CommonOptions& common);
void add_sample_export_command(CLI::App& app, CommonOptions& common);

}  // namespace meterbench::cli
