#pragma once
// `--save-bands`: the expected range of every series and step, for plotting the picture the reference
// service shows (yellow band, green stars inside, red dots outside). Format `meterbench-bands`, version 1:
// float32 datasets /expected, /lower, /upper, /score of N x T (NaN where a step was not scored), chunked
// along series, with attributes naming the dataset and the model run that produced them.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "meterbench/io/dataset.hpp"

namespace meterbench {

inline constexpr std::string_view kBandsFormatName = "meterbench-bands";
inline constexpr std::int64_t kBandsFormatVersion = 1;

class BandsWriter {
 public:
  /// `run` describes the run (model, parameters, schedule) and is stored as the `run` attribute. With
  /// `first_row` and `rows` (>= 0), the file is one process's part: it holds only series [first_row,
  /// first_row + rows), still written with their dataset indices, and records the range as attributes.
  BandsWriter(const std::filesystem::path& path, const DatasetInfo& dataset, const std::string& dataset_path, const std::string& run,
              std::int64_t first_row = 0, std::int64_t rows = -1);
  ~BandsWriter();
  BandsWriter(const BandsWriter&) = delete;
  BandsWriter& operator=(const BandsWriter&) = delete;

  /// Writes rows [first, first + count) of each band (row-major count x steps arrays).
  void write(std::int64_t first, std::int64_t count, const float* expected, const float* lower, const float* upper, const float* score);
  /// Closes the file (again: nothing to do).
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One process's part of bands.h5: series [first, first + count) of the dataset.
struct BandsPart {
  std::filesystem::path path;
  std::int64_t first = 0;
  std::int64_t count = 0;
};

/// Writes `path` (a new file) from `parts`, which cover every series in order, copying a few chunks' rows at
/// a time (memory stays bounded whatever the dataset's size). The values equal a one-process run's
/// bands.h5; throws DatasetError naming the part when one is missing or does not hold its range.
void merge_bands_parts(const std::filesystem::path& path, std::span<const BandsPart> parts, const DatasetInfo& dataset,
                       const std::string& dataset_path, const std::string& run);

/// Checks that `path` is a readable bands file (the checksummed HDF5 format, format `meterbench-bands`, the four
/// bands of one shape); throws DatasetError naming the file and what is wrong.
void check_bands_file(const std::filesystem::path& path);

}  // namespace meterbench
