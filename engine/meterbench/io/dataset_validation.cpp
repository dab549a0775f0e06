#include "meterbench/io/dataset_validation.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "meterbench/core/anomaly.hpp"

namespace meterbench::dataset_rules {
namespace {

[[noreturn]] void fail(const std::string& file, const std::string& what) { throw DatasetError(fmt::format("{}: {}", file, what)); }

// Finite and >= 0, or NaN ("unknown" for prices and sizes, a gap for values).
bool non_negative_or_nan(double v) { return std::isnan(v) || (v >= 0.0 && v <= std::numeric_limits<double>::max()); }

std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  return h ^ (h >> 33);
}

std::uint64_t id_hash(const SeriesRecord& r) {
  const std::hash<std::string_view> text_hash;  // word at a time; the pair is mixed so (a, b) and (b, a) differ
  const std::uint64_t h = mix(text_hash(r.customer()) ^ mix(text_hash(r.meter()) + 0x9E3779B97F4A7C15ULL));
  return h == 0 ? 1 : h;
}

}  // namespace

void check_attributes(const std::string& file, const DatasetInfo& info, std::string_view start_text, std::string_view step_text) {
  try {
    info.grid.validate();
  } catch (const std::invalid_argument& e) {
    fail(file, e.what());
  }
  if (info.series_count <= 0) fail(file, fmt::format("attribute 'series_count' is {}; a dataset has at least one series", info.series_count));
  std::int64_t step = 0;
  try {
    step = parse_step(step_text);
  } catch (const std::invalid_argument&) {
    fail(file, fmt::format("attribute 'step' is '{}', not a step such as 1d or 1h", step_text));
  }
  if (step != info.grid.step_seconds)
    fail(file, fmt::format("attribute 'step' is '{}' ({} s) but 'step_seconds' is {}", step_text, step, info.grid.step_seconds));
  std::int64_t start = 0;
  try {
    start = parse_utc_timestamp(start_text);
  } catch (const std::invalid_argument& e) {
    fail(file, fmt::format("attribute 'start' is '{}', not a date: {}", start_text, e.what()));
  }
  if (start != info.grid.start_unix_seconds)
    fail(file, fmt::format("attribute 'start' is '{}' ({} s) but 'start_unix_seconds' is {}", start_text, start, info.grid.start_unix_seconds));
}

void check_values(const std::string& file, std::int64_t first_series, std::int64_t steps, std::span<const float> values) {
  // Branch-free (the compiler vectorises it: two compares per value) so that the read stage's cost barely
  // moves; the offending value is looked for only on failure. NaN and -0 compare as neither.
  constexpr float kInfinity = std::numeric_limits<float>::infinity();
  std::uint32_t invalid = 0;
  const float* data = values.data();
  const std::size_t size = values.size();
  for (std::size_t i = 0; i < size; ++i) invalid |= static_cast<std::uint32_t>((data[i] < 0.0f) | (data[i] == kInfinity));
  if (invalid == 0) return;
  constexpr float kMax = std::numeric_limits<float>::max();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if ((v >= 0.0f && v <= kMax) || std::isnan(v)) continue;
    const auto row = first_series + static_cast<std::int64_t>(i) / steps;
    fail(file, fmt::format("/values row {} step {}: value {} is {} (values are finite and >= 0, NaN for a gap)", row,
                           static_cast<std::int64_t>(i) % steps, v, v < 0.0f ? "negative" : "infinite"));
  }
}

void check_labels(const std::string& file, std::int64_t first_series, std::int64_t steps, std::span<const std::uint8_t> labels) {
  std::uint8_t highest = 0;
  for (const std::uint8_t code : labels) highest = std::max(highest, code);
  if (highest < kAnomalyKindCount) return;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= kAnomalyKindCount)
      fail(file, fmt::format("/labels row {} step {}: code {} is not an anomaly kind (0..{})", first_series + static_cast<std::int64_t>(i) / steps,
                             static_cast<std::int64_t>(i) % steps, labels[i], kAnomalyKindCount - 1));
}

