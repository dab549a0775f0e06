// The run score and the rule alerts of the `gam` detector (see gam_rules.hpp).
#include "meterbench/model/gam_rules.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/core/check.hpp"
#include "meterbench/core/portable_math.hpp"
#include "meterbench/model/gam_kernels.hpp"

namespace meterbench {

namespace {

// Each signed score enters the run means clipped at this: a run score is for deviations too small to flag one
// by one, and unclipped a single spike of 60 scales would flag its 3 neighbours on each side at the default z (an
// incident starting days before the spike).
constexpr double kRunClip = 10.0;
constexpr std::int64_t kStuckMinSteps = 4;
constexpr double kStuckChance = 0.01;       // a run this long by chance in one series of 100
constexpr double kStoppedDays = 7.0;
constexpr double kRegularDays = 56.0;       // the history that must look regular before a stop or a zero run
constexpr double kRegularShare = 0.9;
constexpr double kZeroRunDays = 3.0;
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

// Steps from the first to the last observed one in [from, to): the places a run can take in a series, which on a
// dataset's grid may start or end long before the grid does.
std::int64_t reported_span(std::span<const float> values, std::int64_t from, std::int64_t to) {
  while (from < to && std::isnan(values[static_cast<std::size_t>(from)])) ++from;
  while (to > from && std::isnan(values[static_cast<std::size_t>(to - 1)])) --to;
  return to - from;
}

// The shortest run that `p`, the chance of each step continuing it, makes as rare as one in 100 series of
// `history` steps: p^steps * history <= kStuckChance (p floored: a habit never seen is not impossible). A habit of
// always continuing gives kNeverSteps, longer than any series and safe to add to.
constexpr std::int64_t kNeverSteps = std::int64_t{1} << 50;
std::int64_t chance_run_steps(double p, std::int64_t history) {
  p = std::max(p, 1e-4);
  history = std::max<std::int64_t>(history, 1);
  if (p >= 1.0) return kNeverSteps;
  const double steps = std::ceil(pmath::log(kStuckChance / static_cast<double>(history)) / pmath::log(p));
  return static_cast<std::int64_t>(std::min(steps, static_cast<double>(kNeverSteps)));
}

// Forward windows (a weekly run) see only the past: the habit comes from the history before the scored period,
// and a run is flagged from the step it becomes long enough, not back to its start, so a week's flags never
// depend on the weeks after it.
// The habit is the series' and the 56 days' before the run, whichever repeats more: small counts repeat by chance
// far more in a quiet season (a page at 1-5 views a day shows five 1s in a row) than over their whole history.
void stuck_meter(std::span<const float> values, const TimeGrid& grid, const DetectionOutput& out, const GamPostWindow& w) {
  const std::int64_t habit_end = w.centred ? w.end : w.begin;
  const std::int64_t n = reported_span(values, w.history_begin, habit_end);
  if (n < 2) return;
  const auto equal_to_previous = [&](std::int64_t t) {
    const float a = values[static_cast<std::size_t>(t - 1)], b = values[static_cast<std::size_t>(t)];
    return a == b && b != 0.0F;  // false when either is NaN
  };
  const auto count_equal = [&](std::int64_t from, std::int64_t to) {  // vectorised: no early exit
    std::int64_t equal = 0;
    for (std::int64_t t = from; t < to; ++t) equal += equal_to_previous(t) ? 1 : 0;
    return equal;
  };
  const auto share_equal = [&](std::int64_t from, std::int64_t to) {
    return to - from > 0 ? static_cast<double>(count_equal(from, to)) / static_cast<double>(to - from) : 0.0;
  };
  const std::int64_t equal = count_equal(w.history_begin + 1, habit_end);
  const double p_series = static_cast<double>(equal) / static_cast<double>(n - 1);
  if (p_series >= 1.0) return;  // a constant series: nothing is stuck against its own habit
  // A run of `length` equal values needs length - 1 equal neighbours: most series have far fewer, and skip the scan.
  const std::int64_t length = std::max(kStuckMinSteps, 1 + chance_run_steps(p_series, n));
  if (equal + count_equal(std::max(habit_end, w.history_begin + 1), w.end) < length - 1) return;
  const std::int64_t recent = days_to_steps(kRegularDays, grid);
  std::int64_t run = 1, needed = length;
  for (std::int64_t t = w.history_begin + 1; t < w.end; ++t) {
    run = equal_to_previous(t) ? run + 1 : 1;
    if (run < length) continue;
    if (run == length) {  // the run's own recent habit, from the pairs before its first step
      const std::int64_t start = t - run + 1;
      const double p_recent = share_equal(std::max(w.history_begin + 1, start - recent), start);
      needed = std::max(length, 1 + chance_run_steps(std::max(p_series, p_recent), n));
    }
    if (run < needed) continue;
    for (std::int64_t s = run == needed && w.centred ? t - run + 1 : t; s <= t; ++s)
      if (s >= w.begin) raise(out, s, AnomalyKind::stuck_meter);
  }
}

// Looking back over a whole series, a gap that ends was an outage, not a stop: only the gap reaching the end
// counts. A weekly run cannot know whether a gap will end: every gap under way for 7 days counts.
// A silence longer than all the reporting before it has ended, not stopped: the series of a source whose export
// ends years before the rest of the dataset's, a meter retired long ago. Alerting it would put years of "missing
// usage" at the top of every incident list, and on an export mixing sources of different spans it is one false
// alert per series of the shorter ones.
void stopped_reporting(std::span<const float> values, const TimeGrid& grid, const DetectionOutput& out, const GamPostWindow& w) {
  const std::int64_t stopped = days_to_steps(kStoppedDays, grid), regular = days_to_steps(kRegularDays, grid);
  const auto missing = [&](std::int64_t t) { return std::isnan(values[static_cast<std::size_t>(t)]); };
  const auto flag_gap = [&](std::int64_t gap_start, std::int64_t gap_end) {
    if (gap_end - gap_start < stopped || gap_start - regular < w.history_begin) return;
    if (regular_share(values, gap_start - regular, gap_start, false) < kRegularShare) return;
    std::int64_t first = w.history_begin;  // the first report: the 56 regular days before the gap end its search
    while (missing(first)) ++first;
    if (gap_end - gap_start > gap_start - first) return;
    for (std::int64_t t = std::max(gap_start + stopped - 1, w.begin); t < gap_end; ++t) raise(out, t, AnomalyKind::stopped_reporting);
  };
  if (w.centred) {
    std::int64_t gap_start = w.end;
    while (gap_start > w.history_begin && missing(gap_start - 1)) --gap_start;
    flag_gap(gap_start, w.end);
    return;
  }
  for (std::int64_t t = w.begin; t < w.end;) {
    if (!missing(t)) {
      ++t;
      continue;
    }
    std::int64_t gap_start = t, gap_end = t;
    while (gap_start > w.history_begin && missing(gap_start - 1)) --gap_start;  // under way before the period
    while (gap_end < w.end && missing(gap_end)) ++gap_end;
    flag_gap(gap_start, gap_end);
    t = gap_end;
  }
}

void zero_runs(std::span<const float> values, const TimeGrid& grid, const DetectionOutput& out, const GamPostWindow& w) {
  const std::int64_t shortest = days_to_steps(kZeroRunDays, grid), regular = days_to_steps(kRegularDays, grid);
  const std::int64_t from = std::max(w.history_begin, w.begin - shortest + 1);
  std::int64_t zeros = 0;  // vectorised: most series have no zero in the range, and skip the scan
  for (std::int64_t t = from; t < w.end; ++t) zeros += values[static_cast<std::size_t>(t)] == 0.0F ? 1 : 0;
  if (zeros == 0) return;
  for (std::int64_t t = from; t < w.end;) {
    if (values[static_cast<std::size_t>(t)] != 0.0F) {  // NaN too
      ++t;
      continue;
    }
    std::int64_t j = t;
    while (j < w.end && values[static_cast<std::size_t>(j)] == 0.0F) ++j;
    // A run already under way when the window starts: its start lies before it.
    std::int64_t i = t;
    while (i > w.history_begin && values[static_cast<std::size_t>(i - 1)] == 0.0F) --i;
    if (j - i >= shortest && i - regular >= w.history_begin && regular_share(values, i - regular, i, true) >= kRegularShare) {
      // Zeros as common as in the regular days before the run make runs of them by chance: a small count at ~2.5
      // a day is 0 on one day in twelve, and three 0s in a row come by chance in two two-year series of five.
      const double p_zero = 1.0 - regular_share(values, i - regular, i, true) / regular_share(values, i - regular, i, false);
      const std::int64_t needed = std::max(shortest, chance_run_steps(p_zero, reported_span(values, w.history_begin, w.centred ? w.end : w.begin)));
      if (j - i >= needed)
        for (std::int64_t s = std::max(i + needed - 1, w.begin); s < j; ++s) raise(out, s, AnomalyKind::dropped_reporting);
    }
    t = j;
  }
}

// Up against the usual usage as well as the expected value: on an intermittent series the expected value sits
// near 0 between bursts, and every ordinary burst would be a x100 "unit error". Down, against the expected value
// alone, with no floor: the tiny readings of a meter that idles near 0 sit near its expected value.
void unit_errors(std::span<const float> values, double typical, const DetectionOutput& out, const GamPostWindow& w) {
  constexpr std::int64_t kChunk = 256;  // flags tested by the vectorised kernel a chunk at a time, on the stack
  std::uint8_t flag[kChunk];
  for (std::int64_t c = w.begin; c < w.end; c += kChunk) {
    const std::int64_t count = std::min(kChunk, w.end - c);
    const auto k = static_cast<std::size_t>(c);
    gam_unit_error_flags(values.data() + k, out.expected.data() + k, count, kUnitErrorUpRatio, kUnitErrorDownRatio, typical, flag);
    if (std::find(flag, flag + count, std::uint8_t{1}) == flag + count) continue;  // the usual case: none
    for (std::int64_t i = 0; i < count; ++i)
      if (flag[i]) raise(out, c + i, AnomalyKind::unit_error);
  }
}

}  // namespace

void gam_run_score(std::span<const float> values, const DetectionOutput& out, const GamPostWindow& w, double z,
                   std::span<double> scratch) {
  const std::int64_t m = w.end - w.begin;
  if (m <= 0) return;
  METERBENCH_CHECK(static_cast<std::int64_t>(scratch.size()) >= gam_run_score_scratch(m));
  // The signed scores and their use flags over [begin, end), with zeros either side where windows reach past it.
  double* term = scratch.data() + kRunPad;
  double* used = term + m + 2 * kRunPad;
  std::fill_n(term - kRunPad, kRunPad, 0.0);
  std::fill_n(term + m, kRunPad, 0.0);
  std::fill_n(used - kRunPad, kRunPad, 0.0);
  std::fill_n(used + m, kRunPad, 0.0);
  const auto first = static_cast<std::size_t>(w.begin);
  gam_run_terms(values.data() + first, out.expected.data() + first, out.score.data() + first, m, kRunClip, z, term, used);
  GamRunWindows windows{};
  for (std::size_t j = 0; j < 2; ++j) {
    const int width = kGamRunWidths[j];
    windows.before[j] = w.centred ? width / 2 : width - 1;
    const int need = std::max(2, (2 * width) / 3);
    for (int c = 0; c <= kGamRunMaxWidth; ++c)
      windows.factor[j][c] = c >= need && c <= width ? std::sqrt(static_cast<double>(width)) / static_cast<double>(c) : 0.0;
  }
  gam_run_windows(term, used, out.score.data() + w.begin, m, windows);
}

void gam_rule_alerts(std::span<const float> values, const TimeGrid& grid, double typical, const DetectionOutput& out,
                     const GamPostWindow& w) {
  if (w.end <= w.begin) return;
  stuck_meter(values, grid, out, w);
  zero_runs(values, grid, out, w);
  unit_errors(values, typical, out, w);  // after stuck: a value stuck at x1000 is a unit error first
  stopped_reporting(values, grid, out, w);
}

}  // namespace meterbench
