#include "meterbench/ingest/ingest.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <spdlog/spdlog.h>

#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/ingest/date_format.hpp"
#include "meterbench/ingest/input_files.hpp"
#include "meterbench/ingest/rejects.hpp"
#include "meterbench/ingest/series_attributes.hpp"
#include "meterbench/ingest/series_key_table.hpp"
#include "meterbench/ingest/usage_row.hpp"
#include "meterbench/io/csv.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench {

namespace {

using usage_csv::Columns;
using usage_csv::ParsedRow;
using usage_csv::RowCheck;
using usage_csv::RowProblem;
constexpr int kMaxReportedBadRows = 5;

// customer \x1f meter: the unit separator cannot appear in sensible ids, so the key is unambiguous.
void make_key(std::string& key, std::string_view customer, std::string_view meter) {
  key.assign(customer);
  key += '\x1f';
  key += meter;
}

// The step number of a time (see step_number), with the fixed-length steps inline: every row pays it.
std::int64_t row_step(std::int64_t t, std::int64_t step) {
  return step == kSecondsPerMonth ? step_number(t, step) : t / step - (t % step < 0 ? 1 : 0);
}

// The kinds a labels file may name: the anomalies, comma-separated.
std::string anomaly_kind_names() {
  std::string names;
  for (const AnomalyKindTraits& kind : kAnomalyKinds) {
    if (!kind.anomaly) continue;
    if (!names.empty()) names += ", ";
    names += kind.name;
  }
  return names;
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
    if (fields.size() != header.size()) throw fail(fmt::format("has {} fields, the header has {}", fields.size(), header.size()));
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
    l.start = row_step(t0, grid.step_seconds) - row_step(grid.start_unix_seconds, grid.step_seconds);
    l.end = row_step(t1, grid.step_seconds) - row_step(grid.start_unix_seconds, grid.step_seconds);
    if (l.end < l.start) throw fail(fmt::format("end {} is before start {}", fields[static_cast<std::size_t>(end)], fields[static_cast<std::size_t>(start)]));
    if (l.start < 0 || l.end >= grid.steps)
      throw fail(fmt::format("{}..{} is outside the usage's range {}..{}", fields[static_cast<std::size_t>(start)],
                             fields[static_cast<std::size_t>(end)], format_utc_timestamp(grid.start_unix_seconds),
                             format_utc_timestamp(grid.time_at(grid.steps - 1))));
    if (kind >= 0 && !fields[static_cast<std::size_t>(kind)].empty()) {
      const auto k = anomaly_kind_from_string(fields[static_cast<std::size_t>(kind)]);
      if (!k || !traits(*k).anomaly)
        throw fail(fmt::format("unknown anomaly kind '{}' (known: {})", fields[static_cast<std::size_t>(kind)], anomaly_kind_names()));
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

// One parsed row of a chunk, 16 bytes: the series (an id in the chunk's key table), the step (counted from
// the chunk's base step) and the quantity.
struct Record {
  std::uint32_t id = 0;
  std::int32_t step = 0;
  double quantity = 0.0;
};
static_assert(sizeof(Record) == 16);

struct BadRow {
  std::int64_t line = 0;
  std::string message;         // for the log: kept for the first few rows of a chunk only
  std::size_t begin = 0, end = 0;  // the record's bytes, for the rejects file
  const char* reason = "";
  int column = -1;             // the header column refused, -1 for the row as a whole
};

// A byte range of the file parsed by one task. A record belongs to the chunk its first byte is in; the last
// one may run past `end` (a quoted field holding a line break), which the in-order check after the
// parallel parse detects: the next chunk is then parsed again from where this one really ended.
struct Chunk {
  enum class State : std::uint8_t { pending, parsed, failed, skipped };
  std::size_t begin = 0, end = 0;
  State state = State::pending;
  std::int64_t first_line = 1;  // line number the scanner started with (1 = local while parsing in parallel)
  std::size_t end_offset = 0;   // just after the chunk's last record
  std::int64_t end_line = 0;    // line number at end_offset
  std::int64_t rows = 0, skipped = 0;
  std::vector<BadRow> bad;      // the skipped rows (--skip-bad)
  std::size_t table = 0;        // key table that Record::id indexes
  std::int64_t base = 0;        // step number (unix time / step) that Record::step counts from
  std::int64_t first = std::numeric_limits<std::int64_t>::max(), last = std::numeric_limits<std::int64_t>::min();
  std::size_t first_offset = 0, last_offset = 0;  // where the chunk's earliest and latest rows start
  std::vector<Record> records;  // grouped by bucket, in file order within a bucket
  std::array<std::uint32_t, kBuckets + 1> bucket_begin{};

  void clear_records() { std::vector<Record>().swap(records); }
};

struct ParseContext {
  std::string_view text;
  std::string name;
  std::vector<std::string_view> header;
  Columns columns;
  std::int64_t step = 0;
  bool skip_bad = false;
  const usage_csv::DateFormat* date_format = nullptr;  // null: ISO dates
  const usage_csv::CurrencyRates* rates = nullptr;     // --rates: prices converted to USD
};

// Per-thread state: the series keys this thread has seen (ids stable across its chunks) and scratch.
struct ThreadState {
  SeriesKeyTable keys;
  std::size_t number = 0;  // position among the key tables, assigned on first use
  bool numbered = false;
  std::vector<std::string_view> fields;
  std::string key;
  std::vector<Record> rows;
  std::vector<std::uint8_t> buckets;
};

// Where a chunk's keys go: a thread's own table (discovery, inserting) or the finished global table
// (later fill passes, read-only and so shared), with the series range kept.
struct KeyLookup {
  SeriesKeyTable* table = nullptr;
  std::size_t table_number = 0;
  bool discover = true;
  std::int64_t lo = 0, hi = 0;  // fill passes: series kept
};

// Parses the records starting in [begin, c.end) with `first_line` as the line number at `begin`. Throws
// CsvError naming file, line, column and value on bad input (with local line numbers when first_line is
// not the true one: callers re-parse to report it). Keeps the records when `keep`.
void parse_chunk(const ParseContext& ctx, Chunk& c, std::size_t begin, std::int64_t first_line, ThreadState& ts, const KeyLookup& lookup,
                 bool keep) {
  c.first_line = first_line;
  c.rows = c.skipped = 0;
  c.bad.clear();
  c.first = std::numeric_limits<std::int64_t>::max();
  c.last = std::numeric_limits<std::int64_t>::min();
  c.table = lookup.table_number;
  c.clear_records();
  ts.rows.clear();
  ts.buckets.clear();
  CsvScanner scanner(ctx.text, ctx.name, begin, first_line);
  ParsedRow row;
  for (;;) {
    const std::size_t at = scanner.offset();
    const std::int64_t line_at = scanner.next_line();
    if (at >= c.end || !scanner.next(ts.fields) || scanner.record_offset() >= c.end) {
      c.end_offset = at;
      c.end_line = line_at;
      break;
    }
    ++c.rows;
    RowCheck check = usage_csv::parse_row(ts.fields, ctx.columns, ctx.header, ctx.date_format, row);
    if (check.problem == RowProblem::none && ctx.rates != nullptr) usage_csv::convert_price(*ctx.rates, ctx.columns.currency, ctx.header, row, check);
    SeriesKeyTable::Entry* entry = nullptr;
    if (check.problem == RowProblem::none) make_key(ts.key, row.customer, row.meter);
    if (check.problem == RowProblem::none && (entry = lookup.table->find(ts.key, false)) == nullptr) {
      // A key is checked once, when this thread first meets it: keys in its table are valid. Fill passes meet
      // only valid keys (or ones pass 1 skipped).
      if (!lookup.discover) continue;
      if (std::string problem = usage_csv::ids_problem(row, ctx.columns, ctx.header); !problem.empty())
        check = {RowProblem::bad, std::move(problem), "bad id", ctx.columns.index[usage_csv::kCustomer]};
      else
        entry = lookup.table->find(ts.key, true);
    }
    if (check.problem != RowProblem::none) {
      if (!ctx.skip_bad) throw CsvError(fmt::format("{}:{}: {} (--skip-bad skips such rows)", ctx.name, scanner.line(), check.message));
      ++c.skipped;
      c.bad.push_back({scanner.line(), c.bad.size() < kMaxReportedBadRows ? check.message : std::string(), scanner.record_offset(), scanner.offset(),
                       check.reason, check.column});
      continue;
    }
    const std::int64_t s = row_step(row.time, ctx.step);
    const std::int64_t t = ctx.step == kSecondsPerMonth ? step_start(s, ctx.step) : s * ctx.step;
    if (lookup.discover) {
      const auto offset = static_cast<std::int64_t>(scanner.record_offset());
      if (!ctx.columns.keep.empty()) lookup.table->offer_dimensions(*entry, row.dimensions, t, offset);
      if (ctx.columns.currency >= 0 && ctx.rates == nullptr) lookup.table->offer_currency(*entry, row.currency, offset);
      if (t < c.first) {
        c.first = t;
        c.first_offset = scanner.record_offset();
      }
      if (t > c.last) {
        c.last = t;
        c.last_offset = scanner.record_offset();
      }
      entry->offer_price(row.price, t, static_cast<std::int64_t>(scanner.record_offset()));
    } else if (entry->index < lookup.lo || entry->index >= lookup.hi) {
      continue;
    }
    if (!keep) continue;
    if (ts.rows.empty()) c.base = s;
    // Truncation cannot reach the matrix: a file spanning 2^31 steps is refused before the scatter.
    ts.rows.push_back({static_cast<std::uint32_t>(entry - lookup.table->entries().data()), static_cast<std::int32_t>(s - c.base), row.quantity});
    ts.buckets.push_back(static_cast<std::uint8_t>(entry->bucket));
  }
  if (!keep) return;
  // Stable counting sort by bucket, into an exactly sized vector (the scratch is reused across chunks).
  c.bucket_begin.fill(0);
  for (const std::uint8_t b : ts.buckets) ++c.bucket_begin[b + 1];
  for (std::uint32_t b = 0; b < kBuckets; ++b) c.bucket_begin[b + 1] += c.bucket_begin[b];
  std::array<std::uint32_t, kBuckets> cursor{};
  std::copy_n(c.bucket_begin.begin(), kBuckets, cursor.begin());
  c.records.resize(ts.rows.size());
  for (std::size_t i = 0; i < ts.rows.size(); ++i) c.records[cursor[ts.buckets[i]]++] = ts.rows[i];
}

// Adds the kept records of `chunks` (in file order) for series [lo, hi) into `sums` ((hi - lo) x steps,
// NaN where no row yet); returns the number of rows summed into an earlier row. One task per bucket.
std::int64_t scatter(const std::vector<Chunk>& chunks, std::size_t chunk_begin, std::size_t chunk_end,
                     const std::vector<std::vector<std::uint32_t>>& index_of, std::int64_t lo, std::int64_t hi, std::int64_t first_step,
                     std::int64_t steps, std::vector<double>& sums) {
  std::array<std::int64_t, kBuckets> summed{};
  oneapi::tbb::parallel_for(std::uint32_t{0}, kBuckets, [&](std::uint32_t b) {
    std::int64_t n = 0;
    for (std::size_t k = chunk_begin; k < chunk_end; ++k) {
      const Chunk& c = chunks[k];
      if (c.records.empty()) continue;
      const std::vector<std::uint32_t>& index = index_of[c.table];
      const std::int64_t offset = c.base - first_step;
      for (std::uint32_t i = c.bucket_begin[b]; i < c.bucket_begin[b + 1]; ++i) {
        const Record& r = c.records[i];
        const std::int64_t series = index[r.id];
        if (series < lo || series >= hi) continue;
        double& cell = sums[static_cast<std::size_t>((series - lo) * steps + offset + r.step)];
        if (std::isnan(cell)) {
          cell = r.quantity;
        } else {
          cell += r.quantity;
          ++n;
        }
      }
    }
    summed[b] = n;
  });
  std::int64_t total = 0;
  for (const std::int64_t n : summed) total += n;
  return total;
}

// Lines in [from, to): the blank lines between a chunk's last record and the next chunk's start.
std::int64_t count_lines(std::string_view text, std::size_t from, std::size_t to) {
  return static_cast<std::int64_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(from), text.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
}

// Rounds a block's double sums to the dataset's floats and returns the number of observed cells. Each row's
// quantity fits a float, but the sum of many rows on one step need not: the first such cell is refused with
// the message `overflow(cell)`, since it would be stored as infinity.
template <class OverflowMessage>
std::int64_t round_to_floats(const std::vector<double>& sums, SeriesBlock& out, const OverflowMessage& overflow) {
  std::atomic<std::size_t> first_overflow{sums.size()};
  const std::int64_t observed = oneapi::tbb::parallel_reduce(
      oneapi::tbb::blocked_range<std::size_t>(0, sums.size(), std::size_t{1} << 16), std::int64_t{0},
      [&](const auto& r, std::int64_t n) {
        for (std::size_t i = r.begin(); i < r.end(); ++i) {
          out.values[i] = static_cast<float>(sums[i]);
          n += !std::isnan(sums[i]);
          if (std::isinf(out.values[i])) [[unlikely]]
            for (std::size_t f = first_overflow; i < f && !first_overflow.compare_exchange_weak(f, i);) {
            }
        }
        return n;
      },
      std::plus<>());
  if (first_overflow < sums.size()) throw CsvError(overflow(first_overflow.load()));
  return observed;
}

// The series of the file: the per-thread key tables merged (prices by latest step, then file offset, so the
// merge order does not matter) and sorted by (customer, meter), so the dataset does not depend on row order.
struct SeriesIndex {
  SeriesKeyTable series;
  std::vector<SeriesKeyTable::Entry*> sorted;        // by key; an entry's index is its position here
  std::vector<std::vector<std::uint32_t>> index_of;  // key table id -> (entry -> series index); the last is `series`
  std::size_t global_table = 0;                      // the key table id of `series` itself
};

SeriesIndex merge_series(const std::vector<ThreadState*>& thread_states) {
  SeriesIndex merged;
  SeriesKeyTable& series = merged.series;
  std::vector<std::vector<std::uint32_t>>& index_of = merged.index_of;
  index_of.resize(thread_states.size() + 1);
  for (std::size_t t = 0; t < thread_states.size(); ++t) {
    const SeriesKeyTable& keys = thread_states[t]->keys;
    index_of[t].resize(keys.entries().size());
    for (std::size_t k = 0; k < keys.entries().size(); ++k) {
      const SeriesKeyTable::Entry& e = keys.entries()[k];
      SeriesKeyTable::Entry* entry = series.find(keys.key(e), true);
      series.merge_from(*entry, keys, e);
      index_of[t][k] = static_cast<std::uint32_t>(entry - series.entries().data());
    }
  }
  std::vector<SeriesKeyTable::Entry*>& sorted = merged.sorted;
  sorted.reserve(series.entries().size());
  for (auto& entry : series.entries()) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [&](const auto* a, const auto* b) { return series.key(*a) < series.key(*b); });
  for (std::size_t i = 0; i < sorted.size(); ++i) sorted[i]->index = static_cast<std::int64_t>(i);
  for (std::size_t t = 0; t < thread_states.size(); ++t)
    for (std::uint32_t& id : index_of[t]) id = static_cast<std::uint32_t>(series.entries()[id].index);
  merged.global_table = thread_states.size();
  for (const SeriesKeyTable::Entry& e : series.entries()) index_of[merged.global_table].push_back(static_cast<std::uint32_t>(e.index));
  return merged;
}

// The block's /series rows: ids, price, and what real data lacks (noise scale). Returns how many lack a price.
std::int64_t set_series_records(SeriesBlock& out, const SeriesKeyTable& series, const std::vector<SeriesKeyTable::Entry*>& sorted,
                                std::size_t kept_dimensions) {
  std::int64_t without_price = 0;
  out.dimensions.clear(kept_dimensions);
  for (std::int64_t i = out.first_series; i < out.first_series + out.count; ++i) {
    const SeriesKeyTable::Entry& entry = *sorted[static_cast<std::size_t>(i)];
    const std::string_view full = series.key(entry);
    const auto sep = full.find('\x1f');
    SeriesRecord& r = out.series[static_cast<std::size_t>(i - out.first_series)];
    r.set_ids(full.substr(0, sep), full.substr(sep + 1));
    r.price_per_unit = entry.price;
    r.noise_scale = std::numeric_limits<double>::quiet_NaN();
    r.profile = static_cast<std::uint8_t>(UsageProfile::observed);
    without_price += std::isnan(entry.price);
    if (kept_dimensions > 0) usage_csv::decode_dimensions(series.dimensions(entry), out.dimensions);
  }
  return without_price;
}

// The labels of the block's series (sorted by series, from `cursor` on) as events, and anomalies as labels.
void add_labels(SeriesBlock& out, const std::vector<Label>& labels, std::size_t& cursor, IngestSummary& summary) {
  for (; cursor < labels.size() && labels[cursor].series < out.first_series + out.count; ++cursor) {
    const Label& l = labels[cursor];
    EventRecord ev;
    ev.series = static_cast<std::uint64_t>(l.series);
    ev.kind = static_cast<std::uint8_t>(l.anomaly ? l.kind : AnomalyKind::normal);
    ev.start = l.start;
    ev.end = l.end;
    ev.effect_end = l.end;
    ev.size_sigma = ev.size_units = ev.impact_usd = std::numeric_limits<double>::quiet_NaN();  // unknown for real data
    out.events.push_back(ev);
    if (l.anomaly) {
      std::fill_n(out.label_row(l.series - out.first_series).begin() + l.start, l.end - l.start + 1, ev.kind);
      ++summary.anomaly_labels;
    } else {
      ++summary.normal_verdicts;
    }
  }
}

// The steps of the earliest and latest rows of the file, and their lines: what a grid-size error names.
struct RowSpan {
  std::int64_t first = 0, last = 0;
  std::int64_t first_line = 0, last_line = 0;
};

// After the in-order pass (true first lines); ties go to the earlier row in the file.
RowSpan row_span(const std::vector<Chunk>& chunks, std::string_view text) {
  RowSpan span{.first = std::numeric_limits<std::int64_t>::max(), .last = std::numeric_limits<std::int64_t>::min()};
  const Chunk* first_chunk = nullptr;
  const Chunk* last_chunk = nullptr;
  for (const Chunk& c : chunks) {
    if (c.first < span.first) {
      span.first = c.first;
      first_chunk = &c;
    }
    if (c.last > span.last) {
      span.last = c.last;
      last_chunk = &c;
    }
  }
  if (first_chunk != nullptr) span.first_line = first_chunk->first_line + count_lines(text, first_chunk->begin, first_chunk->first_offset);
  if (last_chunk != nullptr) span.last_line = last_chunk->first_line + count_lines(text, last_chunk->begin, last_chunk->last_offset);
  return span;
}

// The grid from the first to the last row's step. A grid longer than the limit is refused unless
// --max-steps allows it: one mistyped date (9999-12-31) would otherwise silently make millions of steps for
// every series, a huge file of gaps.
TimeGrid make_grid(const RowSpan& span, std::int64_t step, const IngestOptions& options, const std::string& name) {
  const TimeGrid grid{span.first, step, row_step(span.last, step) - row_step(span.first, step) + 1};
  const std::int64_t limit = options.max_steps.value_or(step == kSecondsPerMonth ? kDefaultMaxGridDays / 365 * 12 : kDefaultMaxGridDays * (kSecondsPerDay / step));
  const auto where = [&] {
    return fmt::format("{} (line {}) .. {} (line {})", format_utc_timestamp(span.first), span.first_line, format_utc_timestamp(span.last), span.last_line);
  };
  if (grid.steps > limit)
    throw CsvError(fmt::format("{}: the rows span {}: {} steps of {}, more than {}; is a date wrong? --max-steps N allows a longer grid",
                               name, where(), grid.steps, options.step,
                               options.max_steps ? fmt::format("--max-steps {}", limit)
                                                 : fmt::format("the default limit of {} (100 years of {} steps)", limit, options.step)));
  if (grid.steps > std::numeric_limits<std::int32_t>::max())
    throw CsvError(fmt::format("{}: the rows span {}, {} steps of {}: more than 2^31; use a coarser --step", name, where(), grid.steps,
                               options.step));
  return grid;
}

// One ingest's shared state: the mapped file, its chunks and the per-thread parse state, which pass 1 builds
// and the fill uses again.
struct IngestRun {
  const IngestOptions& options;
  const MappedFile& file;
  std::string_view text;
  ParseContext ctx;
  std::size_t data_offset = 0;  // the first byte after the header
  std::int64_t data_line = 0;   // the line of the first data row
  std::vector<Chunk> chunks;
  oneapi::tbb::enumerable_thread_specific<ThreadState> states;
  std::atomic<std::size_t> tables{0};
  std::atomic<bool> keep{true};
  std::atomic<std::size_t> kept_bytes{0};

  IngestRun(const IngestOptions& opts, const MappedFile& mapped, ParseContext context)
      : options(opts), file(mapped), text(mapped.text()), ctx(std::move(context)) {}
  ThreadState& local() {
    ThreadState& ts = states.local();
    if (!ts.numbered) {
      ts.number = tables++;
      ts.numbered = true;
    }
    return ts;
  }
  // Rows are kept as 16-byte records while they fit in half the budget, so that the file is read only once.
  void account(Chunk& c) {
    const std::size_t bytes = c.records.size() * sizeof(Record);
    if (keep && kept_bytes.fetch_add(bytes) + bytes > options.memory_budget_bytes / 2) keep = false;
    if (!keep) c.clear_records();
  }
  void split_into_chunks();
  void parse_rows();
  void count_rows(IngestSummary& summary, const usage_csv::MergedInput& merged) const;
  void fill(SeriesIndex& index, const TimeGrid& grid, const std::vector<Label>& labels, bool has_labels, DatasetWriter& writer,
            IngestSummary& summary);
};

// The data in chunks of about chunk_bytes, each ending just after a line break.
void IngestRun::split_into_chunks() {
  for (std::size_t b = data_offset; b < text.size();) {
    const std::size_t newline = text.find('\n', b + std::min(options.chunk_bytes, text.size() - b) - 1);
    Chunk& c = chunks.emplace_back();
    c.begin = b;
    c.end = b = newline == std::string_view::npos ? text.size() : newline + 1;
  }
}

// Pass 1, parallel over chunks: keys, time range, prices, validation of every row, and the rows while they fit.
// A chunk that starts inside a quoted field (a line break in it crossed the chunk's start) is parsed from
// the wrong place: the check below finds it, but its rows have already put false keys and prices into a
// key table. Then everything is parsed again from the starts found, all on record boundaries by then. Only
// files with quoted line breaks pay this; the output is the same.
void IngestRun::parse_rows() {
  std::atomic<std::size_t> first_failed{std::numeric_limits<std::size_t>::max()};
  for (bool misaligned = true; misaligned;) {
    misaligned = false;
    oneapi::tbb::parallel_for(
        oneapi::tbb::blocked_range<std::size_t>(0, chunks.size(), 1),
        [&](const oneapi::tbb::blocked_range<std::size_t>& range) {
          for (std::size_t k = range.begin(); k < range.end(); ++k) {
            Chunk& c = chunks[k];
            if (k > first_failed) {  // an earlier chunk failed: its error (or an earlier one) is what is reported
              c.state = Chunk::State::skipped;
              continue;
            }
            ThreadState& ts = local();
            try {
              parse_chunk(ctx, c, c.begin, 1, ts, {.table = &ts.keys, .table_number = ts.number}, keep);
              c.state = Chunk::State::parsed;
              account(c);
            } catch (const CsvError&) {
              c.state = Chunk::State::failed;
              c.clear_records();
              for (std::size_t f = first_failed; k < f && !first_failed.compare_exchange_weak(f, k);) {
              }
            }
            file.release(c.begin, c.end);
          }
        },
        oneapi::tbb::simple_partitioner());

    // In file order: chunks that did not start on a record boundary (a quoted line break crossed their start),
    // failed or were skipped are parsed again from where the previous one ended, with true line numbers, so
    // the first bad row of the file is reported exactly as a serial read reports it.
    std::size_t pos = data_offset;
    std::int64_t line = data_line;
    for (Chunk& c : chunks) {
      const bool on_boundary = pos <= c.begin;
      misaligned = misaligned || !on_boundary;
      if (on_boundary) line += count_lines(text, pos, c.begin);  // blank lines only
      const std::size_t start = std::max(pos, c.begin);
      if (!on_boundary || c.state != Chunk::State::parsed) {
        kept_bytes -= c.records.size() * sizeof(Record);
        ThreadState& ts = local();
        parse_chunk(ctx, c, start, line, ts, {.table = &ts.keys, .table_number = ts.number}, keep);
        c.state = Chunk::State::parsed;
        account(c);
      } else {
        for (BadRow& b : c.bad) b.line += line - c.first_line;
        c.end_line += line - c.first_line;
        c.first_line = line;
      }
      c.begin = start;
      pos = c.end_offset;
      line = c.end_line;
    }
    if (misaligned) {
      states.clear();
      tables = 0;
      keep = true;
      kept_bytes = 0;
      first_failed = std::numeric_limits<std::size_t>::max();
      for (Chunk& c : chunks) c.clear_records();
    }
  }
}

// The rows read and the bad rows skipped (the first ones named).
void IngestRun::count_rows(IngestSummary& summary, const usage_csv::MergedInput& merged) const {
  for (const Chunk& c : chunks) {
    summary.rows += c.rows;
    for (const BadRow& b : c.bad)
      if (++summary.skipped_rows <= kMaxReportedBadRows) {
        const auto [file_name, line] = merged.origin(b.line);
        spdlog::warn("ingest: skipping {}:{}: {}", file_name, line, b.message);
      }
    summary.skipped_rows += c.skipped - static_cast<std::int64_t>(c.bad.size());
  }
}

// Fill: one block of series at a time, as many as the budget holds beside the kept records (or, when they
// were dropped, beside a wave of chunks re-parsed per pass). Per cell: a double running sum, the float
// value and a label byte.
void IngestRun::fill(SeriesIndex& index, const TimeGrid& grid, const std::vector<Label>& labels, bool has_labels, DatasetWriter& writer,
                     IngestSummary& summary) {
  SeriesKeyTable& series = index.series;
  const std::vector<SeriesKeyTable::Entry*>& sorted = index.sorted;
  const std::vector<std::vector<std::uint32_t>>& index_of = index.index_of;
  const std::size_t global_table = index.global_table;
  const std::int64_t first = grid.start_unix_seconds;
  const std::int64_t step = ctx.step;
  const std::string& name = ctx.name;
  const bool kept = keep;
  if (!kept)
    for (Chunk& c : chunks) c.clear_records();
  std::size_t records_bytes = 0;
  for (const Chunk& c : chunks) records_bytes += c.records.size() * sizeof(Record);
  // Chunks re-parsed at once when the rows were dropped: a chunk's records take at most its size (a row has
  // at least 17 bytes), its parse scratch as much again; at most half the budget, so a block is never tiny.
  const std::size_t wave = std::clamp<std::size_t>(options.memory_budget_bytes / 2 / (2 * options.chunk_bytes), 1,
                                                   2 * static_cast<std::size_t>(active_threads()));
  const std::size_t reserved = kept ? records_bytes : std::min(2 * wave * options.chunk_bytes, options.memory_budget_bytes / 2);
  const std::size_t row_bytes = static_cast<std::size_t>(grid.steps) * 13;
  const std::int64_t block = std::clamp<std::int64_t>(
      static_cast<std::int64_t>((options.memory_budget_bytes > reserved ? options.memory_budget_bytes - reserved : 0) / row_bytes), 1,
      summary.series);
  spdlog::debug("ingest: {} chunks; {}; {} series per fill pass", chunks.size(),
                kept ? fmt::format("rows kept in memory ({} MiB)", records_bytes >> 20) : std::string("the file is read again in each fill pass"),
                block);
  summary.file_reads = 1;
  SeriesBlock out;
  std::vector<double> sums;
  std::size_t label_cursor = 0;
  for (std::int64_t lo = 0; lo < summary.series; lo += block) {
    ++summary.passes;
    const std::int64_t hi = std::min(lo + block, summary.series);
    out.reset(lo, hi - lo, grid.steps, has_labels);
    const std::size_t cells = static_cast<std::size_t>((hi - lo) * grid.steps);
    sums.resize(cells);
    oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::size_t>(0, cells, std::size_t{1} << 16), [&](const auto& r) {
      std::fill(sums.begin() + static_cast<std::ptrdiff_t>(r.begin()), sums.begin() + static_cast<std::ptrdiff_t>(r.end()),
                std::numeric_limits<double>::quiet_NaN());
    });
    if (kept) {
      summary.summed_rows += scatter(chunks, 0, chunks.size(), index_of, lo, hi, row_step(first, step), grid.steps, sums);
    } else {
      ++summary.file_reads;
      for (std::size_t w = 0; w < chunks.size(); w += wave) {
        const std::size_t w_end = std::min(w + wave, chunks.size());
        oneapi::tbb::parallel_for(
            w, w_end,
            [&](std::size_t k) {
              Chunk& c = chunks[k];
              parse_chunk(ctx, c, c.begin, c.first_line, local(), {.table = &series, .table_number = global_table, .discover = false, .lo = lo, .hi = hi},
                          true);
              file.release(c.begin, c.end);
            });
        summary.summed_rows += scatter(chunks, w, w_end, index_of, lo, hi, row_step(first, step), grid.steps, sums);
        for (std::size_t k = w; k < w_end; ++k) chunks[k].clear_records();
      }
    }
    summary.observed_steps += round_to_floats(sums, out, [&](std::size_t cell) {
      const std::string_view key = series.key(*sorted[static_cast<std::size_t>(lo) + cell / static_cast<std::size_t>(grid.steps)]);
      return fmt::format("{}: the rows of customer '{}', meter '{}' on {} sum to {:g}, more than the largest quantity a dataset stores ({:g}, "
                         "float32)",
                         name, key.substr(0, key.find('\x1f')), key.substr(key.find('\x1f') + 1),
                         format_utc_timestamp(grid.time_at(static_cast<std::int64_t>(cell % static_cast<std::size_t>(grid.steps)))), sums[cell],
                         std::numeric_limits<float>::max());
    });
    summary.series_without_price += set_series_records(out, series, sorted, ctx.columns.keep.size());
    add_labels(out, labels, label_cursor, summary);
    writer.write(out);
  }
}

// Ingests the (merged) text of the inputs into the staged output.
IngestSummary ingest_text(const IngestOptions& options, const usage_csv::DateFormat* date_format, const usage_csv::MergedInput& merged,
                          StagedOutput& output, StagedOutput* rejects) {
  const auto wall_start = std::chrono::steady_clock::now();
  IngestSummary summary;
  const std::int64_t step = parse_step(options.step);
  const MappedFile file(merged.path());
  const std::string name = merged.path().string();
  const std::string_view text = file.text();

  // The header, serially; then the data in chunks, parsed in parallel.
  const std::optional<usage_csv::CurrencyRates> rates =
      options.rates.empty() ? std::nullopt : std::optional<usage_csv::CurrencyRates>(std::in_place, options.rates);
  IngestRun run(options, file, {.text = text, .name = name, .header = {}, .columns = {}, .step = step, .skip_bad = options.skip_bad,
                                      .date_format = date_format, .rates = rates ? &*rates : nullptr});
  std::vector<std::string_view> fields;
  CsvScanner scanner(text, name);
  if (!scanner.next(fields)) throw CsvError(fmt::format("{}: the file is empty (expected a header: customer,meter,date,quantity[,price])", name));
  const std::vector<std::string> header_storage(fields.begin(), fields.end());
  run.ctx.header.assign(header_storage.begin(), header_storage.end());
  run.ctx.columns = usage_csv::resolve_columns(name, run.ctx.header, options.column_map);
  usage_csv::resolve_attribute_columns(name, run.ctx.header, options.keep, options.currency, run.ctx.columns);
  run.ctx.columns.month_dates = step == kSecondsPerMonth;
  run.data_offset = scanner.offset();
  run.data_line = scanner.next_line();
  run.split_into_chunks();
  run.parse_rows();
  run.count_rows(summary, merged);
  if (summary.rows == 0) throw CsvError(fmt::format("{}: no data rows after the header", name));

  std::vector<ThreadState*> thread_states(run.tables);
  for (ThreadState& ts : run.states)
    if (ts.numbered) thread_states[ts.number] = &ts;
  SeriesIndex index = merge_series(thread_states);
  if (index.series.entries().empty()) throw CsvError(fmt::format("{}: every one of its {} rows was skipped as bad", name, summary.rows));
  if (rejects != nullptr) {
    std::vector<usage_csv::RejectedRow> rejected;
    for (const Chunk& c : run.chunks)
      for (const BadRow& b : c.bad) {
        std::string_view raw = text.substr(b.begin, b.end - b.begin);
        while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.remove_suffix(1);
        auto [file_name, line] = merged.origin(b.line);
        rejected.push_back({std::move(file_name), line, b.reason, raw, b.column < 0 ? std::string_view() : run.ctx.header[static_cast<std::size_t>(b.column)]});
      }
    usage_csv::write_rejects(rejects->temp_path(), rejected);
    if (!rejected.empty())
      spdlog::warn("ingest: skipped {} bad rows of {} (--skip-bad): {}; listed in {}", summary.skipped_rows, summary.rows, usage_csv::count_by_reason(rejected),
                   rejects->final_path().string());
  }

  const TimeGrid grid = make_grid(row_span(run.chunks, text), step, options, name);
  summary.series = static_cast<std::int64_t>(index.sorted.size());
  summary.steps = grid.steps;
  summary.first_step = format_utc_timestamp(grid.start_unix_seconds);
  summary.last_step = format_utc_timestamp(grid.time_at(grid.steps - 1));
  if (grid.steps == 1) spdlog::warn("ingest: all rows fall on one step ({}): detectors will report every series as too short", summary.first_step);

  const std::vector<Label> labels = options.labels.empty() ? std::vector<Label>{} : read_labels(options.labels, index.series, grid);
  DatasetInfo info;
  info.grid = grid;
  info.series_count = summary.series;
  info.has_labels = !options.labels.empty();
  info.dimensions = options.keep;
  info.currency = usage_csv::dataset_currency(!options.currency.empty() && !rates, index.series, [&](std::int64_t offset) {
    const auto chunk = std::upper_bound(run.chunks.begin(), run.chunks.end(), static_cast<std::size_t>(offset),
                                        [](std::size_t o, const Chunk& c) { return o < c.begin; }) - 1;
    return fmt::format("{}:{}", name, chunk->first_line + count_lines(text, chunk->begin, static_cast<std::size_t>(offset)));
  });
  info.source = "ingested";
  info.scenario = fmt::format("ingest --csv {}{} --step {}{}{}{}{}{}", merged.description(), date_format ? " --date-format '" + options.date_format + "'" : "",
                              options.step, options.labels.empty() ? "" : " --labels ", options.labels.string(),
                              options.keep.empty() ? "" : fmt::format(" --keep {}", fmt::join(options.keep, ",")),
                              options.currency.empty() ? "" : " --currency " + options.currency, options.rates.empty() ? "" : " --rates " + options.rates.string());
  info.tool_version = tool_version();
  DatasetWriter writer(output.temp_path(), info);
  run.fill(index, grid, labels, info.has_labels, writer, summary);
  writer.finish();
  output.commit();
  if (rejects != nullptr) rejects->commit();
  if (summary.summed_rows > 0)
    spdlog::info("ingest: {} rows shared a series and step with an earlier row and were summed into it", summary.summed_rows);
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return summary;
}

}  // namespace

