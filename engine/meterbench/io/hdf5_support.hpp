#pragma once
// Internal to engine/meterbench/io: the small HDF5 toolkit the file formats share (handles, errors that name
// the file, attributes, row transfers, the process-wide HDF5 lock). Only io/*.cpp include it.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <hdf5.h>

#include "meterbench/io/dataset_file.hpp"

namespace meterbench::hdf5 {

// HDF5 is not thread-safe as Debian builds it: every call below holds this lock.
inline std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

// Keeps HDF5 from registering its atexit shutdown. Why: when a write fails (disk full, file size limit), the
// file's close fails too and libhdf5 1.10 keeps a half-destroyed file in its id table; its shutdown then
// dereferences it and the process dies with SIGSEGV after our error message. Every file is closed explicitly
// on the success paths, so the shutdown has nothing left to flush. Only effective before HDF5's first call:
// dataset_file.cpp calls it from a static initialiser.
inline bool skip_hdf5_shutdown_at_exit() {
  static const bool done = [] {
    H5dont_atexit();
    return true;
  }();
  return done;
}

// Silences HDF5's own error stack printing once: we report errors ourselves, naming the file.
inline void silence_hdf5_errors() {
  static const bool done = [] {
    skip_hdf5_shutdown_at_exit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

// The reason behind the last failed HDF5 call, from its error stack: the operating system's error when a
// read or write failed ("No space left on device (errno 28)"), else HDF5's innermost description.
inline std::string last_hdf5_reason() {
  struct Found {
    std::string innermost;
    int os_errno = 0;
  } found;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        auto& f = *static_cast<Found*>(data);
        const char* desc = e->desc != nullptr ? e->desc : "";
        if (n == 0) f.innermost = desc;
        if (const char* at = std::strstr(desc, "errno = "); at != nullptr && f.os_errno == 0)
          f.os_errno = static_cast<int>(std::strtol(at + 8, nullptr, 10));
        return 0;
      },
      &found);
  if (found.os_errno > 0) return fmt::format("{} (errno {})", std::strerror(found.os_errno), found.os_errno);
  return found.innermost;
}

// Owns one HDF5 identifier and closes it with the matching function.
class Hid {
 public:
  Hid() = default;
  Hid(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Hid(Hid&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), close_(other.close_) {}
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      close_ = other.close_;
    }
    return *this;
  }
  ~Hid() { reset(); }
  void reset() {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
    id_ = H5I_INVALID_HID;
  }
  [[nodiscard]] hid_t get() const { return id_; }
  [[nodiscard]] bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

struct Context {
  std::string file;  // for messages
  [[noreturn]] void fail(const std::string& what) const { throw DatasetError(fmt::format("{}: {}", file, what)); }
  // For results of HDF5 calls: the message ends with the reason HDF5 gives.
  [[noreturn]] void fail_hdf5(const std::string& what) const {
    const std::string reason = last_hdf5_reason();
    fail(reason.empty() ? what : fmt::format("{}: {}", what, reason));
  }
  hid_t check_id(hid_t id, const std::string& what) const {
    if (id < 0) fail_hdf5(what);
    return id;
  }
  void check(herr_t status, const std::string& what) const {
    if (status < 0) fail_hdf5(what);
  }
};

// File access properties of every file meterbench writes: the HDF5 1.10 file format, whose superblock,
// object headers and chunk indexes carry checksums, so a corrupt byte there is an HDF5 error, not a crash
// inside libhdf5. Readers need libhdf5 1.10 or later (h5py and h5dump of the last years).
inline Hid checksummed_file_access(const Context& ctx) {
  Hid fapl(ctx.check_id(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file access property list"), H5Pclose);
  ctx.check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_V110), "cannot select the HDF5 1.10 file format");
  return fapl;
}

// The superblock version of an HDF5 file, read by hand before libhdf5 parses anything: the signature sits at
// offset 0, 512, 1024, 2048, ... and the version byte follows it. -1 when no signature is found.
inline int superblock_version(const std::filesystem::path& path) {
  static constexpr char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  std::ifstream in(path, std::ios::binary);
  for (std::streamoff offset = 0; in; offset = offset == 0 ? 512 : offset * 2) {
    char head[9] = {};
    in.seekg(offset);
    if (!in.read(head, sizeof head)) return -1;
    if (std::memcmp(head, kSignature, sizeof kSignature) == 0) return static_cast<unsigned char>(head[8]);
  }
  return -1;
}

// Refuses files whose metadata carries no checksums (superblock versions 0 and 1: HDF5's original format, which
// h5py and older meterbench datasets write): libhdf5 parses their object headers and global heap unchecked, and a
// damaged byte there crashes it instead of failing. Files of the checksummed format reach libhdf5 only.
inline void require_checksummed_format(const Context& ctx, const std::filesystem::path& path) {
  const int version = superblock_version(path);
  if (version < 0) ctx.fail("not an HDF5 file (no HDF5 signature)");
  if (version < 2)
    ctx.fail(fmt::format("written in HDF5's original file format (superblock version {}), whose metadata carries no "
                         "checksums, so a damaged file could crash the reader; meterbench reads the checksummed format "
                         "of its own dataset format 2: regenerate the dataset, or ingest the export again",
                         version));
}

inline Hid fixed_string_type(std::size_t size) {
  Hid t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t.get(), size);
  H5Tset_strpad(t.get(), H5T_STR_NULLTERM);  // foreign readers stop at the first NUL
  return t;
}

