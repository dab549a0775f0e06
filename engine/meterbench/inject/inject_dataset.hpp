#pragma once
// `meterbench inject`: a scenario's labelled anomalies injected into an existing dataset (an ingested export
// included), streamed in blocks: read, inject in parallel, write in order.
#include <array>
#include <cstdint>
#include <filesystem>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/generate/scenario.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace meterbench {

struct InjectOptions {
  std::filesystem::path data{};       ///< the dataset to inject into (not changed)
  std::filesystem::path out{};        ///< the labelled .h5 file to create
  bool overwrite = false;             ///< replace an existing output (--force)
  std::uint64_t seed = 1;             ///< injection seed: with the scenario and the data, fixes the output's bits
  std::int64_t block_series = 0;      ///< series per pipeline block; 0 = about 4 MiB of values per block
  DatasetWriteOptions write{};
};

struct InjectSummary {
  std::int64_t series = 0;
  std::int64_t steps = 0;
  std::int64_t kept_events = 0;       ///< events of the input, kept
  std::int64_t events = 0;            ///< events injected
  std::int64_t unplaced_injections = 0;
  std::array<std::int64_t, kAnomalyKindCount> events_by_kind{};
  double impact_usd = 0.0;            ///< total impact of the injected anomalies with a known price
  std::int64_t unknown_impact_events = 0;  ///< injected anomalies on series without a price (impact NaN)
  double wall_seconds = 0.0;
};

/// Injects the scenario's [injections] into options.data, writing options.out (staged, renamed when complete).
/// Uses the oneTBB thread limit in force. Throws OutputError / DatasetError / ScenarioError.
InjectSummary inject_dataset(const Scenario& scenario, const InjectOptions& options);

}  // namespace meterbench
