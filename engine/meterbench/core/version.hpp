#pragma once
#include <string>

namespace meterbench {

/// "meterbench 0.1.0 (commit abc123, Release)": the tool version stored in every file meterbench writes.
std::string tool_version();
/// Build type of the engine ("Release", "Debug", ...).
std::string build_type();
/// Instruction set the build targets: "portable", "x86-64-v3" or "native" (CMake METERBENCH_ARCH).
std::string build_arch();
/// True for builds whose timings mean nothing (no optimisation or sanitizers).
bool is_unoptimized_build();
/// Versions of the libraries the engine was built with, e.g. "oneTBB 2021.8, HDF5 1.10.8, Eigen 3.4.0, spdlog 1.10.0".
std::string library_versions();

}  // namespace meterbench
