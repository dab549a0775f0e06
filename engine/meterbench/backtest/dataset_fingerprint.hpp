#pragma once
// The content fingerprint a backtest records in summary.json ("dataset.fingerprint"), computed for any
// dataset file, so that a command given a run and a dataset can tell whether the run was made from it.
#include <cstdint>
#include <filesystem>
#include <string>

namespace meterbench {

/// The fingerprint of every series' values, as the backtest's main pass chains it (hash of each series'
/// value bits in series order, seeded with the series count and steps); reads the file once, in blocks.
std::uint64_t dataset_fingerprint(const std::filesystem::path& dataset);

/// The fingerprint as summary.json writes it: 16 lower-case hex digits.
std::string format_fingerprint(std::uint64_t fingerprint);

}  // namespace meterbench
