#pragma once
// The raw bytes of every dataset of an HDF5 file (root group, in the file's own types), for byte-for-byte
// comparison and content digests that ignore the attributes (which carry the tool version and run context).
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace meterbench::testing {

inline std::map<std::string, std::vector<unsigned char>> read_datasets(const std::filesystem::path& path) {
  std::map<std::string, std::vector<unsigned char>> out;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) throw std::runtime_error("cannot open " + path.string());
  H5G_info_t info{};
  H5Gget_info(file, &info);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char name[256] = {};
    H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
    H5O_info_t oinfo{};
    H5Oget_info_by_name(file, name, &oinfo, H5P_DEFAULT);
    if (oinfo.type != H5O_TYPE_DATASET) continue;
    const hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    const hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    if (H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tis_variable_str(type) > 0)
      throw std::runtime_error(std::string("dataset ") + name + " has variable-length data: not compared byte for byte");
    const auto count = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space));
    std::vector<unsigned char> bytes(count * H5Tget_size(type));
    if (!bytes.empty() && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()) < 0)
      throw std::runtime_error(std::string("cannot read dataset ") + name);
    out[std::string("/") + name] = std::move(bytes);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(d);
  }
  H5Fclose(file);
  return out;
}

/// FNV-1a, 64 bits, as 16 hex digits.
inline std::string fnv1a_hex(const std::vector<unsigned char>& bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

}  // namespace meterbench::testing
