// Metrics derived from the merged integer counts: every ratio is computed once from exact integers, so the
// report (and its JSON text) is identical whatever the thread count or merge order.
#include <cmath>
#include <ostream>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"
#include "meterbench/evaluate/metrics.hpp"

namespace meterbench {

namespace {

std::optional<double> ratio(std::int64_t num, std::int64_t den) {
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}

std::optional<double> f1_of(std::optional<double> p, std::optional<double> r) {
  if (!p || !r) return std::nullopt;
  if (*p + *r == 0.0) return 0.0;
  return 2.0 * *p * *r / (*p + *r);
}

PrecisionRecall make_pr(std::optional<double> p, std::optional<double> r) { return {p, r, f1_of(p, r)}; }

// Alerts overlapping no true event per 1,000 series-weeks of labelled series.
std::optional<double> per_1000_weeks(std::int64_t alerts, std::int64_t covered_steps, std::int64_t steps_per_week) {
  if (covered_steps == 0) return std::nullopt;
  return static_cast<double>(alerts) * 1000.0 * static_cast<double>(steps_per_week) / static_cast<double>(covered_steps);
}

double usd(std::int64_t cents) { return static_cast<double>(cents) / 100.0; }

TimeToDetect time_to_detect(const std::vector<std::int64_t>& hist, std::int64_t events, std::int64_t steps_per_week) {
  TimeToDetect out;
  out.delay_histogram_steps = hist;
  for (const std::int64_t n : hist) out.caught += n;
  const double days_per_step = 7.0 / static_cast<double>(steps_per_week);
  // Nearest rank: the smallest delay whose cumulative count reaches ceil(p x caught).
  auto percentile = [&](std::int64_t rank) -> std::optional<double> {
    if (out.caught == 0) return std::nullopt;
    std::int64_t cum = 0;
    for (std::size_t d = 0; d < hist.size(); ++d) {
      cum += hist[d];
      if (cum >= rank) return static_cast<double>(d) * days_per_step;
    }
    return std::nullopt;
  };
  out.p50_days = percentile((out.caught + 1) / 2);
  out.p90_days = percentile((9 * out.caught + 9) / 10);
  auto within = [&](std::int64_t max_delay) {
    std::int64_t n = 0;
    for (std::size_t d = 0; d < hist.size() && static_cast<std::int64_t>(d) <= max_delay; ++d) n += hist[d];
    return ratio(n, events);
  };
  out.within_7_days = within(steps_per_week);
  out.within_14_days = within(2 * steps_per_week);
  return out;
}

// Average precision: thresholds swept down the histogram bins, AP = sum over bins of (delta recall) x precision.
std::optional<double> average_precision(const std::vector<std::int64_t>& pos, const std::vector<std::int64_t>& neg) {
  std::int64_t positives = 0;
  for (const std::int64_t n : pos) positives += n;
  if (positives == 0) return std::nullopt;
  std::int64_t tp = 0, fp = 0;
  double ap = 0.0;
  for (std::size_t i = pos.size(); i-- > 0;) {
    tp += pos[i];
    fp += neg[i];
    if (pos[i] == 0) continue;
    ap += static_cast<double>(pos[i]) / static_cast<double>(positives) * (static_cast<double>(tp) / static_cast<double>(tp + fp));
  }
  return ap;
}

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

nlohmann::json pr_json(const PrecisionRecall& pr) {
  return {{"precision", opt(pr.precision)}, {"recall", opt(pr.recall)}, {"f1", opt(pr.f1)}};
}

nlohmann::json outcome_json(const OutcomeCounts& o) {
  return {{"events", o.events},
          {"caught", o.caught},
          {"recall", opt(ratio(o.caught, o.events))},
          {"caught_filtered", o.caught_filtered},
          {"recall_filtered", opt(ratio(o.caught_filtered, o.events))},
          {"impact_usd", usd(o.impact_cents)},
          {"caught_impact_usd", usd(o.caught_impact_cents)},
          {"dollar_recall", opt(ratio(o.caught_impact_cents, o.impact_cents))},
          {"caught_filtered_impact_usd", usd(o.caught_filtered_impact_cents)},
          {"dollar_recall_filtered", opt(ratio(o.caught_filtered_impact_cents, o.impact_cents))}};
}

nlohmann::json alerts_json(const AlertCounts& a) {
  return {{"total", a.total}, {"true", a.true_alerts}, {"false", a.false_alerts}, {"dont_care", a.dont_care}, {"unlabelled", a.unlabelled}};
}

nlohmann::json ttd_json(const TimeToDetect& t) {
  return {{"caught", t.caught},
          {"p50_days", opt(t.p50_days)},
          {"p90_days", opt(t.p90_days)},
          {"within_7_days", opt(t.within_7_days)},
          {"within_14_days", opt(t.within_14_days)},
          {"delay_histogram_steps", t.delay_histogram_steps}};
}

std::string cell(const std::optional<double>& v) { return v ? fmt::format("{}", *v) : std::string(); }

void write_outcome_row(std::ostream& out, std::string_view name, const OutcomeCounts& o) {
  out << name << ',' << o.events << ',' << o.caught << ',' << cell(ratio(o.caught, o.events)) << ',' << o.caught_filtered << ','
      << cell(ratio(o.caught_filtered, o.events)) << ',' << fmt::format("{}", usd(o.impact_cents)) << ','
      << fmt::format("{}", usd(o.caught_impact_cents)) << ',' << cell(ratio(o.caught_impact_cents, o.impact_cents)) << ','
      << fmt::format("{}", usd(o.caught_filtered_impact_cents)) << ',' << cell(ratio(o.caught_filtered_impact_cents, o.impact_cents))
      << '\n';
}

constexpr const char* kOutcomeColumns =
    "events,caught,recall,caught_filtered,recall_filtered,impact_usd,caught_impact_usd,dollar_recall,caught_filtered_impact_usd,"
    "dollar_recall_filtered\n";

}  // namespace

EvaluationReport EvaluationAccumulator::report() const {
  EvaluationReport r;
  const EvaluationCounts& c = counts_;
  const std::int64_t spw = config_.steps_per_week;
  r.config = config_;
  r.counts = c;
  r.has_labels = c.series > c.series_without_labels;
  r.labels_missing = c.series_without_labels > 0;
  r.series_weeks = static_cast<double>(c.covered_steps) / static_cast<double>(spw);
  r.alerts_per_1000_series_weeks = per_1000_weeks(c.alerts.total, c.covered_steps, spw);
  r.alerts_per_1000_series_weeks_filtered = per_1000_weeks(c.alerts_filtered.total, c.covered_steps, spw);
  const std::int64_t events = c.events.events;
  const std::int64_t positives = c.point_tp + c.point_fn;

  const std::vector<double>& th = thresholds_;
  r.curve.resize(th.size());
  // Suffix sums over ranks (the count at threshold g sums ranks r > g); prefix sums over the alert differences.
  std::int64_t tp = 0, fp = 0, caught = 0, caught_impact = 0, caught_f = 0, caught_f_impact = 0;
  for (std::size_t g = th.size(); g-- > 0;) {
    tp += c.curve_tp_by_rank[g + 1];
    fp += c.curve_fp_by_rank[g + 1];
    caught += c.curve_caught_by_rank[g + 1];
    caught_impact += c.curve_caught_impact_by_rank[g + 1];
    caught_f += c.curve_caught_filtered_by_rank[g + 1];
    caught_f_impact += c.curve_caught_filtered_impact_by_rank[g + 1];
    CurvePoint& p = r.curve[g];
    p.z = th[g];
    p.point_tp = tp;
    p.point_fp = fp;
    p.point_fn = positives - tp;
    p.caught = caught;
    p.caught_impact_cents = caught_impact;
    p.caught_filtered = caught_f;
    p.caught_filtered_impact_cents = caught_f_impact;
  }
  AlertCounts alerts, alerts_filtered;
  for (std::size_t g = 0; g < th.size(); ++g) {
    alerts.merge(c.curve_alerts_diff[g]);
    alerts_filtered.merge(c.curve_alerts_filtered_diff[g]);
    r.curve[g].alerts = alerts;
    r.curve[g].alerts_filtered = alerts_filtered;
  }

  if (!r.has_labels) return r;  // label metrics stay null

  r.point = make_pr(ratio(c.point_tp, c.point_tp + c.point_fp), ratio(c.point_tp, positives));
  r.event = make_pr(ratio(c.alerts.true_alerts, c.alerts.true_alerts + c.alerts.false_alerts), ratio(c.events.caught, events));
  r.event_filtered = make_pr(ratio(c.alerts_filtered.true_alerts, c.alerts_filtered.true_alerts + c.alerts_filtered.false_alerts),
                             ratio(c.events.caught_filtered, events));
  auto fixed = [](std::int64_t e9, std::int64_t den) -> std::optional<double> {
    if (den == 0) return std::nullopt;
    return static_cast<double>(e9) / 1e9 / static_cast<double>(den);
  };
  r.range = make_pr(fixed(c.range_precision_e9, c.alerts.true_alerts + c.alerts.false_alerts), fixed(c.range_recall_e9, events));
  r.range_filtered = make_pr(fixed(c.range_precision_filtered_e9, c.alerts_filtered.true_alerts + c.alerts_filtered.false_alerts),
                             fixed(c.range_recall_filtered_e9, events));
  r.dollar_recall = ratio(c.events.caught_impact_cents, c.events.impact_cents);
  r.dollar_recall_filtered = ratio(c.events.caught_filtered_impact_cents, c.events.impact_cents);
  r.false_alerts_per_1000_series_weeks = per_1000_weeks(c.alerts.false_alerts, c.covered_steps_labelled, spw);
  r.false_alerts_per_1000_series_weeks_filtered = per_1000_weeks(c.alerts_filtered.false_alerts, c.covered_steps_labelled, spw);
  r.auc_pr = average_precision(c.score_histogram_labelled, c.score_histogram_unlabelled);
  r.time_to_detect = time_to_detect(c.delay_histogram, events, spw);
  r.time_to_detect_filtered = time_to_detect(c.delay_histogram_filtered, events, spw);
  for (std::size_t i = 0; i < kAnomalyKindCount; ++i) r.recall_per_kind[i] = ratio(c.per_kind[i].caught, c.per_kind[i].events);
  for (std::size_t i = 0; i < kSizeBucketCount; ++i)
    r.recall_per_size_bucket[i] = ratio(c.per_size_bucket[i].caught, c.per_size_bucket[i].events);
  for (CurvePoint& p : r.curve) {
    p.point_precision = ratio(p.point_tp, p.point_tp + p.point_fp);
    p.point_recall = ratio(p.point_tp, positives);
    p.event_recall = ratio(p.caught, events);
    p.alert_precision = ratio(p.alerts.true_alerts, p.alerts.true_alerts + p.alerts.false_alerts);
    p.false_alerts_per_1000_series_weeks = per_1000_weeks(p.alerts.false_alerts, c.covered_steps_labelled, spw);
    p.dollar_recall = ratio(p.caught_impact_cents, c.events.impact_cents);
    p.event_recall_filtered = ratio(p.caught_filtered, events);
    p.alert_precision_filtered =
        ratio(p.alerts_filtered.true_alerts, p.alerts_filtered.true_alerts + p.alerts_filtered.false_alerts);
    p.false_alerts_per_1000_series_weeks_filtered = per_1000_weeks(p.alerts_filtered.false_alerts, c.covered_steps_labelled, spw);
    p.dollar_recall_filtered = ratio(p.caught_filtered_impact_cents, c.events.impact_cents);
  }
  return r;
}

double EvaluationReport::flag_rate() const {
  return counts.observed_steps == 0 ? 0.0 : static_cast<double>(counts.flagged_steps) / static_cast<double>(counts.observed_steps);
}

nlohmann::json EvaluationReport::to_json() const {
  const EvaluationCounts& c = counts;
  nlohmann::json j;
  j["labels"] = {{"present", has_labels}, {"missing_in_some_series", labels_missing}, {"series_without_labels", c.series_without_labels}};
  j["counts"] = {{"series", c.series},
                 {"series_without_labels", c.series_without_labels},
                 {"scored_steps", c.scored_steps},
                 {"observed_steps", c.observed_steps},
                 {"flagged_steps", c.flagged_steps},
                 {"dont_care_steps", c.dont_care_steps},
                 {"covered_steps", c.covered_steps},
                 {"series_weeks", series_weeks},
                 {"events", c.events.events},
                 {"events_unknown_impact", c.events_unknown_impact},
                 {"alerts", alerts_json(c.alerts)},
                 {"alerts_filtered", alerts_json(c.alerts_filtered)},
                 {"alert_impact_usd", usd(c.alert_impact_cents)},
                 {"alerts_unknown_impact", c.alerts_unknown_impact}};
  j["flag_rate"] = flag_rate();
  j["alerts_per_1000_series_weeks"] = opt(alerts_per_1000_series_weeks);
  j["alerts_per_1000_series_weeks_filtered"] = opt(alerts_per_1000_series_weeks_filtered);
  j["point"] = pr_json(point);
  j["point"]["tp"] = c.point_tp;
  j["point"]["fp"] = c.point_fp;
  j["point"]["fn"] = c.point_fn;
  j["event"] = pr_json(event);
  j["event"]["events"] = c.events.events;
  j["event"]["caught"] = c.events.caught;
  j["event"]["true_alerts"] = c.alerts.true_alerts;
  j["event"]["false_alerts"] = c.alerts.false_alerts;
  j["event_filtered"] = pr_json(event_filtered);
  j["event_filtered"]["events"] = c.events.events;
  j["event_filtered"]["caught"] = c.events.caught_filtered;
  j["event_filtered"]["true_alerts"] = c.alerts_filtered.true_alerts;
  j["event_filtered"]["false_alerts"] = c.alerts_filtered.false_alerts;
  j["range"] = pr_json(range);
  j["range_filtered"] = pr_json(range_filtered);
  j["dollar_recall"] = opt(dollar_recall);
  j["dollar_recall_filtered"] = opt(dollar_recall_filtered);
  j["impact_usd"] = {{"events", usd(c.events.impact_cents)},
                     {"caught", usd(c.events.caught_impact_cents)},
                     {"caught_filtered", usd(c.events.caught_filtered_impact_cents)}};
  j["false_alerts_per_1000_series_weeks"] = opt(false_alerts_per_1000_series_weeks);
  j["false_alerts_per_1000_series_weeks_filtered"] = opt(false_alerts_per_1000_series_weeks_filtered);
  j["auc_pr"] = opt(auc_pr);
  j["time_to_detect"] = ttd_json(time_to_detect);
  j["time_to_detect_filtered"] = ttd_json(time_to_detect_filtered);
  nlohmann::json kinds = nlohmann::json::object();
  for (std::size_t i = 0; i < kAnomalyKindCount; ++i)
    if (c.per_kind[i].events > 0) kinds[std::string(kAnomalyKindNames[i])] = outcome_json(c.per_kind[i]);
  j["per_kind"] = has_labels ? kinds : nlohmann::json(nullptr);
  nlohmann::json buckets = nlohmann::json::object();
  for (std::size_t i = 0; i < kSizeBucketCount; ++i) buckets[size_bucket_name(i)] = outcome_json(c.per_size_bucket[i]);
  j["per_size_bucket"] = has_labels ? buckets : nlohmann::json(nullptr);
  j["config"] = {{"z", config.z},
                 {"delay_tolerance_steps", config.delay_tolerance_steps},
                 {"merge_gap_steps", config.merge_gap_steps},
                 {"impact_filter_usd", config.impact_filter_usd},
                 {"steps_per_week", config.steps_per_week},
                 {"schedule_period_steps", config.schedule_period_steps},
                 {"dont_care_weeks", config.dont_care_weeks},
                 {"tatbul_alpha", config.tatbul_alpha},
                 {"tatbul_recall_bias", to_string(config.tatbul_recall_bias)},
                 {"tatbul_precision_bias", to_string(config.tatbul_precision_bias)},
                 {"curve_z", {{"min", config.curve_z_min}, {"max", config.curve_z_max}, {"step", config.curve_z_step},
                              {"sweep", config.sweep_thresholds}}},
                 {"score_histogram", {{"bin_width", 1.0 / kScoreBinsPerUnit}, {"max", kScoreHistogramMax}}}};
  return j;
}

void write_per_kind_csv(const EvaluationReport& report, std::ostream& out) {
  out << "kind," << kOutcomeColumns;
  for (const AnomalyKindTraits& kind : kAnomalyKinds)
    if (kind.anomaly) write_outcome_row(out, kind.name, report.counts.per_kind[static_cast<std::size_t>(kind.kind)]);
}

void write_per_size_bucket_csv(const EvaluationReport& report, std::ostream& out) {
  out << "size_bucket," << kOutcomeColumns;
  // Bucket names hold a comma ("[0,3)"): quoted, as RFC 4180 asks, or readers see an extra column.
  for (std::size_t i = 0; i < kSizeBucketCount; ++i)
    write_outcome_row(out, fmt::format("\"{}\"", size_bucket_name(i)), report.counts.per_size_bucket[i]);
}

void write_pr_curve_csv(const EvaluationReport& report, std::ostream& out) {
  out << "z,point_precision,point_recall,event_recall,alert_precision,false_alerts_per_1000_series_weeks,dollar_recall,"
         "event_recall_filtered,alert_precision_filtered,false_alerts_per_1000_series_weeks_filtered,dollar_recall_filtered,alerts,"
         "alerts_filtered\n";
  for (const CurvePoint& p : report.curve) {
    out << fmt::format("{}", p.z) << ',' << cell(p.point_precision) << ',' << cell(p.point_recall) << ',' << cell(p.event_recall) << ','
        << cell(p.alert_precision) << ',' << cell(p.false_alerts_per_1000_series_weeks) << ',' << cell(p.dollar_recall) << ','
        << cell(p.event_recall_filtered) << ',' << cell(p.alert_precision_filtered) << ','
        << cell(p.false_alerts_per_1000_series_weeks_filtered) << ',' << cell(p.dollar_recall_filtered) << ',' << p.alerts.total << ','
        << p.alerts_filtered.total << '\n';
  }
}

}  // namespace meterbench
