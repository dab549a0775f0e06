#pragma once
// Internal to backtest/: the backtest as a client of the streaming pass (engine/meterbench/pass/): each
// thread fits, scores and evaluates its blocks' series into its own accumulator; the serial stage writes the
// alert rows and bands in series order; the reducer adds the evaluation counts, fit statuses and alerts.
#include <array>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "meterbench/detect/incidents.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/io/alert_csv.hpp"
#include "meterbench/io/bands_file.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/pass/streaming_pass.hpp"

namespace meterbench {

/// Where the backtest's pass writes; null = not written.
struct BacktestOutputs {
  std::ostream* alerts_csv = nullptr;  ///< alerts.csv rows (incidents at z), each after its sort key, in series order
  BandsWriter* bands = nullptr;         ///< expected range per step
};

/// One thread's detector scratch and additive counts.
struct BacktestThreadState {
  std::unique_ptr<DetectorWorkspace> workspace;
  EvaluationAccumulator evaluation;
  std::array<std::int64_t, kFitStatusCount> status_counts{};
  std::int64_t alerts = 0;
};

/// One block's detector outputs and alert rows, recycled across the pipeline's tokens.
struct BacktestBlockState {
  BlockOutputs outputs;
  std::vector<FitStatus> status;
  std::vector<Alert> alerts;
  std::vector<Incident> incidents;  ///< one series' incidents at a time
  std::string alerts_text;          ///< alerts.csv rows of the block, each after its sort key
};

class BacktestWork final : public BlockWork<BacktestThreadState, BacktestBlockState> {
 public:
  BacktestWork(const Detector& detector, const EvaluationConfig& config, ScoredWindow window, const DatasetInfo& info, BacktestOutputs outputs);
  [[nodiscard]] BacktestThreadState make_thread_state() const override;
  void process(const SeriesBlock& block, BacktestBlockState& state, ThreadSlots<BacktestThreadState>& threads,
               BlockHashes& hashes) const override;
  void write(const SeriesBlock& block, BacktestBlockState& state) override;
  void finish_outputs() override;

 private:
  const Detector& detector_;
  const EvaluationConfig& config_;
  ScoredWindow window_;
  bool has_labels_;
  BacktestOutputs outputs_;
  StepTimes step_times_;
  bool nan_fill_;
};

/// The evaluation counts, fit statuses and alerts of a backtest pass.
class BacktestReducer final : public PassReducer<BacktestThreadState> {
 public:
  explicit BacktestReducer(const EvaluationConfig& config) : total_(config) {}
  void merge(const BacktestThreadState& state) override;
  [[nodiscard]] std::vector<std::int64_t> to_integers() const override;
  void from_integers(std::span<const std::int64_t> integers) override;

  [[nodiscard]] EvaluationReport report() const { return total_.report(); }
  [[nodiscard]] const std::array<std::int64_t, kFitStatusCount>& status_counts() const { return status_counts_; }
  [[nodiscard]] std::int64_t alerts() const { return alerts_; }

 private:
  EvaluationAccumulator total_;
  std::array<std::int64_t, kFitStatusCount> status_counts_{};
  std::int64_t alerts_ = 0;
};

/// What one pass of the backtest measured.
struct BacktestPassResult {
  EvaluationReport report;
  std::array<std::int64_t, kFitStatusCount> status_counts{};
  std::int64_t alerts = 0;
  PassResult pass;
};

/// One streaming pass of `detector` over the plan's series, evaluated under `config`.
BacktestPassResult run_backtest_pass(DatasetReader& reader, const Detector& detector, const EvaluationConfig& config, ScoredWindow window,
                                     BacktestOutputs outputs, const PassPlan& plan);

}  // namespace meterbench
