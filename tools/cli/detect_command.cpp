#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "meterbench/backtest/backtest.hpp"
#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench::cli {
namespace {

struct DetectCommand {
  meterbench::DetectOptions options;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("detect", "Detect anomalies retrospectively and write one row per flagged step, by financial impact");
    cmd->add_option("--data", options.data, "Dataset (.h5)")->required();
    cmd->add_option("--model", options.model, "Detector (see `meterbench models`)")->capture_default_str();
    cmd->add_option("--set", options.settings, "Detector parameter name=value (repeatable)");
    cmd->add_option("--min-impact", options.min_impact_usd, "Drop rows whose impact is known and below this, USD (0 keeps all)")
        ->capture_default_str();
    cmd->add_option("--last", options.last_days, "Keep only the last DAYS days (e.g. 30, 60, 90; 0 = all)")->capture_default_str();
    cmd->add_option("--out", options.out, "Alerts CSV to create")->required();
    cmd->add_flag("--force", options.overwrite, "Replace the output file if it exists");
    cmd->add_option("--block", options.block_series, "Series per pipeline block (0 = about 4 MiB of values)")->capture_default_str();
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    setup_logging(common);
    const meterbench::ThreadLimit limit(common.threads);
    // Under mpirun each process detects over its share; rank 0 gathers the flags and writes the file.
    meterbench::ProcessGroup& group = meterbench::process_group();
    std::optional<meterbench::BacktestScaleOut> scale_out;
    if (group.size() > 1) scale_out.emplace(group, false);
    options.scale_out = scale_out ? &*scale_out : nullptr;
    const meterbench::DetectSummary s = meterbench::run_detect(options);
    if (group.rank() != 0) return;  // rank 0 reports
    std::printf("detect %s on %s: %lld series, %lld flagged steps written to %s (%lld without a price), fit status ok %s, %.2f s\n",
                options.model.c_str(), options.data.c_str(), static_cast<long long>(s.series), static_cast<long long>(s.rows),
                options.out.c_str(), static_cast<long long>(s.rows_without_price), s.fit_status["ok"].dump().c_str(), s.wall_seconds);
  }
};

}  // namespace

void add_detect_command(CLI::App& app, CommonOptions& common) {
  // The command object must outlive parsing: its options point into it, and its callback keeps it alive.
  auto command = std::make_shared<DetectCommand>();
  CLI::App* cmd = command->add_to(app, common);
  cmd->callback([command, &common] { command->run(common); });
}

}  // namespace meterbench::cli
