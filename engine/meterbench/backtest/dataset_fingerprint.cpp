#include "meterbench/backtest/dataset_fingerprint.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "meterbench/backtest/series_pass.hpp"
#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace meterbench {

std::uint64_t dataset_fingerprint(const std::filesystem::path& dataset) {
  DatasetReader reader(dataset);
  const std::int64_t n = reader.info().series_count, steps = reader.info().grid.steps;
  const std::int64_t block = detail::block_series(0, n, steps);
  std::vector<std::uint64_t> hashes;
  hashes.reserve(static_cast<std::size_t>(n));
  std::vector<float> values;
  for (std::int64_t first = 0; first < n; first += block) {
    const std::int64_t count = std::min(block, n - first);
    reader.read_values(first, count, values);
    for (std::int64_t i = 0; i < count; ++i)
      hashes.push_back(detail::hash_values(std::span<const float>(values).subspan(static_cast<std::size_t>(i * steps), static_cast<std::size_t>(steps))));
  }
  return chain_fingerprint(n, steps, hashes);
}

std::string format_fingerprint(std::uint64_t fingerprint) { return fmt::format("{:016x}", fingerprint); }

}  // namespace meterbench
