#pragma once
// A pass across processes: each process runs the same streaming pipeline over its own contiguous range of
// series (balanced by observed points), then the pass totals are combined with integer sums, so the
// metrics equal the one-process run's bit for bit. ScaleOut is what every command shares (the plan, agreed
// failures, reductions); `sweep` and `detect` use it as is. BacktestScaleOut adds the backtest's parts:
// every rank writes its alert rows (and with --save-bands its bands) to parts in `.<run>.parts/` beside
// the run directory, and rank 0 joins them in order.
// With --resume, a rank whose part of the main pass is complete and verified (checksums, and the same
// dataset content and settings) skips it. Parts still being written end in `.partial` and are never reused.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/distributed/generate_parts.hpp"
#include "meterbench/distributed/partition.hpp"
#include "meterbench/distributed/process_group.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/io/dataset.hpp"

namespace meterbench {

/// Every count of an EvaluationCounts as one integer array, in a fixed field order (for reductions and
/// saved parts), and back into counts of the same shape (the same evaluation config).
std::vector<std::int64_t> counts_to_integers(const EvaluationCounts& counts);
/// Throws std::invalid_argument when the array's length does not fit `shape`.
EvaluationCounts counts_from_integers(std::span<const std::int64_t> integers, const EvaluationCounts& shape);

/// What one pass adds up on one process, as integers: reductions and saved parts are on integers, so the
/// combined totals do not depend on the number of processes.
struct PassTotals {
  std::vector<std::int64_t> integers;       ///< the pass's own counts, in its reducer's fixed order
  std::vector<std::uint64_t> value_hashes;  ///< per series, in series order (the dataset fingerprint chains them)
  std::int64_t read_ns = 0, detect_ns = 0, evaluate_ns = 0, write_ns = 0;  ///< summed over processes
  std::int64_t detect_cpu_ns = 0, evaluate_cpu_ns = 0;                     ///< thread CPU time, summed
  std::int64_t wall_ns = 0;                                                 ///< the slowest process's
};

/// Where a pass of this process may be saved once complete and reused by a resumed run.
class PassCheckpoint {
 public:
  virtual ~PassCheckpoint() = default;
  /// This process's totals saved by an earlier run of the same pass, when they verify; nullopt otherwise.
  /// `integers`: the length of PassTotals::integers of this run (the shape of its counts).
  [[nodiscard]] virtual std::optional<PassTotals> load_saved(std::size_t integers) const = 0;
  /// Saves this process's totals of a complete pass (its outputs flushed and closed by the caller).
  virtual void save(const PassTotals& totals) const = 0;
};

/// Peak memory of every process of a group.
struct ProcessesRecord {
  int count = 1;
  std::string group;                        ///< ProcessGroup::describe()
  std::vector<std::int64_t> peak_rss_bytes; ///< per rank
  [[nodiscard]] std::int64_t largest_peak_rss_bytes() const;
};
nlohmann::json to_json(const ProcessesRecord& record);

/// One job's share of the series on this process, and the collectives its passes need.
class ScaleOut {
 public:
  explicit ScaleOut(ProcessGroup& group) : group_(group) {}
  virtual ~ScaleOut() = default;
  ScaleOut(const ScaleOut&) = delete;
  ScaleOut& operator=(const ScaleOut&) = delete;

  [[nodiscard]] ProcessGroup& group() const { return group_; }
  [[nodiscard]] bool writer() const { return group_.rank() == 0; }
  [[nodiscard]] SeriesRange range() const { return range_; }

