// The per-series pass of the evaluation, in named phases run in this order by add_series: the event windows
// are marked; one sweep over the scored window builds the alerts at z, the point counts and the score
// histograms; a second sweep over the per-step ranks builds, for every threshold of the curve grid at once,
// the nested alerts (an alert at a higher threshold lies inside one at a lower threshold, and the open alerts
// always form a prefix of the grid); then the alerts at z are classified and one pass over the events decides
// what was caught and the range-based overlaps.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"
#include "meterbench/evaluate/metrics.hpp"

namespace meterbench {

namespace {

enum class AlertClass { false_alert, true_alert, dont_care, unlabelled };

void count_alert(AlertCounts& counts, AlertClass cls, std::int64_t delta = 1) {
  counts.total += delta;
  switch (cls) {
    case AlertClass::false_alert: counts.false_alerts += delta; break;
    case AlertClass::true_alert: counts.true_alerts += delta; break;
    case AlertClass::dont_care: counts.dont_care += delta; break;
    case AlertClass::unlabelled: counts.unlabelled += delta; break;
  }
}

// Sum of the positional bias over positions [p, q] (1-based) of a range of length len.
double bias_sum(std::int64_t len, std::int64_t p, std::int64_t q, PositionalBias bias) {
  if (p > q) return 0.0;
  auto ascending = [](std::int64_t a, std::int64_t c) { return a > c ? 0.0 : static_cast<double>((a + c) * (c - a + 1)) / 2.0; };
  auto descending = [&](std::int64_t a, std::int64_t c) {  // sum of len - i + 1 over i in [a, c]
    return a > c ? 0.0 : static_cast<double>((c - a + 1) * (len + 1)) - ascending(a, c);
  };
  switch (bias) {
    case PositionalBias::flat: return static_cast<double>(q - p + 1);
    case PositionalBias::front: return descending(p, q);
    case PositionalBias::back: return ascending(p, q);
    case PositionalBias::middle: {
      const std::int64_t half = len / 2;  // i <= len / 2 (real division) <=> i <= floor(len / 2)
      return ascending(p, std::min(q, half)) + descending(std::max(p, half + 1), q);
    }
  }
  return 0.0;
}

// omega(A, A ∩ [from, to]) of Tatbul et al. for range A = [a_start, a_end].
double omega(std::int64_t a_start, std::int64_t a_end, std::int64_t from, std::int64_t to, PositionalBias bias) {
  const std::int64_t len = a_end - a_start + 1;
  const std::int64_t p = std::max(from, a_start) - a_start + 1;
  const std::int64_t q = std::min(to, a_end) - a_start + 1;
  return bias_sum(len, p, q, bias) / bias_sum(len, 1, len, bias);
}

// Round half away from zero without a libm call (llround is one on baseline x86-64); exact for |x| < 2^52.
std::int64_t round_to_int(double x) {
  return x >= 0.0 ? static_cast<std::int64_t>(x + 0.5) : -static_cast<std::int64_t>(-x + 0.5);
}
std::int64_t to_e9(double x) { return round_to_int(x * 1e9); }
std::int64_t to_cents(double usd) { return round_to_int(usd * 100.0); }

std::size_t score_bin(double s) {
  // ceil(s x 64), exact (scaling by a power of two), branch-free: NaN and s <= 0 give x = 0 (bin 0), and
  // s > 64 is clamped to x = 4096.5 (bin kScoreBins + 1). Integer rounding avoids a libm call on baseline x86-64.
  const double x = std::min(s > 0.0 ? s * kScoreBinsPerUnit : 0.0, static_cast<double>(kScoreBins) + 0.5);
  const auto i = static_cast<std::int64_t>(x);  // signed: one instruction each way (unsigned ones are branches)
  return static_cast<std::size_t>(i + (static_cast<double>(i) < x ? 1 : 0));
}

// |observed - expected| in double; 0 when the expected value is missing.
double deviation(float observed, float expected) {
  const double d = std::fabs(static_cast<double>(observed) - static_cast<double>(expected));
  return std::isfinite(d) ? d : 0.0;
}

void check_length(const char* name, std::size_t size, std::size_t steps) {
  if (size != steps)
    throw std::invalid_argument(fmt::format("evaluation: {} has {} steps, values has {}", name, size, steps));
}
}  // namespace

// One add_series call: the scored window, the accumulator's state it adds to, and the phases.
struct EvaluationAccumulator::SeriesEvaluation {
  using Mark = Scratch::Mark;

