#pragma once
// `meterbench ingest`: real usage exports (long-format CSV, one row per series and step) into a dataset.
// Series = distinct (customer, meter), sorted by customer then meter. The grid runs from the population's
// first to last step; steps without a row are gaps (NaN), never zeros; rows of the same series and step
// are summed. An optional labels file of confirmed anomalies (and "not an anomaly" verdicts) becomes the
// ground truth. Chunks of the file are parsed in parallel (split at line breaks) into 16-byte records, then
// scattered in parallel into the matrix; the file is read once while the records (16 bytes a row) fit in half
// the memory budget and the matrix beside them, else it is read again per block of series (see
// memory_budget_bytes). The output is the same file for any thread count, chunk size and budget.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace meterbench {

/// Longest grid ingest builds unless IngestOptions::max_steps says otherwise: 100 years, in steps.
inline constexpr std::int64_t kDefaultMaxGridDays = 36'525;

struct IngestOptions {
  /// The usage export: a file, a directory (its *.csv and *.csv.gz), a glob pattern, a .gz file or "-" (stdin)
  std::filesystem::path csv{};
  /// Further inputs of the same kinds, merged with csv (all inputs sorted by path; same header required)
  std::vector<std::filesystem::path> more_csv{};
  std::vector<std::string> column_map{};     ///< "field=column" renames, e.g. "date=UsageDate"
  /// strftime-style format of the date column (see usage_csv::DateFormat), e.g. "%m/%d/%Y"; "" = ISO dates
  std::string date_format{};
  std::string step = "1d";                 ///< grid step: 1d or 1h (any divisor of a day)
  std::filesystem::path labels{};            ///< optional labels CSV: customer,meter,start,end[,kind][,verdict]
  std::filesystem::path out{};               ///< the .h5 file to create
  bool overwrite = false;                  ///< replace an existing output (--force)
  bool skip_bad = false;                   ///< skip and count bad rows (listed in OUT.rejects.csv) instead of failing
  /// Dimension columns carried into the dataset per series (DatasetInfo::dimensions, SeriesBlock::dimension):
  /// each series takes the values of its latest row (by step, then position in the input)
  std::vector<std::string> keep{};
  /// The currency column: a series (or dataset) mixing currencies is refused unless `rates` converts them
  std::string currency{};
  std::filesystem::path rates{};           ///< currency,rate_to_usd CSV: prices converted to USD (needs `currency`)
  /// Refuse a grid of more steps (first to last row); default kDefaultMaxGridDays days of steps.
  std::optional<std::int64_t> max_steps{};
  /// Bounds the records kept between passes plus the block of the output matrix held at once (13 bytes a
  /// cell); see README for the peak memory formula.
  std::size_t memory_budget_bytes = std::size_t{4} << 30;
  std::size_t chunk_bytes = std::size_t{8} << 20;  ///< parallel parse unit (a chunk ends at a line break)
};

struct IngestSummary {
  std::int64_t rows = 0;            ///< data rows read (including skipped ones)
  std::int64_t skipped_rows = 0;    ///< rows skipped with --skip-bad
  std::int64_t summed_rows = 0;     ///< rows added to an earlier row of the same series and step
  std::int64_t series = 0;
  std::int64_t steps = 0;
  std::int64_t observed_steps = 0;  ///< series x steps with a value
  std::int64_t series_without_price = 0;
  std::int64_t anomaly_labels = 0;  ///< labels marking an anomaly
  std::int64_t normal_verdicts = 0; ///< labels marking "not an anomaly"
  std::int64_t passes = 0;          ///< blocks of series filled (1 unless the matrix exceeds the budget)
  std::int64_t file_reads = 0;      ///< parses of the whole file: 1, or 1 + passes when the rows did not fit
  std::string first_step, last_step;
  double wall_seconds = 0.0;
};

/// The fields a usage export provides, in the order they are documented.
inline constexpr const char* kUsageFields[] = {"customer", "meter", "date", "quantity", "price"};

/// Ingests the CSV into options.out (staged, renamed when complete). Throws CsvError / OutputError /
/// std::invalid_argument with messages naming the file, line, column and value.
IngestSummary ingest_csv(const IngestOptions& options);

}  // namespace meterbench
