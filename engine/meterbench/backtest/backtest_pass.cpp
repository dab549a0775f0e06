#include "meterbench/backtest/backtest_pass.hpp"

#include <cstring>

#include "meterbench/detect/detect.hpp"
#include "meterbench/detect/incident_output.hpp"

namespace meterbench {

namespace {

// Appends the alerts.csv rows of series i of a block: its incidents (detect's grouping, columns and kind
// guess), each with the verdict and raise step of the evaluation's alert with the same flags (both group the
// same flagged steps), those below the impact filter dropped. Each row starts with its sort key: the serial
// end sorts all rows by it (write_keyed_rows_in_order). Without labels no alert can be told true or false.
void append_incident_rows(const SeriesBlock& b, std::int64_t i, const DetectionOutput& out, std::span<const Alert> alerts,
                          const IncidentFilter& filter, std::int64_t first_scored, const StepTimes& times, bool labelled,
                          std::vector<Incident>& incidents, std::string& text) {
  const SeriesRecord& record = b.series[static_cast<std::size_t>(i)];
  incidents.clear();
  find_incidents(scored_series(b, i, out, first_scored), filter, incidents);
  std::size_t a = 0;
  for (const Incident& f : incidents) {
    while (a < alerts.size() && alerts[a].start < f.start) ++a;
    METERBENCH_CHECK(a < alerts.size() && alerts[a].start == f.start && alerts[a].end == f.end);
    append_incident_sort_key(text, f);
    append_incident_csv(text, f, record, times.grid());
    text += ',';
    times.append(text, alerts[a].raised_at);
    text += !labelled ? ",unknown\n" : alerts[a].overlaps_event ? ",true\n" : ",false\n";
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

BacktestThreadState BacktestWork::make_thread_state() const {
  BacktestThreadState state{detector_.make_workspace(), EvaluationAccumulator(config_), {}, 0, std::nullopt, {}, {}};
  if (outputs_.verdicts != nullptr) state.verdicts.emplace(state.evaluation.thresholds(), config_.z);
  return state;
}

// The series' verdicts against its scores and its alerts at z (those add_series just appended to `alerts`).
void BacktestWork::add_verdicts(const SeriesBlock& b, std::int64_t i, const DetectionOutput& out, BacktestThreadState& state,
                                std::span<const Alert> series_alerts) const {
  outputs_.verdicts->verdicts_of(b, i, has_labels_, state.series_verdicts);
  if (state.series_verdicts.empty()) return;
  state.verdicts->add_series(state.series_verdicts, b.row(i), out.score, window_.first_scored, b.steps, series_alerts);
}

void BacktestWork::process(const SeriesBlock& b, BacktestBlockState& block, ThreadSlots<BacktestThreadState>& threads,
                           BlockHashes& hashes) const {
  ThreadSlot<BacktestThreadState>& slot = threads.local();
  BacktestThreadState& state = slot.state;
  block.alerts.clear();
  block.alerts_text.clear();
  std::vector<Alert>* const alerts = outputs_.alerts_csv != nullptr ? &block.alerts : nullptr;
  const IncidentFilter filter{.z = config_.z, .merge_gap_steps = config_.merge_gap_steps, .min_abs_impact = config_.impact_filter_usd};
  block.outputs.keep_kinds = alerts != nullptr;  // a rule alert's kind names its incident row
  // bands.h5 needs every output of the block at once.
  detect_and_visit(detector_, *state.workspace, b, window_, outputs_.bands != nullptr, nan_fill_, block.outputs, block.status, slot.times,
                   [&](std::int64_t i, const DetectionOutput& out) {
                     ++state.status_counts[static_cast<std::size_t>(block.status[static_cast<std::size_t>(i)])];
                     const std::size_t first_alert = block.alerts.size();
                     if (outputs_.verdicts == nullptr) {
                       state.evaluation.add_series(evaluation_input(b, i, has_labels_, out, window_.first_scored), alerts);
                     } else {
                       // The verdicts need the series' alerts at z, kept in the block's list or in a scratch one.
                       std::vector<Alert>& into = alerts != nullptr ? *alerts : state.series_alerts;
                       if (alerts == nullptr) into.clear();
                       const std::size_t before = into.size();
                       state.evaluation.add_series(evaluation_input(b, i, has_labels_, out, window_.first_scored), &into);
                       add_verdicts(b, i, out, state, std::span<const Alert>(into).subspan(before));
                     }
                     if (alerts != nullptr)
                       append_incident_rows(b, i, out, std::span<const Alert>(block.alerts).subspan(first_alert), filter, window_.first_scored,
                                            step_times_, has_labels_, block.incidents, block.alerts_text);
                     hashes.hash(b, i);
                   });
  state.alerts += static_cast<std::int64_t>(block.alerts.size());
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
  if (verdicts_) verdicts_->merge(*state.verdicts);
  for (std::size_t s = 0; s < kFitStatusCount; ++s) status_counts_[s] += state.status_counts[s];
  alerts_ += state.alerts;
}

// The evaluation counts, the fit statuses, the alerts: the layout of a saved part (distributed/scale_out.cpp).
std::vector<std::int64_t> BacktestReducer::to_integers() const {
  std::vector<std::int64_t> v = counts_to_integers(total_.counts());
  v.insert(v.end(), status_counts_.begin(), status_counts_.end());
  v.push_back(alerts_);
  if (verdicts_) verdicts_->counts().append_integers(v);
  return v;
}

void BacktestReducer::from_integers(std::span<const std::int64_t> all) {
  std::span<const std::int64_t> v = all;
  if (verdicts_) {  // the verdict counts come last: a fixed size, read first and cut off
    std::vector<std::int64_t> layout;
    verdicts_->counts().append_integers(layout);
    METERBENCH_CHECK(all.size() >= layout.size());
    std::size_t at = all.size() - layout.size();
    verdicts_->counts().read_integers(all, at);
    v = all.first(all.size() - layout.size());
  }
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
  BacktestReducer reducer(config, outputs.verdicts != nullptr);
  const PassResult pass = run_streaming_pass(reader, plan, work, reducer);
  return {reducer.report(), reducer.status_counts(), reducer.alerts(), reducer.verdicts(), pass};
}

}  // namespace meterbench
