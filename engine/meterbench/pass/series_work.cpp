#include "meterbench/pass/series_work.hpp"

#include <algorithm>
#include <ctime>

#include "meterbench/core/check.hpp"

namespace meterbench {

void detect_block(const Detector& detector, DetectorWorkspace& workspace, const SeriesBlock& b, ScoredWindow window,
                  BlockOutputs& outputs, std::span<FitStatus> status) {
  detect_series(detector, workspace, b, 0, b.count, window, outputs, 0, status);
}

namespace {
// The detector's own weekly schedule (detect_rolling), which may carry work from one period to the next.
bool rolls_periods(const Detector& detector, ScoredWindow window) { return detector.reuses_work_across_periods() && !window.independent_fits; }
}  // namespace

bool fits_series_by_series(const Detector& detector, ScoredWindow window) {
  return window.period == 0 || rolls_periods(detector, window);
}

void detect_series(const Detector& detector, DetectorWorkspace& workspace, const SeriesBlock& b, std::int64_t first, std::int64_t count,
                   ScoredWindow window, BlockOutputs& outputs, std::int64_t out_first, std::span<FitStatus> status) {
  METERBENCH_CHECK(0 <= first && 0 <= count && first + count <= b.count && out_first <= first);
  METERBENCH_CHECK(static_cast<std::int64_t>(status.size()) == count);
  const auto input_of = [&](std::int64_t i) { return SeriesInput{b.row(i), static_cast<std::uint64_t>(b.first_series + i)}; };
  const std::int64_t end = first + count;
  std::fill(status.begin(), status.end(), FitStatus::ok);
  for (std::int64_t i = first; i < end; ++i) {  // the rows are reused: kinds a detector doesn't write read as none
    const std::span<std::uint8_t> kind = outputs.row(i - out_first).kind;
    std::fill(kind.begin(), kind.end(), std::uint8_t{0});
  }
  if (window.period == 0) {
    // One fit over the whole grid; only the evaluated steps are scored (the random baseline of a weekly run
    // fits like a retrospective one but is evaluated on the scheduled weeks only).
    const DetectionWindow whole{0, b.steps, window.first_scored, b.steps};
    for (std::int64_t i = first; i < end; ++i)
      status[static_cast<std::size_t>(i - first)] = detector.detect(input_of(i), whole, workspace, outputs.row(i - out_first));
  } else if (rolls_periods(detector, window)) {
    for (std::int64_t i = first; i < end; ++i)
      status[static_cast<std::size_t>(i - first)] =
          detector.detect_rolling(input_of(i), window.first_scored, window.period, workspace, outputs.row(i - out_first));
  } else {
    // Week-major: every series of the range is fitted for one week before the next week starts, so
    // per-window work (design matrix, shared factorizations) is done once per range and week.
    for (std::int64_t s0 = window.first_scored; s0 < b.steps; s0 += window.period) {
      const DetectionWindow w = DetectionWindow::forward(s0, std::min(s0 + window.period, b.steps));
      for (std::int64_t i = first; i < end; ++i) {
        const FitStatus s = detector.detect(input_of(i), w, workspace, outputs.row(i - out_first));
        FitStatus& first_problem = status[static_cast<std::size_t>(i - first)];
        if (first_problem == FitStatus::ok) first_problem = s;
      }
    }
  }
}

SeriesEvaluationInput evaluation_input(const SeriesBlock& b, std::int64_t i, bool has_labels, const DetectionOutput& out,
                                       std::int64_t first_scored) {
  const SeriesRecord& record = b.series[static_cast<std::size_t>(i)];
  SeriesEvaluationInput input;
  input.values = b.row(i);
  if (has_labels) {
    const std::uint64_t event_base = b.series.front().first_event;
    input.labels = b.label_row(i);
    input.events = std::span<const EventRecord>(b.events).subspan(record.first_event - event_base, record.event_count);
  }
  input.expected = out.expected;
  input.lower = out.lower;
  input.upper = out.upper;
  input.score = out.score;
  input.price_per_unit = record.price_per_unit;
  input.series_index = static_cast<std::uint64_t>(b.first_series + i);
  input.score_begin = first_scored;
  input.score_end = b.steps;
  return input;
}

nlohmann::json fit_status_json(const std::array<std::int64_t, kFitStatusCount>& counts) {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t s = 0; s < kFitStatusCount; ++s) j[std::string(to_string(static_cast<FitStatus>(s)))] = counts[s];
  return j;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace meterbench
