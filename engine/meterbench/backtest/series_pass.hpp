#pragma once
// Internal to the engine: the pieces of a streaming pass that the backtest and the sweep share (the scored
// window of a schedule, the evaluation config, fitting and scoring a block of series, the evaluation input
// of one series, the dataset fingerprint), so that both run the detectors and the metrics the same way.
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include "meterbench/backtest/backtest.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/core/check.hpp"
#include "meterbench/distributed/process_group.hpp"
#include "meterbench/io/dataset.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench::detail {

/// The scored part of the grid: steps [first_scored, steps); period 0 = retrospective, else the week length
/// in steps of the weekly schedule.
struct ScoredWindow {
  std::int64_t first_scored = 0;
  std::int64_t period = 0;
};

/// Checks the options a pass shares (backtest, sweep): --weeks >= 1, --block >= 0, --min-impact >= 0 USD.
/// Throws std::invalid_argument naming the option and its value.
void validate_pass_options(std::int64_t weeks, std::int64_t block_series, double impact_filter_usd);

/// The scored window of a schedule on a grid. Throws std::invalid_argument when `weeks` leaves no history.
ScoredWindow scored_window(Schedule schedule, std::int64_t weeks, const TimeGrid& grid);

/// The evaluation config of a run: the detector's flag threshold, the delay tolerance in steps, the impact
/// filter, the week length and the schedule period (validated).
EvaluationConfig evaluation_config(const Detector& detector, const TimeGrid& grid, ScoredWindow window, double delay_tolerance_days,
                                   double impact_filter_usd);

/// Detector outputs of a block, count x steps each, row-major by series.
struct BlockOutputs {
  std::vector<float> expected, lower, upper, score;
  /// `nan_fill`: steps no detector writes read as NaN (needed only where unscored steps are shown).
  void resize(std::int64_t count, std::int64_t steps, bool nan_fill = true) {
    const auto n = static_cast<std::size_t>(count * steps);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (std::vector<float>* v : {&expected, &lower, &upper, &score}) {
      if (nan_fill) {
        v->assign(n, nan);
      } else {
        v->resize(n);
      }
    }
    steps_ = steps;
  }
  [[nodiscard]] DetectionOutput row(std::int64_t i) {
    const auto t = static_cast<std::size_t>(steps_);
    const auto at = static_cast<std::size_t>(i) * t;
    return {{expected.data() + at, t}, {lower.data() + at, t}, {upper.data() + at, t}, {score.data() + at, t}};
  }

 private:
  std::int64_t steps_ = 0;
};

/// Fits and scores every series of a block under the schedule (`outputs` sized for the block first);
/// status[i] is series i's status (weekly: its first non-ok one).
void detect_block(const Detector& detector, DetectorWorkspace& workspace, const SeriesBlock& block, ScoredWindow window,
                  BlockOutputs& outputs, std::span<FitStatus> status);

/// Fits and scores series [first, first + count) of a block into rows i - out_first of `outputs`; status[i - first]
/// is series i's status. A few series at a time keep their outputs in cache until they are evaluated.
void detect_series(const Detector& detector, DetectorWorkspace& workspace, const SeriesBlock& block, std::int64_t first,
                   std::int64_t count, ScoredWindow window, BlockOutputs& outputs, std::int64_t out_first, std::span<FitStatus> status);

/// Whether detect_series on a few series at a time does no more work than on the whole block (false for
/// the week-major independent fits of the weekly schedule, whose per-window work is shared by the block).
bool fits_series_by_series(const Detector& detector, ScoredWindow window);

/// What the evaluation needs of series i of a block and its detector output.
SeriesEvaluationInput evaluation_input(const SeriesBlock& block, std::int64_t i, bool has_labels, const DetectionOutput& out,
                                       std::int64_t first_scored);

/// A fast 64-bit content hash of one series' values (bit patterns, so NaN gaps count); the dataset
/// fingerprint combines them in series order, so it depends on neither block size nor thread count.
std::uint64_t hash_values(std::span<const float> values);

/// The oneTBB thread limit in force.
int active_threads();

/// Series per pipeline block: the option, or about 4 MiB of values; at most the series count, at least 1.
std::int64_t block_series(std::int64_t option, std::int64_t series_count, std::int64_t steps);

using ::meterbench::SeriesRange;  // consecutive series [first, first + count) of a pass

/// The first stage of a pass (serial, in order: HDF5 reads stay on one stage): `tokens` recycled blocks
/// (Block has a SeriesBlock `data`), each filled with the next at most `block_series` series of `ranges`
/// (ascending, disjoint; empty = the whole dataset). A block never spans two ranges.
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

}  // namespace meterbench::detail
