#pragma once
// `meterbench detect`: one row per incident (a run of flagged steps of a series) of a retrospective run over
// real usage, largest financial impact first. A client of the streaming pass (engine/meterbench/pass/): each
// thread fits and scores its blocks' series and keeps their incidents; the serial stage gathers them in series order.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/detect/incidents.hpp"
#include "meterbench/io/dataset.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/pass/schedule.hpp"

namespace meterbench {

class ScaleOut;

/// What find_incidents reads of series i of a block and its detector output, scored from `score_begin`.
ScoredSeries scored_series(const SeriesBlock& block, std::int64_t i, const DetectionOutput& out, std::int64_t score_begin);

/// Gathers incidents from a pass (serial stage) with the series they belong to.
struct IncidentCollector {
  IncidentFilter filter;
  std::vector<Incident> rows;
  std::unordered_map<std::uint64_t, SeriesRecord> series;
  std::vector<std::string> dimension_names;  ///< the dataset's kept dimensions (ingest --keep), in its order
  std::unordered_map<std::uint64_t, std::vector<std::string>> dimensions;  ///< their values per series with an incident
  [[nodiscard]] std::span<const std::string> dimensions_of(std::uint64_t series_index) const {
    const auto it = dimensions.find(series_index);
    return it == dimensions.end() ? std::span<const std::string>() : std::span<const std::string>(it->second);
  }
  /// Appends series i's incidents of a block that pass the filter to `into`.
  void collect(const SeriesBlock& block, std::int64_t i, const DetectionOutput& out, std::vector<Incident>& into) const;
  std::int64_t score_begin = 0;  ///< the first scored step (--since)
};

/// The scored window of `detect --since TIME`: one forward fit on the steps before TIME, every step from TIME
/// to the grid's end scored (independent of any rolling reuse, as the weekly-refit schedule fits each week).
/// Throws std::invalid_argument naming the value and the grid's range when TIME is not a step of the grid
/// after its first one.
ScoredWindow since_window(const std::string& since, const TimeGrid& grid);

struct DetectOptions {
  std::filesystem::path data{};           ///< the dataset (.h5)
  std::string model = "gam";
  std::vector<std::string> settings{};
  std::filesystem::path out{};            ///< file to create, or "-" for standard output
  std::string format{};                   ///< "csv" or "json"; empty: from out's extension (.json is json, else csv)
  bool overwrite = false;
  double min_impact_usd = 100.0;          ///< incidents with a known |impact| below this are dropped (0 keeps all)
  std::int64_t last_days = 0;             ///< keep only incidents ending in the grid's last `last_days` days (0 = all)
  std::string since{};                    ///< monitoring: fit on the steps before this time, score from it on (empty = retrospective)
  std::string by{};                       ///< roll the series up to this dimension first (rollup.hpp; empty = every series)
  std::int64_t block_series = 0;
  std::filesystem::path feedback{};       ///< verdicts file: incidents a reviewer marked "not an anomaly" are dropped
};

struct DetectSummary {
  std::int64_t series = 0;
  std::int64_t incidents = 0;                 ///< rows written
  std::int64_t incidents_without_price = 0;   ///< rows whose impact is unknown (no price)
  nlohmann::json fit_status;
  double wall_seconds = 0.0;
};

/// Runs the detector retrospectively over every series and writes one row per incident (CSV:
/// customer,meter,kind,start,end,days,direction,observed_total,expected_total,impact,currency,peak_score; JSON:
/// an object whose `incidents` array holds objects with the same fields), sorted by |impact| descending (rows without a price last, by peak score). `scale_out`: several processes,
/// each detects over its share and the writer gathers the incidents and writes the file. Throws like run_backtest.
/// `by`: the series are first summed per value of that dimension (one process only).
DetectSummary run_detect(const DetectOptions& options, ScaleOut* scale_out = nullptr);

/// What detect finds, kept in memory instead of written (the Python module): the incidents in the file's order
/// with their series, the grid (of the rolled-up series with `by`) and the detector's effective parameters.
struct DetectedIncidents {
  IncidentCollector incidents;
  TimeGrid grid;
  std::string currency;  ///< the dataset's: that of every impact
  std::vector<std::pair<std::string, std::string>> parameters;
  DetectSummary summary;
};

/// run_detect without an output (options.out, format and overwrite are not used), on one process.
DetectedIncidents detect_incidents(const DetectOptions& options);

}  // namespace meterbench
