#pragma once
// One streaming pass over a dataset, shared by backtest, detect and sweep:
//   read a block of series (serial, in order: HDF5 reads stay on one stage)
//   -> the client's per-block work with this thread's state (parallel)
//   -> the client's outputs of the block (serial, in series order, whatever the thread count),
// then the client's reducer merges the per-thread states once and, on several processes, its integer
// totals are summed across them. The runner times the stages and chains the dataset fingerprint.
// A client provides a BlockWork (its per-thread state, its per-block state and work, its outputs) and a
// PassReducer (what the pass adds up); the per-thread state is DuckDB's local sink state, the reducer its
// combine. Both are interfaces: a virtual call per block or per thread costs nothing next to the work.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/io/dataset.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/dataset_fingerprint.hpp"
#include "meterbench/pass/block_feed.hpp"
#include "meterbench/pass/series_work.hpp"
#include "meterbench/runtime/progress.hpp"

namespace meterbench {

/// What a pass runs over, and how.
struct PassPlan {
  std::vector<SeriesRange> ranges{};      ///< ascending, disjoint; empty = every series of the dataset
  std::int64_t block_series = 0;          ///< series per pipeline block (the --block option; 0 = about 4 MiB of values)
  const char* label = "pass";             ///< names the pass in progress lines and agreed failures
  const ScaleOut* scale_out = nullptr;    ///< several processes: this one runs its share, the totals are combined
  const PassCheckpoint* checkpoint = nullptr;  ///< with scale_out: reuse (and save) this process's verified totals
};

/// Stage times of a pass: the serial stages' wall time, the parallel stage's summed over threads.
struct PassTiming {
  double wall_seconds = 0.0;
  double read_seconds = 0.0, write_seconds = 0.0;
  WorkTimes work;
};

/// What the runner itself reports of a pass.
struct PassResult {
  std::uint64_t fingerprint = 0;  ///< of the series of the pass (on several processes: the writer's)
  PassTiming timing;
};

/// What a pass adds up, as integers in a fixed order: the processes' totals are their sums.
class PassTotalsReducer {
 public:
  virtual ~PassTotalsReducer() = default;
  /// The merged counts; their length depends on the settings only, never on the data.
  [[nodiscard]] virtual std::vector<std::int64_t> to_integers() const = 0;
  /// Replaces the counts by `integers` (the sum of every process's to_integers()).
  virtual void from_integers(std::span<const std::int64_t> integers) = 0;
};

/// The reducer of a pass whose threads hold a ThreadState: merge() is called once per thread after the
/// pipeline (counts are integers: the merge order does not change the result).
template <class ThreadState>
class PassReducer : public PassTotalsReducer {
 public:
  virtual void merge(const ThreadState& state) = 0;
};

/// One thread's slot: the client's state and the time its work took.
template <class ThreadState>
struct ThreadSlot {
  ThreadState state;
  WorkTimes times;
};
template <class ThreadState>
using ThreadSlots = oneapi::tbb::enumerable_thread_specific<ThreadSlot<ThreadState>>;

/// The per-series value hashes of a block, for the dataset fingerprint. A client whose per-series loop reads
/// every row anyway hashes each there, while the row is in cache (from memory it costs several times more);
/// the runner hashes the block itself when the client did not hash every series.
class BlockHashes {
 public:
  /// Hashes series i of `block`.
  void hash(const SeriesBlock& block, std::int64_t i) {
    values_[static_cast<std::size_t>(i)] = series_value_hash(block.row(i));
    ++hashed_;
  }
  void reset(std::int64_t count) {
    values_.resize(static_cast<std::size_t>(count));
    hashed_ = 0;
  }
  /// Hashes every series unless each was hashed since reset().
  void complete(const SeriesBlock& block) {
    if (hashed_ == block.count) return;
    for (std::int64_t i = 0; i < block.count; ++i) values_[static_cast<std::size_t>(i)] = series_value_hash(block.row(i));
    hashed_ = block.count;
  }
  [[nodiscard]] std::span<const std::uint64_t> values() const { return values_; }

 private:
  std::vector<std::uint64_t> values_;
  std::int64_t hashed_ = 0;
};

/// The client's per-block work. BlockState: per-block buffers, recycled across the pipeline's tokens.
template <class ThreadState, class BlockState>
class BlockWork {
 public:
  virtual ~BlockWork() = default;
  /// A new thread's state (detector workspaces, accumulators).
  [[nodiscard]] virtual ThreadState make_thread_state() const = 0;
  /// Parallel stage: the block's work with this thread's slot, `threads.local()` (a nested parallel loop
  /// asks for it again in each of its tasks); may hash the block's series into `hashes` as it reads them.
  virtual void process(const SeriesBlock& block, BlockState& state, ThreadSlots<ThreadState>& threads, BlockHashes& hashes) const = 0;
  /// Serial stage, blocks in series order: the block's outputs.
  virtual void write(const SeriesBlock& block, BlockState& state) = 0;
  /// Before a checkpoint saves the complete pass: flush and close what it checksums.
  virtual void finish_outputs() {}
};

/// The non-template part of the runner: this process's share, the fingerprint, the timing, the checkpoint
/// and the reduction across processes.
class PassRecorder {
 public:
  PassRecorder(const DatasetInfo& info, const PassPlan& plan);
  [[nodiscard]] const std::vector<SeriesRange>& local_ranges() const { return ranges_; }
  [[nodiscard]] std::int64_t local_series() const { return local_series_; }
  [[nodiscard]] std::int64_t block_series() const { return block_series_; }
  [[nodiscard]] int tokens() const { return tokens_; }
  [[nodiscard]] bool distributed() const { return plan_.scale_out != nullptr; }
  [[nodiscard]] const char* label() const { return plan_.label; }