  const EvaluationAccumulator& acc;
  const EvaluationConfig& config;
  EvaluationCounts& c;
  Scratch& s;
  const SeriesEvaluationInput& in;
  // The scored window [begin, end) and the delay tolerance k. Phases copy them into locals (b, e, k): stores
  // through the counts' int64 pointers could alias members, which would reload them at every step.
  std::int64_t begin = 0, end = 0;
  std::int64_t delay_tolerance = 0;
  bool labelled = false;
  double price = 0.0;
  bool price_known = false;

  SeriesEvaluation(EvaluationAccumulator& accumulator, const SeriesEvaluationInput& input);
  void mark_event_windows();
  void sweep_steps();
  void sweep_curve_grid();
  void flush_curve_alerts();
  void count_alerts_at_z(std::vector<Alert>* alerts_out);
  void evaluate_events();
  void add_range_precision();

  // Events with end < start (malformed) are skipped rather than given an empty range.
  [[nodiscard]] bool evaluated(const EventRecord& ev) const {
    return is_anomaly(ev.kind) && ev.start >= begin && ev.start < end && ev.end >= ev.start;
  }
  [[nodiscard]] AlertClass classify(std::int64_t from, std::int64_t to) const {
    if (!labelled) return AlertClass::unlabelled;
    const auto lo = static_cast<std::size_t>(from - begin), hi = static_cast<std::size_t>(to + 1 - begin);
    if (s.prefix_event[hi] > s.prefix_event[lo]) return AlertClass::true_alert;
    if (s.prefix_ignored[hi] > s.prefix_ignored[lo]) return AlertClass::dont_care;
    return AlertClass::false_alert;
  }
  // Sum of |observed - expected| over the observed steps of [from, to], from the prefix sums: the grid and the
  // alerts at z use this same expression, so their impacts (and filter decisions) agree bit for bit.
  [[nodiscard]] double deviation_sum(std::int64_t from, std::int64_t to) const {
    return s.deviation_prefix[static_cast<std::size_t>(to + 1 - begin)] - s.deviation_prefix[static_cast<std::size_t>(from - begin)];
  }
  // +1 at `from` and -1 after `to` (clipped to the window) of one coverage of the marks.
  void mark(std::int32_t Mark::*coverage, std::int64_t from, std::int64_t to) {
    from = std::max(from, begin);
    to = std::min(to, end - 1);
    if (from > to) return;
    Mark& open = s.marks.emplace_back();
    open.pos = static_cast<std::size_t>(from - begin);
    open.*coverage = 1;
    Mark& close = s.marks.emplace_back();
    close.pos = static_cast<std::size_t>(to + 1 - begin);
    close.*coverage = -1;
  }
  // Adds flagged step t (score sc) to the open alert at z, or opens one; returns the alert's index.
  std::int32_t extend_alert_at_z(std::int64_t t, double sc, bool& alert_open) {
    if (!alert_open) {
      s.alerts.push_back(DirectAlert{t, t, t, sc, 0.0, true, false, 0, 0.0});
      alert_open = true;
    }
    DirectAlert& a = s.alerts.back();
    a.end = t;
    if (sc > a.max_score) {
      a.max_score = sc;
      a.peak = t;
    }
    return static_cast<std::int32_t>(s.alerts.size() - 1);
  }
  void add_event_outcomes(const EventRecord& ev, std::size_t event_j, std::int64_t cents);
  void add_range_recall(const EventRecord& ev);
};

EvaluationAccumulator::SeriesEvaluation::SeriesEvaluation(EvaluationAccumulator& accumulator, const SeriesEvaluationInput& input)
    : acc(accumulator), config(accumulator.config_), c(accumulator.counts_), s(accumulator.scratch_), in(input) {
  const std::size_t steps = in.values.size();
  check_length("expected", in.expected.size(), steps);
  check_length("lower", in.lower.size(), steps);
  check_length("upper", in.upper.size(), steps);
  check_length("score", in.score.size(), steps);
  if (!in.labels.empty()) check_length("labels", in.labels.size(), steps);

  const auto n = static_cast<std::int64_t>(steps);
  // Event steps outside the series would overflow the window arithmetic below (end + 1, start + k).
  for (const EventRecord& ev : in.events)
    if (ev.start < 0 || ev.start >= n || ev.end < 0 || ev.end >= n)
      throw std::invalid_argument(fmt::format("evaluation: event of series {} (kind {}, steps {}..{}) lies outside the series' {} steps",
                                              in.series_index, ev.kind, ev.start, ev.end, n));
  begin = std::clamp<std::int64_t>(in.score_begin, 0, n);
  end = std::clamp<std::int64_t>(in.score_end, begin, n);
  delay_tolerance = config.delay_tolerance_steps;
  labelled = !in.labels.empty();
  price = in.price_per_unit;
  price_known = !std::isnan(price);
}

// Marks evaluated event windows, windows of events that started before the scored window, and the
// do-not-care tails of persistent events, as +1/-1 changes at their window-relative ends (a sorted list
// rather than per-step difference arrays: series have a handful of events, and most steps none). Records
// each evaluated event's eligible steps of the k-delay rule, and readies the prefix sums for the sweep.
void EvaluationAccumulator::SeriesEvaluation::mark_event_windows() {
  const std::int64_t b = begin, e = end, k = delay_tolerance;
  const auto w = static_cast<std::size_t>(e - b);
  s.marks.clear();
  s.prefix_event.resize(w + 1);
  s.prefix_ignored.resize(w + 1);
  s.prefix_observed.resize(w + 1);
  s.deviation_prefix.resize(w + 1);
  s.alert_of_step.resize(w);
  s.rank_of_step.resize(w);
  s.alerts.clear();
  s.event_start.clear();
  s.event_last_eligible.clear();
  if (labelled) {
    const std::int64_t cap = config.dont_care_weeks * config.steps_per_week;
    for (std::size_t i = 0; i < in.events.size(); ++i) {
      const EventRecord& ev = in.events[i];
      if (!is_anomaly(ev.kind)) continue;
      mark(evaluated(ev) ? &Mark::event : &Mark::pre, ev.start, ev.end);
      if (is_persistent(static_cast<AnomalyKind>(ev.kind))) {
        std::int64_t last = std::min(ev.effect_end, ev.end + cap);
        for (std::size_t j = i + 1; j < in.events.size(); ++j) {
          if (is_anomaly(in.events[j].kind) && in.events[j].start > ev.end) {
            last = std::min(last, in.events[j].start - 1);
            break;
          }
        }
        mark(&Mark::ext, ev.end + 1, last);
      }
      if (evaluated(ev)) {
        // Eligible steps of the k-delay rule: [start, last_eligible], flags raised no later than start + k.
        const std::int64_t limit = ev.start + k;
        std::int64_t last_eligible = ev.start - 1;
        for (std::int64_t t = ev.start; t <= std::min({ev.end, limit, e - 1}) && config.raised_at(t, b) <= limit; ++t) last_eligible = t;
        s.event_start.push_back(ev.start);
        s.event_last_eligible.push_back(last_eligible);
      }
    }
  }
  s.event_filtered_rank.assign(s.event_start.size(), 0);
  std::sort(s.marks.begin(), s.marks.end(), [](const Mark& x, const Mark& y) { return x.pos < y.pos; });
  s.prefix_event[0] = 0;
  s.prefix_ignored[0] = 0;
  s.prefix_observed[0] = 0;
  s.deviation_prefix[0] = 0.0;
}

// The hot loop over the scored window: prefix sums, per-step curve ranks, point counts, score histograms and
// the alerts at z. Raw pointers and running values in locals (no reloads through the vectors or the counts).
void EvaluationAccumulator::SeriesEvaluation::sweep_steps() {
  const std::int64_t b = begin, e = end;
  const double z = config.z;
  const std::int64_t gap = config.merge_gap_steps;
  std::int64_t missing_run = 0;
  bool direct_open = false;
  const float* values = in.values.data();
  const float* expected = in.expected.data();
  const float* score = in.score.data();
  const std::uint8_t* labels = labelled ? in.labels.data() : nullptr;
  const Mark* next_mark = s.marks.data();
  const Mark* const marks_end = next_mark + s.marks.size();
  std::int32_t* prefix_event = s.prefix_event.data();
  std::int32_t* prefix_ignored = s.prefix_ignored.data();
  std::int32_t* prefix_observed = s.prefix_observed.data();
  double* deviation_prefix = s.deviation_prefix.data();
  std::int32_t* alert_of_step = s.alert_of_step.data();
  std::int32_t* rank_of_step = s.rank_of_step.data();
  std::int64_t* hist_pos = c.score_histogram_labelled.data();
  std::int64_t* hist_neg = c.score_histogram_unlabelled.data();
  std::int64_t* tp_by_rank = c.curve_tp_by_rank.data();
  std::int64_t* fp_by_rank = c.curve_fp_by_rank.data();
  const std::int32_t* rank_by_bin = acc.rank_by_bin_.data();
  std::int32_t cov_event = 0, cov_pre = 0, cov_ext = 0, n_event = 0, n_ignored = 0, n_observed = 0;
  std::int64_t flagged_steps = 0, dont_care = 0;
  std::int64_t positives = 0, negatives = 0, tp = 0, fp = 0;  // branch-free register counts
  double dev_sum = 0.0;
  std::int64_t first_obs = -1, last_obs = -1;
  for (std::int64_t t = b; t < e; ++t) {
    const auto i = static_cast<std::size_t>(t - b);
    const auto ti = static_cast<std::size_t>(t);
    for (; next_mark != marks_end && next_mark->pos == i; ++next_mark) {
      cov_event += next_mark->event;
      cov_pre += next_mark->pre;
      cov_ext += next_mark->ext;
    }
    n_event += cov_event > 0 ? 1 : 0;
    n_ignored += (cov_pre | cov_ext) > 0 ? 1 : 0;
    prefix_event[i + 1] = n_event;
    prefix_ignored[i + 1] = n_ignored;  // alert_of_step is written (and read) at flagged steps only
    const float v = values[ti];
    // A missing step is unscored, unless the detector scored it (a rule alert on a meter that stopped
    // reporting): then it counts as a scored step, with no deviation.
    if (std::isnan(v) && std::isnan(score[ti])) {
      prefix_observed[i + 1] = n_observed;
      deviation_prefix[i + 1] = dev_sum;
      rank_of_step[i] = -1;
      if (++missing_run > gap) direct_open = false;
      continue;
    }
    prefix_observed[i + 1] = ++n_observed;
    dev_sum += deviation(v, expected[ti]);
    deviation_prefix[i + 1] = dev_sum;
    missing_run = 0;
    if (first_obs < 0) first_obs = t;
    const double sc = score[ti];
    const bool flagged = sc > z;  // false for NaN
    const std::size_t bin = score_bin(sc);
    const std::int32_t table_rank = rank_by_bin[bin];
    const std::int32_t rank = table_rank >= 0 ? table_rank : static_cast<std::int32_t>(acc.rank_of(sc));
    rank_of_step[i] = rank;

    if (labels != nullptr) {
      // Branch-free: an unlabelled step in a do-not-care tail counts in neither class.
      const std::int64_t positive = is_anomaly(labels[ti]) ? 1 : 0;
      const std::int64_t ignored = positive == 0 && cov_ext > 0 ? 1 : 0;
      const std::int64_t negative = 1 - positive - ignored;
      const std::int64_t flag = flagged ? 1 : 0;
      dont_care += ignored;
      positives += positive;
      negatives += negative;
      tp += positive & flag;
      fp += negative & flag;
      (positive != 0 ? hist_pos : hist_neg)[bin] += 1 - ignored;
      (positive != 0 ? tp_by_rank : fp_by_rank)[rank] += 1 - ignored;
    }

    // Alerts at z.
    if (flagged) {
      ++flagged_steps;
      alert_of_step[i] = extend_alert_at_z(t, sc, direct_open);
    } else {
      direct_open = false;
    }
    last_obs = t;
  }
  c.observed_steps += n_observed;
  c.flagged_steps += flagged_steps;
  c.dont_care_steps += dont_care;
  c.point_tp += tp;
  c.point_fp += fp;
  c.point_fn += positives - tp;
  c.point_tn += negatives - fp;
  if (first_obs >= 0) {
    c.covered_steps += last_obs - first_obs + 1;
    if (labelled) c.covered_steps_labelled += last_obs - first_obs + 1;
  }
}

// Curve grid, a second pass over the ranks: its stack of groups takes a data-dependent branch at about every
// other step, and a mispredicted branch here discards only this lean loop's work, not the per-step counting
// of sweep_steps (one fused loop is slower). Thresholds >= rank see an observed unflagged step (their alerts
// close); thresholds below rank are flagged (the new ones open a group starting here, pushed without a
// branch). More than merge_gap_steps missing steps in a row close every alert.
void EvaluationAccumulator::SeriesEvaluation::sweep_curve_grid() {
  const std::int64_t b = begin, e = end, k = delay_tolerance;
  const double unit_price = price;
  const double filter = config.impact_filter_usd;
  const std::int64_t gap = config.merge_gap_steps;
  const std::int32_t* rank_of_step = s.rank_of_step.data();
  std::int64_t last_obs = -1, missing_run = 0, grid_open = 0;
  // Per-series alert counts of the curve as difference arrays over thresholds (rows of G + 1 entries): alert
  // starts (counted when a group opens), then true / do-not-care alerts, with and without the filter; false
  // alerts are the rest. Flushed into the counts by flush_curve_alerts.
  const std::size_t row = acc.thresholds_.size() + 1;
  s.alert_diff.assign(6 * row, 0);
  std::int64_t* starts = s.alert_diff.data();
  std::int64_t* true_diff = starts + row;
  std::int64_t* dont_care_diff = starts + 2 * row;
  std::int64_t* kept_starts = starts + 3 * row;
  std::int64_t* kept_true_diff = starts + 4 * row;
  std::int64_t* kept_dont_care_diff = starts + 5 * row;
  // Closes the alerts of thresholds [lo, hi), which all span [start, last_obs] (same steps, same impact, same
  // class): O(1) whatever the number of thresholds. Most alerts touch no event and no do-not-care region: for
  // them only the impact filter is decided.
  auto close_group = [&](std::int64_t start, std::int64_t lo, std::int64_t hi) __attribute__((always_inline)) {
    const auto from_i = static_cast<std::size_t>(start - b), to_i = static_cast<std::size_t>(last_obs + 1 - b);
    const bool kept = !((s.deviation_prefix[to_i] - s.deviation_prefix[from_i]) * unit_price < filter);  // NaN price: kept
    // Arithmetic rather than a branch: whether a noise alert passes the filter is a coin toss to a predictor.
    kept_starts[lo] += kept ? 1 : 0;
    kept_starts[hi] -= kept ? 1 : 0;
    if (((s.prefix_event[to_i] - s.prefix_event[from_i]) | (s.prefix_ignored[to_i] - s.prefix_ignored[from_i])) == 0) return;
    const AlertClass cls = classify(start, last_obs);
    std::int64_t* d = cls == AlertClass::true_alert ? true_diff : dont_care_diff;
    ++d[lo];
    --d[hi];
    if (kept) {
      std::int64_t* kd = cls == AlertClass::true_alert ? kept_true_diff : kept_dont_care_diff;
      ++kd[lo];
      --kd[hi];
    }
    if (!kept || cls != AlertClass::true_alert) return;
    // Every observed step of these alerts scores above th[hi - 1]: they catch (filtered) each event whose eligible
    // steps hold one of their observed steps. Only events starting in [start - k, last_obs] can. The thresholds
    // catching an event with the filter form a prefix (a lower threshold's alert is a superset: true, and kept
    // since its impact is at least as large), so the largest hi is all there is to keep.
    const auto first = s.event_start.begin();
    for (auto j = std::upper_bound(first, s.event_start.end(), last_obs) - first;
         j-- > 0 && s.event_start[static_cast<std::size_t>(j)] >= start - k;) {
      const auto ju = static_cast<std::size_t>(j);
      const std::int64_t from = std::max(start, s.event_start[ju]), to = std::min(last_obs, s.event_last_eligible[ju]);
      if (from <= to && s.prefix_observed[static_cast<std::size_t>(to + 1 - b)] > s.prefix_observed[static_cast<std::size_t>(from - b)])
        s.event_filtered_rank[ju] = std::max(s.event_filtered_rank[ju], hi);
    }
  };
  // Closes the alerts of thresholds [from, grid_open). Open alerts form a stack of threshold groups, each group
  // opened at one step; higher groups opened later.
  // The stack is a raw array of G + 1 groups (each holds at least one threshold), so that opening is branch-free.
  s.groups.resize(acc.thresholds_.size() + 1);
  Group* const groups = s.groups.data();
  std::size_t open_groups = 0;
  auto close_grid_from = [&](std::int64_t from) __attribute__((always_inline)) {
    while (open_groups > 0 && groups[open_groups - 1].lo >= from) {
      const Group& top = groups[--open_groups];
      close_group(top.start, top.lo, top.hi);
    }
    if (open_groups > 0 && groups[open_groups - 1].hi > from) {
      Group& top = groups[open_groups - 1];
      close_group(top.start, from, top.hi);
      top.hi = from;
    }
    grid_open = std::min(grid_open, from);
  };

  for (std::int64_t t = b; t < e; ++t) {
    const std::int32_t rank = rank_of_step[t - b];
    if (rank < 0) {
      if (++missing_run > gap && grid_open > 0) close_grid_from(0);
      continue;
    }
    missing_run = 0;
    if (rank < grid_open) {
      close_grid_from(rank);
    } else {
      const std::int64_t opens = rank > grid_open ? 1 : 0;
      groups[open_groups] = Group{t, grid_open, rank};
      open_groups += static_cast<std::size_t>(opens);
      starts[grid_open] += opens;
      starts[rank] -= opens;
      grid_open = rank;
    }
    last_obs = t;
  }
  close_grid_from(0);
}

// Adds the series' curve alert differences into the counts: false alerts are those neither true nor do-not-care.
void EvaluationAccumulator::SeriesEvaluation::flush_curve_alerts() {
  const std::size_t row = acc.thresholds_.size() + 1;
  const std::int64_t* starts = s.alert_diff.data();
  const std::int64_t* true_diff = starts + row;
  const std::int64_t* dont_care_diff = starts + 2 * row;
  const std::int64_t* kept_starts = starts + 3 * row;
  const std::int64_t* kept_true_diff = starts + 4 * row;
  const std::int64_t* kept_dont_care_diff = starts + 5 * row;
  for (std::size_t g = 0; g < row; ++g) {
    AlertCounts& all = c.curve_alerts_diff[g];
    AlertCounts& kept = c.curve_alerts_filtered_diff[g];
    all.total += starts[g];
    kept.total += kept_starts[g];
    if (labelled) {
      all.true_alerts += true_diff[g];
      all.dont_care += dont_care_diff[g];
      all.false_alerts += starts[g] - true_diff[g] - dont_care_diff[g];
      kept.true_alerts += kept_true_diff[g];
      kept.dont_care += kept_dont_care_diff[g];
      kept.false_alerts += kept_starts[g] - kept_true_diff[g] - kept_dont_care_diff[g];
    } else {
      all.unlabelled += starts[g];
      kept.unlabelled += kept_starts[g];
    }
  }
}

// Alerts at z: class, impact, filter; the alerts file's rows when asked for.
void EvaluationAccumulator::SeriesEvaluation::count_alerts_at_z(std::vector<Alert>* alerts_out) {
  const std::int64_t b = begin;
  const double filter = config.impact_filter_usd;
  for (DirectAlert& a : s.alerts) {
    a.deviation = deviation_sum(a.start, a.end);
    const double impact = price_known ? a.deviation * price : std::numeric_limits<double>::quiet_NaN();
    a.kept = !(impact < filter);
    const AlertClass cls = classify(a.start, a.end);
    a.true_alert = cls == AlertClass::true_alert;
    count_alert(c.alerts, cls);
    if (a.kept) count_alert(c.alerts_filtered, cls);
    if (price_known) {
      c.alert_impact_cents += to_cents(impact);
    } else {
      ++c.alerts_unknown_impact;
    }
    a.overlaps = 0;
    a.precision_sum = 0.0;
    if (alerts_out != nullptr) {
      const auto p = static_cast<std::size_t>(a.peak);
      alerts_out->push_back(Alert{in.series_index, a.start, a.end, a.peak, in.values[p], in.expected[p], in.lower[p], in.upper[p],
                                  in.score[p], impact, config.raised_at(a.start, b), cls == AlertClass::true_alert,
                                  cls == AlertClass::dont_care, a.kept});
    }
  }
}

// Events: caught at z (with and without the filter), delays, the curve, range-based recall.
void EvaluationAccumulator::SeriesEvaluation::evaluate_events() {
  std::size_t j = 0;  // index among evaluated events
  for (const EventRecord& ev : in.events) {
    if (!evaluated(ev)) continue;
    const std::size_t event_j = j++;
    std::int64_t cents = 0;
    if (std::isfinite(ev.impact_usd)) {
      cents = to_cents(ev.impact_usd);
    } else {
      ++c.events_unknown_impact;
    }
    add_event_outcomes(ev, event_j, cents);
    add_range_recall(ev);
  }
}

// Whether the event is caught at z (with and without the filter) and how late, counted per kind and size
// bucket; then its place on the curve.
void EvaluationAccumulator::SeriesEvaluation::add_event_outcomes(const EventRecord& ev, std::size_t event_j, std::int64_t cents) {
  const std::int64_t b = begin;
  const double z = config.z;
  const std::int64_t last_eligible = s.event_last_eligible[event_j];
  bool caught = false, caught_filtered = false;
  std::int64_t delay = 0, delay_filtered = 0;
  double max_eligible = -std::numeric_limits<double>::infinity();
  for (std::int64_t t = ev.start; t <= last_eligible; ++t) {
    const std::int64_t raised = config.raised_at(t, b);
    const double sc = in.score[static_cast<std::size_t>(t)];
    if (std::isnan(sc)) continue;  // missing steps included, unless the detector scored them (sweep_steps)
    max_eligible = std::max(max_eligible, sc);
    if (!(sc > z)) continue;
    if (!caught) {
      caught = true;
      delay = raised - ev.start;
    }
    const std::int32_t alert = s.alert_of_step[static_cast<std::size_t>(t - b)];
    if (!caught_filtered && s.alerts[static_cast<std::size_t>(alert)].kept) {
      caught_filtered = true;
      delay_filtered = raised - ev.start;
    }
  }
  auto add_outcome = [&](OutcomeCounts& o) {
    ++o.events;
    o.impact_cents += cents;
    if (caught) {
      ++o.caught;
      o.caught_impact_cents += cents;
    }
    if (caught_filtered) {
      ++o.caught_filtered;
      o.caught_filtered_impact_cents += cents;
    }
  };
  add_outcome(c.events);
  if (ev.kind < kAnomalyKindCount) add_outcome(c.per_kind[ev.kind]);
  if (const std::size_t bucket = size_bucket(ev.size_sigma); bucket < kSizeBucketCount) add_outcome(c.per_size_bucket[bucket]);
  if (caught) ++c.delay_histogram[static_cast<std::size_t>(delay)];
  if (caught_filtered) ++c.delay_histogram_filtered[static_cast<std::size_t>(delay_filtered)];

  // Curve: caught at threshold g iff the highest eligible score exceeds it; with the filter, iff a kept
  // true alert at g contains an eligible step scoring above it.
  std::int64_t rank = 0;
  if (last_eligible >= ev.start) {
    const std::int32_t table_rank = acc.rank_by_bin_[score_bin(max_eligible)];
    rank = table_rank >= 0 ? table_rank : acc.rank_of(max_eligible);
  }
  ++c.curve_caught_by_rank[static_cast<std::size_t>(rank)];
  c.curve_caught_impact_by_rank[static_cast<std::size_t>(rank)] += cents;
  const std::int64_t filtered_rank = s.event_filtered_rank[event_j];
  METERBENCH_CHECK(filtered_rank <= rank);
  ++c.curve_caught_filtered_by_rank[static_cast<std::size_t>(filtered_rank)];
  c.curve_caught_filtered_impact_by_rank[static_cast<std::size_t>(filtered_rank)] += cents;
}

// Range-based recall of the event's range against the alerts at z.
// Alerts are disjoint and sorted, so their ends increase: the overlapping ones follow the first ending at or
// after the event start. Each also gathers omega(alert, alert ∩ event) for its range-based precision.
void EvaluationAccumulator::SeriesEvaluation::add_range_recall(const EventRecord& ev) {
  const std::int64_t e = end;
  const std::int64_t r_end = std::min(ev.end, e - 1);
  std::int64_t overlaps = 0, overlaps_filtered = 0;
  double sum = 0.0, sum_filtered = 0.0;
  for (auto a = std::partition_point(s.alerts.begin(), s.alerts.end(), [&](const DirectAlert& x) { return x.end < ev.start; });
       a != s.alerts.end() && a->start <= r_end; ++a) {
    const double o = omega(ev.start, r_end, a->start, a->end, config.tatbul_recall_bias);
    ++overlaps;
    sum += o;
    if (a->kept) {
      ++overlaps_filtered;
      sum_filtered += o;
    }
    ++a->overlaps;
    a->precision_sum += omega(a->start, a->end, ev.start, r_end, config.tatbul_precision_bias);
  }
  auto recall = [&](std::int64_t count, double omega_sum) {
    const double gamma = count > 1 ? 1.0 / static_cast<double>(count) : 1.0;
    return config.tatbul_alpha * (count > 0 ? 1.0 : 0.0) + (1.0 - config.tatbul_alpha) * gamma * omega_sum;
  };
  c.range_recall_e9 += to_e9(recall(overlaps, sum));
  c.range_recall_filtered_e9 += to_e9(recall(overlaps_filtered, sum_filtered));
}

// Range-based precision of the true alerts (false ones contribute 0); gamma = 1 / overlaps when > 1.
void EvaluationAccumulator::SeriesEvaluation::add_range_precision() {
  for (const DirectAlert& a : s.alerts) {
    if (!a.true_alert) continue;
    const std::int64_t contribution = to_e9(a.overlaps > 1 ? a.precision_sum / static_cast<double>(a.overlaps) : a.precision_sum);
    c.range_precision_e9 += contribution;
    if (a.kept) c.range_precision_filtered_e9 += contribution;
  }
}

void EvaluationAccumulator::add_series(const SeriesEvaluationInput& in, std::vector<Alert>* alerts_out) {
  SeriesEvaluation pass(*this, in);
  ++counts_.series;
  if (!pass.labelled) ++counts_.series_without_labels;
  counts_.scored_steps += pass.end - pass.begin;
  pass.mark_event_windows();
  pass.sweep_steps();
  pass.sweep_curve_grid();
  pass.flush_curve_alerts();
  pass.count_alerts_at_z(alerts_out);
  if (!pass.labelled) return;
  pass.evaluate_events();
  pass.add_range_precision();
}

}  // namespace meterbench
