#include <cstdio>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "meterbench/detect/detect.hpp"
#include "meterbench/detect/incident_output.hpp"
#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench::cli {
namespace {

struct DetectCommand {
  PassOptions pass;
  meterbench::DetectOptions options;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("detect", "Detect anomalies retrospectively and write one row per incident, by financial impact");
    add_model_options(*cmd, pass);
    // Not the metrics' impact filter of backtest and sweep: here it removes incidents from the output.
    cmd->add_option("--min-impact", options.min_impact_usd, "Drop incidents whose |impact| is known and below this, USD (0 keeps all)")
        ->capture_default_str();
    cmd->add_option("--last", options.last_days, "Keep only incidents ending in the last DAYS days (e.g. 30, 60, 90; 0 = all)")
        ->transform(integer_in<std::int64_t>())
        ->capture_default_str();
    cmd->add_option("--feedback", options.feedback, "Verdicts file (docs/feedback.md): drop incidents overlapping a standing not_anomaly verdict of their series");
    cmd->add_option("--since", options.since,
                    "Monitoring: fit on the history before DATE (a step of the grid) and score from DATE on, as a weekly production run")
        ->type_name("DATE");
    cmd->add_option("--by", options.by, "Sum the series per customer, per meter or per value of a kept dimension before detecting (one incident for a customer's whole bill)")
        ->type_name("DIMENSION");
    cmd->add_option("--format", options.format, "csv or json (default: from --out's extension, .json is json, else csv)");
    add_run_options(*cmd, pass, "incidents file (- writes to standard output)");
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    const meterbench::ThreadLimit limit(common.threads);
    apply_pass_options(pass, options);
    // Under mpirun each process detects over its share; rank 0 gathers the incidents and writes the file.
    meterbench::ProcessGroup& group = meterbench::process_group();
    std::optional<meterbench::ScaleOut> scale_out;
    if (group.size() > 1) scale_out.emplace(group);
    const meterbench::DetectSummary s = meterbench::run_detect(options, scale_out ? &*scale_out : nullptr);
    if (group.rank() != 0) return;  // rank 0 reports
    // When the incidents go to standard output the report joins the logs on standard error.
    std::FILE* report = options.out == meterbench::kStandardOutput ? stderr : stdout;
    std::fprintf(report, "detect %s on %s: %lld series, %lld incidents written to %s (%lld without a price), fit status ok %s, %.2f s\n",
                options.model.c_str(), options.data.c_str(), static_cast<long long>(s.series), static_cast<long long>(s.incidents),
                report == stderr ? "standard output" : options.out.c_str(), static_cast<long long>(s.incidents_without_price), s.fit_status["ok"].dump().c_str(), s.wall_seconds);
  }
};

}  // namespace

void add_detect_command(CLI::App& app, CommonOptions& common) { register_command<DetectCommand>(app, common); }

}  // namespace meterbench::cli