  /// Collective: counts observed points, splits the series among the processes and logs the plan as `what`;
  /// the writer removes stale temporaries of `output`. With `fingerprint`, every process also receives the
  /// dataset fingerprint (from the same read of /values), so settings can be keyed by the data's content.
  void partition(DatasetReader& reader, const std::filesystem::path& output, std::string_view what, bool fingerprint);
  /// The dataset fingerprint of partition(..., true).
  [[nodiscard]] std::uint64_t dataset_fingerprint() const { return fingerprint_; }
  /// Collective: throws DistributedError on every process when any process's `error` is not empty.
  void check(const std::string& error, std::string_view what) const;
  /// Collective: element-wise integer sums (max) over every process.
  void sum(std::span<std::int64_t> values) const { group_.allreduce_sum(values); }
  void max(std::span<std::int64_t> values) const { group_.allreduce_max(values); }
  /// Collective: every process's per-series hashes, in rank (so series) order, on the writer; empty elsewhere.
  [[nodiscard]] std::vector<std::uint64_t> gather_hashes(std::span<const std::uint64_t> mine) const;
  /// Collective: the count of processes, the group and each rank's peak RSS.
  [[nodiscard]] ProcessesRecord record_processes() const;
  /// Collective: `totals` becomes the sum over every process (wall time: the maximum); the writer receives
  /// every series' value hash in series order.
  void combine(PassTotals& totals) const;

 protected:
  /// After an agreed failure, on every process (collective): removes what cannot be resumed.
  virtual void clean_up_after_failure() const {}

  ProcessGroup& group_;
  std::vector<SeriesRange> ranges_;
  SeriesRange range_;
  std::uint64_t fingerprint_ = 0;
};

class BacktestScaleOut : public ScaleOut, public PassCheckpoint {
 public:
  /// `resume`: reuse verified main-pass parts of an earlier run of the same command (same process count).
  BacktestScaleOut(ProcessGroup& group, bool resume) : ScaleOut(group), resume_(resume) {}

  /// Collective: partition() with the fingerprint, and makes the parts directory of `out_dir` (emptied
  /// unless resuming). `run_key` identifies the run's settings; a saved part is reused only under the same
  /// dataset fingerprint, key and range (and, with `bands`, only with its complete, verified bands part).
  void plan(DatasetReader& reader, const std::filesystem::path& out_dir, std::string run_key, bool bands = false);
  /// This process's alert rows (no header) as they are written: `alerts.rank-R-of-K.csv.partial`, renamed
  /// without `.partial` once the pass is complete and saved.
  [[nodiscard]] std::filesystem::path alerts_part() const;
  /// This process's bands (--save-bands) as they are written: `bands.rank-R-of-K.h5.partial`, renamed
  /// without `.partial` by save(), once the pass is complete and the file closed. A stale file of a killed
  /// run is removed here, so the caller can create it.
  [[nodiscard]] std::filesystem::path bands_part() const;
  /// --resume: this process's main-pass totals saved by an earlier run with the same key and range, when
  /// the saved state and its alerts part verify; nullopt otherwise (logged, with the reason).
  [[nodiscard]] std::optional<PassTotals> load_saved(std::size_t integers) const override;
  /// Saves this process's main-pass totals (and the checksum of its alerts part, flushed by the caller).
  void save(const PassTotals& totals) const override;
  /// Writer: every rank's completed alerts part, in rank order; throws OutputError naming a missing one.
  [[nodiscard]] std::vector<std::filesystem::path> alert_parts() const;
  /// Writer: merges every rank's completed bands part, in series order, into the new file `path`.
  void merge_bands(const std::filesystem::path& path, const DatasetInfo& dataset, const std::string& dataset_path, const std::string& run) const;
  /// Writer, after the run directory is committed: removes the parts.
  void remove_parts() const;

 private:
  void clean_up_after_failure() const override;
  [[nodiscard]] std::filesystem::path state_path() const;
  [[nodiscard]] std::filesystem::path completed_alerts_part(int rank) const;
  [[nodiscard]] std::filesystem::path completed_bands_part(int rank) const;
  [[nodiscard]] std::optional<PassTotals> verified_part(std::size_t integers) const;
  bool resume_ = false;
  bool bands_ = false;
  std::filesystem::path parts_dir_;
  std::string run_key_;
};

}  // namespace meterbench
