#include "meterbench/detect/incident_output.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <cmath>
#include <vector>
#include <stdexcept>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/io/alert_csv.hpp"
#include "meterbench/io/output_path.hpp"

namespace meterbench {

namespace {


std::string time_text(const TimeGrid& grid, std::int64_t step) {
  std::string text;
  append_utc_time(text, grid.time_at(step));
  return text;
}

void write_csv(std::ostream& out, const IncidentCollector& incidents, const TimeGrid& grid, const std::string& currency) {
  out << incident_csv_header(incidents.dimension_names) << '\n';
  std::string row;
  for (const Incident& f : incidents.rows) {
    row.clear();
    append_incident_csv(row, f, incidents.series.at(f.series_index), incidents.dimensions_of(f.series_index), grid, currency);
    row += '\n';
    out << row;
  }
}

void write_json(std::ostream& out, const IncidentCollector& incidents, const TimeGrid& grid, const IncidentProvenance& provenance) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Incident& f : incidents.rows) {
    const SeriesRecord& s = incidents.series.at(f.series_index);
    nlohmann::json row = {{"customer", std::string(s.customer())},
                    {"meter", std::string(s.meter())},
                    {"kind", std::string(incident_kind_name(f.kind))},
                    {"start", time_text(grid, f.start)},
                    {"end", time_text(grid, f.end)},
                    {"days", incident_days(f, grid)},
                    {"direction", f.over() ? "over" : "under"},
                    {"observed_total", f.observed_total},
                    {"expected_total", f.expected_total},
                    {"impact", std::isfinite(f.impact) ? nlohmann::json(f.impact) : nlohmann::json(nullptr)},
                    {"currency", provenance.currency},
                    {"peak_score", f.peak_score}};
    const std::span<const std::string> values = incidents.dimensions_of(f.series_index);
    for (std::size_t d = 0; d < values.size(); ++d) row[incidents.dimension_names[d]] = values[d];
    rows.push_back(std::move(row));
  }
  const nlohmann::json document = {{"dataset", provenance.dataset},
                                   {"model", provenance.model},
                                   {"parameters", provenance.parameters},
                                   {"generated_by", tool_version()},
                                   {"incidents", std::move(rows)}};
  out << document.dump(2) << '\n';
}

}  // namespace

std::string incident_csv_header(std::span<const std::string> dimensions) {
  std::string header = "customer,meter,";
  for (const std::string& d : dimensions) {
    append_csv_text(header, d);
    header += ',';
  }
  header += std::string_view(kIncidentCsvColumns).substr(std::string_view("customer,meter,").size());
  return header;
}

void append_incident_csv(std::string& row, const Incident& f, const SeriesRecord& s, std::span<const std::string> dimensions,
                         const TimeGrid& grid, std::string_view currency) {
  append_csv_text(row, s.customer());
  row += ',';
  append_csv_text(row, s.meter());
  row += ',';
  for (const std::string& value : dimensions) {
    append_csv_text(row, value);
    row += ',';
  }
  row += incident_kind_name(f.kind);
  row += ',';
  append_utc_time(row, grid.time_at(f.start));
  row += ',';
  append_utc_time(row, grid.time_at(f.end));
  row += ',';
  append_g6(row, incident_days(f, grid));
  row += f.over() ? ",over" : ",under";
  for (const double v : {f.observed_total, f.expected_total, f.impact}) {
    row += ',';
    append_g6(row, v);
  }
  row += ',';
  row += currency;
  row += ',';
  append_g6(row, static_cast<double>(f.peak_score));
}

namespace {

// Where a keyed row is, and its key packed back from hex to bytes (their byte order is the hex text's order).
struct KeyedRow {
  std::uint64_t offset = 0;
  std::uint32_t length = 0;  // with the key and the line break
  std::uint16_t file = 0;
  std::array<unsigned char, 1 + (kIncidentSortKeyLength - 1) / 2> key{};
};

unsigned char hex_value(char c) { return static_cast<unsigned char>(c <= '9' ? c - '0' : c - 'a' + 10); }

void index_rows(const std::filesystem::path& path, std::uint16_t file, std::vector<KeyedRow>& rows) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OutputError(fmt::format("cannot read the alert rows in '{}'", path.string()));
  std::uint64_t offset = 0;
  for (std::string line; std::getline(in, line);) {
    METERBENCH_CHECK(line.size() > kIncidentSortKeyLength);
    KeyedRow row{.offset = offset, .length = static_cast<std::uint32_t>(line.size() + 1), .file = file};
    row.key[0] = static_cast<unsigned char>(line[0]);
    for (std::size_t i = 1; i < row.key.size(); ++i)
      row.key[i] = static_cast<unsigned char>(hex_value(line[2 * i - 1]) << 4 | hex_value(line[2 * i]));
    rows.push_back(row);
    offset += row.length;
  }
}

}  // namespace

std::int64_t write_keyed_rows_in_order(const std::vector<std::filesystem::path>& files, std::ostream& out) {
  METERBENCH_CHECK(files.size() <= std::numeric_limits<std::uint16_t>::max());
  std::vector<KeyedRow> rows;
  for (std::size_t f = 0; f < files.size(); ++f) index_rows(files[f], static_cast<std::uint16_t>(f), rows);
  std::sort(rows.begin(), rows.end(), [](const KeyedRow& a, const KeyedRow& b) { return a.key < b.key; });  // keys are unique
  std::vector<std::ifstream> in;
  for (const auto& path : files) in.emplace_back(path, std::ios::binary);
  std::string text;
  for (const KeyedRow& row : rows) {
    const std::size_t size = row.length - kIncidentSortKeyLength;
    text.resize(size);
    std::ifstream& file = in[row.file];
    file.seekg(static_cast<std::streamoff>(row.offset + kIncidentSortKeyLength));
    file.read(text.data(), static_cast<std::streamsize>(size));
    if (!file) throw OutputError(fmt::format("cannot read the alert rows in '{}'", files[row.file].string()));
    out << text;
  }
  return static_cast<std::int64_t>(rows.size());
}

double incident_days(const Incident& incident, const TimeGrid& grid) {
  return static_cast<double>((incident.end - incident.start + 1) * grid.step_seconds) / static_cast<double>(kSecondsPerDay);
}

std::int64_t incidents_without_price(const std::vector<Incident>& incidents) {
  std::int64_t without_price = 0;
  for (const Incident& f : incidents) without_price += !std::isfinite(f.impact);
  return without_price;
}

IncidentFormat resolve_incident_format(const std::string& format, const std::filesystem::path& out) {
  const std::string extension = out.extension().string();
  const IncidentFormat from_extension = extension == ".json" ? IncidentFormat::json : IncidentFormat::csv;
  if (format.empty()) return from_extension;
  if (format != "csv" && format != "json") throw std::invalid_argument(fmt::format("--format must be csv or json, got '{}'", format));
  const IncidentFormat named = format == "json" ? IncidentFormat::json : IncidentFormat::csv;
  if ((extension == ".json" || extension == ".csv") && named != from_extension)
    throw std::invalid_argument(fmt::format("--format {} does not match --out '{}' (a {} file)", format, out.string(), extension));
  return named;
}

std::int64_t write_incidents(std::ostream& out, IncidentFormat format, const IncidentCollector& incidents, const TimeGrid& grid,
                             const IncidentProvenance& provenance) {
  if (format == IncidentFormat::json) write_json(out, incidents, grid, provenance);
  else write_csv(out, incidents, grid, provenance.currency);
  return incidents_without_price(incidents.rows);
}

}  // namespace meterbench
