#include "meterbench/detect/rollup.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "meterbench/io/dataset_file.hpp"

namespace meterbench {

namespace {

// One roll-up being summed: its steps' sums, whether any member was observed there, and its money rule.
struct Group {
  std::vector<double> sum;
  std::vector<std::uint8_t> observed;
  bool priced = true;  // every member has a price: sum costs
};

constexpr std::int64_t kReadSeries = 4096;

}  // namespace

std::vector<std::string> rollup_dimensions() { return {"customer", "meter"}; }

std::string_view dimension_value(const SeriesRecord& series, std::string_view dimension) {
  if (dimension == "customer") return series.customer();
  if (dimension == "meter") return series.meter();
  throw std::invalid_argument(fmt::format("--by '{}': not a dimension of the dataset (known: {})", dimension, fmt::join(rollup_dimensions(), ", ")));
}

RollUpSummary write_rolled_up_dataset(const std::filesystem::path& data, std::string_view dimension, const std::filesystem::path& out) {
  (void)dimension_value(SeriesRecord{}, dimension);  // an unknown dimension is refused before any reading
  DatasetReader reader(data);
  const DatasetInfo& info = reader.info();
  const auto steps = static_cast<std::size_t>(info.grid.steps);
  // Pass 1: which members have a price, per group (a group sums costs only when all of them do).
  // Pass 2 sums; both read in series order, so the sums' bits do not depend on anything else.
  std::map<std::string, Group, std::less<>> groups;
  SeriesBlock block;
  for (int pass = 0; pass < 2; ++pass) {
    for (std::int64_t first = 0; first < info.series_count; first += kReadSeries) {
      reader.read(first, std::min(kReadSeries, info.series_count - first), block);
      for (std::int64_t i = 0; i < block.count; ++i) {
        const SeriesRecord& record = block.series[static_cast<std::size_t>(i)];
        const std::string_view key = dimension_value(record, dimension);
        const double price = record.price_per_unit;
        if (pass == 0) {
          auto [at, added] = groups.try_emplace(std::string(key));
          at->second.priced = at->second.priced && std::isfinite(price);
          continue;
        }
        Group& g = groups.find(key)->second;
        if (g.sum.empty()) {
          g.sum.assign(steps, 0.0);
          g.observed.assign(steps, 0);
        }
        const std::span<const float> row = block.row(i);
        const double weight = g.priced ? price : 1.0;
        for (std::size_t t = 0; t < steps; ++t) {
          if (std::isnan(row[t])) continue;
          g.sum[t] += static_cast<double>(row[t]) * weight;
          g.observed[t] = 1;
        }
      }
    }
  }
  DatasetInfo rolled = info;
  rolled.series_count = static_cast<std::int64_t>(groups.size());
  rolled.has_labels = false;
  rolled.source = "rolled up";
  rolled.scenario = fmt::format("detect --by {} of {}", dimension, data.string());
  DatasetWriter writer(out, rolled);
  RollUpSummary summary;
  summary.groups = rolled.series_count;
  std::int64_t index = 0;
  auto next = groups.begin();
  while (next != groups.end()) {
    const std::int64_t count = std::min<std::int64_t>(kReadSeries, rolled.series_count - index);
    block.reset(index, count, info.grid.steps, false);
    block.events.clear();
    for (std::int64_t i = 0; i < count; ++i, ++next) {
      const auto& [key, g] = *next;
      const std::span<float> row = block.row(i);
      for (std::size_t t = 0; t < steps; ++t)
        row[t] = g.observed[t] != 0 ? static_cast<float>(g.sum[t]) : std::numeric_limits<float>::quiet_NaN();
      SeriesRecord& record = block.series[static_cast<std::size_t>(i)];
      record = {};
      record.set_ids(dimension == "customer" ? std::string_view(key) : kAllMembers, dimension == "meter" ? std::string_view(key) : kAllMembers);
      record.price_per_unit = g.priced ? 1.0 : std::numeric_limits<double>::quiet_NaN();
      record.noise_scale = std::numeric_limits<double>::quiet_NaN();
      summary.priced_groups += g.priced ? 1 : 0;
    }
    writer.write(block);
    index += count;
  }
  writer.finish();
  return summary;
}

RolledUpDataset::RolledUpDataset(const std::filesystem::path& data, std::string_view dimension, const std::filesystem::path& beside) {
  (void)dimension_value(SeriesRecord{}, dimension);
  const std::filesystem::path base = beside.empty() ? std::filesystem::temp_directory_path() / "meterbench-detect" : beside;
  const std::filesystem::path rolled = base.parent_path() / (base.filename().string() + ".rollup.h5");
  remove_stale_staged_outputs(rolled);
  path_ = rolled.parent_path() / fmt::format(".{}.tmp-{}", rolled.filename().string(), staging_owner_tag());
  on_interrupt_.emplace(path_);
  try {
    summary_ = write_rolled_up_dataset(data, dimension, path_);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);  // the destructor does not run for a constructor that throws
    throw;
  }
}

RolledUpDataset::~RolledUpDataset() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace meterbench
