#pragma once
// What `detect` writes: its incidents as CSV rows or as one JSON object, to a file or to standard output.
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/detect/detect.hpp"

namespace meterbench {

enum class IncidentFormat : std::uint8_t { csv, json };

/// The `days` column: the days an incident's steps span.
double incident_days(const Incident& incident, const TimeGrid& grid);

/// Incidents whose impact is unknown (no price).
std::int64_t incidents_without_price(const std::vector<Incident>& incidents);

/// --out's value for standard output.
inline constexpr const char* kStandardOutput = "-";

/// The format named by --format, or, when it is empty, the one --out's extension names (.json is json,
/// anything else csv). Throws std::invalid_argument on an unknown name, or a --format that contradicts a
/// .csv or .json extension of --out.
IncidentFormat resolve_incident_format(const std::string& format, const std::filesystem::path& out);

/// What the JSON document says besides its incidents.
struct IncidentProvenance {
  nlohmann::json dataset;     ///< path, series, steps, start, step
  std::string model;
  nlohmann::json parameters;  ///< the detector's effective parameters, name -> value
  std::string currency = "USD";  ///< the dataset's currency (DatasetInfo::currency): that of every impact
};

/// The CSV columns of an incident row (no line break): detect's file, and the first columns of backtest's alerts.csv.
inline constexpr const char* kIncidentCsvColumns =
    "customer,meter,kind,start,end,days,direction,observed_total,expected_total,impact,currency,peak_score";

/// Appends the kIncidentCsvColumns cells of an incident of `series` (no line break).
/// The header of incident rows: customer, meter, then the dataset's kept dimensions (ingest --keep), then the rest.
std::string incident_csv_header(std::span<const std::string> dimensions);
/// One incident row (no line break); `dimensions`: the series' kept dimension values, in the dataset's order.
void append_incident_csv(std::string& row, const Incident& incident, const SeriesRecord& series, std::span<const std::string> dimensions,
                         const TimeGrid& grid, std::string_view currency);

/// Files of rows that each start with append_incident_sort_key's key (rows formatted apart, e.g. by several
/// processes): writes the rows to `out` in the key's order (that of sort_by_impact), without their keys, and
/// returns their count. Holds about 40 bytes per row in memory, not the rows: alerts.csv can hold tens of
/// millions. Throws OutputError naming a file that cannot be read.
std::int64_t write_keyed_rows_in_order(const std::vector<std::filesystem::path>& files, std::ostream& out);

/// Writes the incidents in `format`; returns how many have no price. The caller checks the stream.
std::int64_t write_incidents(std::ostream& out, IncidentFormat format, const IncidentCollector& incidents, const TimeGrid& grid,
                             const IncidentProvenance& provenance);

}  // namespace meterbench
