#pragma once
// The backtest across processes (issue 8): each process runs the same streaming pipeline over its own
// contiguous range of series (balanced by observed points), then the pass totals are combined with integer
// sums, so the metrics equal the one-process run's bit for bit. Rank 0 writes the run directory; every
// rank writes its alert rows to a part file in `.<run>.parts/` beside it, and rank 0 joins them in order.
// With --resume, a rank whose part of the main pass is complete and verified (checksums) skips it.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "meterbench/backtest/backtest.hpp"
#include "meterbench/distributed/partition.hpp"
#include "meterbench/distributed/process_group.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench {

/// Every count of an EvaluationCounts as one integer array, in a fixed field order (for reductions and
/// saved parts), and back into counts of the same shape (the same evaluation config).
std::vector<std::int64_t> counts_to_integers(const EvaluationCounts& counts);
/// Throws std::invalid_argument when the array's length does not fit `shape`.
EvaluationCounts counts_from_integers(std::span<const std::int64_t> integers, const EvaluationCounts& shape);

/// What one pass of the backtest adds up on one process.
struct PassTotals {
  EvaluationCounts counts;
  std::array<std::int64_t, kFitStatusCount> status_counts{};
  std::int64_t alerts = 0;
  std::vector<std::uint64_t> value_hashes;  ///< per series, in series order (the dataset fingerprint chains them)
  std::int64_t read_ns = 0, detect_ns = 0, evaluate_ns = 0, write_ns = 0;  ///< summed over processes
  std::int64_t detect_cpu_ns = 0, evaluate_cpu_ns = 0;                     ///< thread CPU time, summed
  std::int64_t wall_ns = 0;                                                 ///< the slowest process's
};

class BacktestScaleOut {
 public:
  /// `resume`: reuse verified main-pass parts of an earlier run of the same command (same process count).
  BacktestScaleOut(ProcessGroup& group, bool resume) : group_(group), resume_(resume) {}

  [[nodiscard]] ProcessGroup& group() const { return group_; }
  [[nodiscard]] bool writer() const { return group_.rank() == 0; }
  [[nodiscard]] SeriesRange range() const { return range_; }

  /// Collective: counts observed points, splits the series among the processes, logs the plan, and makes
  /// the parts directory of `out_dir` (emptied unless resuming). `run_key` identifies the run's settings:
  /// a saved part is reused only under the same key and range.
  void plan(DatasetReader& reader, const std::filesystem::path& out_dir, std::string run_key);
  /// This process's alert rows (no header).
  [[nodiscard]] std::filesystem::path alerts_part() const;
  /// --resume: this process's main-pass totals saved by an earlier run with the same key and range, when
  /// the saved state and its alerts part verify; nullopt otherwise (logged). `shape`: counts of this run's
  /// evaluation config (the lengths of its histograms).
  [[nodiscard]] std::optional<PassTotals> load_saved(const EvaluationCounts& shape) const;
  /// Saves this process's main-pass totals (and the checksum of its alerts part, flushed by the caller).
  void save(const PassTotals& totals) const;
  /// Collective: throws DistributedError on every process when any process's `error` is not empty.
  void check(const std::string& error, std::string_view what) const { agree_on_failure(group_, error, range_, what); }
  /// Collective: `totals` becomes the sum over every process (wall time: the maximum); the writer receives
  /// every series' value hash in series order.
  void combine(PassTotals& totals) const;
  /// Collective (`detect`): moves every process's flagged steps and their series records to the writer,
  /// in rank order; other processes' collectors are left empty.
  void gather_flags(FlagCollector& flags) const;
  /// Writer: appends every rank's alerts part, in rank order, to `out`.
  void append_alert_parts(std::ostream& out) const;
  /// Writer, after the run directory is committed: removes the parts.
  void remove_parts() const;

 private:
  [[nodiscard]] std::filesystem::path state_path() const;
  [[nodiscard]] std::optional<PassTotals> verified_part(const EvaluationCounts& shape) const;
  ProcessGroup& group_;
  bool resume_ = false;
  std::vector<SeriesRange> ranges_;
  SeriesRange range_;
  std::filesystem::path parts_dir_;
  std::string run_key_;
};

}  // namespace meterbench
