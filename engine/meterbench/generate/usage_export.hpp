#pragma once
// A realistic Azure-style daily usage export (the 18 columns of a cost-management export, one row per
// resource, meter and day, unsorted, dates as %m/%d/%Y) with seven planted billing incidents and their labels
// file: the input of the ingest -> detect quick start and of the end-to-end targets. Usage comes from the
// generator's profiles (SeriesGenerator); the export is a function of its options alone.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "meterbench/core/anomaly.hpp"

namespace meterbench {

struct UsageExportOptions {
  std::filesystem::path out{};     ///< a CSV file (`.csv.gz` with gzip), or a directory of daily files
  std::filesystem::path labels{};  ///< the planted incidents' labels file; empty = out + ".labels.csv"
  bool overwrite = false;          ///< replace existing outputs (--force)
  std::uint64_t seed = 1;
  std::int64_t days = 365;         ///< from 2025-01-01
  std::int64_t customers = 300;
  bool daily_files = false;        ///< out is a directory of one file per day: usage-YYYY-MM-DD.csv[.gz]
  bool gzip = false;               ///< gzip-compressed output files
};

/// One planted billing incident, as the labels file names it.
struct PlantedIncident {
  std::string customer;     ///< "CustomerName|SubscriptionId": the id `--map customer=CustomerName+SubscriptionId` builds
  std::string meter;        ///< the MeterId
  AnomalyKind kind = AnomalyKind::normal;
  std::string description;  ///< what happened, e.g. "usage reported x1000 (a unit error)"
  std::int64_t start = 0;   ///< first day (0 = the export's first day)
  std::int64_t end = 0;     ///< last day, inclusive
  std::string start_date, end_date;  ///< ISO, as the labels file has them
};

struct UsageExportSummary {
  std::int64_t rows = 0;        ///< data rows over all files
  std::int64_t series = 0;      ///< distinct (customer, meter) pairs
  std::int64_t customers = 0;
  std::int64_t days = 0;
  std::int64_t files = 0;
  std::uintmax_t bytes = 0;     ///< size of the export on disk
  std::string first_date, last_date;  ///< ISO
  std::vector<PlantedIncident> incidents;  ///< by start
  std::string weekday_only_customer;  ///< reports usage on weekdays only (no weekend rows)
  std::string growing_customer;       ///< its usage grows 6x over the export
  std::string eur_customer;           ///< billed in EUR (every other customer in USD)
  std::filesystem::path labels;
};

/// Shortest and longest exports: seven incidents apart from each other need a few months.
inline constexpr std::int64_t kUsageExportMinDays = 120;
inline constexpr std::int64_t kUsageExportMaxDays = 3660;
inline constexpr std::int64_t kUsageExportMinCustomers = 10;
inline constexpr std::int64_t kUsageExportMaxCustomers = 100'000;

/// Writes the export and its labels file (both staged, placed when complete). Throws std::invalid_argument
/// for options out of range and OutputError for outputs that cannot be written.
UsageExportSummary write_usage_export(const UsageExportOptions& options);

}  // namespace meterbench