IngestSummary ingest_csv(const IngestOptions& options) {
  const std::int64_t step = parse_step(options.step);
  if (step != kSecondsPerMonth && kSecondsPerDay % step != 0)
    throw std::invalid_argument(fmt::format("--step {} does not divide a day (use e.g. 1d or 1h, or 1mo for a monthly grid)", options.step));
  if (options.chunk_bytes == 0) throw std::invalid_argument("ingest: the chunk size must be at least one byte");
  if (!options.rates.empty() && options.currency.empty())
    throw std::invalid_argument("--rates converts the currency of --currency COL: name that column too");
  if (options.max_steps && *options.max_steps < 1) throw std::invalid_argument(fmt::format("--max-steps must be at least 1, got {}", *options.max_steps));
  const std::optional<usage_csv::DateFormat> date_format =
      options.date_format.empty() ? std::nullopt : std::optional<usage_csv::DateFormat>(options.date_format);
  std::vector<std::filesystem::path> specs{options.csv};
  specs.insert(specs.end(), options.more_csv.begin(), options.more_csv.end());
  const std::vector<std::filesystem::path> inputs = usage_csv::expand_inputs(specs);
  std::vector<std::filesystem::path> read_paths = inputs;
  if (!options.labels.empty()) read_paths.push_back(options.labels);
  StagedOutput output(options.out, options.overwrite, OutputKind::file, read_paths);
  std::optional<StagedOutput> rejects;
  if (options.skip_bad) rejects.emplace(usage_csv::rejects_path(options.out), options.overwrite, OutputKind::file, read_paths);
  const usage_csv::MergedInput merged(inputs, options.out);
  try {
    return ingest_text(options, date_format ? &*date_format : nullptr, merged, output, rejects ? &*rejects : nullptr);
  } catch (const CsvError& e) {
    throw CsvError(merged.locate(e.what()));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(merged.locate(e.what()));
  }
}

}  // namespace meterbench
