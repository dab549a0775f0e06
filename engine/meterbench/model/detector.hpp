#pragma once
// The detector contract: a pure function of (one series' values with NaN gaps, its time grid, parameters,
// a reusable per-thread workspace) that returns, per step, the expected value, the expected range and a
// score, plus a fit status. Detectors are immutable after construction and shared by all threads; what can
// be shared across series on the same grid (design matrices, factorizations) is computed in the constructor.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "meterbench/core/time_grid.hpp"

namespace meterbench {

/// Outcome of one series' fit. A bad series is a value, never an exception: runs of millions go on.
enum class FitStatus : std::uint8_t {
  ok = 0,
  too_short,      ///< fewer observed steps than the model needs
  all_missing,    ///< every step in the fit window is NaN
  constant,       ///< no variation to estimate a scale from (includes all-zero series)
  not_converged,  ///< the iterative fit hit its iteration limit; outputs are the last iterate
};
inline constexpr int kFitStatusCount = 5;
std::string_view to_string(FitStatus status);

/// Which steps a detection fits on and which it scores: [fit_begin, fit_end) and [score_begin, score_end).
/// Retrospective: both are the whole grid. Forward: fit on the history before a week, score that week.
struct DetectionWindow {
  std::int64_t fit_begin = 0;
  std::int64_t fit_end = 0;
  std::int64_t score_begin = 0;
  std::int64_t score_end = 0;

  static DetectionWindow retrospective(std::int64_t steps) { return {0, steps, 0, steps}; }
  static DetectionWindow forward(std::int64_t history_end, std::int64_t horizon_end) {
    return {0, history_end, history_end, horizon_end};
  }
};

/// Caller-owned per-step outputs, each of grid.steps entries. Only [score_begin, score_end) is written.
/// expected/lower/upper are in the series' units; score = |y - expected| / scale (NaN where y is NaN), or a
/// large score at a rule alert (a detector's rule that flags a step whatever the threshold, possibly where y is NaN: a
/// meter that stopped reporting).
struct DetectionOutput {
  std::span<float> expected;
  std::span<float> lower;
  std::span<float> upper;
  std::span<float> score;
  /// Optional (empty: the caller doesn't want kinds): the AnomalyKind code of a rule alert at the step. The
  /// caller fills it with 0 (none); a detector with rules writes the code of each rule alert it raises.
  std::span<std::uint8_t> kind = {};
};

/// One series to detect on. `series_index` is its global index in the population (seeds `random`).
struct SeriesInput {
  std::span<const float> values;  ///< grid.steps values, NaN = not reported
  std::uint64_t series_index = 0;
};

/// Per-thread scratch memory. Created once per thread; detect() never allocates.
class DetectorWorkspace {
 public:
  virtual ~DetectorWorkspace() = default;
};

class Detector {
 public:
  virtual ~Detector() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// The effective parameters (defaults filled in), as canonical name=value pairs for summaries.
  [[nodiscard]] virtual std::vector<std::pair<std::string, std::string>> parameters() const = 0;
  /// The flag rule is score > flag_threshold(): the value of the parameter whose spec row has the
  /// flag_threshold role (BoundParameters::flag_threshold, parameters.hpp).
  [[nodiscard]] double flag_threshold() const { return flag_threshold_; }
  [[nodiscard]] virtual std::unique_ptr<DetectorWorkspace> make_workspace() const = 0;
  /// Fits and scores one series. Thread-safe given a workspace per thread.
  virtual FitStatus detect(const SeriesInput& series, const DetectionWindow& window, DetectorWorkspace& workspace,
                           const DetectionOutput& out) const = 0;

  /// True when detect_rolling() reuses one period's work for the next (warm starts, sliding updates). The
  /// backtest then calls it series by series; otherwise it runs the periods week-major over a block of
  /// series, so that per-window work a detector caches in its workspace is shared by the block.
  [[nodiscard]] virtual bool reuses_work_across_periods() const { return false; }

  /// The weekly schedule: for each period [s, s + period) from `first_scored` to the grid's end, fit on the
  /// history before s and score that period, as a service running every week would. Returns the first
  /// non-ok status of its fits (ok when all were). This default runs one independent forward fit per
  /// period; detectors override it to reuse last period's work (sliding updates, warm starts).
  virtual FitStatus detect_rolling(const SeriesInput& series, std::int64_t first_scored, std::int64_t period,
                                   DetectorWorkspace& workspace, const DetectionOutput& out) const {
    const auto steps = static_cast<std::int64_t>(series.values.size());
    FitStatus worst = FitStatus::ok;
    for (std::int64_t s = first_scored; s < steps; s += period) {
      const FitStatus status = detect(series, DetectionWindow::forward(s, std::min(s + period, steps)), workspace, out);
      if (worst == FitStatus::ok) worst = status;
    }
    return worst;
  }

 protected:
  explicit Detector(double flag_threshold) : flag_threshold_(flag_threshold) {}

 private:
  double flag_threshold_;
};

/// Builds a detector by name for a grid from "name=value" settings; throws std::invalid_argument naming the
/// detector, the parameter and the value on an unknown name, unknown parameter or out-of-range value.
std::unique_ptr<Detector> make_detector(std::string_view name, std::span<const std::string> settings, const TimeGrid& grid);
/// Names of the registered detectors, for help texts and error messages.
std::vector<std::string> detector_names();

}  // namespace meterbench
