#include "meterbench/io/dataset_fingerprint.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "meterbench/core/random.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace meterbench {

std::uint64_t series_value_hash(std::span<const float> values) {
  std::uint64_t h = 0x6A09E667F3BCC909ULL;
  std::size_t i = 0;
  for (; i + 2 <= values.size(); i += 2) {
    std::uint64_t word = 0;
    std::memcpy(&word, values.data() + i, sizeof(word));
    h = (h ^ mix64(word)) * 0x9E3779B97F4A7C15ULL;
  }
  if (i < values.size()) {
    std::uint32_t last = 0;
    std::memcpy(&last, values.data() + i, sizeof(last));
    h = (h ^ mix64(last)) * 0x9E3779B97F4A7C15ULL;
  }
  return mix64(h);
}

std::uint64_t fingerprint_seed(std::int64_t series, std::int64_t steps) {
  return mix64(static_cast<std::uint64_t>(series) ^ mix64(static_cast<std::uint64_t>(steps)));
}

std::uint64_t chain_fingerprint(std::uint64_t fingerprint, std::uint64_t value_hash) { return mix64(fingerprint ^ value_hash); }

std::uint64_t chain_fingerprint(std::int64_t series, std::int64_t steps, std::span<const std::uint64_t> value_hashes) {
  std::uint64_t fingerprint = fingerprint_seed(series, steps);
  for (const std::uint64_t h : value_hashes) fingerprint = chain_fingerprint(fingerprint, h);
  return fingerprint;
}

std::uint64_t file_fingerprint(const std::filesystem::path& dataset) {
  DatasetReader reader(dataset);
  const std::int64_t n = reader.info().series_count, steps = reader.info().grid.steps;
  const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t{4} << 20) / (4 * steps));  // about 4 MiB of values
  std::uint64_t fingerprint = fingerprint_seed(n, steps);
  std::vector<float> values;
  for (std::int64_t first = 0; first < n; first += block) {
    const std::int64_t count = std::min(block, n - first);
    reader.read_values(first, count, values);
    for (std::int64_t i = 0; i < count; ++i)
      fingerprint = chain_fingerprint(fingerprint, series_value_hash(std::span<const float>(values).subspan(
                                                       static_cast<std::size_t>(i * steps), static_cast<std::size_t>(steps))));
  }
  return fingerprint;
}

std::string format_fingerprint(std::uint64_t fingerprint) { return fmt::format("{:016x}", fingerprint); }

}  // namespace meterbench
