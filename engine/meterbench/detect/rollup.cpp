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

std::vector<std::string> rollup_dimensions(const DatasetInfo& info) {
  std::vector<std::string> names{"customer", "meter"};
  names.insert(names.end(), info.dimensions.begin(), info.dimensions.end());
  return names;
}

DimensionColumn::DimensionColumn(const DatasetInfo& info, std::string_view dimension) {
  if (dimension == "customer") {
    customer_ = true;
    return;
  }
  if (dimension == "meter") return;
  const auto at = std::find(info.dimensions.begin(), info.dimensions.end(), dimension);
  if (at == info.dimensions.end())
    throw std::invalid_argument(
        fmt::format("--by '{}': not a dimension of the dataset (known: {})", dimension, fmt::join(rollup_dimensions(info), ", ")));
  column_ = at - info.dimensions.begin();
}

std::string_view DimensionColumn::value(const SeriesBlock& block, std::int64_t i) const {
  if (column_ >= 0) return block.dimension(i, static_cast<std::size_t>(column_));
  const SeriesRecord& record = block.series[static_cast<std::size_t>(i)];
  return customer_ ? record.customer() : record.meter();
}

RollUpSummary write_rolled_up_dataset(const std::filesystem::path& data, std::string_view dimension, const std::filesystem::path& out) {
  DatasetReader reader(data);
  const DatasetInfo& info = reader.info();
  const DimensionColumn by(info, dimension);  // an unknown dimension is refused before any reading
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
        const std::string_view key = by.value(block, i);
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
  rolled.dimensions.clear();
  if (by.kept()) rolled.dimensions.emplace_back(dimension);
  DatasetWriter writer(out, rolled);
  RollUpSummary summary;
  summary.groups = rolled.series_count;
  std::int64_t index = 0;
  auto next = groups.begin();
  while (next != groups.end()) {
    const std::int64_t count = std::min<std::int64_t>(kReadSeries, rolled.series_count - index);
    block.reset(index, count, info.grid.steps, false);
    block.events.clear();
    block.dimensions.clear(by.kept() ? 1 : 0);
    for (std::int64_t i = 0; i < count; ++i, ++next) {
      const auto& [key, g] = *next;
      const std::span<float> row = block.row(i);
      for (std::size_t t = 0; t < steps; ++t)
        row[t] = g.observed[t] != 0 ? static_cast<float>(g.sum[t]) : std::numeric_limits<float>::quiet_NaN();
      SeriesRecord& record = block.series[static_cast<std::size_t>(i)];
      record = {};
      if (by.kept())  // ids must name one series: the meter column says which group, as DIMENSION=value
        record.set_ids(kAllMembers, fmt::format("{}={}", dimension, key));
      else
        record.set_ids(dimension == "customer" ? std::string_view(key) : kAllMembers, dimension == "meter" ? std::string_view(key) : kAllMembers);
      if (by.kept()) block.dimensions.push(key);
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
