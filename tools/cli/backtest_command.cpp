#include <cstdio>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "meterbench/backtest/backtest.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench::cli {
namespace {

struct BacktestCommand {
  PassOptions pass;
  meterbench::BacktestOptions options;
  bool no_alerts = false, resume = false;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("backtest", "Fit a detector over every series of a dataset, score, and measure accuracy and throughput");
    add_model_options(*cmd, pass);
    add_schedule_options(*cmd, pass);
    add_run_options(*cmd, pass, "run directory");
    cmd->add_flag("--save-bands", options.save_bands, "Also write bands.h5: expected, lower, upper and score per step");
    cmd->add_flag("--no-alerts", no_alerts, "Do not write alerts.csv");
    add_evaluation_options(*cmd, pass);
    cmd->add_option("--feedback", options.feedback, "Reviewers' verdicts (docs/feedback.md): metrics over reviewed incidents in summary.json's \"reviewed\"");
    cmd->add_option("--baseline-series", options.random_baseline_series,
                    "Random baseline on all series up to this many, else on a deterministic sample of this many (0 = all)")
        ->transform(integer_in<std::int64_t>())
        ->capture_default_str();
    cmd->add_flag("--resume", resume, "Under mpirun: reuse the verified per-rank parts of a failed run of the same command");
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    const meterbench::ThreadLimit limit(common.threads);
    apply_pass_options(pass, options);
    options.write_alerts = !no_alerts;
    // Under mpirun each process runs its share of the series; started directly, the group is this process.
    meterbench::ProcessGroup& group = meterbench::process_group();
    std::optional<meterbench::BacktestScaleOut> scale_out;
    if (group.size() > 1) scale_out.emplace(group, resume);
    else if (resume) spdlog::warn("backtest: --resume reuses per-rank parts of runs under mpirun; this is one process: running everything");
    const nlohmann::json s = meterbench::to_json(meterbench::run_backtest(options, scale_out ? &*scale_out : nullptr));
    if (group.rank() != 0) return;  // rank 0 reports for the group
    std::printf("backtest %s (%s schedule) on %s: %s series, fit status ok %s\n", options.model.c_str(), pass.schedule.c_str(),
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
    if (s.contains("reviewed")) print_reviewed(s["reviewed"]);
    const nlohmann::json& t = s["throughput"];
    std::printf("  %.2f s wall, %.0f series/s, %.3g points/s, peak RSS %.0f MiB, %d threads -> %s\n", t["wall_seconds"].get<double>(),
                t["series_per_second"].get<double>(), t["points_per_second"].get<double>(),
                s["peak_rss_bytes"].get<double>() / (1 << 20), limit.threads(), options.out_dir.c_str());
  }
};

}  // namespace

void add_backtest_command(CLI::App& app, CommonOptions& common) { register_command<BacktestCommand>(app, common); }

}  // namespace meterbench::cli
