#include "meterbench/io/dataset_file.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <hdf5.h>

#include "meterbench/core/check.hpp"
#include "meterbench/io/dataset_validation.hpp"
#include "meterbench/io/hdf5_support.hpp"

namespace meterbench {

void SeriesRecord::set_ids(std::string_view customer, std::string_view meter) {
  customer_id.assign(customer);
  meter_id.assign(meter);
}

void SeriesRecord::append_to(std::string& bytes) const {
  const auto put = [&](const auto& value) { bytes.append(reinterpret_cast<const char*>(&value), sizeof(value)); };
  put(price_per_unit);
  put(noise_scale);
  put(first_event);
  put(event_count);
  put(profile);
  for (const std::string* id : {&customer_id, &meter_id}) {
    put(static_cast<std::uint64_t>(id->size()));
    bytes.append(*id);
  }
}

std::size_t SeriesRecord::read_from(std::string_view bytes, std::size_t at) {
  const auto take = [&](std::size_t n) {
    if (n > bytes.size() || at > bytes.size() - n) throw std::invalid_argument("a series record is cut short");
    const char* p = bytes.data() + at;
    at += n;
    return p;
  };
  const auto get = [&](auto& value) { std::memcpy(&value, take(sizeof(value)), sizeof(value)); };
  get(price_per_unit);
  get(noise_scale);
  get(first_event);
  get(event_count);
  get(profile);
  for (std::string* id : {&customer_id, &meter_id}) {
    std::uint64_t size = 0;
    get(size);
    const char* text = take(static_cast<std::size_t>(size));
    id->assign(text, static_cast<std::size_t>(size));
  }
  return at;
}

void SeriesBlock::reset(std::int64_t first, std::int64_t n, std::int64_t t, bool with_labels) {
  first_series = first;
  count = n;
  steps = t;
  values.resize(static_cast<std::size_t>(n * t));
  labels.resize(with_labels ? static_cast<std::size_t>(n * t) : 0);
  series.resize(static_cast<std::size_t>(n));
  events.clear();
  dimensions.clear(0);
}

std::int64_t default_chunk_series(std::int64_t steps) {
  constexpr std::int64_t kTargetBytes = 1 << 20;
  return std::clamp<std::int64_t>(kTargetBytes / (std::max<std::int64_t>(steps, 1) * 4), 1, 4096);
}

namespace {

using namespace hdf5;

// Before main: HDF5's first call (anywhere in the process) must come after it.
[[maybe_unused]] const bool kHdf5ShutdownSkipped = skip_hdf5_shutdown_at_exit();

// The numeric fields of a SeriesRecord: one row of /series as it is in memory (its text is in /series_text).
struct SeriesNumbers {
  double price_per_unit;
  double noise_scale;
  std::uint64_t first_event;
  std::uint32_t event_count;
  std::uint8_t profile;
};

void to_numbers(std::span<const SeriesRecord> records, std::vector<SeriesNumbers>& out) {
  out.resize(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const SeriesRecord& r = records[i];
    out[i] = {r.price_per_unit, r.noise_scale, r.first_event, r.event_count, r.profile};
  }
}

void from_numbers(std::span<const SeriesNumbers> numbers, std::span<SeriesRecord> out) {
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    const SeriesNumbers& n = numbers[i];
    SeriesRecord& r = out[i];
    r.price_per_unit = n.price_per_unit;
    r.noise_scale = n.noise_scale;
    r.first_event = n.first_event;
    r.event_count = n.event_count;
    r.profile = n.profile;
  }
}

// Memory layout of SeriesNumbers / EventRecord; the file type is the same, packed (no padding bytes on disk).
Hid series_memory_type() {
  Hid t(H5Tcreate(H5T_COMPOUND, sizeof(SeriesNumbers)), H5Tclose);
  H5Tinsert(t.get(), "price_per_unit", HOFFSET(SeriesNumbers, price_per_unit), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "noise_scale", HOFFSET(SeriesNumbers, noise_scale), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "first_event", HOFFSET(SeriesNumbers, first_event), H5T_NATIVE_UINT64);
  H5Tinsert(t.get(), "event_count", HOFFSET(SeriesNumbers, event_count), H5T_NATIVE_UINT32);
  H5Tinsert(t.get(), "profile", HOFFSET(SeriesNumbers, profile), H5T_NATIVE_UINT8);
  return t;
}

// The per-series text table: cells row-major (customer, meter, then each kept dimension of series 0, then of
// series 1, ...), their UTF-8 bytes concatenated in /series_text and each cell's start offset in
// /series_text_offsets (a cell ends where the next starts, the last one at the end of /series_text).
constexpr const char* kTextColumnsAttribute = "series_text_columns";
constexpr std::int64_t kTextChunkBytes = 1 << 16;

std::vector<std::string> text_columns(const DatasetInfo& info) {
  std::vector<std::string> columns{"customer", "meter"};
  columns.insert(columns.end(), info.dimensions.begin(), info.dimensions.end());
  return columns;
}

Hid event_memory_type() {
  Hid t(H5Tcreate(H5T_COMPOUND, sizeof(EventRecord)), H5Tclose);
  H5Tinsert(t.get(), "series", HOFFSET(EventRecord, series), H5T_NATIVE_UINT64);
  H5Tinsert(t.get(), "kind", HOFFSET(EventRecord, kind), H5T_NATIVE_UINT8);
  H5Tinsert(t.get(), "start", HOFFSET(EventRecord, start), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "end", HOFFSET(EventRecord, end), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "effect_end", HOFFSET(EventRecord, effect_end), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "size_sigma", HOFFSET(EventRecord, size_sigma), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "size_units", HOFFSET(EventRecord, size_units), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "impact_usd", HOFFSET(EventRecord, impact_usd), H5T_NATIVE_DOUBLE);
  return t;
}

// A code -> name lookup table (anomaly kinds, usage profiles), so readers need no meterbench headers.
struct NamedCode {
  std::uint8_t code;
  char name[24];
};

Hid named_code_type() {
  Hid t(H5Tcreate(H5T_COMPOUND, sizeof(NamedCode)), H5Tclose);
  const Hid name_type = fixed_string_type(sizeof(NamedCode::name));
  H5Tinsert(t.get(), "code", HOFFSET(NamedCode, code), H5T_NATIVE_UINT8);
  H5Tinsert(t.get(), "name", HOFFSET(NamedCode, name), name_type.get());
  return t;
}

template <std::size_t N>
void write_code_table(const Context& ctx, hid_t file, const char* name, const std::array<std::string_view, N>& names) {
  std::vector<NamedCode> rows(N);
  for (std::size_t i = 0; i < N; ++i) {
    rows[i].code = static_cast<std::uint8_t>(i);
    std::memset(rows[i].name, 0, sizeof(rows[i].name));
    std::memcpy(rows[i].name, names[i].data(), std::min(names[i].size(), sizeof(rows[i].name)));
  }
  const Hid memory = named_code_type();
  const Hid file_type = packed_copy(memory);
  const hsize_t dims[1] = {N};
  Hid space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  Hid dset(ctx.check_id(H5Dcreate2(file, name, file_type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), name), H5Dclose);
  ctx.check(H5Dwrite(dset.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()), fmt::format("cannot write /{}", name));
}

}  // namespace

