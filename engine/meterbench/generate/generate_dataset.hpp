#pragma once
// `meterbench generate`: a population of series generated in parallel and streamed to HDF5 in blocks.
#include <array>
#include <cstdint>
#include <filesystem>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/generate/scenario.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace meterbench {

class ProcessGroup;

struct GenerateOptions {
  std::filesystem::path out{};          ///< the .h5 file to create
  bool overwrite = false;             ///< replace an existing file (--force)
  std::int64_t block_series = 0;      ///< series per pipeline block; 0 = about 4 MiB of values per block
  DatasetWriteOptions write{};          ///< chunking and compression
  /// Several processes (engine/meterbench/distributed/generate_parts.hpp): each generates an equal range of
  /// series, rank 0 writes the file. Null or a group of one: every series here.
  ProcessGroup* group = nullptr;
};

struct GenerateSummary {
  std::int64_t series = 0;
  std::int64_t steps = 0;
  std::int64_t events = 0;
  std::int64_t unplaced_injections = 0;
  std::array<std::int64_t, kAnomalyKindCount> events_by_kind{};
  std::array<std::int64_t, kUsageProfileCount> series_by_profile{};
  double impact_usd = 0.0;            ///< total financial impact of the injected anomalies
  double wall_seconds = 0.0;
  std::uintmax_t file_bytes = 0;
};

/// Series per block for a series length: about 4 MiB of values, at least 1.
std::int64_t default_block_series(std::int64_t steps);

/// Generates the scenario's population into options.out (written under a temporary name, renamed when
/// complete). Uses the oneTBB thread limit in force. Throws OutputError / DatasetError / ScenarioError.
GenerateSummary generate_dataset(const Scenario& scenario, const GenerateOptions& options);

}  // namespace meterbench
