#pragma once
// `meterbench detect`: one row per flagged step of a retrospective run over real usage, largest financial
// impact first. A client of the streaming pass (engine/meterbench/pass/): each thread fits and scores its
// blocks' series and keeps their flagged steps; the serial stage gathers them in series order.
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/io/dataset.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench {

class ScaleOut;

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
/// without a price last, by score). `scale_out`: several processes, each detects over its share and the
/// writer gathers the flags and writes the file. Throws like run_backtest.
DetectSummary run_detect(const DetectOptions& options, ScaleOut* scale_out = nullptr);

}  // namespace meterbench