// ---------------------------------------------------------------------------------------------- writer

struct DatasetWriter::Impl {
  Context ctx;
  DatasetInfo info;
  std::int64_t chunk_rows = 0;
  Hid file, values, labels, series, events;
  Hid series_type = series_memory_type();
  Hid event_type = event_memory_type();
  std::int64_t next_series = 0;       // first series of the next block expected
  std::int64_t chunk_start = 0;       // first series of the chunk being staged
  std::int64_t staged = 0;            // rows staged for that chunk
  std::vector<float> staged_values;
  std::vector<std::uint8_t> staged_labels;
  std::vector<SeriesRecord> staged_series;
  std::vector<SeriesNumbers> numbers;  // conversion scratch for /series
  Hid text, text_offsets;
  std::int64_t text_columns = 2;
  std::vector<std::uint64_t> pending_offsets;  // start offsets of the cells from offsets_written on (from offsets_begin)
  std::size_t offsets_begin = 0;
  std::int64_t offsets_written = 0;
  std::string pending_text;                    // bytes from text_written on (from text_begin)
  std::size_t text_begin = 0;
  std::int64_t text_written = 0;
  std::uint64_t text_total = 0;                // bytes appended so far
  std::uint64_t events_assigned = 0;  // events given a row so far
  std::vector<EventRecord> pending_events;  // assigned, not yet written
  std::int64_t events_written = 0;
  std::optional<RecordTransfer> record_transfer;  // made under the HDF5 lock, in the constructor
  static constexpr std::int64_t kEventChunkRows = 8192;
  bool finished = false;

  Hid create_dataset(const char* name, hid_t file_type, int rank, const hsize_t* dims, const hsize_t* max_dims,
                     const hsize_t* chunk, int compression_level) {
    // No chunk cache: each chunk is written once, whole and in order, so the file layout never depends on
    // cache eviction order (and so not on block size or thread count).
    return create_chunked_dataset(ctx, file.get(), name, file_type, rank, dims, max_dims, chunk, compression_level, 0);
  }

  void flush_chunk(const float* chunk_values, const std::uint8_t* chunk_labels, SeriesRecord* chunk_series, std::int64_t rows) {
    const std::int64_t t = info.grid.steps;
    transfer_rows(ctx, true, values.get(), H5T_NATIVE_FLOAT, chunk_start, rows, t, const_cast<float*>(chunk_values), "values");
    if (info.has_labels)
      transfer_rows(ctx, true, labels.get(), H5T_NATIVE_UINT8, chunk_start, rows, t, const_cast<std::uint8_t*>(chunk_labels), "labels");
    to_numbers(std::span<const SeriesRecord>(chunk_series, static_cast<std::size_t>(rows)), numbers);
    transfer_rows(ctx, true, series.get(), series_type.get(), chunk_start, rows, 0, numbers.data(), "series", record_transfer->get());
    chunk_start += rows;
    flush_events(false);
    flush_text(false);
  }

