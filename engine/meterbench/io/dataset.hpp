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
/// Version 2: fixed-length string attributes and the checksummed HDF5 1.10 file format. Version 1 files
/// (variable-length string attributes) are still read.
inline constexpr std::int64_t kDatasetFormatVersion = 2;
inline constexpr std::int64_t kOldestDatasetFormatVersion = 2;  // version 1 used the unchecksummed file format
/// Size of the fixed-length customer and meter id fields: up to 63 bytes of text and a terminating NUL.
inline constexpr std::size_t kIdCapacity = 64;

/// Per-series facts: who is billed, for what, at which price. One row of /series.
struct SeriesRecord {
  char customer_id[kIdCapacity] = {};
  char meter_id[kIdCapacity] = {};
  double price_per_unit = 0.0;   ///< USD per unit; NaN when unknown
  double noise_scale = 0.0;      ///< generator's noise scale at the base level (units); NaN for real data
  std::uint64_t first_event = 0; ///< row of the series' first event in /events
  std::uint32_t event_count = 0; ///< number of its events (rows first_event .. first_event + event_count - 1)
  std::uint8_t profile = 0;      ///< UsageProfile code

  [[nodiscard]] std::string_view customer() const { return {customer_id, ::strnlen(customer_id, kIdCapacity)}; }
  [[nodiscard]] std::string_view meter() const { return {meter_id, ::strnlen(meter_id, kIdCapacity)}; }
  /// Sets the ids; throws std::invalid_argument naming the id when it is longer than kIdCapacity - 1 bytes.
  void set_ids(std::string_view customer, std::string_view meter);
};

/// One labelled injection (or gap). One row of /events; rows are sorted by series, then start.
struct EventRecord {
  std::uint64_t series = 0;      ///< global series index
  std::int64_t start = 0;        ///< first labelled step
  std::int64_t end = 0;          ///< last labelled step (inclusive)
  std::int64_t effect_end = 0;   ///< last step the injection still changes (== end unless persistent)
  double size_sigma = 0.0;       ///< peak |injected - clean| over the labelled steps, in noise-scale units
  double size_units = 0.0;       ///< the same peak deviation, in usage units
  double impact_usd = 0.0;       ///< sum over labelled steps of |injected - clean| x price per unit
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

  /// Sizes the block for `n` series of `t` steps, reusing capacity (no allocation once warm).
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