  /// Stage times, added to by the stages.
  double& read_seconds() { return timing_.read_seconds; }
  void add_write_seconds(double seconds) { timing_.write_seconds += seconds; }
  void add_work_times(const WorkTimes& times) { timing_.work += times; }
  /// Serial stage: chains a block's per-series value hashes into the fingerprint.
  void chain(std::span<const std::uint64_t> value_hashes);
  /// The pass's wall time ends here (before any wait for other processes).
  void stop_clock();

  /// This process's verified totals of an earlier run, when the plan has a checkpoint and they verify.
  [[nodiscard]] std::optional<PassTotals> load_saved(const PassTotalsReducer& reducer) const;
  /// Collective: saves this process's totals at the checkpoint (after `finish_outputs`), agrees on
  /// `failure`, then `reducer` and the timing become the totals over every process.
  void combine(PassTotalsReducer& reducer, std::optional<PassTotals> saved, std::string failure, const std::function<void()>& finish_outputs);

  [[nodiscard]] PassResult result() const { return {fingerprint_, timing_}; }

 private:
  PassPlan plan_;
  std::int64_t steps_ = 0, pass_series_ = 0;  // pass_series_: over every process, the fingerprint's seed
  std::vector<SeriesRange> ranges_;
  std::int64_t local_series_ = 0, block_series_ = 1;
  int tokens_ = 1;
  std::chrono::steady_clock::time_point start_;
  std::uint64_t fingerprint_ = 0;
  std::vector<std::uint64_t> value_hashes_;  // several processes: chained after they are gathered
  PassTiming timing_;
};

/// A pipeline block: the series read, the client's state of the block and the series' value hashes.
template <class BlockState>
struct PassBlock {
  SeriesBlock data;
  BlockState state;
  BlockHashes hashes;
};

/// Runs the three-stage pipeline; on several processes a failure is returned (to be agreed with the
/// others, so none waits for this one forever), else thrown.
template <class ThreadState, class BlockState>
std::string run_pipeline(DatasetReader& reader, PassRecorder& record, BlockWork<ThreadState, BlockState>& work,
                         ThreadSlots<ThreadState>& threads, ProgressReporter& progress) {
  using Block = PassBlock<BlockState>;
  namespace tbb = oneapi::tbb;
  BlockFeed<Block> feed(reader, record.block_series(), record.tokens(), record.local_ranges());
  try {
    tbb::parallel_pipeline(
        static_cast<std::size_t>(record.tokens()),
        tbb::make_filter<void, Block*>(tbb::filter_mode::serial_in_order,
                                       [&](tbb::flow_control& fc) { return feed.next(fc, record.read_seconds()); }) &
            tbb::make_filter<Block*, Block*>(tbb::filter_mode::parallel,
                                             [&](Block* block) {
                                               block->hashes.reset(block->data.count);
                                               work.process(block->data, block->state, threads, block->hashes);
                                               block->hashes.complete(block->data);
                                               return block;
                                             }) &
            tbb::make_filter<Block*, void>(tbb::filter_mode::serial_in_order, [&](Block* block) {
              const auto t0 = std::chrono::steady_clock::now();
              work.write(block->data, block->state);
              record.chain(block->hashes.values());
              record.add_write_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
              progress.advance(block->data.count);
              feed.recycle(block);
            }));
  } catch (const std::exception& e) {
    if (!record.distributed()) throw;
    return e.what();
  }
  return {};
}

/// One streaming pass of `work` over the plan's series; `reducer` holds the totals afterwards (on several
/// processes: the sums over every process).
template <class ThreadState, class BlockState>
PassResult run_streaming_pass(DatasetReader& reader, const PassPlan& plan, BlockWork<ThreadState, BlockState>& work,
                              PassReducer<ThreadState>& reducer) {
  PassRecorder record(reader.info(), plan);
  ProgressReporter progress(plan.label, "series", record.local_series());
  ThreadSlots<ThreadState> threads([&] { return ThreadSlot<ThreadState>{work.make_thread_state(), {}}; });
  std::optional<PassTotals> saved = record.load_saved(reducer);
  std::string failure;
  if (!saved) failure = run_pipeline(reader, record, work, threads, progress);
  for (const ThreadSlot<ThreadState>& slot : threads) {
    reducer.merge(slot.state);
    record.add_work_times(slot.times);
  }
  record.stop_clock();
  if (failure.empty()) progress.finish();  // this process's own time, before it waits for the others
  if (record.distributed()) record.combine(reducer, std::move(saved), std::move(failure), [&] { work.finish_outputs(); });
  return record.result();
}

}  // namespace meterbench