  // Appends a block's cells to the pending text (no HDF5 call: the writes happen in flush_text).
  void append_text(const SeriesBlock& block) {
    const auto dims = static_cast<std::size_t>(text_columns - 2);
    if (block.dimensions.columns != dims || block.dimensions.ends.size() != static_cast<std::size_t>(block.count) * dims)
      ctx.fail(fmt::format("block of series {}.. has {} dimension columns and {} cells; the dataset keeps {} dimension(s)", block.first_series,
                           block.dimensions.columns, block.dimensions.ends.size(), dims));
    const auto push = [&](std::string_view cell) {
      pending_offsets.push_back(text_total);
      pending_text.append(cell);
      text_total += cell.size();
    };
    for (std::int64_t i = 0; i < block.count; ++i) {
      const SeriesRecord& r = block.series[static_cast<std::size_t>(i)];
      push(r.customer());
      push(r.meter());
      for (std::size_t d = 0; d < dims; ++d) push(block.dimension(i, d));
    }
  }

  // Writes the offsets of the series on disk (whole chunks of them, as /series) and the whole text chunks
  // those series fill (everything at the end): like the events, a function of the data alone.
  void flush_text(bool all) {
    const std::int64_t pending_cells = static_cast<std::int64_t>(pending_offsets.size() - offsets_begin);
    const std::int64_t cells = all ? pending_cells : std::min(pending_cells, chunk_start * text_columns - offsets_written);
    if (cells > 0) {
      transfer_rows(ctx, true, text_offsets.get(), H5T_NATIVE_UINT64, offsets_written, cells, 0, pending_offsets.data() + offsets_begin,
                    "series_text_offsets");
      offsets_written += cells;
      offsets_begin += static_cast<std::size_t>(cells);
    }
    const std::uint64_t ready_end = offsets_begin < pending_offsets.size() && !all ? pending_offsets[offsets_begin] : text_total;
    std::int64_t take = static_cast<std::int64_t>(ready_end) - text_written;
    if (!all) take -= take % kTextChunkBytes;
    if (take > 0) {
      const hsize_t new_size[1] = {static_cast<hsize_t>(text_written + take)};
      ctx.check(H5Dset_extent(text.get(), new_size), "cannot extend /series_text");
      transfer_rows(ctx, true, text.get(), H5T_NATIVE_UINT8, text_written, take, 0, pending_text.data() + text_begin, "series_text");
      text_written += take;
      text_begin += static_cast<std::size_t>(take);
    }
    // Drop what is written once it is most of the buffers (amortised: no quadratic erasing).
    if (2 * offsets_begin > pending_offsets.size()) {
      pending_offsets.erase(pending_offsets.begin(), pending_offsets.begin() + static_cast<std::ptrdiff_t>(offsets_begin));
      offsets_begin = 0;
    }
    if (2 * text_begin > pending_text.size()) {
      pending_text.erase(0, text_begin);
      text_begin = 0;
    }
  }

  // Writes whole event chunks whose series are all on disk already (or everything at the end), so the
  // interleaving of event and value writes is a function of the data alone.
  void flush_events(bool all) {
    std::size_t ready = 0;
    while (ready < pending_events.size() && static_cast<std::int64_t>(pending_events[ready].series) < chunk_start) ++ready;
    const std::size_t take = all ? pending_events.size() : ready - ready % kEventChunkRows;
    for (std::size_t offset = 0; offset < take;) {
      const std::size_t n = std::min<std::size_t>(take - offset, kEventChunkRows);
      const hsize_t new_size[1] = {static_cast<hsize_t>(events_written) + n};
      ctx.check(H5Dset_extent(events.get(), new_size), "cannot extend /events");
      transfer_rows(ctx, true, events.get(), event_type.get(), events_written, static_cast<std::int64_t>(n), 0,
                    pending_events.data() + offset, "events", record_transfer->get());
      events_written += static_cast<std::int64_t>(n);
      offset += n;
    }
    pending_events.erase(pending_events.begin(), pending_events.begin() + static_cast<std::ptrdiff_t>(take));
  }
};

