#include "meterbench/io/bands_file.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "meterbench/io/hdf5_support.hpp"

namespace meterbench {

using namespace hdf5;

struct BandsWriter::Impl {
  Context ctx;
  std::int64_t steps = 0;
  std::int64_t first_row = 0, rows = 0;  // the series this file holds
  Hid file;
  std::array<Hid, 4> bands;  // expected, lower, upper, score
};

BandsWriter::BandsWriter(const std::filesystem::path& path, const DatasetInfo& dataset, const std::string& dataset_path,
                         const std::string& run, std::int64_t first_row, std::int64_t rows)
    : impl_(std::make_unique<Impl>()) {
  std::lock_guard lock(hdf5_mutex());
  silence_hdf5_errors();
  Impl& w = *impl_;
  w.ctx.file = path.string();
  w.steps = dataset.grid.steps;
  const bool part = rows >= 0;
  w.first_row = part ? first_row : 0;
  w.rows = part ? rows : dataset.series_count;
  Hid fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_obj_track_times(fcpl.get(), false);
  w.file = Hid(w.ctx.check_id(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.get(), checksummed_file_access(w.ctx).get()), "cannot create the file"), H5Fclose);
  const hid_t root = w.file.get();
  write_string_attribute(w.ctx, root, "format", std::string(kBandsFormatName));
  write_scalar_attribute(w.ctx, root, "format_version", H5T_STD_I64LE, H5T_NATIVE_INT64, kBandsFormatVersion);
  write_string_attribute(w.ctx, root, "dataset", dataset_path);
  write_string_attribute(w.ctx, root, "run", run);
  write_string_attribute(w.ctx, root, "start", format_utc_timestamp(dataset.grid.start_unix_seconds));
  write_scalar_attribute(w.ctx, root, "start_unix_seconds", H5T_STD_I64LE, H5T_NATIVE_INT64, dataset.grid.start_unix_seconds);
  write_scalar_attribute(w.ctx, root, "step_seconds", H5T_STD_I64LE, H5T_NATIVE_INT64, dataset.grid.step_seconds);
  if (part) {  // only parts: a merged file has the one-process file's attributes
    write_scalar_attribute(w.ctx, root, "part_first_series", H5T_STD_I64LE, H5T_NATIVE_INT64, w.first_row);
    write_scalar_attribute(w.ctx, root, "part_series", H5T_STD_I64LE, H5T_NATIVE_INT64, w.rows);
  }
  const hsize_t dims[2] = {static_cast<hsize_t>(w.rows), static_cast<hsize_t>(w.steps)};
  // An empty part (more processes than series) still needs a chunk of one row, which only an unlimited
  // dimension allows.
  const hsize_t max_dims[2] = {w.rows == 0 ? H5S_UNLIMITED : dims[0], dims[1]};
  const hsize_t chunk[2] = {static_cast<hsize_t>(std::max<std::int64_t>(1, std::min(default_chunk_series(w.steps), w.rows))),
                            static_cast<hsize_t>(w.steps)};
  const char* names[4] = {"expected", "lower", "upper", "score"};
  for (std::size_t i = 0; i < 4; ++i)  // a cache of a few chunks: blocks need not align with chunks
    w.bands[i] = create_chunked_dataset(w.ctx, root, names[i], H5T_IEEE_F32LE, 2, dims, w.rows == 0 ? max_dims : nullptr, chunk, 0, 8u << 20);
}

BandsWriter::~BandsWriter() {
  std::lock_guard lock(hdf5_mutex());
  impl_.reset();
}

void BandsWriter::write(std::int64_t first, std::int64_t count, const float* expected, const float* lower, const float* upper,
                        const float* score) {
  std::lock_guard lock(hdf5_mutex());
  Impl& w = *impl_;
  if (first < w.first_row || first + count > w.first_row + w.rows)
    w.ctx.fail(fmt::format("series {}..{} are outside the part's series {}..{}", first, first + count - 1, w.first_row, w.first_row + w.rows - 1));
  const float* data[4] = {expected, lower, upper, score};
  const char* names[4] = {"expected", "lower", "upper", "score"};
  for (std::size_t i = 0; i < 4; ++i)
    transfer_rows(w.ctx, true, w.bands[i].get(), H5T_NATIVE_FLOAT, first - w.first_row, count, w.steps, const_cast<float*>(data[i]), names[i]);
}

void BandsWriter::finish() {
  std::lock_guard lock(hdf5_mutex());
  Impl& w = *impl_;
  if (!w.file.valid()) return;
  for (auto& b : w.bands) b.reset();
  w.ctx.check(H5Fflush(w.file.get(), H5F_SCOPE_GLOBAL), "cannot flush the file");
  w.file.reset();
}

