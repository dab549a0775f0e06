#include "meterbench/distributed/partition.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "meterbench/io/dataset_fingerprint.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace meterbench {

std::vector<SeriesRange> balanced_ranges(const ObservedPoints& weights, std::int64_t n_series, int parts) {
  if (parts < 1) throw std::invalid_argument(fmt::format("cannot split series among {} processes", parts));
  if (weights.bucket_series < 1) throw std::invalid_argument("bucket_series must be >= 1");
  const auto buckets = static_cast<std::int64_t>(weights.points.size());
  if (buckets * weights.bucket_series < n_series || (buckets > 0 && (buckets - 1) * weights.bucket_series >= n_series))
    throw std::invalid_argument(fmt::format("{} buckets of {} series do not cover {} series", buckets, weights.bucket_series, n_series));
  std::vector<std::int64_t> prefix(static_cast<std::size_t>(buckets) + 1, 0);
  for (std::int64_t b = 0; b < buckets; ++b) prefix[static_cast<std::size_t>(b) + 1] = prefix[static_cast<std::size_t>(b)] + weights.points[static_cast<std::size_t>(b)];
  const std::int64_t total = prefix.back();
  if (total > std::numeric_limits<std::int64_t>::max() / parts)  // the exact targets below are total x k
    throw std::invalid_argument(fmt::format("{} observed points are too many to split {} ways", total, parts));

  std::vector<std::int64_t> cut_bucket = {0};
  for (int k = 1; k < parts; ++k) {
    // Target k x total / parts, exactly: compare prefix x parts with k x total.
    const std::int64_t target = static_cast<std::int64_t>(total) * k;
    const auto above = std::lower_bound(prefix.begin(), prefix.end(), target,
                                        [&](std::int64_t p, std::int64_t t) { return static_cast<std::int64_t>(p) * parts < t; });
    auto b = static_cast<std::int64_t>(above - prefix.begin());
    if (b > 0 && b <= buckets) {
      const std::int64_t over = static_cast<std::int64_t>(prefix[static_cast<std::size_t>(b)]) * parts - target;
      const std::int64_t under = target - static_cast<std::int64_t>(prefix[static_cast<std::size_t>(b) - 1]) * parts;
      if (under <= over) --b;
    }
    b = std::clamp(b, cut_bucket.back(), buckets);
    cut_bucket.push_back(b);
  }
  cut_bucket.push_back(buckets);
  std::vector<SeriesRange> ranges;
  for (int k = 0; k < parts; ++k) {
    const std::int64_t first = std::min(n_series, cut_bucket[static_cast<std::size_t>(k)] * weights.bucket_series);
    const std::int64_t end = std::min(n_series, cut_bucket[static_cast<std::size_t>(k) + 1] * weights.bucket_series);
    ranges.push_back({first, end - first});
  }
  return ranges;
}

ObservedPoints count_observed_points(DatasetReader& reader, ProcessGroup& group, std::int64_t max_buckets,
                                     std::vector<std::uint64_t>* value_hashes) {
  const std::int64_t n = reader.info().series_count;
  const std::int64_t steps = reader.info().grid.steps;
  ObservedPoints out;
  out.bucket_series = std::max<std::int64_t>(1, (n + max_buckets - 1) / std::max<std::int64_t>(max_buckets, 1));
  const std::int64_t buckets = (n + out.bucket_series - 1) / out.bucket_series;
  out.points.assign(static_cast<std::size_t>(buckets), 0);
  // This process's equal share of the buckets.
  const std::int64_t b0 = buckets * group.rank() / group.size(), b1 = buckets * (group.rank() + 1) / group.size();
  const std::int64_t first = b0 * out.bucket_series, end = std::min(n, b1 * out.bucket_series);
  const std::int64_t block = std::max<std::int64_t>(1, (4 << 20) / (std::max<std::int64_t>(steps, 1) * 4));
  std::vector<float> values;
  if (value_hashes != nullptr) value_hashes->clear();
  std::string failure;
  try {
    for (std::int64_t s = first; s < end; s += block) {
      const std::int64_t count = std::min(block, end - s);
      reader.read_values(s, count, values);
      for (std::int64_t i = 0; i < count; ++i) {
        const auto row = values.begin() + i * steps;
        out.points[static_cast<std::size_t>((s + i) / out.bucket_series)] += std::count_if(row, row + steps, [](float v) { return !std::isnan(v); });
        if (value_hashes != nullptr) value_hashes->push_back(series_value_hash({values.data() + i * steps, static_cast<std::size_t>(steps)}));
      }
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  agree_on_failure(group, failure, {first, end - first}, "counting observed points");
  group.allreduce_sum(out.points);
  return out;
}

}  // namespace meterbench
