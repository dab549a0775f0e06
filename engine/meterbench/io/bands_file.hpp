#pragma once
// `--save-bands`: the expected range of every series and step, for plotting the picture the reference
// service shows (yellow band, green stars inside, red dots outside). Format `meterbench-bands`, version 1:
// float32 datasets /expected, /lower, /upper, /score of N x T (NaN where a step was not scored), chunked
// along series, with attributes naming the dataset and the model run that produced them.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "meterbench/io/dataset.hpp"

namespace meterbench {

inline constexpr std::string_view kBandsFormatName = "meterbench-bands";
inline constexpr std::int64_t kBandsFormatVersion = 1;

class BandsWriter {
 public:
  /// `run` describes the run (model, parameters, schedule) and is stored as the `run` attribute.
  BandsWriter(const std::filesystem::path& path, const DatasetInfo& dataset, const std::string& dataset_path, const std::string& run);
  ~BandsWriter();
  BandsWriter(const BandsWriter&) = delete;
  BandsWriter& operator=(const BandsWriter&) = delete;

  /// Writes rows [first, first + count) of each band (row-major count x steps arrays).
  void write(std::int64_t first, std::int64_t count, const float* expected, const float* lower, const float* upper, const float* score);
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meterbench