void check_series(const std::string& file, std::int64_t first_series, std::int64_t series_count, std::span<const SeriesRecord> series,
                  bool has_labels, std::int64_t event_rows) {
  const auto rows = static_cast<std::uint64_t>(event_rows);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const SeriesRecord& r = series[i];
    const std::int64_t row = first_series + static_cast<std::int64_t>(i);
    if (!non_negative_or_nan(r.price_per_unit))
      fail(file, fmt::format("/series row {} field price_per_unit: {} (prices are finite and >= 0, NaN when unknown)", row, r.price_per_unit));
    if (!non_negative_or_nan(r.noise_scale))
      fail(file, fmt::format("/series row {} field noise_scale: {} (finite and >= 0, NaN when unknown)", row, r.noise_scale));
    if (r.profile >= kUsageProfileCount)
      fail(file, fmt::format("/series row {} field profile: {} is not a usage profile (0..{})", row, r.profile, kUsageProfileCount - 1));
    if (!has_labels) {
      if (r.event_count != 0) fail(file, fmt::format("/series row {} field event_count: {} in a dataset without labels", row, r.event_count));
      continue;
    }
    if (r.first_event > rows || r.event_count > rows - r.first_event)
      fail(file, fmt::format("/series row {} fields first_event, event_count: rows {}+{} are outside /events ({} rows)", row, r.first_event,
                             r.event_count, rows));
    const std::uint64_t expected_first =
        i > 0 ? series[i - 1].first_event + series[i - 1].event_count : (row == 0 ? 0 : r.first_event);
    if (r.first_event != expected_first)
      fail(file, fmt::format("/series row {} field first_event: {}, expected {} (each series' events follow the previous series')", row,
                             r.first_event, expected_first));
    if (row == series_count - 1 && r.first_event + r.event_count != rows)
      fail(file, fmt::format("/series row {} (the last) ends its events at row {}, but /events has {} rows", row,
                             r.first_event + r.event_count, rows));
  }
}

namespace {

void check_event(const std::string& file, std::int64_t steps, std::uint64_t row, const EventRecord& ev) {
  const auto where = [&] { return fmt::format("/events row {} (series {})", row, ev.series); };
  // Kind 0 (normal) is an ingested label whose verdict was "not_anomaly".
  if (ev.kind >= kAnomalyKindCount)
    fail(file, fmt::format("{} field kind: {} is not an anomaly kind (0..{})", where(), ev.kind, kAnomalyKindCount - 1));
  if (!(0 <= ev.start && ev.start <= ev.end && ev.end <= ev.effect_end && ev.effect_end < steps))
    fail(file, fmt::format("{}: steps start {}, end {}, effect_end {} are not 0 <= start <= end <= effect_end < {}", where(), ev.start,
                           ev.end, ev.effect_end, steps));
  const std::pair<const char*, double> sizes[3] = {{"size_sigma", ev.size_sigma}, {"size_units", ev.size_units}, {"impact_usd", ev.impact_usd}};
  for (const auto& [name, value] : sizes)
    if (!non_negative_or_nan(value)) fail(file, fmt::format("{} field {}: {} (finite and >= 0, NaN when unknown)", where(), name, value));
}

}  // namespace

void check_block_events(const std::string& file, std::int64_t steps, std::int64_t first_series, std::span<const SeriesRecord> series,
                        std::span<const EventRecord> events) {
  if (series.empty()) return;
  const std::uint64_t base = series.front().first_event;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto owner = static_cast<std::uint64_t>(first_series + static_cast<std::int64_t>(i));
    const std::uint64_t begin = series[i].first_event - base;
    for (std::uint64_t k = begin; k < begin + series[i].event_count; ++k) {
      const EventRecord& ev = events[k];
      if (ev.series != owner)
        fail(file, fmt::format("/events row {} field series: {}, but /series row {} points at it", base + k, ev.series, owner));
      check_event(file, steps, base + k, ev);
      if (k > begin && ev.start < events[k - 1].start)
        fail(file, fmt::format("/events row {} (series {}): start {} comes before the previous row's start {} (rows are sorted by start)",
                               base + k, ev.series, ev.start, events[k - 1].start));
    }
  }
}

