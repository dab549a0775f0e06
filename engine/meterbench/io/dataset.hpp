#pragma once
// The in-memory form of a meterbench dataset: one population of usage series on one time grid, with its
// ground truth. Record structs mirror the HDF5 compound types byte for byte (see dataset_file.cpp and the
// README's "HDF5 layout"), so blocks go to and from disk without conversion.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/core/time_grid.hpp"

namespace meterbench {

inline constexpr std::string_view kDatasetFormatName = "meterbench-dataset";
/// Version 3: ids of any length and the kept dimensions in a per-series text table (/series_text and
/// /series_text_offsets), the dataset's currency, calendar-month grids. Version 2 files (ids in fixed 64-byte
/// fields of /series) are refused with a message saying to regenerate or re-ingest them.
inline constexpr std::int64_t kDatasetFormatVersion = 3;
inline constexpr std::int64_t kOldestDatasetFormatVersion = 3;
/// The currency of generated datasets and of ingested ones without --currency.
inline constexpr std::string_view kDefaultCurrency = "USD";

/// Per-series facts: who is billed, for what, at which price. One row of /series, with its ids from /series_text.
struct SeriesRecord {
  std::string customer_id;
  std::string meter_id;
  double price_per_unit = 0.0;   ///< the dataset's currency per unit; NaN when unknown
  double noise_scale = 0.0;      ///< generator's noise scale at the base level (units); NaN for real data
  std::uint64_t first_event = 0; ///< row of the series' first event in /events
  std::uint32_t event_count = 0; ///< number of its events (rows first_event .. first_event + event_count - 1)
  std::uint8_t profile = 0;      ///< UsageProfile code

  [[nodiscard]] std::string_view customer() const { return customer_id; }
  [[nodiscard]] std::string_view meter() const { return meter_id; }
  /// Sets the ids (any length; what a dataset accepts is checked when it is read).
  void set_ids(std::string_view customer, std::string_view meter);
  /// Appends the record to `bytes` (numbers, then each id's length and text): how records cross processes.
  void append_to(std::string& bytes) const;
  /// Reads a record append_to wrote at `bytes[at]`; returns the offset just after it. Throws
  /// std::invalid_argument when the bytes end inside it.
  std::size_t read_from(std::string_view bytes, std::size_t at);
};

/// The kept dimension values of a block's series (ingest --keep): one text cell per series and dimension,
/// row-major; the dimension names are DatasetInfo::dimensions. Empty (no columns) for generated data.
struct SeriesDimensions {
  std::size_t columns = 0;
  std::string bytes;                ///< the cells' UTF-8 text, concatenated
  std::vector<std::uint64_t> ends;  ///< end offset in `bytes` of each cell (series x columns)

  /// Empties the table and sets its number of columns.
  void clear(std::size_t column_count) {
    columns = column_count;
    bytes.clear();
    ends.clear();
  }
  /// Appends the next cell (row-major: every column of a series, then the next series).
  void push(std::string_view value) {
    bytes.append(value);
    ends.push_back(bytes.size());
  }
  /// The value of dimension `column` of the block's series `i` (0-based in the block).
  [[nodiscard]] std::string_view get(std::int64_t i, std::size_t column) const {
    const std::size_t cell = static_cast<std::size_t>(i) * columns + column;
    const std::size_t begin = cell == 0 ? 0 : static_cast<std::size_t>(ends[cell - 1]);
    return std::string_view(bytes).substr(begin, static_cast<std::size_t>(ends[cell]) - begin);
  }
};

/// One labelled injection (or gap). One row of /events; rows are sorted by series, then start.
struct EventRecord {
  std::uint64_t series = 0;      ///< global series index
  std::int64_t start = 0;        ///< first labelled step
  std::int64_t end = 0;          ///< last labelled step (inclusive)
  std::int64_t effect_end = 0;   ///< last step the injection still changes (== end unless persistent)
  double size_sigma = 0.0;       ///< peak |injected - clean| over the labelled steps, in noise-scale units
  double size_units = 0.0;       ///< the same peak deviation, in usage units
  double impact_usd = 0.0;       ///< sum over labelled steps of |injected - clean| x price per unit (the dataset's currency)
  std::uint8_t kind = 0;         ///< AnomalyKind code

  friend bool operator==(const EventRecord&, const EventRecord&) = default;
};

/// Dataset-level facts, stored as attributes of the file's root group.
struct DatasetInfo {
  TimeGrid grid;
  std::int64_t series_count = 0;
  bool has_labels = true;        ///< false for real data without known anomalies: /labels and /events absent
  std::uint64_t seed = 0;        ///< generator seed (0 for ingested data)
  std::string scenario;          ///< generator scenario text (TOML), or the ingest command for real data
  std::string source;            ///< "generated" or "ingested"
  std::string tool_version;      ///< the meterbench that wrote the file
  std::int64_t format_version = kDatasetFormatVersion;
  /// Names of the kept dimension columns (ingest --keep), in order; empty for generated data.
  std::vector<std::string> dimensions;
  /// ISO 4217 code of prices and impacts: USD unless ingest --currency found another single currency.
  std::string currency = std::string(kDefaultCurrency);
};

/// A contiguous block of series [first_series, first_series + count): the unit of streaming.
struct SeriesBlock {
  std::int64_t first_series = 0;
  std::int64_t count = 0;
  std::int64_t steps = 0;
  std::vector<float> values;          ///< count x steps, row-major; NaN = not reported
  std::vector<std::uint8_t> labels;   ///< count x steps (empty when the dataset has no labels)
  std::vector<SeriesRecord> series;   ///< count records
  std::vector<EventRecord> events;    ///< events of these series, sorted by series then start
  SeriesDimensions dimensions;        ///< kept dimension values (DatasetInfo::dimensions), count x columns

  /// The value of kept dimension `column` (an index into DatasetInfo::dimensions) of the block's series `i`.
  [[nodiscard]] std::string_view dimension(std::int64_t i, std::size_t column) const { return dimensions.get(i, column); }

  /// Sizes the block for `n` series of `t` steps, reusing capacity (no allocation once warm); empties the
  /// dimension table (with no columns).
  void reset(std::int64_t first, std::int64_t n, std::int64_t t, bool with_labels);
  [[nodiscard]] std::span<float> row(std::int64_t i) {
    return {values.data() + i * steps, static_cast<std::size_t>(steps)};
  }
  [[nodiscard]] std::span<const float> row(std::int64_t i) const {
    return {values.data() + i * steps, static_cast<std::size_t>(steps)};
  }
  [[nodiscard]] std::span<std::uint8_t> label_row(std::int64_t i) {
    return {labels.data() + i * steps, static_cast<std::size_t>(steps)};
  }
  [[nodiscard]] std::span<const std::uint8_t> label_row(std::int64_t i) const {
    return {labels.data() + i * steps, static_cast<std::size_t>(steps)};
  }
};

}  // namespace meterbench
