#pragma once
// `meterbench backtest`: stream a dataset from HDF5 through a detector and the evaluation in parallel
// (read a block, serial -> fit, score and evaluate, parallel -> write outputs, serial), then write the run's
// directory: summary.json, per_kind.csv, pr_curve.csv, alerts.csv and optionally bands.h5.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/io/dataset.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench {

/// A step flagged by a detector, with what the alert row shows.
struct FlaggedStep {
  std::uint64_t series_index = 0;
  std::int64_t step = 0;
  float observed = 0.0F, expected = 0.0F, lower = 0.0F, upper = 0.0F, score = 0.0F;
  double impact_usd = 0.0;  ///< |observed - expected| x price; NaN when the price is unknown
};

/// Gathers flagged steps from a pass (serial stage) with the series they belong to.
struct FlagCollector {
  std::int64_t first_step = 0;     ///< ignore flags before this step (--last)
  double min_impact_usd = 0.0;     ///< drop flags with a known impact below this
  std::vector<FlaggedStep> rows;
  std::unordered_map<std::uint64_t, SeriesRecord> series;
  /// Appends series i's flags (score > z) of a block to `into`.
  void collect(const SeriesBlock& block, std::int64_t i, const DetectionOutput& out, double z, std::vector<FlaggedStep>& into) const;
};

enum class Schedule {
  retrospective,  ///< one fit over the whole window; every step scored
  weekly,         ///< at each week boundary, fit on the history before it and score that week
};
std::string_view to_string(Schedule schedule);
/// Throws std::invalid_argument naming the text and the known schedules.
Schedule schedule_from_string(std::string_view text);

struct BacktestOptions {
  std::filesystem::path data;             ///< the dataset (.h5)
  std::string model = "gam";              ///< detector name
  std::vector<std::string> settings;      ///< detector parameters, "name=value"
  Schedule schedule = Schedule::retrospective;
  std::int64_t weeks = 52;                ///< weekly schedule: score the last `weeks` weeks
  std::filesystem::path out_dir;          ///< the run directory to create
  bool overwrite = false;                 ///< replace an existing run directory (--force)
  std::int64_t block_series = 0;          ///< series per pipeline block; 0 = about 4 MiB of values
  bool save_bands = false;                ///< also write bands.h5 (expected range per step)
  bool write_alerts = true;               ///< write alerts.csv
  bool random_baseline = true;            ///< evaluate `random` at the model's flag rate, side by side
  std::int64_t random_baseline_series = 100'000;  ///< past this many series, the baseline runs on a sample of them (0 = all)
  std::int64_t random_baseline_chunk = 1000;      ///< the sample is made of chunks of this many consecutive series
  double impact_filter_usd = 100.0;       ///< alerts below this impact are hidden in the filtered metrics
  double delay_tolerance_days = 7.0;      ///< k of the event-wise metrics
};

/// `meterbench detect`: one row per flagged step of a retrospective run, for real usage.
struct DetectOptions {
  std::filesystem::path data{};           ///< the dataset (.h5)
  std::string model = "gam";
  std::vector<std::string> settings{};
  std::filesystem::path out{};            ///< alerts CSV to create
  bool overwrite = false;
  double min_impact_usd = 100.0;          ///< rows with a known impact below this are dropped (0 keeps all)
  std::int64_t last_days = 0;             ///< keep only flags in the grid's last `last_days` days (0 = all)
  std::int64_t block_series = 0;
};

struct DetectSummary {
  std::int64_t series = 0;
  std::int64_t rows = 0;                  ///< rows written
  std::int64_t rows_without_price = 0;    ///< rows whose impact is unknown (no price)
  nlohmann::json fit_status;
  double wall_seconds = 0.0;
};

/// Runs the detector retrospectively over every series and writes
/// customer,meter,date,observed,expected,lower,upper,score,impact_usd sorted by impact descending (rows
/// without a price last, by score). Throws like run_backtest.
DetectSummary run_detect(const DetectOptions& options);

/// Runs the backtest with the oneTBB thread limit in force and returns summary.json's content.
/// Throws std::invalid_argument / DatasetError / OutputError with messages naming the problem.
nlohmann::json run_backtest(const BacktestOptions& options);

}  // namespace meterbench
