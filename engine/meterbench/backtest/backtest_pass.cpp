#include "meterbench/backtest/backtest_pass.hpp"

#include <cstring>
#include <string>


namespace meterbench {

namespace {

// Formats a block's alert rows (in the parallel stage; the serial stage only writes the bytes).
// Each row's numbers are written into a stack buffer with no length checks (every field has a bound) and appended
// after the "customer,meter," prefix, formatted once per series (alerts come in series order, a dozen per series).
// Without labels no alert can be told true or false: true_event says unknown.
void format_alert_rows(const SeriesBlock& block, const std::vector<Alert>& alerts, const StepTimes& times, bool labelled, std::string& out) {
  constexpr std::size_t kVerdictRoom = 16;
  constexpr std::size_t kRowRoom = 3 * (StepTimes::kRoom + 1) + 6 * (kG6Room + 1) + kVerdictRoom;
  out.clear();
  std::string prefix;  // ids have any length: sized per series (quoting at most doubles a byte, plus quotes and commas)
  std::uint64_t prefix_series = ~std::uint64_t{0};
  char row[kRowRoom];
  for (const Alert& a : alerts) {
    if (a.series_index != prefix_series) {
      const SeriesRecord& s = block.series[static_cast<std::size_t>(static_cast<std::int64_t>(a.series_index) - block.first_series)];
      prefix.resize(2 * (s.customer().size() + s.meter().size()) + 6);
      char* p = write_csv_text(prefix.data(), s.customer());
      *p++ = ',';
      p = write_csv_text(p, s.meter());
      *p++ = ',';
      prefix.resize(static_cast<std::size_t>(p - prefix.data()));
      prefix_series = a.series_index;
    }
    out.append(prefix);
    char* o = times.write(row, a.start);
    *o++ = ',';
    o = times.write(o, a.end);
    for (const double v : {static_cast<double>(a.observed), static_cast<double>(a.expected), static_cast<double>(a.lower),
                           static_cast<double>(a.upper), static_cast<double>(a.max_score), a.impact_usd}) {
      *o++ = ',';
      o = write_g6(o, v);
    }
    *o++ = ',';
    o = times.write(o, a.raised_at);
    static constexpr char kTrue[kVerdictRoom] = ",true\n", kFalse[kVerdictRoom] = ",false\n", kUnknown[kVerdictRoom] = ",unknown\n";
    const char* verdict = !labelled ? kUnknown : a.overlaps_event ? kTrue : kFalse;
    std::memcpy(o, verdict, kVerdictRoom);
    o += std::strlen(verdict);
    out.append(row, static_cast<std::size_t>(o - row));
  }
}

}  // namespace

BacktestWork::BacktestWork(const Detector& detector, const EvaluationConfig& config, ScoredWindow window, const DatasetInfo& info,
                           BacktestOutputs outputs)
    : detector_(detector),
      config_(config),
      window_(window),
      has_labels_(info.has_labels),
      outputs_(outputs),
      step_times_(info.grid),
      // Detectors write every scored step and the evaluation reads nothing else; only bands.h5 shows the steps
      // before a weekly schedule's scored window, which must read as NaN there.
      nan_fill_(window.first_scored > 0 && outputs.bands != nullptr) {}

BacktestThreadState BacktestWork::make_thread_state() const { return {detector_.make_workspace(), EvaluationAccumulator(config_), {}, 0}; }

void BacktestWork::process(const SeriesBlock& b, BacktestBlockState& block, ThreadSlots<BacktestThreadState>& threads,
                           BlockHashes& hashes) const {
  ThreadSlot<BacktestThreadState>& slot = threads.local();
  BacktestThreadState& state = slot.state;
  block.alerts.clear();
  std::vector<Alert>* const alerts = outputs_.alerts_csv != nullptr ? &block.alerts : nullptr;
  // bands.h5 needs every output of the block at once.
  detect_and_visit(detector_, *state.workspace, b, window_, outputs_.bands != nullptr, nan_fill_, block.outputs, block.status, slot.times,
                   [&](std::int64_t i, const DetectionOutput& out) {
                     ++state.status_counts[static_cast<std::size_t>(block.status[static_cast<std::size_t>(i)])];
                     state.evaluation.add_series(evaluation_input(b, i, has_labels_, out, window_.first_scored), alerts);
                     hashes.hash(b, i);
                   });
  if (alerts == nullptr) return;
  WorkStopwatch watch;
  format_alert_rows(b, block.alerts, step_times_, has_labels_, block.alerts_text);
  state.alerts += static_cast<std::int64_t>(block.alerts.size());
  watch.lap_evaluate(slot.times);
}

void BacktestWork::write(const SeriesBlock& b, BacktestBlockState& block) {
  if (outputs_.alerts_csv != nullptr) outputs_.alerts_csv->write(block.alerts_text.data(), static_cast<std::streamsize>(block.alerts_text.size()));
  if (outputs_.bands != nullptr)
    outputs_.bands->write(b.first_series, b.count, block.outputs.expected.data(), block.outputs.lower.data(), block.outputs.upper.data(),
                          block.outputs.score.data());
}

void BacktestWork::finish_outputs() {
  if (outputs_.alerts_csv != nullptr) outputs_.alerts_csv->flush();
  if (outputs_.bands != nullptr) outputs_.bands->finish();
}

void BacktestReducer::merge(const BacktestThreadState& state) {
  total_.merge(state.evaluation);
  for (std::size_t s = 0; s < kFitStatusCount; ++s) status_counts_[s] += state.status_counts[s];
  alerts_ += state.alerts;
}

// The evaluation counts, the fit statuses, the alerts: the layout of a saved part (distributed/scale_out.cpp).
std::vector<std::int64_t> BacktestReducer::to_integers() const {
  std::vector<std::int64_t> v = counts_to_integers(total_.counts());
  v.insert(v.end(), status_counts_.begin(), status_counts_.end());
  v.push_back(alerts_);
  return v;
}

void BacktestReducer::from_integers(std::span<const std::int64_t> v) {
  constexpr std::size_t kTail = kFitStatusCount + 1;
  METERBENCH_CHECK(v.size() >= kTail);
  EvaluationAccumulator total(total_.config());
  total.merge(counts_from_integers(v.first(v.size() - kTail), total_.counts()));
  total_ = std::move(total);
  std::size_t i = v.size() - kTail;
  for (auto& s : status_counts_) s = v[i++];
  alerts_ = v[i];
}

BacktestPassResult run_backtest_pass(DatasetReader& reader, const Detector& detector, const EvaluationConfig& config, ScoredWindow window,
                                     BacktestOutputs outputs, const PassPlan& plan) {
  BacktestWork work(detector, config, window, reader.info(), outputs);
  BacktestReducer reducer(config);
  const PassResult pass = run_streaming_pass(reader, plan, work, reducer);
  return {reducer.report(), reducer.status_counts(), reducer.alerts(), pass};
}

}  // namespace meterbench
