#pragma once
// The dataset fingerprint of summary.json and best.json: a 64-bit content hash of every series' values,
// chained in series order, so it depends on neither the block size, the thread count nor the process count.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace meterbench {

/// A fast 64-bit content hash of one series' values (bit patterns, so NaN gaps count).
std::uint64_t series_value_hash(std::span<const float> values);

/// The fingerprint of a dataset of `series` x `steps` before any series is chained in.
std::uint64_t fingerprint_seed(std::int64_t series, std::int64_t steps);

/// Chains one series' value hash into a fingerprint (series in ascending order).
std::uint64_t chain_fingerprint(std::uint64_t fingerprint, std::uint64_t value_hash);

/// The fingerprint of a dataset of `series` x `steps` whose per-series value hashes are `value_hashes`.
std::uint64_t chain_fingerprint(std::int64_t series, std::int64_t steps, std::span<const std::uint64_t> value_hashes);

/// The fingerprint of a dataset file, as a backtest of it records it; reads the file's values once, in blocks, so
/// that a command given a run and a dataset can tell whether the run was made from it.
std::uint64_t file_fingerprint(const std::filesystem::path& dataset);

/// The fingerprint as summary.json and best.json write it: 16 lower-case hex digits.
std::string format_fingerprint(std::uint64_t fingerprint);

}  // namespace meterbench
