// The run score and the rule alerts of the `gam` detector (see gam_rules.hpp).
#include "meterbench/model/gam_rules.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/core/check.hpp"
#include "meterbench/core/portable_math.hpp"

namespace meterbench {

namespace {

constexpr int kRunWindows[] = {3, 7};
// Each signed score enters the run means clipped at this: a run score is for deviations too small to flag one
// by one, and unclipped a single spike of 60 scales would flag its 3 neighbours on each side at z 12 (an
// incident starting days before the spike).
constexpr double kRunClip = 10.0;
constexpr std::int64_t kStuckMinSteps = 4;
constexpr double kStuckChance = 0.01;       // a run this long by chance in one series of 100
constexpr double kStoppedDays = 7.0;
constexpr double kRegularDays = 56.0;       // the history that must look regular before a stop or a zero run
constexpr double kRegularShare = 0.9;
constexpr double kZeroRunDays = 3.0;
constexpr double kUnitRatio = 100.0;        // x1000 and /1000 unit errors, with room for the expected value's error
// A rule alert's score: above every z (at most 20), finite so that reports and JSON carry it as a number.
constexpr float kRuleScore = 1000.0F;

std::int64_t days_to_steps(double days, const TimeGrid& grid) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(days * static_cast<double>(kSecondsPerDay) /
                                                                       static_cast<double>(grid.step_seconds))));
}

void raise(const DetectionOutput& out, std::int64_t t, AnomalyKind kind) {
  const auto k = static_cast<std::size_t>(t);
  out.score[k] = std::isnan(out.score[k]) ? kRuleScore : std::max(out.score[k], kRuleScore);
  if (!out.kind.empty()) out.kind[k] = static_cast<std::uint8_t>(kind);
}

// Steps in [to - length, to) that are observed (with `nonzero`: observed and not 0), over the steps that exist.
double regular_share(std::span<const float> values, std::int64_t from, std::int64_t to, bool nonzero) {
  std::int64_t seen = 0;
  for (std::int64_t t = from; t < to; ++t) {
    const float v = values[static_cast<std::size_t>(t)];
    seen += !std::isnan(v) && (!nonzero || v != 0.0F) ? 1 : 0;
  }
  return static_cast<double>(seen) / static_cast<double>(to - from);
}

void stuck_meter(std::span<const float> values, const DetectionOutput& out, const GamPostWindow& w) {
  const std::int64_t n = w.end - w.history_begin;
  if (n < 2) return;
  const auto equal_to_previous = [&](std::int64_t t) {
    const float a = values[static_cast<std::size_t>(t - 1)], b = values[static_cast<std::size_t>(t)];
    return a == b && b != 0.0F;  // false when either is NaN
  };
  std::int64_t equal = 0;
  for (std::int64_t t = w.history_begin + 1; t < w.end; ++t) equal += equal_to_previous(t) ? 1 : 0;
  const double p_equal = std::max(static_cast<double>(equal) / static_cast<double>(n - 1), 1e-4);
  if (p_equal >= 1.0) return;  // a constant series: nothing is stuck against its own habit
  const double chance_run = std::ceil(1.0 + pmath::log(kStuckChance / static_cast<double>(n)) / pmath::log(p_equal));
  const std::int64_t length = std::max<std::int64_t>(kStuckMinSteps, static_cast<std::int64_t>(std::min(chance_run, 1e15)));
  std::int64_t run = 1;
  for (std::int64_t t = w.history_begin + 1; t < w.end; ++t) {
    run = equal_to_previous(t) ? run + 1 : 1;
    if (run < length) continue;
    for (std::int64_t s = run == length ? t - run + 1 : t; s <= t; ++s)
      if (s >= w.begin) raise(out, s, AnomalyKind::stuck_meter);
  }
}

void stopped_reporting(std::span<const float> values, const TimeGrid& grid, const DetectionOutput& out, const GamPostWindow& w) {
  std::int64_t gap_start = w.end;
  while (gap_start > w.history_begin && std::isnan(values[static_cast<std::size_t>(gap_start - 1)])) --gap_start;
  const std::int64_t stopped = days_to_steps(kStoppedDays, grid), regular = days_to_steps(kRegularDays, grid);
  if (w.end - gap_start < stopped || gap_start - regular < w.history_begin) return;
  if (regular_share(values, gap_start - regular, gap_start, false) < kRegularShare) return;
  for (std::int64_t t = std::max(gap_start + stopped - 1, w.begin); t < w.end; ++t) raise(out, t, AnomalyKind::stopped_reporting);
}