namespace {

// merge_bands_parts() into `path`.
void copy_bands_parts(const std::filesystem::path& path, std::span<const BandsPart> parts, const DatasetInfo& dataset,
                      const std::string& dataset_path, const std::string& run) {
  BandsWriter out(path, dataset, dataset_path, run);
  const std::int64_t steps = dataset.grid.steps;
  // Eight of the final file's chunks at a time, per band: a few tens of MiB whatever the dataset's size.
  const std::int64_t piece = std::max<std::int64_t>(1, 8 * default_chunk_series(steps));
  std::array<std::vector<float>, 4> buffer;
  const char* names[4] = {"expected", "lower", "upper", "score"};
  std::int64_t next = 0;  // the parts must cover the series in order
  for (const BandsPart& part : parts) {
    Context ctx;
    ctx.file = part.path.string();
    if (part.first != next) ctx.fail(fmt::format("the part starts at series {}, where series {} was expected", part.first, next));
    std::array<Hid, 4> bands;
    Hid file;
    {
      std::lock_guard lock(hdf5_mutex());
      silence_hdf5_errors();
      file = Hid(ctx.check_id(H5Fopen(part.path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open the bands part"), H5Fclose);
      const auto first = read_scalar_attribute<std::int64_t>(ctx, file.get(), "part_first_series", H5T_NATIVE_INT64);
      const auto count = read_scalar_attribute<std::int64_t>(ctx, file.get(), "part_series", H5T_NATIVE_INT64);
      if (first != part.first || count != part.count)
        ctx.fail(fmt::format("the part holds series [{}, {}), not [{}, {})", first, first + count, part.first, part.first + part.count));
      for (std::size_t i = 0; i < 4; ++i) {
        bands[i] = Hid(ctx.check_id(H5Dopen2(file.get(), names[i], H5P_DEFAULT), fmt::format("no dataset /{}", names[i])), H5Dclose);
        Hid space(H5Dget_space(bands[i].get()), H5Sclose);
        hsize_t dims[2] = {0, 0};
        if (H5Sget_simple_extent_ndims(space.get()) != 2 || H5Sget_simple_extent_dims(space.get(), dims, nullptr) != 2 ||
            dims[0] != static_cast<hsize_t>(part.count) || dims[1] != static_cast<hsize_t>(steps))
          ctx.fail(fmt::format("/{} is not {} x {}", names[i], part.count, steps));
      }
    }
    for (std::int64_t at = 0; at < part.count; at += piece) {
      const std::int64_t n = std::min(piece, part.count - at);
      {
        std::lock_guard lock(hdf5_mutex());
        for (std::size_t i = 0; i < 4; ++i) {
          buffer[i].resize(static_cast<std::size_t>(n * steps));
          transfer_rows(ctx, false, bands[i].get(), H5T_NATIVE_FLOAT, at, n, steps, buffer[i].data(), names[i]);
        }
      }
      out.write(part.first + at, n, buffer[0].data(), buffer[1].data(), buffer[2].data(), buffer[3].data());
    }
    {
      std::lock_guard lock(hdf5_mutex());
      for (auto& b : bands) b.reset();
      file.reset();
    }
    next = part.first + part.count;
  }
  if (next != dataset.series_count)
    Context{path.string()}.fail(fmt::format("the bands parts cover series [0, {}) of {}", next, dataset.series_count));
  out.finish();
}

}  // namespace

void merge_bands_parts(const std::filesystem::path& path, std::span<const BandsPart> parts, const DatasetInfo& dataset,
                       const std::string& dataset_path, const std::string& run) {
  const std::filesystem::path tmp = path.string() + ".partial";  // renamed once complete
  try {
    copy_bands_parts(tmp, parts, dataset, dataset_path, run);
    std::filesystem::rename(tmp, path);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

void check_bands_file(const std::filesystem::path& path) {
  std::lock_guard lock(hdf5_mutex());
  silence_hdf5_errors();
  const Context ctx{path.string()};
  require_checksummed_format(ctx, path);
  Hid file(ctx.check_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open the bands file (damaged or truncated?)"), H5Fclose);
  if (read_string_attribute(ctx, file.get(), "format") != kBandsFormatName) ctx.fail(fmt::format("not a {} file", kBandsFormatName));
  std::array<hsize_t, 2> shape{};
  for (const char* name : {"expected", "lower", "upper", "score"}) {
    Hid dataset(ctx.check_id(H5Dopen2(file.get(), name, H5P_DEFAULT), fmt::format("cannot open /{}", name)), H5Dclose);
    Hid space(ctx.check_id(H5Dget_space(dataset.get()), fmt::format("cannot read the shape of /{}", name)), H5Sclose);
    std::array<hsize_t, 2> dims{};
    if (H5Sget_simple_extent_ndims(space.get()) != 2 || H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) != 2)
      ctx.fail(fmt::format("/{} is not a two-dimensional dataset", name));
    if (shape[0] == 0) shape = dims;
    if (dims != shape) ctx.fail(fmt::format("/{} has shape {}x{}, the other bands {}x{}", name, dims[0], dims[1], shape[0], shape[1]));
  }
}

}  // namespace meterbench
