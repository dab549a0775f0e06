#include "meterbench/detect/incident_output.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "meterbench/core/version.hpp"
#include "meterbench/io/alert_csv.hpp"

namespace meterbench {

namespace {

double days_spanned(const Incident& incident, const TimeGrid& grid) {
  return static_cast<double>((incident.end - incident.start + 1) * grid.step_seconds) / static_cast<double>(kSecondsPerDay);
}

std::string time_text(const TimeGrid& grid, std::int64_t step) {
  std::string text;
  append_utc_time(text, grid.time_at(step));
  return text;
}

void write_csv(std::ostream& out, const IncidentCollector& incidents, const TimeGrid& grid, const std::string& currency) {
  out << "customer,meter,kind,start,end,days,direction,observed_total,expected_total,impact,currency,peak_score\n";
  std::string row;
  for (const Incident& f : incidents.rows) {
    const SeriesRecord& s = incidents.series.at(f.series_index);
    row.clear();
    append_csv_text(row, s.customer());
    row += ',';
    append_csv_text(row, s.meter());
    row += ',';
    row += incident_kind_name(f.kind);
    row += ',';
    append_utc_time(row, grid.time_at(f.start));
    row += ',';
    append_utc_time(row, grid.time_at(f.end));
    row += ',';
    append_g6(row, days_spanned(f, grid));
    row += f.over() ? ",over" : ",under";
    for (const double v : {f.observed_total, f.expected_total, f.impact}) {
      row += ',';
      append_g6(row, v);
    }
    row += ',';
    row += currency;
    row += ',';
    append_g6(row, static_cast<double>(f.peak_score));
    row += '\n';
    out << row;
  }
}

void write_json(std::ostream& out, const IncidentCollector& incidents, const TimeGrid& grid, const IncidentProvenance& provenance) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Incident& f : incidents.rows) {
    const SeriesRecord& s = incidents.series.at(f.series_index);
    rows.push_back({{"customer", std::string(s.customer())},
                    {"meter", std::string(s.meter())},
                    {"kind", std::string(incident_kind_name(f.kind))},
                    {"start", time_text(grid, f.start)},
                    {"end", time_text(grid, f.end)},
                    {"days", days_spanned(f, grid)},
                    {"direction", f.over() ? "over" : "under"},
                    {"observed_total", f.observed_total},
                    {"expected_total", f.expected_total},
                    {"impact", std::isfinite(f.impact) ? nlohmann::json(f.impact) : nlohmann::json(nullptr)},
                    {"currency", provenance.currency},
                    {"peak_score", f.peak_score}});
  }
  const nlohmann::json document = {{"dataset", provenance.dataset},
                                   {"model", provenance.model},
                                   {"parameters", provenance.parameters},
                                   {"generated_by", tool_version()},
                                   {"incidents", std::move(rows)}};
  out << document.dump(2) << '\n';
}

}  // namespace

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
  std::int64_t without_price = 0;
  for (const Incident& f : incidents.rows) without_price += !std::isfinite(f.impact);
  return without_price;
}

}  // namespace meterbench
