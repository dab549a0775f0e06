#include "meterbench/ingest/ingest.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <string_view>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/io/csv.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_path.hpp"

namespace meterbench {

namespace {

enum Field { kCustomer, kMeter, kDate, kQuantity, kPrice, kFieldCount };
constexpr int kMaxReportedBadRows = 5;

// Series keys ("customer\x1fmeter") -> series facts, by open addressing with linear probing over a
// power-of-two table of (hash tag, entry) slots, keys in one arena. Every data row looks its series up
// (twice over the two passes), so this avoids the node and string indirections of std::unordered_map.
class SeriesKeyTable {
 public:
  struct Entry {
    std::size_t key_offset = 0;
    std::size_t key_size = 0;
    std::int64_t index = -1;  // position after sorting
    double price = std::numeric_limits<double>::quiet_NaN();
    std::int64_t price_time = std::numeric_limits<std::int64_t>::min();
  };

  SeriesKeyTable() : slots_(1024, 0) {}

  /// The entry of `key`; a new one when absent and `insert`, else nullptr.
  Entry* find(std::string_view key, bool insert) {
    const std::uint64_t h = hash(key);
    const std::uint64_t tag = h >> 32;
    for (std::size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const std::uint64_t slot = slots_[i];
      if (slot == 0) break;
      if ((slot >> 32) == tag) {
        Entry& e = entries_[(slot & 0xFFFFFFFFu) - 1];
        if (this->key(e) == key) return &e;
      }
    }
    if (!insert) return nullptr;
    if (2 * (entries_.size() + 1) > slots_.size()) rehash(2 * slots_.size());
    entries_.push_back({arena_.size(), key.size()});
    arena_.append(key);
    place(h, entries_.size());
    return &entries_.back();
  }

  [[nodiscard]] std::string_view key(const Entry& e) const { return std::string_view(arena_).substr(e.key_offset, e.key_size); }
  [[nodiscard]] std::vector<Entry>& entries() { return entries_; }
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

