#pragma once
// The first stage of a streaming pass: blocks of consecutive series read from the dataset, serially and in
// order (HDF5 reads stay on one stage), into a fixed set of recycled blocks.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include "meterbench/core/check.hpp"
#include "meterbench/distributed/process_group.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace meterbench {

/// Series per pipeline block: the option, or about 4 MiB of values; at most the series count, at least 1.
inline std::int64_t block_series(std::int64_t option, std::int64_t series_count, std::int64_t steps) {
  const std::int64_t wanted = option > 0 ? option : std::max<std::int64_t>(1, (4 << 20) / (std::max<std::int64_t>(steps, 1) * 4));
  return std::max<std::int64_t>(1, std::min(series_count, wanted));
}

/// `tokens` recycled blocks (Block has a SeriesBlock `data`), each filled with the next at most
/// `block_series` series of `ranges` (ascending, disjoint; empty = the whole dataset). A block never spans
/// two ranges.
template <class Block>
class BlockFeed {
 public:
  BlockFeed(DatasetReader& reader, std::int64_t block_series, int tokens, std::vector<SeriesRange> ranges = {})
      : reader_(reader), block_series_(block_series), ranges_(std::move(ranges)) {
    if (ranges_.empty()) ranges_.push_back({0, reader_.info().series_count});
    next_first_ = ranges_.front().first;
    for (int i = 0; i < tokens; ++i) {
      blocks_.push_back(std::make_unique<Block>());
      free_.push(blocks_.back().get());
    }
  }
  /// The next block, or nullptr after stopping the pipeline at the end; adds the read time to `read_seconds`.
  Block* next(oneapi::tbb::flow_control& fc, double& read_seconds) {
    while (next_range_ < ranges_.size() && next_first_ >= ranges_[next_range_].first + ranges_[next_range_].count) {
      if (++next_range_ < ranges_.size()) next_first_ = ranges_[next_range_].first;
    }
    if (next_range_ >= ranges_.size()) {
      fc.stop();
      return nullptr;
    }
    const auto t0 = std::chrono::steady_clock::now();
    Block* block = nullptr;
    const bool popped = free_.try_pop(block);
    METERBENCH_CHECK(popped);
    const SeriesRange& range = ranges_[next_range_];
    const std::int64_t count = std::min(block_series_, range.first + range.count - next_first_);
    reader_.read(next_first_, count, block->data);
    next_first_ += count;
    read_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return block;
  }
  /// Returns a block whose last stage is done.
  void recycle(Block* block) { free_.push(block); }

 private:
  DatasetReader& reader_;
  std::int64_t block_series_;
  std::vector<SeriesRange> ranges_;
  std::size_t next_range_ = 0;
  std::int64_t next_first_ = 0;
  std::vector<std::unique_ptr<Block>> blocks_;
  oneapi::tbb::concurrent_queue<Block*> free_;
};

}  // namespace meterbench