inline Hid packed_copy(const Hid& memory_type) {
  Hid t(H5Tcopy(memory_type.get()), H5Tclose);
  H5Tpack(t.get());
  return t;
}

// Fixed-length (the text and its NUL), not variable-length: variable-length strings live in the global heap,
// which carries no checksum, and libhdf5 follows a corrupt heap reference into a crash.
inline void write_string_attribute(const Context& ctx, hid_t object, const char* name, const std::string& value) {
  Hid type = fixed_string_type(value.size() + 1);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Hid space(H5Screate(H5S_SCALAR), H5Sclose);
  Hid attr(ctx.check_id(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), name), H5Aclose);
  ctx.check(H5Awrite(attr.get(), type.get(), value.c_str()), fmt::format("cannot write attribute '{}'", name));
}

template <typename T>
void write_scalar_attribute(const Context& ctx, hid_t object, const char* name, hid_t file_type, hid_t memory_type, T value) {
  Hid space(H5Screate(H5S_SCALAR), H5Sclose);
  Hid attr(ctx.check_id(H5Acreate2(object, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), name), H5Aclose);
  ctx.check(H5Awrite(attr.get(), memory_type, &value), fmt::format("cannot write attribute '{}'", name));
}

inline bool has_attribute(hid_t object, const char* name) { return H5Aexists(object, name) > 0; }
// The same for reads that must tell "absent" from "unreadable": a damaged object header (its checksum fails) is an
// error naming HDF5's reason, not a missing attribute.
inline bool has_attribute(const Context& ctx, hid_t object, const char* name) {
  const htri_t exists = H5Aexists(object, name);
  if (exists < 0) ctx.fail_hdf5(fmt::format("cannot read the attributes (looking for '{}'; a damaged file?)", name));
  return exists > 0;
}

inline std::string read_string_attribute(const Context& ctx, hid_t object, const char* name) {
  if (!has_attribute(ctx, object, name)) ctx.fail(fmt::format("attribute '{}' is missing", name));
  Hid attr(ctx.check_id(H5Aopen(object, name, H5P_DEFAULT), name), H5Aclose);
  Hid type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) ctx.fail(fmt::format("attribute '{}' is not a string", name));
  Hid memory(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_cset(memory.get(), H5Tget_cset(type.get()));  // HDF5 does not convert between ASCII and UTF-8
  // Variable-length strings live in HDF5's global heap, which carries no checksum: reading a damaged one crashes
  // libhdf5. meterbench writes fixed-length strings only.
  if (H5Tis_variable_str(type.get()) > 0)
    ctx.fail(fmt::format("attribute '{}' is a variable-length string, which meterbench does not write (nor read)", name));
  const std::size_t size = H5Tget_size(type.get());
  std::string value(size, '\0');
  H5Tset_size(memory.get(), size);
  ctx.check(H5Aread(attr.get(), memory.get(), value.data()), fmt::format("cannot read attribute '{}'", name));
  value.resize(::strnlen(value.data(), size));
  return value;
}