DatasetWriter::DatasetWriter(const std::filesystem::path& path, const DatasetInfo& info, DatasetWriteOptions options)
    : impl_(std::make_unique<Impl>()) {
  std::lock_guard lock(hdf5_mutex());
  try {
    silence_hdf5_errors();
    Impl& w = *impl_;
    w.ctx.file = path.string();
    w.info = info;
    info.grid.validate();
    if (info.series_count <= 0) w.ctx.fail(fmt::format("a dataset needs at least one series, got {}", info.series_count));
    if (options.compression_level < 0 || options.compression_level > 9)
      w.ctx.fail(fmt::format("compression level must be 0..9, got {}", options.compression_level));
    const std::int64_t t = info.grid.steps;
    w.chunk_rows = std::min(options.chunk_series > 0 ? options.chunk_series : default_chunk_series(t), info.series_count);
    w.staged_values.resize(static_cast<std::size_t>(w.chunk_rows * t));
    if (info.has_labels) w.staged_labels.resize(static_cast<std::size_t>(w.chunk_rows * t));
    w.staged_series.resize(static_cast<std::size_t>(w.chunk_rows));

    Hid fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
    H5Pset_obj_track_times(fcpl.get(), false);
    w.file = Hid(w.ctx.check_id(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.get(), checksummed_file_access(w.ctx).get()), "cannot create the file"), H5Fclose);
    w.record_transfer.emplace(w.ctx);
    const hid_t root = w.file.get();
    write_string_attribute(w.ctx, root, "format", std::string(kDatasetFormatName));
    write_scalar_attribute(w.ctx, root, "format_version", H5T_STD_I64LE, H5T_NATIVE_INT64, info.format_version);
    write_string_attribute(w.ctx, root, "tool_version", info.tool_version);
    write_string_attribute(w.ctx, root, "source", info.source);
    write_string_attribute(w.ctx, root, "scenario", info.scenario);
    write_scalar_attribute(w.ctx, root, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, info.seed);
    write_string_attribute(w.ctx, root, "start", format_utc_timestamp(info.grid.start_unix_seconds));
    write_scalar_attribute(w.ctx, root, "start_unix_seconds", H5T_STD_I64LE, H5T_NATIVE_INT64, info.grid.start_unix_seconds);
    write_string_attribute(w.ctx, root, "step", format_step(info.grid.step_seconds));
    write_scalar_attribute(w.ctx, root, "step_seconds", H5T_STD_I64LE, H5T_NATIVE_INT64, info.grid.step_seconds);
    write_scalar_attribute(w.ctx, root, "series_count", H5T_STD_I64LE, H5T_NATIVE_INT64, info.series_count);
    write_scalar_attribute(w.ctx, root, "steps", H5T_STD_I64LE, H5T_NATIVE_INT64, t);
    write_scalar_attribute(w.ctx, root, "has_labels", H5T_STD_U8LE, H5T_NATIVE_UINT8, static_cast<std::uint8_t>(info.has_labels));
    write_string_attribute(w.ctx, root, "currency", info.currency);
    write_string_array_attribute(w.ctx, root, kTextColumnsAttribute, text_columns(info));

    const hsize_t dims2[2] = {static_cast<hsize_t>(info.series_count), static_cast<hsize_t>(t)};
    const hsize_t chunk2[2] = {static_cast<hsize_t>(w.chunk_rows), static_cast<hsize_t>(t)};
    w.values = w.create_dataset("values", H5T_IEEE_F32LE, 2, dims2, nullptr, chunk2, options.compression_level);
    if (info.has_labels) w.labels = w.create_dataset("labels", H5T_STD_U8LE, 2, dims2, nullptr, chunk2, options.compression_level);
    const Hid series_file_type = packed_copy(w.series_type);
    const hsize_t dims1[1] = {static_cast<hsize_t>(info.series_count)};
    const hsize_t chunk1[1] = {static_cast<hsize_t>(w.chunk_rows)};
    w.series = w.create_dataset("series", series_file_type.get(), 1, dims1, nullptr, chunk1, options.compression_level);
    w.text_columns = static_cast<std::int64_t>(2 + info.dimensions.size());
    const hsize_t cells[1] = {static_cast<hsize_t>(info.series_count * w.text_columns)};
    const hsize_t cell_chunk[1] = {static_cast<hsize_t>(w.chunk_rows * w.text_columns)};
    w.text_offsets = w.create_dataset("series_text_offsets", H5T_STD_U64LE, 1, cells, nullptr, cell_chunk, options.compression_level);
    {
      const hsize_t zero[1] = {0};
      const hsize_t unlimited[1] = {H5S_UNLIMITED};
      const hsize_t text_chunk[1] = {static_cast<hsize_t>(kTextChunkBytes)};
      w.text = w.create_dataset("series_text", H5T_STD_U8LE, 1, zero, unlimited, text_chunk, options.compression_level);
    }
    if (info.has_labels) {
      const Hid event_file_type = packed_copy(w.event_type);
      const hsize_t zero[1] = {0};
      const hsize_t unlimited[1] = {H5S_UNLIMITED};
      const hsize_t event_chunk[1] = {static_cast<hsize_t>(Impl::kEventChunkRows)};
      w.events = w.create_dataset("events", event_file_type.get(), 1, zero, unlimited, event_chunk, options.compression_level);
      write_code_table(w.ctx, root, "anomaly_kinds", kAnomalyKindNames);
    }
    write_code_table(w.ctx, root, "usage_profiles", kUsageProfileNames);
  } catch (...) {
    impl_.reset();  // its HDF5 handles close while the lock is held
    throw;
  }
}