void check_all_events(const std::string& file, std::int64_t steps, std::int64_t series_count, std::span<const EventRecord> events) {
  for (std::size_t k = 0; k < events.size(); ++k) {
    const EventRecord& ev = events[k];
    if (ev.series >= static_cast<std::uint64_t>(series_count))
      fail(file, fmt::format("/events row {} field series: {} is not a series (the file has {})", k, ev.series, series_count));
    check_event(file, steps, k, ev);
    if (k > 0 && (ev.series < events[k - 1].series || (ev.series == events[k - 1].series && ev.start < events[k - 1].start)))
      fail(file, fmt::format("/events row {} (series {}, start {}) comes before the previous row (series {}, start {}): rows are sorted by "
                             "series, then start",
                             k, ev.series, ev.start, events[k - 1].series, events[k - 1].start));
  }
}

std::pair<std::int64_t, std::int64_t> IdRegistry::unregistered(std::int64_t first, std::int64_t count) const {
  if (begin_ < 0) return {first, first + count};
  if (first <= end_ && end_ < first + count && first >= begin_) return {end_, first + count};
  return {0, 0};
}

bool IdRegistry::insert(const SeriesRecord& record) {
  if (2 * (used_ + 1) > slots_.size()) {  // grow: rehash into twice the slots
    std::vector<std::uint64_t> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(1024, 2 * old.size()), 0);
    used_ = 0;
    for (const std::uint64_t h : old)
      if (h != 0) {
        std::size_t at = h & (slots_.size() - 1);
        while (slots_[at] != 0) at = (at + 1) & (slots_.size() - 1);
        slots_[at] = h;
        ++used_;
      }
  }
  const std::uint64_t h = id_hash(record);
  std::size_t at = h & (slots_.size() - 1);
  while (slots_[at] != 0) {
    if (slots_[at] == h) return false;
    at = (at + 1) & (slots_.size() - 1);
  }
  slots_[at] = h;
  ++used_;
  return true;
}

void IdRegistry::registered_through(std::int64_t begin, std::int64_t end) {
  if (begin_ < 0) begin_ = begin;
  end_ = end;
}

void check_text_offsets(const std::string& file, std::int64_t first_cell, std::span<const std::uint64_t> offsets, std::uint64_t text_size) {
  for (std::size_t k = 0; k < offsets.size(); ++k)
    if (offsets[k] > text_size || (k > 0 && offsets[k] < offsets[k - 1]))
      fail(file, fmt::format("/series_text_offsets row {}: {} is {} (offsets are non-decreasing and at most the {} bytes of /series_text)",
                             first_cell + static_cast<std::int64_t>(k), offsets[k], offsets[k] > text_size ? "past the text" : "below the previous one",
                             text_size));
}

void check_ids(const std::string& file, std::int64_t row, const SeriesRecord& record) {
  for (const auto& [name, id] : {std::pair<const char*, std::string_view>{"customer", record.customer()}, {"meter", record.meter()}}) {
    if (id.empty()) fail(file, fmt::format("/series_text: series {} has an empty {} id", row, name));
    const auto control = std::find_if(id.begin(), id.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == '\x7f'; });
    if (control != id.end())
      fail(file, fmt::format("/series_text: the {} id of series {} holds the control character \\x{:02X} at byte {}", name, row,
                             static_cast<unsigned char>(*control), control - id.begin() + 1));
  }
}

bool same_ids(const SeriesRecord& a, const SeriesRecord& b) { return a.customer() == b.customer() && a.meter() == b.meter(); }

void fail_duplicate_ids(const std::string& file, std::int64_t earlier, std::int64_t later, const SeriesRecord& record) {
  fail(file, fmt::format("series {} and {} have the same customer id '{}' and meter id '{}' (each pair names one series)", earlier,
                         later, record.customer(), record.meter()));
}

}  // namespace meterbench::dataset_rules
