#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "meterbench/backtest/backtest.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench::cli {
namespace {

struct BacktestCommand {
  meterbench::BacktestOptions options;
  std::string schedule = "retrospective";
  bool no_alerts = false, no_baseline = false;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("backtest", "Fit a detector over every series of a dataset, score, and measure accuracy and throughput");
    cmd->add_option("--data", options.data, "Dataset (.h5) made by `generate` or `ingest`")->required();
    cmd->add_option("--model", options.model, "Detector: gam, seasonal-mad, stl-esd, random (see `meterbench models`)")->capture_default_str();
    cmd->add_option("--set", options.settings, "Detector parameter name=value (repeatable)");
    cmd->add_option("--schedule", schedule, "retrospective (one fit, every step scored) or weekly (fit before each week, score it)")
        ->capture_default_str();
    cmd->add_option("--weeks", options.weeks, "Weekly schedule: how many final weeks are scored")->capture_default_str();
    cmd->add_option("--out", options.out_dir, "Run directory to create")->required();
    cmd->add_flag("--force", options.overwrite, "Replace the run directory if it exists");
    cmd->add_option("--block", options.block_series, "Series per pipeline block (0 = about 4 MiB of values)")->capture_default_str();
    cmd->add_flag("--save-bands", options.save_bands, "Also write bands.h5: expected, lower, upper and score per step");
    cmd->add_flag("--no-alerts", no_alerts, "Do not write alerts.csv");
    cmd->add_flag("--no-baseline", no_baseline, "Skip the random baseline pass");
    cmd->add_option("--baseline-series", options.random_baseline_series,
                    "Random baseline on all series up to this many, else on a deterministic sample of this many (0 = all)")
        ->capture_default_str();
    cmd->add_option("--min-impact", options.impact_filter_usd, "Impact filter of the filtered metrics, USD")->capture_default_str();
    cmd->add_option("--delay-tolerance", options.delay_tolerance_days, "Event-wise delay tolerance k, days")->capture_default_str();
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    setup_logging(common);
    const meterbench::ThreadLimit limit(common.threads);
    options.schedule = meterbench::schedule_from_string(schedule);
    options.write_alerts = !no_alerts;
    options.random_baseline = !no_baseline;
    const nlohmann::json s = meterbench::run_backtest(options);
    std::printf("backtest %s (%s schedule) on %s: %s series, fit status ok %s\n", options.model.c_str(), schedule.c_str(),
                options.data.c_str(), s["dataset"]["series"].dump().c_str(), s["fit_status"]["ok"].dump().c_str());
    if (!s["metrics"].is_null()) {
      const nlohmann::json& m = s["metrics"];
      std::printf("  point  precision %s  recall %s  F1 %s\n", metric(m, "/point/precision").c_str(), metric(m, "/point/recall").c_str(),
                  metric(m, "/point/f1").c_str());
      std::printf("  event  precision %s  recall %s  F1 %s  (delay tolerance %.0f days)\n", metric(m, "/event/precision").c_str(),
                  metric(m, "/event/recall").c_str(), metric(m, "/event/f1").c_str(), options.delay_tolerance_days);
      std::printf("  dollar-weighted recall %s, false alerts per 1000 series-weeks %s, AUC-PR %s\n", metric(m, "/dollar_recall").c_str(),
                  metric(m, "/false_alerts_per_1000_series_weeks").c_str(), metric(m, "/auc_pr").c_str());
      if (s.contains("baseline_random")) {
        const nlohmann::json& r = s["baseline_random"]["metrics"];
        std::printf("  random at the same flag rate: event F1 %s, dollar recall %s, AUC-PR %s\n", metric(r, "/event/f1").c_str(),
                    metric(r, "/dollar_recall").c_str(), metric(r, "/auc_pr").c_str());
      }
    }
    const nlohmann::json& t = s["throughput"];
    std::printf("  %.2f s wall, %.0f series/s, %.3g points/s, peak RSS %.0f MiB, %d threads -> %s\n", t["wall_seconds"].get<double>(),
                t["series_per_second"].get<double>(), t["points_per_second"].get<double>(),
                s["peak_rss_bytes"].get<double>() / (1 << 20), limit.threads(), options.out_dir.c_str());
  }
};

}  // namespace

void add_backtest_command(CLI::App& app, CommonOptions& common) {
  // The command object must outlive parsing: its options point into it, and its callback keeps it alive.
  auto command = std::make_shared<BacktestCommand>();
  CLI::App* cmd = command->add_to(app, common);
  cmd->callback([command, &common] { command->run(common); });
}

}  // namespace meterbench::cli