void zero_runs(std::span<const float> values, const TimeGrid& grid, const DetectionOutput& out, const GamPostWindow& w) {
  const std::int64_t shortest = days_to_steps(kZeroRunDays, grid), regular = days_to_steps(kRegularDays, grid);
  for (std::int64_t t = std::max(w.history_begin, w.begin - shortest + 1); t < w.end;) {
    if (values[static_cast<std::size_t>(t)] != 0.0F) {  // NaN too
      ++t;
      continue;
    }
    std::int64_t j = t;
    while (j < w.end && values[static_cast<std::size_t>(j)] == 0.0F) ++j;
    // A run already under way when the window starts: its start lies before it.
    std::int64_t i = t;
    while (i > w.history_begin && values[static_cast<std::size_t>(i - 1)] == 0.0F) --i;
    if (j - i >= shortest && i - regular >= w.history_begin && regular_share(values, i - regular, i, true) >= kRegularShare)
      for (std::int64_t s = std::max(i + shortest - 1, w.begin); s < j; ++s) raise(out, s, AnomalyKind::dropped_reporting);
    t = j;
  }
}

// Up against the usual usage as well as the expected value: on an intermittent series the expected value sits
// near 0 between bursts, and every ordinary burst would be a x100 "unit error".
void unit_errors(std::span<const float> values, double typical, const DetectionOutput& out, const GamPostWindow& w) {
  for (std::int64_t t = w.begin; t < w.end; ++t) {
    const auto k = static_cast<std::size_t>(t);
    const double v = values[k];
    const double level = std::max(static_cast<double>(out.expected[k]), 1.0);  // false for NaN values: no alert
    if (v >= kUnitRatio * std::max(level, typical) || (v > 0.0 && v * kUnitRatio <= level)) raise(out, t, AnomalyKind::unit_error);
  }
}

}  // namespace

void gam_run_score(std::span<const float> values, const DetectionOutput& out, const GamPostWindow& w, std::span<double> scratch) {
  const std::int64_t m = w.end - w.begin;
  if (m <= 0) return;
  METERBENCH_CHECK(static_cast<std::int64_t>(scratch.size()) >= 2 * (m + 1));
  // Prefix sums of the signed scores and of their count over [begin, end).
  double* sum = scratch.data();
  double* count = sum + m + 1;
  sum[0] = count[0] = 0.0;
  for (std::int64_t i = 0; i < m; ++i) {
    const auto k = static_cast<std::size_t>(w.begin + i);
    const double sc = out.score[k];
    const bool used = std::isfinite(sc) && !std::isnan(values[k]);
    const double sign = static_cast<double>(values[k]) < static_cast<double>(out.expected[k]) ? -1.0 : 1.0;
    sum[i + 1] = sum[i] + (used ? sign * std::min(sc, kRunClip) : 0.0);
    count[i + 1] = count[i] + (used ? 1.0 : 0.0);
  }
  for (std::int64_t i = 0; i < m; ++i) {
    const auto k = static_cast<std::size_t>(w.begin + i);
    if (std::isnan(out.score[k])) continue;
    double best = out.score[k];
    for (const int width : kRunWindows) {
      const std::int64_t a = std::max<std::int64_t>(0, w.centred ? i - width / 2 : i - width + 1);
      const std::int64_t b = std::min<std::int64_t>(m, w.centred ? i + width / 2 + 1 : i + 1);
      const double c = count[b] - count[a];
      if (c < std::max(2.0, static_cast<double>((2 * width) / 3))) continue;
      best = std::max(best, std::sqrt(static_cast<double>(width)) * std::abs((sum[b] - sum[a]) / c));
    }
    out.score[k] = static_cast<float>(best);
  }
}

void gam_rule_alerts(std::span<const float> values, const TimeGrid& grid, double typical, const DetectionOutput& out,
                     const GamPostWindow& w) {
  if (w.end <= w.begin) return;
  stuck_meter(values, out, w);
  zero_runs(values, grid, out, w);
  unit_errors(values, typical, out, w);  // after stuck: a value stuck at x1000 is a unit error first
  stopped_reporting(values, grid, out, w);
}

}  // namespace meterbench