 private:
  // 8 bytes at a time, multiply-xor, then a full avalanche.
  static std::uint64_t hash(std::string_view key) {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ key.size();
    std::size_t i = 0;
    for (; i + 8 <= key.size(); i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, key.data() + i, 8);
      h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
      h ^= h >> 29;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, key.data() + i, key.size() - i);
    return mix64(h ^ tail);
  }
  void place(std::uint64_t h, std::size_t entry_number) {
    std::size_t i = h & (slots_.size() - 1);
    while (slots_[i] != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = (h >> 32 << 32) | entry_number;
  }
  void rehash(std::size_t size) {
    slots_.assign(size, 0);
    for (std::size_t n = 0; n < entries_.size(); ++n) place(hash(key(entries_[n])), n + 1);
  }

  std::vector<std::uint64_t> slots_;
  std::vector<Entry> entries_;
  std::string arena_;
};

// customer \x1f meter: the unit separator cannot appear in sensible ids, so the key is unambiguous.
void make_key(std::string& key, std::string_view customer, std::string_view meter) {
  key.assign(customer);
  key += '\x1f';
  key += meter;
}

std::int64_t floor_to_step(std::int64_t t, std::int64_t step) { return t / step * step - (t % step < 0 ? step : 0); }

struct Columns {
  int index[kFieldCount] = {-1, -1, -1, -1, -1};
};

// Resolves field -> column position from the header and the --map renames.
Columns resolve_columns(const std::string& file, const std::vector<std::string_view>& header, const std::vector<std::string>& column_map) {
  std::string names[kFieldCount];
  for (int f = 0; f < kFieldCount; ++f) names[f] = kUsageFields[f];
  for (const std::string& m : column_map) {
    const auto eq = m.find('=');
    const std::string field = m.substr(0, eq);
    int f = 0;
    while (f < kFieldCount && field != kUsageFields[f]) ++f;
    if (eq == std::string::npos || f == kFieldCount || eq + 1 == m.size())
      throw std::invalid_argument(fmt::format("--map '{}': expected field=column with field one of {}", m, fmt::join(kUsageFields, ", ")));
    names[f] = m.substr(eq + 1);
  }
  Columns c;
  std::vector<std::string> missing;
  for (int f = 0; f < kFieldCount; ++f) {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == names[f]) c.index[f] = static_cast<int>(i);
    if (c.index[f] < 0 && f != kPrice) missing.push_back(fmt::format("'{}' (for {})", names[f], kUsageFields[f]));
  }
  if (!missing.empty())
    throw CsvError(fmt::format("{}: missing column(s) {} in the header: {} (rename with --map field=column)", file, fmt::join(missing, ", "),
                               fmt::join(header, ",")));
  return c;
}

// One parsed data row. Returns a message naming column and value when the row is bad.
struct ParsedRow {
  std::string_view customer, meter;
  std::int64_t time = 0;
  double quantity = 0.0;
  double price = std::numeric_limits<double>::quiet_NaN();
};

// What is wrong with a row: nothing, its quantity (skippable with --skip-bad), or anything else.
enum class RowProblem { none, quantity, other };
struct RowCheck {
  RowProblem problem = RowProblem::none;
  std::string message;
};

RowCheck parse_row(const std::vector<std::string_view>& fields, const Columns& c, const std::vector<std::string_view>& header,
                   ParsedRow& row) {
  const auto other = [](std::string m) { return RowCheck{RowProblem::other, std::move(m)}; };
  const auto quantity = [](std::string m) { return RowCheck{RowProblem::quantity, std::move(m)}; };
  const int needed = *std::max_element(std::begin(c.index), std::end(c.index));
  if (static_cast<int>(fields.size()) <= needed)
    return other(fmt::format("has {} fields, the header has {}", fields.size(), header.size()));
  const auto column = [&](int f) { return fmt::format("column '{}'", header[static_cast<std::size_t>(c.index[f])]); };
  row.customer = fields[static_cast<std::size_t>(c.index[kCustomer])];
  row.meter = fields[static_cast<std::size_t>(c.index[kMeter])];
  if (row.customer.empty()) return other(fmt::format("{} is empty", column(kCustomer)));
  if (row.meter.empty()) return other(fmt::format("{} is empty", column(kMeter)));
  const std::string_view date = fields[static_cast<std::size_t>(c.index[kDate])];
  try {
    row.time = parse_utc_timestamp(date);
  } catch (const std::invalid_argument& e) {
    return other(fmt::format("{}: {}", column(kDate), e.what()));
  }
  const std::string_view q = fields[static_cast<std::size_t>(c.index[kQuantity])];
  const auto [end, ec] = std::from_chars(q.data(), q.data() + q.size(), row.quantity);
  if (ec != std::errc() || end != q.data() + q.size() || q.empty()) return other(fmt::format("{}: '{}' is not a number", column(kQuantity), q));
  if (!std::isfinite(row.quantity)) return quantity(fmt::format("{}: '{}' is not a finite quantity", column(kQuantity), q));
  if (row.quantity < 0.0) return quantity(fmt::format("{}: '{}' is a negative quantity", column(kQuantity), q));
  row.price = std::numeric_limits<double>::quiet_NaN();
  if (c.index[kPrice] >= 0) {
    const std::string_view p = fields[static_cast<std::size_t>(c.index[kPrice])];
    if (!p.empty()) {
      const auto [pend, pec] = std::from_chars(p.data(), p.data() + p.size(), row.price);
      if (pec != std::errc() || pend != p.data() + p.size() || !std::isfinite(row.price) || row.price < 0.0)
        return other(fmt::format("{}: '{}' is not a price (a non-negative number of USD per unit)", column(kPrice), p));
    }
  }
  return {};
}

struct Label {
  std::int64_t series = 0, start = 0, end = 0, line = 0;
  AnomalyKind kind = AnomalyKind::reported;
  bool anomaly = true;
};

// The labels file: customer,meter,start,end[,kind][,verdict]; verdict "anomaly" (default) or "not_anomaly".
std::vector<Label> read_labels(const std::filesystem::path& path, SeriesKeyTable& series, const TimeGrid& grid) {
  const MappedFile file(path);
  const std::string name = path.string();
  CsvScanner scanner(file.text(), name);
  std::vector<std::string_view> fields;
  if (!scanner.next(fields)) throw CsvError(fmt::format("{}: the labels file is empty (expected a header: customer,meter,start,end[,kind][,verdict])", name));
  const std::vector<std::string> header(fields.begin(), fields.end());
  const auto find = [&](const char* col) {
    const auto it = std::find(header.begin(), header.end(), col);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  const int customer = find("customer"), meter = find("meter"), start = find("start"), end = find("end"), kind = find("kind"),
            verdict = find("verdict");
  if (customer < 0 || meter < 0 || start < 0 || end < 0)
    throw CsvError(fmt::format("{}: the labels header must have customer, meter, start and end columns (it has: {})", name, fmt::join(header, ",")));
  std::vector<Label> labels;
  std::string key;
  while (scanner.next(fields)) {
    const auto fail = [&](const std::string& what) { return CsvError(fmt::format("{}:{}: {}", name, scanner.line(), what)); };
    if (fields.size() < header.size()) throw fail(fmt::format("has {} fields, the header has {}", fields.size(), header.size()));
    Label l;
    l.line = scanner.line();
    make_key(key, fields[static_cast<std::size_t>(customer)], fields[static_cast<std::size_t>(meter)]);
    const SeriesKeyTable::Entry* entry = series.find(key, false);
    if (entry == nullptr)
      throw fail(fmt::format("no usage for customer '{}' and meter '{}'", fields[static_cast<std::size_t>(customer)], fields[static_cast<std::size_t>(meter)]));
    l.series = entry->index;
    std::int64_t t0 = 0, t1 = 0;
    try {
      t0 = parse_utc_timestamp(fields[static_cast<std::size_t>(start)]);
      t1 = parse_utc_timestamp(fields[static_cast<std::size_t>(end)]);
    } catch (const std::invalid_argument& e) {
      throw fail(e.what());
    }
    l.start = (floor_to_step(t0, grid.step_seconds) - grid.start_unix_seconds) / grid.step_seconds;
    l.end = (floor_to_step(t1, grid.step_seconds) - grid.start_unix_seconds) / grid.step_seconds;
    if (l.end < l.start) throw fail(fmt::format("end {} is before start {}", fields[static_cast<std::size_t>(end)], fields[static_cast<std::size_t>(start)]));
    if (l.start < 0 || l.end >= grid.steps)
      throw fail(fmt::format("{}..{} is outside the usage's range {}..{}", fields[static_cast<std::size_t>(start)],
                             fields[static_cast<std::size_t>(end)], format_utc_timestamp(grid.start_unix_seconds),
                             format_utc_timestamp(grid.time_at(grid.steps - 1))));
    if (kind >= 0 && !fields[static_cast<std::size_t>(kind)].empty()) {
      const auto k = anomaly_kind_from_string(fields[static_cast<std::size_t>(kind)]);
      if (!k || *k == AnomalyKind::normal || *k == AnomalyKind::gap)
        throw fail(fmt::format("unknown anomaly kind '{}' (known: spike, dip, level_shift, trend_change, seasonality_change, unit_error, "
                               "double_counting, dropped_reporting, stuck_meter, fraud_ramp, reported)",
                               fields[static_cast<std::size_t>(kind)]));
      l.kind = *k;
    }
    if (verdict >= 0) {
      const std::string_view v = fields[static_cast<std::size_t>(verdict)];
      if (v == "not_anomaly" || v == "not an anomaly" || v == "normal") l.anomaly = false;
      else if (!(v.empty() || v == "anomaly")) throw fail(fmt::format("verdict '{}' is neither 'anomaly' nor 'not_anomaly'", v));
    }
    labels.push_back(l);
  }
  std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) {
    return std::tie(a.series, a.start, a.end, a.line) < std::tie(b.series, b.start, b.end, b.line);
  });
  for (std::size_t i = 1; i < labels.size(); ++i) {
    const Label& a = labels[i - 1];
    const Label& b = labels[i];
    if (a.series != b.series) continue;
    if (a.start == b.start && a.end == b.end)
      throw CsvError(fmt::format("{}:{}: duplicates the label on line {}", name, std::max(a.line, b.line), std::min(a.line, b.line)));
    if (b.start <= a.end)
      throw CsvError(fmt::format("{}:{}: overlaps the label on line {} of the same series", name, std::max(a.line, b.line), std::min(a.line, b.line)));
  }
  return labels;
}

}  // namespace