// A 1-D attribute of fixed-length UTF-8 strings (every one padded to the longest), e.g. column names.
inline void write_string_array_attribute(const Context& ctx, hid_t object, const char* name, const std::vector<std::string>& values) {
  std::size_t width = 1;
  for (const std::string& v : values) width = std::max(width, v.size() + 1);
  std::string packed(width * values.size(), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) packed.replace(i * width, values[i].size(), values[i]);
  Hid type = fixed_string_type(width);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const hsize_t dims[1] = {values.size()};
  Hid space(values.empty() ? H5Screate(H5S_NULL) : H5Screate_simple(1, dims, nullptr), H5Sclose);
  Hid attr(ctx.check_id(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), name), H5Aclose);
  if (!values.empty()) ctx.check(H5Awrite(attr.get(), type.get(), packed.data()), fmt::format("cannot write attribute '{}'", name));
}

inline std::vector<std::string> read_string_array_attribute(const Context& ctx, hid_t object, const char* name) {
  if (!has_attribute(ctx, object, name)) ctx.fail(fmt::format("attribute '{}' is missing", name));
  Hid attr(ctx.check_id(H5Aopen(object, name, H5P_DEFAULT), name), H5Aclose);
  Hid type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
    ctx.fail(fmt::format("attribute '{}' is not an array of fixed-length strings", name));
  Hid space(H5Aget_space(attr.get()), H5Sclose);
  if (H5Sget_simple_extent_type(space.get()) == H5S_NULL) return {};
  if (H5Sget_simple_extent_ndims(space.get()) != 1) ctx.fail(fmt::format("attribute '{}' should have one dimension", name));
  hsize_t count = 0;
  H5Sget_simple_extent_dims(space.get(), &count, nullptr);
  const std::size_t width = H5Tget_size(type.get());
  Hid memory(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
  H5Tset_size(memory.get(), width);
  std::string packed(width * count, '\0');
  ctx.check(H5Aread(attr.get(), memory.get(), packed.data()), fmt::format("cannot read attribute '{}'", name));
  std::vector<std::string> values;
  for (std::size_t i = 0; i < count; ++i) values.emplace_back(packed.data() + i * width, ::strnlen(packed.data() + i * width, width));
  return values;
}

template <typename T>
T read_scalar_attribute(const Context& ctx, hid_t object, const char* name, hid_t memory_type) {
  if (!has_attribute(ctx, object, name)) ctx.fail(fmt::format("attribute '{}' is missing", name));
  Hid attr(ctx.check_id(H5Aopen(object, name, H5P_DEFAULT), name), H5Aclose);
  T value{};
  ctx.check(H5Aread(attr.get(), memory_type, &value), fmt::format("cannot read attribute '{}' as a number", name));
  return value;
}

// Selects rows [first, first + count) of a 1-D or 2-D dataset and writes or reads them.
inline void select_rows(const Context& ctx, hid_t space, std::int64_t first, std::int64_t count, std::int64_t columns) {
  const hsize_t start[2] = {static_cast<hsize_t>(first), 0};
  const hsize_t extent[2] = {static_cast<hsize_t>(count), static_cast<hsize_t>(columns)};
  ctx.check(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, extent, nullptr), "cannot select rows");
}

