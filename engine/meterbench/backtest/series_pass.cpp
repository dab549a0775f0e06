#include "meterbench/backtest/series_pass.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <oneapi/tbb/global_control.h>

#include "meterbench/core/random.hpp"

namespace meterbench::detail {

void validate_pass_options(std::int64_t weeks, std::int64_t block_series, double impact_filter_usd) {
  if (weeks < 1) throw std::invalid_argument(fmt::format("--weeks must be at least 1, got {}", weeks));
  if (block_series < 0) throw std::invalid_argument(fmt::format("--block must be >= 0, got {}", block_series));
  if (!(impact_filter_usd >= 0.0)) throw std::invalid_argument(fmt::format("--min-impact must be >= 0 USD, got {}", impact_filter_usd));
}

ScoredWindow scored_window(Schedule schedule, std::int64_t weeks, const TimeGrid& grid) {
  if (schedule != Schedule::weekly) return {};
  const std::int64_t week = 7 * std::max<std::int64_t>(1, grid.steps_per_day());
  const ScoredWindow w{grid.steps - weeks * week, week};
  if (w.first_scored < week)
    throw std::invalid_argument(
        fmt::format("--weeks {} leaves no history to fit on: the dataset has {} steps ({} weeks)", weeks, grid.steps, grid.steps / week));
  return w;
}

EvaluationConfig evaluation_config(const Detector& detector, const TimeGrid& grid, ScoredWindow window, double delay_tolerance_days,
                                   double impact_filter_usd) {
  const std::int64_t steps_per_day = std::max<std::int64_t>(1, grid.steps_per_day());
  EvaluationConfig config;
  config.z = detector.flag_threshold();
  config.delay_tolerance_steps = static_cast<std::int64_t>(std::llround(delay_tolerance_days * static_cast<double>(steps_per_day)));
  config.impact_filter_usd = impact_filter_usd;
  config.steps_per_week = 7 * steps_per_day;
  config.schedule_period_steps = window.period;
  config.validate();
  return config;
}

void detect_block(const Detector& detector, DetectorWorkspace& workspace, const SeriesBlock& b, ScoredWindow window,
                  BlockOutputs& outputs, std::span<FitStatus> status) {
  detect_series(detector, workspace, b, 0, b.count, window, outputs, 0, status);
}

bool fits_series_by_series(const Detector& detector, ScoredWindow window) {
  return window.period == 0 || detector.reuses_work_across_periods();
}

void detect_series(const Detector& detector, DetectorWorkspace& workspace, const SeriesBlock& b, std::int64_t first, std::int64_t count,
                   ScoredWindow window, BlockOutputs& outputs, std::int64_t out_first, std::span<FitStatus> status) {
  METERBENCH_CHECK(0 <= first && 0 <= count && first + count <= b.count && out_first <= first);
  METERBENCH_CHECK(static_cast<std::int64_t>(status.size()) == count);
  const auto input_of = [&](std::int64_t i) { return SeriesInput{b.row(i), static_cast<std::uint64_t>(b.first_series + i)}; };
  const std::int64_t end = first + count;
  std::fill(status.begin(), status.end(), FitStatus::ok);
  if (window.period == 0) {
    // One fit over the whole grid; only the evaluated steps are scored (the random baseline of a weekly run
    // fits like a retrospective one but is evaluated on the scheduled weeks only).
    const DetectionWindow whole{0, b.steps, window.first_scored, b.steps};
    for (std::int64_t i = first; i < end; ++i)
      status[static_cast<std::size_t>(i - first)] = detector.detect(input_of(i), whole, workspace, outputs.row(i - out_first));
  } else if (detector.reuses_work_across_periods()) {
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

std::uint64_t hash_values(std::span<const float> values) {
  std::uint64_t h = 0x6A09E667F3BCC909ULL;
  std::size_t i = 0;
  for (; i + 2 <= values.size(); i += 2) {
    std::uint64_t word = 0;
    std::memcpy(&word, values.data() + i, sizeof(word));
    h = (h ^ mix64(word)) * 0x9E3779B97F4A7C15ULL;
  }
  if (i < values.size()) {
    std::uint32_t last = 0;
    std::memcpy(&last, values.data() + i, sizeof(last));
    h = (h ^ mix64(last)) * 0x9E3779B97F4A7C15ULL;
  }
  return mix64(h);
}

int active_threads() {
  return static_cast<int>(oneapi::tbb::global_control::active_value(oneapi::tbb::global_control::max_allowed_parallelism));
}

std::int64_t block_series(std::int64_t option, std::int64_t series_count, std::int64_t steps) {
  const std::int64_t wanted = option > 0 ? option : std::max<std::int64_t>(1, (4 << 20) / (std::max<std::int64_t>(steps, 1) * 4));
  return std::max<std::int64_t>(1, std::min(series_count, wanted));
}

}  // namespace meterbench::detail
