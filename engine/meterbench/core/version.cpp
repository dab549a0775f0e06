#include "meterbench/core/version.hpp"

#include <Eigen/Core>
#include <fmt/format.h>
#include <hdf5.h>
#include <oneapi/tbb/version.h>
#include <spdlog/version.h>

#include "meterbench/core/build_info.hpp"

namespace meterbench {

std::string tool_version() {
  return fmt::format("meterbench {} (commit {}, {})", METERBENCH_VERSION_STRING, METERBENCH_GIT_COMMIT, METERBENCH_BUILD_TYPE);
}

std::string build_type() { return METERBENCH_BUILD_TYPE; }

std::string build_arch() { return METERBENCH_ARCH; }

bool is_unoptimized_build() {
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
  return false;
#else
  return true;
#endif
}

std::string library_versions() {
  unsigned h5_major = 0, h5_minor = 0, h5_release = 0;
  H5get_libversion(&h5_major, &h5_minor, &h5_release);
  return fmt::format("oneTBB {}, HDF5 {}.{}.{}, Eigen {}.{}.{}, spdlog {}.{}.{}, {}", TBB_VERSION_STRING, h5_major, h5_minor,
                     h5_release, EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, SPDLOG_VER_MAJOR,
                     SPDLOG_VER_MINOR, SPDLOG_VER_PATCH, METERBENCH_COMPILER);
}

}  // namespace meterbench