DatasetWriter::~DatasetWriter() {
  std::lock_guard lock(hdf5_mutex());  // closing handles is an HDF5 call too
  impl_.reset();
}

void DatasetWriter::write(SeriesBlock& block) {
  std::lock_guard lock(hdf5_mutex());
  Impl& w = *impl_;
  METERBENCH_CHECK(!w.finished);
  const std::int64_t t = w.info.grid.steps;
  if (block.first_series != w.next_series || block.steps != t || block.first_series + block.count > w.info.series_count)
    w.ctx.fail(fmt::format("block of series {}..{} ({} steps) does not follow series {} of {} ({} steps)", block.first_series,
                           block.first_series + block.count - 1, block.steps, w.next_series, w.info.series_count, t));
  if (w.info.has_labels && static_cast<std::int64_t>(block.labels.size()) != block.count * t)
    w.ctx.fail("block has no labels but the dataset does");

  // Give every event its row in /events and every series its first_event / event_count.
  std::size_t e = 0;
  for (std::int64_t i = 0; i < block.count; ++i) {
    SeriesRecord& s = block.series[static_cast<std::size_t>(i)];
    const auto index = static_cast<std::uint64_t>(block.first_series + i);
    s.first_event = w.events_assigned + e;
    while (e < block.events.size() && block.events[e].series == index) ++e;
    s.event_count = static_cast<std::uint32_t>(w.events_assigned + e - s.first_event);
  }
  if (e != block.events.size()) w.ctx.fail("block events are not sorted by series or name a series outside the block");
  w.events_assigned += e;
  w.pending_events.insert(w.pending_events.end(), block.events.begin(), block.events.end());
  w.append_text(block);

  // Re-cut the block into whole chunks: write straight from the block when a chunk lies inside it, else stage.
  std::int64_t row = 0;
  while (row < block.count) {
    const std::int64_t rows_left = block.count - row;
    if (w.staged == 0 && rows_left >= w.chunk_rows) {
      w.flush_chunk(block.values.data() + row * t, w.info.has_labels ? block.labels.data() + row * t : nullptr,
                    block.series.data() + row, w.chunk_rows);
      row += w.chunk_rows;
      continue;
    }
    const std::int64_t n = std::min(rows_left, w.chunk_rows - w.staged);
    std::copy_n(block.values.data() + row * t, n * t, w.staged_values.data() + w.staged * t);
    if (w.info.has_labels) std::copy_n(block.labels.data() + row * t, n * t, w.staged_labels.data() + w.staged * t);
    std::copy_n(block.series.data() + row, n, w.staged_series.data() + w.staged);
    w.staged += n;
    row += n;
    if (w.staged == w.chunk_rows) {
      w.flush_chunk(w.staged_values.data(), w.staged_labels.data(), w.staged_series.data(), w.staged);
      w.staged = 0;
    }
  }
  w.next_series += block.count;
}

void DatasetWriter::finish() {
  std::lock_guard lock(hdf5_mutex());
  Impl& w = *impl_;
  METERBENCH_CHECK(!w.finished);
  if (w.next_series != w.info.series_count)
    w.ctx.fail(fmt::format("only {} of {} series were written", w.next_series, w.info.series_count));
  if (w.staged > 0) w.flush_chunk(w.staged_values.data(), w.staged_labels.data(), w.staged_series.data(), w.staged);
  w.staged = 0;
  if (w.info.has_labels) w.flush_events(true);
  w.flush_text(true);
  w.values.reset();
  w.labels.reset();
  w.series.reset();
  w.events.reset();
  w.text.reset();
  w.text_offsets.reset();
  w.ctx.check(H5Fflush(w.file.get(), H5F_SCOPE_GLOBAL), "cannot flush the file");
  w.file.reset();
  w.finished = true;
}

// ---------------------------------------------------------------------------------------------- reader

struct DatasetReader::Impl {
  Context ctx;
  std::filesystem::path path;
  DatasetInfo info;
  Hid file, values, labels, series, events, text, text_offsets;
  Hid series_type = series_memory_type();
  Hid event_type = event_memory_type();
  std::int64_t event_rows = 0;
  std::optional<RecordTransfer> record_transfer;  // made under the HDF5 lock, in the constructor
  dataset_rules::IdRegistry ids;
  std::int64_t text_columns = 2;
  std::uint64_t text_size = 0;
  std::vector<SeriesNumbers> numbers;
  std::vector<std::uint64_t> offsets;
  std::string text_bytes;

  // Series [first, first + count) of /series into `out` (numbers, then ids and, when `dimensions`, kept dimensions).
  void read_records(std::int64_t first, std::int64_t count, std::span<SeriesRecord> out, SeriesDimensions* dimensions) {
    numbers.resize(static_cast<std::size_t>(count));
    transfer_rows(ctx, false, series.get(), series_type.get(), first, count, 0, numbers.data(), "series", record_transfer->get());
    from_numbers(numbers, out);
    read_text(first, count, out, dimensions);
  }

