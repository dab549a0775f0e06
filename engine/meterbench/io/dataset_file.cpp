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
  if (customer.size() >= kIdCapacity)
    throw std::invalid_argument(fmt::format("customer id '{}' is {} bytes long; at most {} are supported", customer, customer.size(), kIdCapacity - 1));
  if (meter.size() >= kIdCapacity)
    throw std::invalid_argument(fmt::format("meter id '{}' is {} bytes long; at most {} are supported", meter, meter.size(), kIdCapacity - 1));
  std::memset(customer_id, 0, kIdCapacity);
  std::memset(meter_id, 0, kIdCapacity);
  std::memcpy(customer_id, customer.data(), customer.size());
  std::memcpy(meter_id, meter.data(), meter.size());
}

void SeriesBlock::reset(std::int64_t first, std::int64_t n, std::int64_t t, bool with_labels) {
  first_series = first;
  count = n;
  steps = t;
  values.resize(static_cast<std::size_t>(n * t));
  labels.resize(with_labels ? static_cast<std::size_t>(n * t) : 0);
  series.resize(static_cast<std::size_t>(n));
  events.clear();
}

std::int64_t default_chunk_series(std::int64_t steps) {
  constexpr std::int64_t kTargetBytes = 1 << 20;
  return std::clamp<std::int64_t>(kTargetBytes / (std::max<std::int64_t>(steps, 1) * 4), 1, 4096);
}

namespace {

using namespace hdf5;

// Before main: HDF5's first call (anywhere in the process) must come after it.
[[maybe_unused]] const bool kHdf5ShutdownSkipped = skip_hdf5_shutdown_at_exit();

// Memory layout of SeriesRecord / EventRecord; the file type is the same, packed (no padding bytes on disk).
Hid series_memory_type() {
  Hid t(H5Tcreate(H5T_COMPOUND, sizeof(SeriesRecord)), H5Tclose);
  const Hid id_type = fixed_string_type(kIdCapacity);
  H5Tinsert(t.get(), "customer_id", HOFFSET(SeriesRecord, customer_id), id_type.get());
  H5Tinsert(t.get(), "meter_id", HOFFSET(SeriesRecord, meter_id), id_type.get());
  H5Tinsert(t.get(), "price_per_unit", HOFFSET(SeriesRecord, price_per_unit), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "noise_scale", HOFFSET(SeriesRecord, noise_scale), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "first_event", HOFFSET(SeriesRecord, first_event), H5T_NATIVE_UINT64);
  H5Tinsert(t.get(), "event_count", HOFFSET(SeriesRecord, event_count), H5T_NATIVE_UINT32);
  H5Tinsert(t.get(), "profile", HOFFSET(SeriesRecord, profile), H5T_NATIVE_UINT8);
  return t;
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
    transfer_rows(ctx, true, series.get(), series_type.get(), chunk_start, rows, 0, chunk_series, "series", record_transfer->get());
    chunk_start += rows;
    flush_events(false);
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

    const hsize_t dims2[2] = {static_cast<hsize_t>(info.series_count), static_cast<hsize_t>(t)};
    const hsize_t chunk2[2] = {static_cast<hsize_t>(w.chunk_rows), static_cast<hsize_t>(t)};
    w.values = w.create_dataset("values", H5T_IEEE_F32LE, 2, dims2, nullptr, chunk2, options.compression_level);
    if (info.has_labels) w.labels = w.create_dataset("labels", H5T_STD_U8LE, 2, dims2, nullptr, chunk2, options.compression_level);
    const Hid series_file_type = packed_copy(w.series_type);
    const hsize_t dims1[1] = {static_cast<hsize_t>(info.series_count)};
    const hsize_t chunk1[1] = {static_cast<hsize_t>(w.chunk_rows)};
    w.series = w.create_dataset("series", series_file_type.get(), 1, dims1, nullptr, chunk1, options.compression_level);
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
  w.values.reset();
  w.labels.reset();
  w.series.reset();
  w.events.reset();
  w.ctx.check(H5Fflush(w.file.get(), H5F_SCOPE_GLOBAL), "cannot flush the file");
  w.file.reset();
  w.finished = true;
}

// ---------------------------------------------------------------------------------------------- reader

struct DatasetReader::Impl {
  Context ctx;
  std::filesystem::path path;
  DatasetInfo info;
  Hid file, values, labels, series, events;
  Hid series_type = series_memory_type();
  Hid event_type = event_memory_type();
  std::int64_t event_rows = 0;
  std::optional<RecordTransfer> record_transfer;  // made under the HDF5 lock, in the constructor
  dataset_rules::IdRegistry ids;

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
      transfer_rows(ctx, false, series.get(), series_type.get(), at, n, 0, earlier.data(), "series", record_transfer->get());
      for (std::int64_t i = 0; i < n; ++i)
        if (dataset_rules::same_ids(earlier[static_cast<std::size_t>(i)], record)) dataset_rules::fail_duplicate_ids(ctx.file, at + i, row, record);
    }
  }

  Hid open_dataset(const char* name, int rank, std::int64_t rows, std::int64_t columns) {
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
    if (rows < 0) event_rows = static_cast<std::int64_t>(dims[0]);
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
    r.record_transfer.emplace(r.ctx);
    r.values = r.open_dataset("values", 2, info.series_count, info.grid.steps);
    r.series = r.open_dataset("series", 1, info.series_count, 0);
    if (info.has_labels) {
      r.labels = r.open_dataset("labels", 2, info.series_count, info.grid.steps);
      r.events = r.open_dataset("events", 1, -1, 0);
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
  transfer_rows(r.ctx, false, r.series.get(), r.series_type.get(), first, count, 0, block.series.data(), "series", r.record_transfer->get());
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
  // Raw rows of /series are SeriesRecords only while the ids live in fixed-length fields of the record.
  static_assert(std::is_trivially_copyable_v<SeriesRecord>, "read the records as read() does once ids are not in /series");
  std::lock_guard lock(hdf5_mutex());
  Impl& r = *impl_;
  if (first < 0 || count < 0 || first + count > r.info.series_count)
    r.ctx.fail(fmt::format("series {}..{} are outside the dataset's {} series", first, first + count - 1, r.info.series_count));
  records.resize(static_cast<std::size_t>(count));
  transfer_rows(r.ctx, false, r.series.get(), r.series_type.get(), first, count, 0, records.data(), "series", r.record_transfer->get());
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
