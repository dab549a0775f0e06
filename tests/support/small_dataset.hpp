#pragma once
// A generated dataset of testing::small_scenario, for the fixtures of tests that run on one.
#include <cstdint>
#include <filesystem>

#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "support/test_support.hpp"

namespace meterbench::testing {

/// Writes `series` x `days` of small_scenario to `out` on `threads` threads (the file does not depend on them).
inline void generate_small_dataset(const std::filesystem::path& out, std::int64_t series, std::int64_t days, int threads,
                                   const DatasetWriteOptions& write = {}) {
  const Scenario sc = parse_scenario(small_scenario(series, days), "small.toml");
  const ThreadLimit limit(threads);
  generate_dataset(sc, {.out = out, .write = write});
}

}  // namespace meterbench::testing
