#pragma once
// The rules a meterbench dataset's contents must follow, in one place. DatasetReader applies them to every
// read as it reads (attributes at open, then each block), so no command ever computes on a file whose
// values, codes or event table are out of range. Each rule throws DatasetError naming the file, the dataset,
// the row (and step or field) and the offending value.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "meterbench/io/dataset.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace meterbench::dataset_rules {

/// Root attributes: the grid is valid, `step` names step_seconds, `start` is a real date (or date-time) and
/// equals start_unix_seconds, series_count > 0.
void check_attributes(const std::string& file, const DatasetInfo& info, std::string_view start_text, std::string_view step_text);

/// /values of series [first_series, ...), `steps` per row: every value finite and >= 0, or NaN (a gap).
void check_values(const std::string& file, std::int64_t first_series, std::int64_t steps, std::span<const float> values);

/// /labels of series [first_series, ...): every code a known anomaly kind (< kAnomalyKindCount).
void check_labels(const std::string& file, std::int64_t first_series, std::int64_t steps, std::span<const std::uint8_t> labels);

/// /series rows of series [first_series, ...): prices and noise scales finite and >= 0 or NaN (unknown),
/// known profile codes, event rows inside /events (`event_rows` of them) and contiguous from row to row (the
/// first series of the file starts at row 0, the last ends at the table's end); no events without labels.
void check_series(const std::string& file, std::int64_t first_series, std::int64_t series_count, std::span<const SeriesRecord> series,
                  bool has_labels, std::int64_t event_rows);

/// The /events rows of the series in `series` (starting at row series.front().first_event): each belongs to
/// its series, kinds are known codes (0 = a "not_anomaly" verdict), 0 <= start <= end <= effect_end < steps, rows of a series sorted by
/// start, sizes and impacts finite and >= 0 or NaN.
void check_block_events(const std::string& file, std::int64_t steps, std::int64_t first_series, std::span<const SeriesRecord> series,
                        std::span<const EventRecord> events);

/// Every /events row of a file with `series_count` series: as check_block_events, plus sorted by series.
void check_all_events(const std::string& file, std::int64_t steps, std::int64_t series_count, std::span<const EventRecord> events);

/// Finds repeated (customer, meter) pairs among the series read so far, in order from the first block read:
/// a table of 64-bit hashes (16 bytes per series); a hash seen before is confirmed by the caller.
class IdRegistry {
 public:
  /// The series [first, first + count) not registered yet, when they extend the registered range; empty else.
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> unregistered(std::int64_t first, std::int64_t count) const;
  /// Registers one series' ids; returns false when their hash was registered before (possibly a duplicate).
  bool insert(const SeriesRecord& record);
  /// Marks series up to `end` (exclusive) as registered.
  void registered_through(std::int64_t begin, std::int64_t end);
  [[nodiscard]] std::int64_t begin() const { return begin_; }

 private:
  std::vector<std::uint64_t> slots_;  // 0 = empty; open addressing, at most half full
  std::size_t used_ = 0;
  std::int64_t begin_ = -1, end_ = -1;  // registered series [begin_, end_)
};

/// The start offsets of text cells [first_cell, ...) of /series_text_offsets, followed by the end of the
/// last one: non-decreasing and inside /series_text (`text_size` bytes).
void check_text_offsets(const std::string& file, std::int64_t first_cell, std::span<const std::uint64_t> offsets, std::uint64_t text_size);

/// A series' ids: not empty, no control characters (they would break CSV rows and series keys).
void check_ids(const std::string& file, std::int64_t row, const SeriesRecord& record);

/// Whether two series have the same (customer, meter) pair: the exact comparison behind a hash match.
[[nodiscard]] bool same_ids(const SeriesRecord& a, const SeriesRecord& b);

/// The error for a duplicate pair: series rows `earlier` and `later` of /series.
[[noreturn]] void fail_duplicate_ids(const std::string& file, std::int64_t earlier, std::int64_t later, const SeriesRecord& record);

}  // namespace meterbench::dataset_rules
