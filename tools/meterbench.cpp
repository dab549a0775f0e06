// The meterbench command line: parses options, calls the engine, reports. Nothing else lives here.
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "meterbench/backtest/backtest.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/ingest/ingest.hpp"
#include "meterbench/model/registry.hpp"
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

// Prints a metric that may be undefined (null in JSON).
std::string metric(const nlohmann::json& j, const char* path) {
  const nlohmann::json::json_pointer pointer(path);
  if (!j.contains(pointer) || j.at(pointer).is_null()) return "n/a";
  return fmt::format("{:.4f}", j.at(pointer).get<double>());
}

struct BacktestCommand {
  mb::BacktestOptions options;
  std::string schedule = "retrospective";
  bool no_alerts = false, no_baseline = false;

  void add_to(CLI::App& app, CommonOptions& common) {
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
    cmd->add_option("--min-impact", options.impact_filter_usd, "Impact filter of the filtered metrics, USD")->capture_default_str();
    cmd->add_option("--delay-tolerance", options.delay_tolerance_days, "Event-wise delay tolerance k, days")->capture_default_str();
    add_common_options(*cmd, common);
    cmd->callback([this, &common] { run(common); });
  }

  void run(const CommonOptions& common) {
    setup_logging(common);
    const mb::ThreadLimit limit(common.threads);
    options.schedule = mb::schedule_from_string(schedule);
    options.write_alerts = !no_alerts;
    options.random_baseline = !no_baseline;
    const nlohmann::json s = mb::run_backtest(options);
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

struct IngestCommand {
  mb::IngestOptions options;
  std::string map;

  void add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("ingest", "Turn a usage export (long CSV: customer,meter,date,quantity[,price]) into a dataset");
    cmd->add_option("--csv", options.csv, "Usage export, one row per series and step, with a header")->required();
    cmd->add_option("--map", map, "Column renames field=column,... e.g. date=UsageDate,customer=CustomerId,meter=MeterId,quantity=UsageQuantity");
    cmd->add_option("--step", options.step, "Grid step: 1d or 1h")->capture_default_str();
    cmd->add_option("--labels", options.labels, "Known anomalies: CSV customer,meter,start,end[,kind][,verdict]");
    cmd->add_option("--out", options.out, "Output HDF5 file")->required();
    cmd->add_flag("--force", options.overwrite, "Replace the output file if it exists");
    cmd->add_flag("--skip-bad", options.skip_bad, "Skip (and count) rows with negative or non-finite quantities instead of failing");
    add_common_options(*cmd, common);
    cmd->callback([this, &common] { run(common); });
  }

  void run(const CommonOptions& common) {
    setup_logging(common);
    const mb::ThreadLimit limit(common.threads);
    for (std::size_t begin = 0; begin < map.size();) {
      const std::size_t comma = std::min(map.find(',', begin), map.size());
      options.column_map.push_back(map.substr(begin, comma - begin));
      begin = comma + 1;
    }
    const mb::IngestSummary s = mb::ingest_csv(options);
    std::printf("ingested %s: %lld rows -> %lld series x %lld steps (%s .. %s), %lld observed, %lld summed duplicates, %lld skipped\n",
                options.out.c_str(), static_cast<long long>(s.rows), static_cast<long long>(s.series), static_cast<long long>(s.steps),
                s.first_step.c_str(), s.last_step.c_str(), static_cast<long long>(s.observed_steps), static_cast<long long>(s.summed_rows),
                static_cast<long long>(s.skipped_rows));
    if (!options.labels.empty())
      std::printf("  labels: %lld anomalies, %lld 'not an anomaly' verdicts\n", static_cast<long long>(s.anomaly_labels),
                  static_cast<long long>(s.normal_verdicts));
    std::printf("  %.2f s wall, %.0f rows/s\n", s.wall_seconds, static_cast<double>(s.rows) / s.wall_seconds);
  }
};

struct DetectCommand {
  mb::DetectOptions options;

  void add_to(CLI::App& app, CommonOptions& common) {
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
    cmd->callback([this, &common] { run(common); });
  }

  void run(const CommonOptions& common) {
    setup_logging(common);
    const mb::ThreadLimit limit(common.threads);
    const mb::DetectSummary s = mb::run_detect(options);
    std::printf("detect %s on %s: %lld series, %lld flagged steps written to %s (%lld without a price), fit status ok %s, %.2f s\n",
                options.model.c_str(), options.data.c_str(), static_cast<long long>(s.series), static_cast<long long>(s.rows),
                options.out.c_str(), static_cast<long long>(s.rows_without_price), s.fit_status["ok"].dump().c_str(), s.wall_seconds);
  }
};

struct ModelsCommand {
  void add_to(CLI::App& app) {
    CLI::App* cmd = app.add_subcommand("models", "List the detectors and their parameters (name, default, range, meaning)");
    cmd->callback([] { std::printf("%s", mb::describe_all_detectors().c_str()); });
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
  BacktestCommand backtest;
  backtest.add_to(app, common);
  IngestCommand ingest;
  ingest.add_to(app, common);
  DetectCommand detect;
  detect.add_to(app, common);
  ModelsCommand models;
  models.add_to(app);
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
