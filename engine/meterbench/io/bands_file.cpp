#include "meterbench/io/bands_file.hpp"

#include <array>

#include "meterbench/io/hdf5_support.hpp"

namespace meterbench {

using namespace hdf5;

struct BandsWriter::Impl {
  Context ctx;
  std::int64_t steps = 0;
  Hid file;
  std::array<Hid, 4> bands;  // expected, lower, upper, score
};

BandsWriter::BandsWriter(const std::filesystem::path& path, const DatasetInfo& dataset, const std::string& dataset_path,
                         const std::string& run)
    : impl_(std::make_unique<Impl>()) {
  std::lock_guard lock(hdf5_mutex());
  silence_hdf5_errors();
  Impl& w = *impl_;
  w.ctx.file = path.string();
  w.steps = dataset.grid.steps;
  Hid fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_obj_track_times(fcpl.get(), false);
  w.file = Hid(w.ctx.check_id(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.get(), H5P_DEFAULT), "cannot create the file"), H5Fclose);
  const hid_t root = w.file.get();
  write_string_attribute(w.ctx, root, "format", std::string(kBandsFormatName));
  write_scalar_attribute(w.ctx, root, "format_version", H5T_STD_I64LE, H5T_NATIVE_INT64, kBandsFormatVersion);
  write_string_attribute(w.ctx, root, "dataset", dataset_path);
  write_string_attribute(w.ctx, root, "run", run);
  write_string_attribute(w.ctx, root, "start", format_utc_timestamp(dataset.grid.start_unix_seconds));
  write_scalar_attribute(w.ctx, root, "start_unix_seconds", H5T_STD_I64LE, H5T_NATIVE_INT64, dataset.grid.start_unix_seconds);
  write_scalar_attribute(w.ctx, root, "step_seconds", H5T_STD_I64LE, H5T_NATIVE_INT64, dataset.grid.step_seconds);
  const hsize_t dims[2] = {static_cast<hsize_t>(dataset.series_count), static_cast<hsize_t>(w.steps)};
  const hsize_t chunk[2] = {static_cast<hsize_t>(std::min(default_chunk_series(w.steps), dataset.series_count)), static_cast<hsize_t>(w.steps)};
  const char* names[4] = {"expected", "lower", "upper", "score"};
  for (std::size_t i = 0; i < 4; ++i)  // a cache of a few chunks: blocks need not align with chunks
    w.bands[i] = create_chunked_dataset(w.ctx, root, names[i], H5T_IEEE_F32LE, 2, dims, nullptr, chunk, 0, 8u << 20);
}

BandsWriter::~BandsWriter() {
  std::lock_guard lock(hdf5_mutex());
  impl_.reset();
}

void BandsWriter::write(std::int64_t first, std::int64_t count, const float* expected, const float* lower, const float* upper,
                        const float* score) {
  std::lock_guard lock(hdf5_mutex());
  Impl& w = *impl_;
  const float* data[4] = {expected, lower, upper, score};
  const char* names[4] = {"expected", "lower", "upper", "score"};
  for (std::size_t i = 0; i < 4; ++i)
    transfer_rows(w.ctx, true, w.bands[i].get(), H5T_NATIVE_FLOAT, first, count, w.steps, const_cast<float*>(data[i]), names[i]);
}

void BandsWriter::finish() {
  std::lock_guard lock(hdf5_mutex());
  Impl& w = *impl_;
  for (auto& b : w.bands) b.reset();
  w.ctx.check(H5Fflush(w.file.get(), H5F_SCOPE_GLOBAL), "cannot flush the file");
  w.file.reset();
}

}  // namespace meterbench
