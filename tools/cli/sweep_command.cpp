#include <cstdio>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "meterbench/sweep/sweep.hpp"

namespace meterbench::cli {
namespace {

struct SweepCommand {
  PassOptions pass;
  meterbench::SweepOptions options;
  std::string objective = "event_f1";

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand(
        "sweep", "Sweep a grid of detector parameters and every threshold on a dataset with labels; choose on half the series, report on the other half");
    add_model_options(*cmd, pass);
    cmd->add_option("--grid", options.grid, "Parameter and its values, key=v1,v2,... (repeatable; the grid is their Cartesian product)")->required();
    cmd->add_option("--objective", objective, "event_f1, recall_at_budget, dollar_recall_at_budget or reviewed_f1 (with --feedback)")->capture_default_str();
    cmd->add_option("--feedback", options.feedback, "Reviewers' verdicts (docs/feedback.md): reviewed metrics in sweep.csv and best.json");
    cmd->add_option("--budget", options.budget, "False alerts per 1,000 series-weeks allowed by the *_at_budget objectives")->capture_default_str();
    add_schedule_options(*cmd, pass);
    cmd->add_option("--max-minutes", options.max_minutes, "Refuse to start when the estimated time exceeds this (0 = no limit)")->capture_default_str();
    add_run_options(*cmd, pass, "sweep directory");
    add_evaluation_options(*cmd, pass);
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    const meterbench::ThreadLimit limit(common.threads);
    apply_pass_options(pass, options);
    options.objective = meterbench::objective_from_string(objective);
    // Under mpirun each process runs its share of the series; started directly, the group is this process.
    meterbench::ProcessGroup& group = meterbench::process_group();
    std::optional<meterbench::ScaleOut> scale_out;
    if (group.size() > 1) scale_out.emplace(group);
    nlohmann::json r;
    try {
      r = meterbench::run_sweep(options, scale_out ? &*scale_out : nullptr);
    } catch (const meterbench::SweepTooLarge& e) {
      // Every rank refuses alike (the estimate is agreed across them): each ends on its own, no MPI_Abort.
      if (group.size() > 1) throw meterbench::DistributedError(e.what());
      throw;
    }
    if (group.rank() != 0) return;  // rank 0 reports for the group
    const nlohmann::json& t = r["throughput"];
    std::printf("sweep %s over %s grid points on %s: %s series, %.2f s wall (%.0f series x points/s) -> %s\n", options.model.c_str(),
                t["points"].dump().c_str(), options.data.c_str(), t["series"].dump().c_str(), t["wall_seconds"].get<double>(),
                t["series_points_per_second"].get<double>(), options.out_dir.c_str());
    if (r["best"].is_null()) {
      std::printf("  no point and threshold met the objective %s (budget %g): %s\n", objective.c_str(), options.budget,
                  r["warnings"].front().get<std::string>().c_str());
      return;
    }
    const nlohmann::json& b = r["best"];
    std::printf("  best by %s on the tuning half: point %s %s, z = %s\n", objective.c_str(), b["point"].dump().c_str(),
                b["grid_values"].dump().c_str(), b["z"].dump().c_str());
    for (const char* half : {"tuning", "test", "random_test"}) {
      if (b[half].is_null()) continue;
      const nlohmann::json& m = b[half];
      std::printf("  %-11s event P %s R %s F1 %s, dollar recall %s, false alerts / 1000 series-weeks %s, flag rate %s\n", half,
                  metric(m, "/event_precision").c_str(), metric(m, "/event_recall").c_str(), metric(m, "/event_f1").c_str(),
                  metric(m, "/dollar_recall").c_str(), metric(m, "/false_alerts_per_1000_series_weeks").c_str(), metric(m, "/flag_rate").c_str());
    }
    if (b["test"].contains("reviewed")) print_reviewed(b["test"]["reviewed"]);
    for (const auto& w : r["warnings"]) std::printf("  warning: %s\n", w.get<std::string>().c_str());
    std::printf("  reproduce: %s\n", r["command"].get<std::string>().c_str());
  }
};

}  // namespace

void add_sweep_command(CLI::App& app, CommonOptions& common) { register_command<SweepCommand>(app, common); }

}  // namespace meterbench::cli