// `transfer`: the dataset transfer property list (e.g. one that lends HDF5 a reused conversion buffer).
inline void transfer_rows(const Context& ctx, bool write, hid_t dataset, hid_t memory_type, std::int64_t first, std::int64_t count,
                          std::int64_t columns, void* data, const char* what, hid_t transfer = H5P_DEFAULT) {
  if (count == 0) return;
  const int rank = columns > 0 ? 2 : 1;
  Hid file_space(H5Dget_space(dataset), H5Sclose);
  select_rows(ctx, file_space.get(), first, count, std::max<std::int64_t>(columns, 1));
  const hsize_t mdims[2] = {static_cast<hsize_t>(count), static_cast<hsize_t>(std::max<std::int64_t>(columns, 1))};
  Hid memory_space(H5Screate_simple(rank, mdims, nullptr), H5Sclose);
  const herr_t status = write ? H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), transfer, data)
                              : H5Dread(dataset, memory_type, memory_space.get(), file_space.get(), transfer, data);
  ctx.check(status, fmt::format("cannot {} {} rows {}..{}", write ? "write" : "read", what, first, first + count - 1));
}

/// Creates a chunked dataset (optionally shuffled + gzip), without object timestamps (identical data makes
/// identical files) and without fill writes (chunks are written whole). `cache_bytes` is its chunk cache.
// A transfer property list that lends HDF5 one reused type-conversion buffer, for the /series and /events
// records (packed on disk, padded in memory). Why: by default every such H5Dread or H5Dwrite callocs a 1 MiB
// conversion buffer and a 1 MiB background buffer, on fresh pages each time (4 MiB of page faults per block,
// most of the read stage's CPU, and 10x the cost of writing a block's records). The background buffer, which
// HDF5 still zeroes itself (so the structs' padding reads as before), is capped at the same size; HDF5
// converts in strips of that size. Create it under the HDF5 lock.
class RecordTransfer {
 public:
  static constexpr std::size_t kBytes = 64 << 10;
  explicit RecordTransfer(const Context& ctx)
      : plist_(ctx.check_id(H5Pcreate(H5P_DATASET_XFER), "cannot create a transfer property list"), H5Pclose) {
    ctx.check(H5Pset_buffer(plist_.get(), kBytes, buffer_.data(), nullptr), "cannot set the conversion buffer");
  }
  RecordTransfer(const RecordTransfer&) = delete;
  RecordTransfer& operator=(const RecordTransfer&) = delete;
  [[nodiscard]] hid_t get() const { return plist_.get(); }

 private:
  std::vector<unsigned char> buffer_ = std::vector<unsigned char>(kBytes);  // declared first: outlives the list
  Hid plist_;
};

inline Hid create_chunked_dataset(const Context& ctx, hid_t file, const char* name, hid_t file_type, int rank, const hsize_t* dims,
                                  const hsize_t* max_dims, const hsize_t* chunk, int compression_level, std::size_t cache_bytes) {
  Hid space(H5Screate_simple(rank, dims, max_dims), H5Sclose);
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  ctx.check(H5Pset_chunk(dcpl.get(), rank, chunk), fmt::format("cannot chunk /{}", name));
  if (compression_level > 0) {
    H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), static_cast<unsigned>(compression_level));
  }
  H5Pset_obj_track_times(dcpl.get(), false);
  // A dataset of one chunk gets the 1.10 format's single-chunk index, with which libhdf5 1.10.8 loses a chunk
  // written with no chunk cache and no fill: it keeps the default fill time (nothing is filled either way,
  // as no fill value is set).
  bool single_chunk = max_dims == nullptr;
  for (int i = 0; i < rank; ++i) single_chunk = single_chunk && chunk[i] == dims[i];
  if (!single_chunk) H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
  Hid dapl(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
  H5Pset_chunk_cache(dapl.get(), H5D_CHUNK_CACHE_NSLOTS_DEFAULT, cache_bytes, H5D_CHUNK_CACHE_W0_DEFAULT);
  return Hid(ctx.check_id(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), dapl.get()),
                          fmt::format("cannot create dataset /{}", name)),
             H5Dclose);
}

}  // namespace meterbench::hdf5
