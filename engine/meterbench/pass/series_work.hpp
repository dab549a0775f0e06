#pragma once
// The per-series work a pass does in its parallel stage: fitting and scoring the series of a block under a
// scored window, and the evaluation input of one series, so that backtest, detect and sweep run the
// detectors and the metrics the same way.
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/io/dataset.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/pass/schedule.hpp"

namespace meterbench {

/// Detector outputs of a block, count x steps each, row-major by series.
struct BlockOutputs {
  std::vector<float> expected, lower, upper, score;
  std::vector<std::uint8_t> kind;  ///< rule alerts' AnomalyKind codes (DetectionOutput::kind), when keep_kinds
  bool keep_kinds = false;         ///< set before resize() by a caller that reads the kinds
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
    kind.assign(keep_kinds ? n : 0, 0);
    steps_ = steps;
  }
  [[nodiscard]] DetectionOutput row(std::int64_t i) {
    const auto t = static_cast<std::size_t>(steps_);
    const auto at = static_cast<std::size_t>(i) * t;
    return {{expected.data() + at, t}, {lower.data() + at, t}, {upper.data() + at, t}, {score.data() + at, t},
            keep_kinds ? std::span<std::uint8_t>(kind.data() + at, t) : std::span<std::uint8_t>()};
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

/// {"ok": n, ...}: a pass's count per fit status.
nlohmann::json fit_status_json(const std::array<std::int64_t, kFitStatusCount>& counts);

/// What the evaluation needs of series i of a block and its detector output.
SeriesEvaluationInput evaluation_input(const SeriesBlock& block, std::int64_t i, bool has_labels, const DetectionOutput& out,
                                       std::int64_t first_scored);

/// Wall and thread CPU time of the two halves of a pass's parallel stage, summed over blocks and threads.
struct WorkTimes {
  double detect_seconds = 0.0, detect_cpu_seconds = 0.0;
  double evaluate_seconds = 0.0, evaluate_cpu_seconds = 0.0;
  WorkTimes& operator+=(const WorkTimes& o) {
    detect_seconds += o.detect_seconds;
    detect_cpu_seconds += o.detect_cpu_seconds;
    evaluate_seconds += o.evaluate_seconds;
    evaluate_cpu_seconds += o.evaluate_cpu_seconds;
    return *this;
  }
};

/// CPU time of the calling thread: on a shared machine a stage's wall time also counts time spent waiting
/// for a core, its CPU time does not.
double thread_cpu_seconds();

/// A wall and CPU stopwatch whose laps go to one of WorkTimes' halves.
class WorkStopwatch {
 public:
  WorkStopwatch() : wall_(std::chrono::steady_clock::now()), cpu_(thread_cpu_seconds()) {}
  /// Adds the time since the last lap to detect_* (or evaluate_*) of `times`.
  void lap_detect(WorkTimes& times) { lap(times.detect_seconds, times.detect_cpu_seconds); }
  void lap_evaluate(WorkTimes& times) { lap(times.evaluate_seconds, times.evaluate_cpu_seconds); }

 private:
  void lap(double& wall, double& cpu) {
    const auto now = std::chrono::steady_clock::now();
    const double now_cpu = thread_cpu_seconds();
    wall += std::chrono::duration<double>(now - wall_).count();
    cpu += now_cpu - cpu_;
    wall_ = now;
    cpu_ = now_cpu;
  }
  std::chrono::steady_clock::time_point wall_;
  double cpu_;
};

/// Fits and scores every series of a block, then calls visit(i, output) for each series i in order.
/// A few series at a time (`whole_block` false), so that their detector outputs (four floats per step) are
/// read back by `visit` from cache rather than from memory; the whole block at once when the caller keeps
/// every output of the block, or when the fits share per-window work across the block.
template <class Visit>
void detect_and_visit(const Detector& detector, DetectorWorkspace& workspace, const SeriesBlock& b, ScoredWindow window, bool whole_block,
                      bool nan_fill, BlockOutputs& outputs, std::vector<FitStatus>& status, WorkTimes& times, Visit&& visit) {
  // Series fitted and then evaluated together: their outputs (16 x 730 steps x 4 floats = 187 KiB) stay in L2.
  constexpr std::int64_t kFusedSeries = 16;
  whole_block = whole_block || !fits_series_by_series(detector, window);
  const std::int64_t group = whole_block ? std::max<std::int64_t>(b.count, 1) : kFusedSeries;
  outputs.resize(std::min(group, b.count), b.steps, nan_fill);
  status.resize(static_cast<std::size_t>(b.count));
  WorkStopwatch watch;
  for (std::int64_t first = 0; first < b.count; first += group) {
    const std::int64_t count = std::min(group, b.count - first), out_first = whole_block ? 0 : first;
    detect_series(detector, workspace, b, first, count, window, outputs, out_first,
                  std::span<FitStatus>(status).subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(count)));
    watch.lap_detect(times);
    for (std::int64_t i = first; i < first + count; ++i) visit(i, outputs.row(i - out_first));
    watch.lap_evaluate(times);
  }
}

}  // namespace meterbench