  void read_text(std::int64_t first, std::int64_t count, std::span<SeriesRecord> out, SeriesDimensions* dimensions) {
    const auto columns = static_cast<std::size_t>(text_columns);
    if (dimensions != nullptr) dimensions->clear(columns - 2);
    if (count == 0) return;
    const bool to_end = first + count == info.series_count;
    const std::int64_t cells = count * text_columns;
    offsets.resize(static_cast<std::size_t>(cells + (to_end ? 0 : 1)));
    transfer_rows(ctx, false, text_offsets.get(), H5T_NATIVE_UINT64, first * text_columns, static_cast<std::int64_t>(offsets.size()), 0,
                  offsets.data(), "series_text_offsets");
    if (to_end) offsets.push_back(text_size);
    dataset_rules::check_text_offsets(ctx.file, first * text_columns, offsets, text_size);
    const std::uint64_t begin = offsets.front();
    text_bytes.resize(static_cast<std::size_t>(offsets.back() - begin));
    transfer_rows(ctx, false, text.get(), H5T_NATIVE_UINT8, static_cast<std::int64_t>(begin), static_cast<std::int64_t>(text_bytes.size()), 0,
                  text_bytes.data(), "series_text");
    const auto cell = [&](std::size_t k) {
      return std::string_view(text_bytes).substr(static_cast<std::size_t>(offsets[k] - begin), static_cast<std::size_t>(offsets[k + 1] - offsets[k]));
    };
    for (std::size_t i = 0; i < static_cast<std::size_t>(count); ++i) {
      SeriesRecord& r = out[i];
      r.set_ids(cell(i * columns), cell(i * columns + 1));
      dataset_rules::check_ids(ctx.file, first + static_cast<std::int64_t>(i), r);
      if (dimensions != nullptr)
        for (std::size_t d = 2; d < columns; ++d) dimensions->push(cell(i * columns + d));
    }
  }

  // Registers the (customer, meter) pairs of a block read in order; a repeated hash is confirmed against the
  // earlier rows (read again from the file: rare), so a hash collision is never reported as a duplicate.
  void register_ids(std::int64_t first, std::span<const SeriesRecord> block_series) {
    const auto [begin, end] = ids.unregistered(first, static_cast<std::int64_t>(block_series.size()));
    for (std::int64_t row = begin; row < end; ++row) {
      const SeriesRecord& record = block_series[static_cast<std::size_t>(row - first)];
      if (!ids.insert(record)) find_earlier_duplicate(row, record);
    }
    if (end > begin) ids.registered_through(begin, end);
  }

  void find_earlier_duplicate(std::int64_t row, const SeriesRecord& record) {
    std::vector<SeriesRecord> earlier;
    constexpr std::int64_t kPiece = 4096;
    for (std::int64_t at = ids.begin() < 0 ? 0 : ids.begin(); at < row; at += kPiece) {
      const std::int64_t n = std::min(kPiece, row - at);
      earlier.resize(static_cast<std::size_t>(n));
      read_text(at, n, earlier, nullptr);
      for (std::int64_t i = 0; i < n; ++i)
        if (dataset_rules::same_ids(earlier[static_cast<std::size_t>(i)], record)) dataset_rules::fail_duplicate_ids(ctx.file, at + i, row, record);
    }
  }

  // `rows` < 0: any number of rows, stored in *extent.
  Hid open_dataset(const char* name, int rank, std::int64_t rows, std::int64_t columns, std::int64_t* extent = nullptr) {
    if (H5Lexists(file.get(), name, H5P_DEFAULT) <= 0) ctx.fail(fmt::format("dataset /{} is missing", name));
    // The chunk cache only pays for filtered chunks, which must be decompressed whole (a block's edge chunk is
    // then inflated once, not twice). Unfiltered chunks skip it: with no cache, H5Dread reads the selected
    // rows straight into the caller's buffer, where a cached read allocates and zeroes a chunk, reads into it
    // and copies it out, churning the allocator (fresh pages, page faults). The cache is fixed when a dataset
    // is opened, so a filtered one is opened again with its cache.
    const auto open = [&](std::size_t cache_bytes) {
      Hid dapl(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
      H5Pset_chunk_cache(dapl.get(), 521, cache_bytes, H5D_CHUNK_CACHE_W0_DEFAULT);
      return Hid(ctx.check_id(H5Dopen2(file.get(), name, dapl.get()), name), H5Dclose);
    };
    Hid d = open(0);
    Hid dcpl(H5Dget_create_plist(d.get()), H5Pclose);
    if (!dcpl.valid() || H5Pget_nfilters(dcpl.get()) != 0) {
      d.reset();  // closed first: a second open of an open dataset would share its cache
      d = open(16u << 20);
    }
    Hid space(H5Dget_space(d.get()), H5Sclose);
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(space.get()) != rank) ctx.fail(fmt::format("dataset /{} should have {} dimension(s)", name, rank));
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    if ((rows >= 0 && dims[0] != static_cast<hsize_t>(rows)) || (rank == 2 && dims[1] != static_cast<hsize_t>(columns)))
      ctx.fail(fmt::format("dataset /{} has shape {}x{}, expected {}x{}", name, dims[0], rank == 2 ? dims[1] : 1, rows,
                           rank == 2 ? columns : 1));
    if (extent != nullptr) *extent = static_cast<std::int64_t>(dims[0]);
    require_every_chunk(d.get(), space.get(), name, dims[0]);
    return d;
  }

