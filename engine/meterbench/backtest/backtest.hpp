#pragma once
// `meterbench backtest`: stream a dataset from HDF5 through a detector and the evaluation in parallel
// (read a block, serial -> fit, score and evaluate, parallel -> write outputs, serial), then write the run's
// directory: summary.json, per_kind.csv, pr_curve.csv, alerts.csv and optionally bands.h5.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/feedback/verdict_metrics.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/pass/schedule.hpp"
#include "meterbench/runtime/run_context.hpp"

namespace meterbench {

struct BacktestOptions {
  std::filesystem::path data{};           ///< the dataset (.h5)
  std::string model = "gam";              ///< detector name
  std::vector<std::string> settings{};    ///< detector parameters, "name=value"
  Schedule schedule = Schedule::retrospective;
  std::int64_t weeks = 52;                ///< weekly schedule: score the last `weeks` weeks
  std::filesystem::path out_dir{};        ///< the run directory to create
  bool overwrite = false;                 ///< replace an existing run directory (--force)
  std::int64_t block_series = 0;          ///< series per pipeline block; 0 = about 4 MiB of values
  bool save_bands = false;                ///< also write bands.h5 (expected range per step)
  bool write_alerts = true;               ///< write alerts.csv
  bool random_baseline = true;            ///< evaluate `random` at the model's flag rate, side by side
  std::int64_t random_baseline_series = 100'000;  ///< past this many series, the baseline runs on a sample of them (0 = all)
  std::int64_t random_baseline_chunk = 1000;      ///< the sample is made of chunks of this many consecutive series
  double impact_filter_usd = 100.0;       ///< alerts below this impact are hidden in the filtered metrics
  double delay_tolerance_days = 7.0;      ///< k of the event-wise metrics
  std::filesystem::path feedback{};       ///< reviewers' verdicts (docs/feedback.md); empty = none
};

/// summary.json's "dataset": what was read, and the fingerprint of its values.
struct BacktestDataset {
  std::filesystem::path path;             ///< absolute: the report finds it from any directory
  std::uint64_t fingerprint = 0;
  std::int64_t series = 0;
  TimeGrid grid;
  std::uint64_t seed = 0;
  std::string source;
  bool has_labels = true;
  std::int64_t format_version = 0;
};

/// summary.json's "model": the detector, its parameters in force and its flag threshold.
struct BacktestModel {
  std::string name;
  std::vector<std::pair<std::string, std::string>> parameters;
  double flag_threshold = 0.0;
};

/// How the random baseline's sample of series was drawn: the `chunks` of `chunk_series` consecutive series
/// (of `of_chunks`) with the smallest hash of (dataset seed, chunk index).
struct BaselineSampleRule {
  std::int64_t chunk_series = 0, chunks = 0, of_chunks = 0;
};

/// summary.json's "baseline_random": `random` at the model's flag rate, on all series or a sample of them.
struct BacktestBaseline {
  double flag_rate = 0.0;
  std::int64_t series = 0;
  std::optional<BaselineSampleRule> sample;  ///< none: all series
  EvaluationReport report;
  double wall_seconds = 0.0, cpu_seconds = 0.0;
};

/// summary.json's "throughput": the main pass's wall time and stage times.
struct BacktestThroughput {
  std::int64_t series = 0, points = 0;
  double wall_seconds = 0.0;
  double read_seconds = 0.0, fit_and_score_seconds = 0.0, evaluate_seconds = 0.0, write_seconds = 0.0;
  double fit_and_score_cpu_seconds = 0.0, evaluate_cpu_seconds = 0.0;
};

/// What a backtest measured: the content of summary.json (to_json).
struct BacktestSummary {
  BacktestDataset dataset;
  BacktestModel model;
  Schedule schedule = Schedule::retrospective;
  std::int64_t scored_from_unix_seconds = 0;
  std::optional<std::int64_t> weeks;      ///< the weekly schedule's
  double z = 0.0, delay_tolerance_days = 0.0, impact_filter_usd = 0.0;  ///< the evaluation config
  std::array<std::int64_t, kFitStatusCount> fit_status{};
  std::int64_t alerts = 0;
  std::optional<EvaluationReport> metrics;           ///< none without labels
  std::optional<ReviewedMetrics> reviewed;           ///< with --feedback or ingested labels: metrics over reviewed incidents
  std::vector<std::string> reviewed_sources;
  std::optional<BacktestBaseline> baseline_random;
  BacktestThroughput throughput;
  std::uint64_t peak_rss_bytes = 0;                   ///< several processes: the largest
  std::optional<ProcessesRecord> processes;           ///< several processes
  RunContext context;
  double total_wall_seconds = 0.0;
};

/// summary.json.
nlohmann::json to_json(const BacktestSummary& summary);

/// Runs the backtest with the oneTBB thread limit in force and returns what summary.json holds.
/// `scale_out`: several processes (engine/meterbench/distributed/scale_out.hpp); this one runs its share of
/// the series, the totals are combined and only the group's writer writes the run directory. Null: every
/// series here. Throws std::invalid_argument / DatasetError / OutputError with messages naming the problem.
BacktestSummary run_backtest(const BacktestOptions& options, BacktestScaleOut* scale_out = nullptr);

}  // namespace meterbench
