#pragma once
// `detect --by DIMENSION`: the series summed to one series per value of a dimension (a customer's whole bill,
// or one meter over every customer) before detection, so that "customer X's bill is off" is one incident.
//
// Rules:
// - Members: the series with the same value of the dimension; groups in the byte order of that value.
// - A step of a roll-up is the sum of its members' observed values; it is missing only when every member is
//   missing there (a member that stops reporting then lowers the sum, which is what a bill shows).
// - Money: when every member has a known price, the roll-up sums their cost (quantity x price) and its price is
//   1 per currency unit, so an incident's totals are in the currency and its impact is exact: the sum of the
//   members' (observed - expected) x price cannot be recovered after summing quantities, and a customer's meters
//   have different units. When some member has no price, the roll-up sums quantities and its impact is unknown.
// - The roll-up's ids: the value under its dimension, `*` under the others (customer `acme`, meter `*`). By a kept
//   dimension (ingest --keep, e.g. Region): customer `*`, meter `Region=west`, and the rolled-up dataset keeps that
//   one dimension, so every incident row also names its value in the dimension's column.
// - Sums are accumulated in double in series order, then stored as float: the same bits for any thread count.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meterbench/io/dataset.hpp"
#include "meterbench/io/output_path.hpp"

namespace meterbench {

/// The dimensions `--by` accepts on a dataset: customer, meter and its kept dimensions, by name.
std::vector<std::string> rollup_dimensions(const DatasetInfo& info);

/// Which column of a dataset a `--by` dimension reads. Throws std::invalid_argument naming the dimension and the
/// known ones when the dataset has no such dimension.
class DimensionColumn {
 public:
  DimensionColumn(const DatasetInfo& info, std::string_view dimension);
  /// The value of series i of a block.
  [[nodiscard]] std::string_view value(const SeriesBlock& block, std::int64_t i) const;
  [[nodiscard]] bool kept() const { return column_ >= 0; }

 private:
  bool customer_ = false;
  std::int64_t column_ = -1;  ///< index among the kept dimensions, -1 for customer and meter
};

/// The id a roll-up shows under each column: its value under its own dimension, `*` elsewhere.
inline constexpr std::string_view kAllMembers = "*";

struct RollUpSummary {
  std::int64_t groups = 0;
  std::int64_t priced_groups = 0;  ///< groups whose members all have a price (summed as cost)
};

/// Writes the dataset `data` rolled up to `dimension` (see the rules above) as a new dataset file `out`,
/// without labels. Throws std::invalid_argument for an unknown dimension, DatasetError for a bad dataset.
RollUpSummary write_rolled_up_dataset(const std::filesystem::path& data, std::string_view dimension, const std::filesystem::path& out);

/// The rolled-up dataset of a run, written beside its output (`beside`; empty: in the temporary directory) under a
/// staged name, so that an interrupt removes it and a later run removes one a killed run left; removed when done.
class RolledUpDataset {
 public:
  RolledUpDataset(const std::filesystem::path& data, std::string_view dimension, const std::filesystem::path& beside);
  ~RolledUpDataset();
  RolledUpDataset(const RolledUpDataset&) = delete;
  RolledUpDataset& operator=(const RolledUpDataset&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] const RollUpSummary& summary() const { return summary_; }

 private:
  std::filesystem::path path_;
  std::optional<RemovedOnInterrupt> on_interrupt_;
  RollUpSummary summary_;
};

}  // namespace meterbench