  // The reader opens unfiltered datasets without a chunk cache, and with no fill value a read of a chunk
  // never written (a file whose writer did not finish) leaves the caller's buffer as it was: a recycled
  // block would silently keep the previous block's series. So every chunk must be on disk.
  void require_every_chunk(hid_t dataset, hid_t space, const char* name, hsize_t rows) {
    Hid dcpl(H5Dget_create_plist(dataset), H5Pclose);
    if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return;  // contiguous: allocated whole
    hsize_t chunk[2] = {0, 0};
    if (H5Pget_chunk(dcpl.get(), 2, chunk) < 1 || chunk[0] == 0) ctx.fail(fmt::format("dataset /{} has no chunk size", name));
    const hsize_t expected = (rows + chunk[0] - 1) / chunk[0];
    hsize_t written = 0;
    ctx.check(H5Dget_num_chunks(dataset, space, &written), fmt::format("cannot count the chunks of /{}", name));
    if (written != expected)
      ctx.fail(fmt::format("dataset /{} has {} of its {} chunks written (the file was not finished?)", name, written, expected));
  }
};

DatasetReader::DatasetReader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()) {
  std::lock_guard lock(hdf5_mutex());
  try {
    silence_hdf5_errors();
    Impl& r = *impl_;
    r.path = path;
    r.ctx.file = path.string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) r.ctx.fail("no such file");
    if (std::filesystem::is_directory(path, ec)) r.ctx.fail("is a directory, not a dataset file");
    require_checksummed_format(r.ctx, path);
    if (H5Fis_hdf5(path.c_str()) <= 0) r.ctx.fail("not an HDF5 file (or it is corrupt)");
    r.file = Hid(r.ctx.check_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open the HDF5 file (corrupt or truncated?)"), H5Fclose);
    const hid_t root = r.file.get();
    if (!has_attribute(r.ctx, root, "format")) r.ctx.fail("not a meterbench dataset (the root group has no 'format' attribute)");
    const std::string format = read_string_attribute(r.ctx, root, "format");
    if (format != kDatasetFormatName)
      r.ctx.fail(fmt::format("not a meterbench dataset (format is '{}', expected '{}')", format, kDatasetFormatName));
    DatasetInfo& info = r.info;
    info.format_version = read_scalar_attribute<std::int64_t>(r.ctx, root, "format_version", H5T_NATIVE_INT64);
    if (info.format_version == 2)
      r.ctx.fail("dataset format version 2 (ids in fixed 64-byte fields) is no longer read: regenerate or re-ingest it with this meterbench "
                 "(version 3 stores ids of any length and kept dimensions)");
    if (info.format_version < kOldestDatasetFormatVersion || info.format_version > kDatasetFormatVersion)
      r.ctx.fail(fmt::format("dataset format version {} is not supported (this meterbench reads versions {} to {})", info.format_version,
                             kOldestDatasetFormatVersion, kDatasetFormatVersion));
    info.tool_version = read_string_attribute(r.ctx, root, "tool_version");
    info.source = read_string_attribute(r.ctx, root, "source");
    info.scenario = read_string_attribute(r.ctx, root, "scenario");
    info.seed = read_scalar_attribute<std::uint64_t>(r.ctx, root, "seed", H5T_NATIVE_UINT64);
    info.grid.start_unix_seconds = read_scalar_attribute<std::int64_t>(r.ctx, root, "start_unix_seconds", H5T_NATIVE_INT64);
    info.grid.step_seconds = read_scalar_attribute<std::int64_t>(r.ctx, root, "step_seconds", H5T_NATIVE_INT64);
    info.grid.steps = read_scalar_attribute<std::int64_t>(r.ctx, root, "steps", H5T_NATIVE_INT64);
    info.series_count = read_scalar_attribute<std::int64_t>(r.ctx, root, "series_count", H5T_NATIVE_INT64);
    const auto has_labels = read_scalar_attribute<std::uint8_t>(r.ctx, root, "has_labels", H5T_NATIVE_UINT8);
    if (has_labels > 1) r.ctx.fail(fmt::format("attribute 'has_labels' is {}, expected 0 or 1", has_labels));
    info.has_labels = has_labels == 1;
    dataset_rules::check_attributes(r.ctx.file, info, read_string_attribute(r.ctx, root, "start"), read_string_attribute(r.ctx, root, "step"));
    info.currency = read_string_attribute(r.ctx, root, "currency");
    const std::vector<std::string> columns = read_string_array_attribute(r.ctx, root, kTextColumnsAttribute);
    if (columns.size() < 2 || columns[0] != "customer" || columns[1] != "meter")
      r.ctx.fail(fmt::format("attribute '{}' should start with customer, meter", kTextColumnsAttribute));
    info.dimensions.assign(columns.begin() + 2, columns.end());
    r.text_columns = static_cast<std::int64_t>(columns.size());
    r.record_transfer.emplace(r.ctx);
    r.values = r.open_dataset("values", 2, info.series_count, info.grid.steps);
    r.series = r.open_dataset("series", 1, info.series_count, 0);
    r.text_offsets = r.open_dataset("series_text_offsets", 1, info.series_count * r.text_columns, 0);
    std::int64_t text_size = 0;
    r.text = r.open_dataset("series_text", 1, -1, 0, &text_size);
    r.text_size = static_cast<std::uint64_t>(text_size);
    if (info.has_labels) {
      r.labels = r.open_dataset("labels", 2, info.series_count, info.grid.steps);
      r.events = r.open_dataset("events", 1, -1, 0, &r.event_rows);
    }
  } catch (...) {
    impl_.reset();  // its HDF5 handles close while the lock is held
    throw;
  }
}

