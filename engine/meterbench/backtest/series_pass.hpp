#pragma once
// Internal to the engine: the pieces of a streaming pass that the backtest and the sweep share (the scored
// window of a schedule, the evaluation config, fitting and scoring a block of series, the evaluation input
// of one series, the dataset fingerprint), so that both run the detectors and the metrics the same way.
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "meterbench/backtest/backtest.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/io/dataset.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench::detail {

/// The scored part of the grid: steps [first_scored, steps); period 0 = retrospective, else the week length
/// in steps of the weekly schedule.
struct ScoredWindow {
  std::int64_t first_scored = 0;
  std::int64_t period = 0;
};

/// The scored window of a schedule on a grid. Throws std::invalid_argument when `weeks` leaves no history.
ScoredWindow scored_window(Schedule schedule, std::int64_t weeks, const TimeGrid& grid);

/// The evaluation config of a run: the detector's flag threshold, the delay tolerance in steps, the impact
/// filter, the week length and the schedule period (validated).
EvaluationConfig evaluation_config(const Detector& detector, const TimeGrid& grid, ScoredWindow window, double delay_tolerance_days,
                                   double impact_filter_usd);

/// Detector outputs of a block, count x steps each, row-major by series.
struct BlockOutputs {
  std::vector<float> expected, lower, upper, score;
  void resize(std::int64_t count, std::int64_t steps) {
    const auto n = static_cast<std::size_t>(count * steps);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    expected.assign(n, nan);
    lower.assign(n, nan);
    upper.assign(n, nan);
    score.assign(n, nan);
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

}  // namespace meterbench::detail
