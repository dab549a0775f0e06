#pragma once
// `meterbench detect`: one row per incident (a run of flagged steps of a series) of a retrospective run over
// real usage, largest financial impact first. A client of the streaming pass (engine/meterbench/pass/): each
// thread fits and scores its blocks' series and keeps their incidents; the serial stage gathers them in series order.
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/detect/incidents.hpp"
#include "meterbench/io/dataset.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench {

class ScaleOut;

/// Gathers incidents from a pass (serial stage) with the series they belong to.
struct IncidentCollector {
  IncidentFilter filter;
  std::vector<Incident> rows;
  std::unordered_map<std::uint64_t, SeriesRecord> series;
  /// Appends series i's incidents of a block that pass the filter to `into`.
  void collect(const SeriesBlock& block, std::int64_t i, const DetectionOutput& out, std::vector<Incident>& into) const;
};

struct DetectOptions {
  std::filesystem::path data{};           ///< the dataset (.h5)
  std::string model = "gam";
  std::vector<std::string> settings{};
  std::filesystem::path out{};            ///< file to create, or "-" for standard output
  std::string format{};                   ///< "csv" or "json"; empty: from out's extension (.json is json, else csv)
  bool overwrite = false;
  double min_impact_usd = 100.0;          ///< incidents with a known |impact| below this are dropped (0 keeps all)
  std::int64_t last_days = 0;             ///< keep only incidents ending in the grid's last `last_days` days (0 = all)
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
DetectSummary run_detect(const DetectOptions& options, ScaleOut* scale_out = nullptr);

}  // namespace meterbench