IngestSummary ingest_csv(const IngestOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  IngestSummary summary;
  const std::int64_t step = parse_step(options.step);
  if (kSecondsPerDay % step != 0) throw std::invalid_argument(fmt::format("--step {} does not divide a day (use e.g. 1d or 1h)", options.step));
  StagedOutput output(options.out, options.overwrite);
  const MappedFile file(options.csv);
  const std::string name = options.csv.string();
  std::vector<std::string_view> fields;

  // Pass 1: header, series keys, time range, validation of every row.
  CsvScanner scanner(file.text(), name);
  if (!scanner.next(fields)) throw CsvError(fmt::format("{}: the file is empty (expected a header: customer,meter,date,quantity[,price])", name));
  const std::vector<std::string> header_storage(fields.begin(), fields.end());
  const std::vector<std::string_view> header(header_storage.begin(), header_storage.end());
  const Columns columns = resolve_columns(name, header, options.column_map);
  SeriesKeyTable series;
  std::string key;
  ParsedRow row;
  std::int64_t first = std::numeric_limits<std::int64_t>::max(), last = std::numeric_limits<std::int64_t>::min();
  std::vector<std::int64_t> bad_lines;
  constexpr std::size_t kReleaseEvery = std::size_t{64} << 20;
  std::size_t released = 0;
  while (scanner.next(fields)) {
    ++summary.rows;
    if (scanner.offset() - released > kReleaseEvery) file.release_before(released = scanner.offset());
    const RowCheck check = parse_row(fields, columns, header, row);
    if (check.problem != RowProblem::none) {
      if (!(options.skip_bad && check.problem == RowProblem::quantity))
        throw CsvError(fmt::format("{}:{}: {}{}", name, scanner.line(), check.message,
                                   check.problem == RowProblem::quantity ? " (--skip-bad skips such rows)" : ""));
      if (++summary.skipped_rows <= kMaxReportedBadRows) spdlog::warn("ingest: skipping {}:{}: {}", name, scanner.line(), check.message);
      bad_lines.push_back(scanner.line());
      continue;
    }
    make_key(key, row.customer, row.meter);
    SeriesKeyTable::Entry& entry = *series.find(key, true);
    const std::int64_t t = floor_to_step(row.time, step);
    first = std::min(first, t);
    last = std::max(last, t);
    if (!std::isnan(row.price) && t >= entry.price_time) {  // the latest price is the series' price
      entry.price = row.price;
      entry.price_time = t;
    }
  }
  if (summary.rows == 0) throw CsvError(fmt::format("{}: no data rows after the header", name));
  if (series.entries().empty()) throw CsvError(fmt::format("{}: every one of its {} rows was skipped as bad", name, summary.rows));
  if (summary.skipped_rows > 0) spdlog::warn("ingest: skipped {} bad rows of {} (--skip-bad)", summary.skipped_rows, summary.rows);

  // Sort series by (customer, meter): the dataset does not depend on row order.
  std::vector<SeriesKeyTable::Entry*> sorted;
  sorted.reserve(series.entries().size());
  for (auto& entry : series.entries()) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [&](const auto* a, const auto* b) { return series.key(*a) < series.key(*b); });
  for (std::size_t i = 0; i < sorted.size(); ++i) sorted[i]->index = static_cast<std::int64_t>(i);

  TimeGrid grid{first, step, (last - first) / step + 1};
  summary.series = static_cast<std::int64_t>(sorted.size());
  summary.steps = grid.steps;
  summary.first_step = format_utc_timestamp(first);
  summary.last_step = format_utc_timestamp(last);
  if (grid.steps == 1) spdlog::warn("ingest: all rows fall on one step ({}): detectors will report every series as too short", summary.first_step);

  const std::vector<Label> labels = options.labels.empty() ? std::vector<Label>{} : read_labels(options.labels, series, grid);
  DatasetInfo info;
  info.grid = grid;
  info.series_count = summary.series;
  info.has_labels = !options.labels.empty();
  info.source = "ingested";
  info.scenario = fmt::format("ingest --csv {} --step {}{}{}", name, options.step, options.labels.empty() ? "" : " --labels ",
                              options.labels.string());
  info.tool_version = tool_version();
  DatasetWriter writer(output.temp_path(), info);

  // Pass 2 (more if the matrix exceeds the budget): fill one block of series at a time.
  // Per cell: a double running sum, the float value and a label byte.
  const std::int64_t block = std::clamp<std::int64_t>(
      static_cast<std::int64_t>(options.memory_budget_bytes / (static_cast<std::size_t>(grid.steps) * 13)), 1, summary.series);
  SeriesBlock out;
  std::size_t label_cursor = 0;
  std::size_t bad_cursor = 0;
  for (std::int64_t lo = 0; lo < summary.series; lo += block) {
    ++summary.passes;
    const std::int64_t hi = std::min(lo + block, summary.series);
    out.reset(lo, hi - lo, grid.steps, info.has_labels);
    std::fill(out.values.begin(), out.values.end(), std::numeric_limits<float>::quiet_NaN());
    std::vector<double> sums(static_cast<std::size_t>((hi - lo) * grid.steps), std::numeric_limits<double>::quiet_NaN());
    CsvScanner again(file.text(), name);
    again.next(fields);  // header
    bad_cursor = 0;
    released = 0;
    while (again.next(fields)) {
      if (again.offset() - released > kReleaseEvery) file.release_before(released = again.offset());
      if (bad_cursor < bad_lines.size() && bad_lines[bad_cursor] == again.line()) {
        ++bad_cursor;
        continue;
      }
      parse_row(fields, columns, header, row);
      make_key(key, row.customer, row.meter);
      const std::int64_t index = series.find(key, false)->index;
      if (index < lo || index >= hi) continue;
      double& cell = sums[static_cast<std::size_t>((index - lo) * grid.steps + (floor_to_step(row.time, step) - first) / step)];
      if (std::isnan(cell)) {
        cell = row.quantity;
      } else {
        cell += row.quantity;
        ++summary.summed_rows;
      }
    }
    for (std::size_t i = 0; i < sums.size(); ++i) {
      out.values[i] = static_cast<float>(sums[i]);
      summary.observed_steps += !std::isnan(sums[i]);
    }
    for (std::int64_t i = lo; i < hi; ++i) {
      const SeriesKeyTable::Entry& entry = *sorted[static_cast<std::size_t>(i)];
      const std::string_view full = series.key(entry);
      const auto sep = full.find('\x1f');
      SeriesRecord& r = out.series[static_cast<std::size_t>(i - lo)];
      r.set_ids(full.substr(0, sep), full.substr(sep + 1));
      r.price_per_unit = entry.price;
      r.noise_scale = std::numeric_limits<double>::quiet_NaN();
      r.profile = static_cast<std::uint8_t>(UsageProfile::observed);
      summary.series_without_price += std::isnan(entry.price);
    }
    for (; label_cursor < labels.size() && labels[label_cursor].series < hi; ++label_cursor) {
      const Label& l = labels[label_cursor];
      EventRecord ev;
      ev.series = static_cast<std::uint64_t>(l.series);
      ev.kind = static_cast<std::uint8_t>(l.anomaly ? l.kind : AnomalyKind::normal);
      ev.start = l.start;
      ev.end = l.end;
      ev.effect_end = l.end;
      ev.size_sigma = ev.size_units = ev.impact_usd = std::numeric_limits<double>::quiet_NaN();  // unknown for real data
      out.events.push_back(ev);
      if (l.anomaly) {
        std::fill_n(out.label_row(l.series - lo).begin() + l.start, l.end - l.start + 1, ev.kind);
        ++summary.anomaly_labels;
      } else {
        ++summary.normal_verdicts;
      }
    }
    writer.write(out);
  }
  writer.finish();
  output.commit();
  if (summary.summed_rows > 0)
    spdlog::info("ingest: {} rows shared a series and step with an earlier row and were summed into it", summary.summed_rows);
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return summary;
}

}  // namespace meterbench
