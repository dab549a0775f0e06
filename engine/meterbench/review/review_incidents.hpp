#pragma once
// The incidents `meterbench review` shows: the CSV or JSON file `meterbench detect` writes, held in memory,
// largest |impact| first, with the queries of the inventory page (filters, period, paging) answered by one scan.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace meterbench {

/// An incidents file that cannot be read; the message names the file, the line (CSV) and the field.
class IncidentFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One row of the incidents file. `id` is its position in the inventory (largest |impact| first), stable
/// for the server's lifetime.
struct ReviewIncident {
  std::int64_t id = 0;
  std::string customer, meter, offer;  ///< offer: empty when the file has no offer column
  std::string kind, direction;         ///< as detect writes them (spike, dip, ...; over, under)
  std::string start, end;              ///< the file's time texts: the incident's key in the feedback file
  std::int64_t start_seconds = 0, end_seconds = 0;  ///< Unix seconds
  std::string first_reported;          ///< the file's first_reported column, else `start`
  std::int64_t first_reported_seconds = 0;
  double days = 0.0;
  double observed_total = 0.0, expected_total = 0.0;
  double impact = 0.0;                 ///< NaN when the price is unknown
  std::string currency;
  double peak_score = 0.0;
};

/// Reads a `detect` incidents file: JSON when it starts with '{' (after spaces), else CSV with a header naming
/// at least customer, meter, kind, start, end, direction, impact (extra columns are ignored; offer and
/// first_reported are used when present). Sorted by |impact| descending, unknown impact last by peak score,
/// ties in file order. Throws IncidentFileError.
std::vector<ReviewIncident> read_review_incidents(const std::filesystem::path& path);

/// The inventory page's question. Text filters match a case-insensitive substring; empty matches all.
struct IncidentQuery {
  double min_abs_impact = 100.0;      ///< 0 = All (unknown impacts included only then)
  std::int64_t last_days = 0;         ///< incidents ending in the last N days before `as_of_seconds`; 0 = all
  std::int64_t as_of_seconds = 0;     ///< the data's end: what "last N days" counts back from
  std::string offer, meter, customer;
  std::string kind, direction;        ///< exact names; empty = all
  std::int64_t page = 0;              ///< 0-based
  std::int64_t page_size = 50;
};

struct IncidentPage {
  std::int64_t total = 0;                 ///< incidents matching the query
  std::vector<const ReviewIncident*> rows; ///< this page's, in inventory order
};

/// Answers a query over the inventory (already in inventory order).
IncidentPage query_incidents(const std::vector<ReviewIncident>& incidents, const IncidentQuery& query);

/// The incidents of one series (same customer and meter), in time order: the neighbours of an incident.
std::vector<const ReviewIncident*> incidents_of_series(const std::vector<ReviewIncident>& incidents, const std::string& customer,
                                                       const std::string& meter);

/// Checks a query's values; returns the reason it is refused, or nothing.
std::optional<std::string> invalid_query_reason(const IncidentQuery& query);

}  // namespace meterbench