DatasetReader::~DatasetReader() {
  std::lock_guard lock(hdf5_mutex());
  impl_.reset();
}

const DatasetInfo& DatasetReader::info() const { return impl_->info; }
const std::filesystem::path& DatasetReader::path() const { return impl_->path; }
std::int64_t DatasetReader::event_count() const { return impl_->event_rows; }

void DatasetReader::read(std::int64_t first, std::int64_t count, SeriesBlock& block) {
  std::lock_guard lock(hdf5_mutex());
  Impl& r = *impl_;
  const std::int64_t t = r.info.grid.steps;
  if (first < 0 || count < 0 || first + count > r.info.series_count)
    r.ctx.fail(fmt::format("series {}..{} are outside the dataset's {} series", first, first + count - 1, r.info.series_count));
  block.reset(first, count, t, r.info.has_labels);
  transfer_rows(r.ctx, false, r.values.get(), H5T_NATIVE_FLOAT, first, count, t, block.values.data(), "values");
  dataset_rules::check_values(r.ctx.file, first, t, block.values);
  r.read_records(first, count, block.series, &block.dimensions);
  dataset_rules::check_series(r.ctx.file, first, r.info.series_count, block.series, r.info.has_labels, r.event_rows);
  r.register_ids(first, block.series);
  if (!r.info.has_labels || count == 0) return;
  transfer_rows(r.ctx, false, r.labels.get(), H5T_NATIVE_UINT8, first, count, t, block.labels.data(), "labels");
  dataset_rules::check_labels(r.ctx.file, first, t, block.labels);
  // check_series made these rows contiguous and inside /events.
  const std::uint64_t event_begin = block.series.front().first_event;
  const std::uint64_t event_end = block.series.back().first_event + block.series.back().event_count;
  block.events.resize(event_end - event_begin);
  transfer_rows(r.ctx, false, r.events.get(), r.event_type.get(), static_cast<std::int64_t>(event_begin),
                static_cast<std::int64_t>(event_end - event_begin), 0, block.events.data(), "events", r.record_transfer->get());
  dataset_rules::check_block_events(r.ctx.file, t, first, block.series, block.events);
}

void DatasetReader::read_values(std::int64_t first, std::int64_t count, std::vector<float>& values) {
  std::lock_guard lock(hdf5_mutex());
  Impl& r = *impl_;
  const std::int64_t t = r.info.grid.steps;
  if (first < 0 || count < 0 || first + count > r.info.series_count)
    r.ctx.fail(fmt::format("series {}..{} are outside the dataset's {} series", first, first + count - 1, r.info.series_count));
  values.resize(static_cast<std::size_t>(count * t));
  transfer_rows(r.ctx, false, r.values.get(), H5T_NATIVE_FLOAT, first, count, t, values.data(), "values");
  dataset_rules::check_values(r.ctx.file, first, t, values);
}

void DatasetReader::read_series_records(std::int64_t first, std::int64_t count, std::vector<SeriesRecord>& records) {
  std::lock_guard lock(hdf5_mutex());
  Impl& r = *impl_;
  if (first < 0 || count < 0 || first + count > r.info.series_count)
    r.ctx.fail(fmt::format("series {}..{} are outside the dataset's {} series", first, first + count - 1, r.info.series_count));
  records.resize(static_cast<std::size_t>(count));
  r.read_records(first, count, records, nullptr);
}

std::vector<EventRecord> DatasetReader::read_all_events() {
  std::lock_guard lock(hdf5_mutex());
  Impl& r = *impl_;
  std::vector<EventRecord> out(static_cast<std::size_t>(r.event_rows));
  if (r.info.has_labels)
    transfer_rows(r.ctx, false, r.events.get(), r.event_type.get(), 0, r.event_rows, 0, out.data(), "events", r.record_transfer->get());
  dataset_rules::check_all_events(r.ctx.file, r.info.grid.steps, r.info.series_count, out);
  return out;
}

}  // namespace meterbench
