#include "meterbench/feedback/verdict_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "meterbench/core/check.hpp"

namespace meterbench {

namespace {

constexpr double kWilsonZ95 = 1.959963984540054;  // the standard normal's 97.5% quantile

std::string series_key(std::string_view customer, std::string_view meter) {
  std::string key(customer);
  key += '\0';
  key += meter;
  return key;
}

// First step at or after `t`, last step at or before `t`: the grid steps a verdict's dates cover.
std::int64_t first_step_from(const TimeGrid& grid, std::int64_t t) {
  const std::int64_t d = t - grid.start_unix_seconds;
  return d >= 0 ? (d + grid.step_seconds - 1) / grid.step_seconds : -((-d) / grid.step_seconds);
}
std::int64_t last_step_until(const TimeGrid& grid, std::int64_t t) {
  const std::int64_t d = t - grid.start_unix_seconds;
  return d >= 0 ? d / grid.step_seconds : -((-d + grid.step_seconds - 1) / grid.step_seconds);
}

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

nlohmann::json wilson_json(const WilsonEstimate& w) {
  return {{"value", opt(w.value)}, {"ci95_low", opt(w.low)}, {"ci95_high", opt(w.high)}, {"n", w.trials}};
}

std::int64_t sum_above(const std::vector<std::int64_t>& by_rank, std::size_t g) {
  std::int64_t sum = 0;
  for (std::size_t r = g + 1; r < by_rank.size(); ++r) sum += by_rank[r];
  return sum;
}

}  // namespace

WilsonEstimate wilson_interval(std::int64_t successes, std::int64_t trials) {
  WilsonEstimate w{successes, trials, std::nullopt, std::nullopt, std::nullopt};
  if (trials <= 0) return w;
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = kWilsonZ95 * kWilsonZ95;
  const double denominator = 1.0 + z2 / n;
  const double centre = (p + z2 / (2.0 * n)) / denominator;
  const double half = kWilsonZ95 / denominator * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
  w.value = p;
  w.low = std::max(0.0, centre - half);
  w.high = std::min(1.0, centre + half);
  return w;
}

VerdictIndex::VerdictIndex(const FeedbackLog& log, const TimeGrid& grid, bool ingested_labels) : ingested_labels_(ingested_labels) {
  for (const FeedbackRecord& r : standing_verdicts(log)) {
    const FeedbackSpan span = feedback_span(r);
    by_series_[series_key(r.customer, r.meter)].push_back(
        {first_step_from(grid, span.start), last_step_until(grid, span.end), r.verdict, true});
    ++file_verdicts_;
  }
}

void VerdictIndex::verdicts_of(std::string_view customer, std::string_view meter, std::span<const EventRecord> events,
                               std::vector<VerdictSteps>& out) const {
  out.clear();
  if (!by_series_.empty()) {
    if (const auto it = by_series_.find(series_key(customer, meter)); it != by_series_.end()) out = it->second;
  }
  if (!ingested_labels_) return;
  for (const EventRecord& e : events) {
    const auto kind = static_cast<AnomalyKind>(e.kind);
    if (kind == AnomalyKind::normal) out.push_back({e.start, e.end, Verdict::not_anomaly, false});
    else if (traits(kind).anomaly) out.push_back({e.start, e.end, Verdict::anomaly, false});
  }
}

void VerdictIndex::verdicts_of(const SeriesBlock& block, std::int64_t i, bool has_labels, std::vector<VerdictSteps>& out) const {
  const SeriesRecord& record = block.series[static_cast<std::size_t>(i)];
  std::span<const EventRecord> events;
  if (has_labels && !block.events.empty())
    events = std::span<const EventRecord>(block.events).subspan(record.first_event - block.series.front().first_event, record.event_count);
  verdicts_of(record.customer(), record.meter(), events, out);
}

std::vector<std::string> VerdictIndex::sources() const {
  std::vector<std::string> s;
  if (file_verdicts_ > 0 || !ingested_labels_) s.emplace_back("feedback file");
  if (ingested_labels_) s.emplace_back("ingested labels");
  return s;
}

void VerdictCounts::merge(const VerdictCounts& o) {
  matched_file_verdicts += o.matched_file_verdicts;
  anomaly += o.anomaly;
  not_anomaly += o.not_anomaly;
  outside_window += o.outside_window;
  alerts_reviewed += o.alerts_reviewed;
  METERBENCH_CHECK(anomaly_by_rank.size() == o.anomaly_by_rank.size());
  for (std::size_t r = 0; r < anomaly_by_rank.size(); ++r) {
    anomaly_by_rank[r] += o.anomaly_by_rank[r];
    not_anomaly_by_rank[r] += o.not_anomaly_by_rank[r];
  }
}

void VerdictCounts::append_integers(std::vector<std::int64_t>& out) const {
  out.insert(out.end(), {matched_file_verdicts, anomaly, not_anomaly, outside_window, alerts_reviewed});
  out.insert(out.end(), anomaly_by_rank.begin(), anomaly_by_rank.end());
  out.insert(out.end(), not_anomaly_by_rank.begin(), not_anomaly_by_rank.end());
}

void VerdictCounts::read_integers(std::span<const std::int64_t> in, std::size_t& at) {
  METERBENCH_CHECK(at + 5 + 2 * anomaly_by_rank.size() <= in.size());
  for (std::int64_t* field : {&matched_file_verdicts, &anomaly, &not_anomaly, &outside_window, &alerts_reviewed}) *field = in[at++];
  for (auto& c : anomaly_by_rank) c = in[at++];
  for (auto& c : not_anomaly_by_rank) c = in[at++];
}

VerdictAccumulator::VerdictAccumulator(std::vector<double> thresholds, double z) : thresholds_(std::move(thresholds)), z_(z) {
  counts_.anomaly_by_rank.assign(thresholds_.size() + 1, 0);
  counts_.not_anomaly_by_rank.assign(thresholds_.size() + 1, 0);
}

void VerdictAccumulator::add_series(std::span<const VerdictSteps> verdicts, std::span<const float> values, std::span<const float> score,
                                    std::int64_t score_begin, std::int64_t score_end, std::span<const Alert> alerts) {
  score_end = std::min(score_end, static_cast<std::int64_t>(score.size()));
  for (const VerdictSteps& v : verdicts) {
    if (v.from_file) ++counts_.matched_file_verdicts;
    const std::int64_t first = std::max(v.start, score_begin), last = std::min(v.end, score_end - 1);
    if (first > last) {
      ++counts_.outside_window;
      continue;
    }
    // The highest score of an observed step inside the verdict: it is alerted at every threshold below it.
    double highest = -std::numeric_limits<double>::infinity();
    for (std::int64_t t = first; t <= last; ++t) {
      const auto i = static_cast<std::size_t>(t);
      if (!std::isnan(values[i]) && !std::isnan(score[i])) highest = std::max(highest, static_cast<double>(score[i]));
    }
    const auto rank = static_cast<std::size_t>(std::lower_bound(thresholds_.begin(), thresholds_.end(), highest) - thresholds_.begin());
    if (v.verdict == Verdict::anomaly) {
      ++counts_.anomaly;
      ++counts_.anomaly_by_rank[rank];
    } else {
      ++counts_.not_anomaly;
      ++counts_.not_anomaly_by_rank[rank];
    }
  }
  for (const Alert& a : alerts) {
    const bool reviewed = std::any_of(verdicts.begin(), verdicts.end(), [&](const VerdictSteps& v) { return a.start <= v.end && v.start <= a.end; });
    if (reviewed) ++counts_.alerts_reviewed;
  }
}

ReviewedMetrics reviewed_metrics(const VerdictAccumulator& verdicts, std::size_t g, std::int64_t unmatched) {
  const VerdictCounts& c = verdicts.counts();
  ReviewedMetrics m;
  m.z = verdicts.thresholds().at(g);
  m.anomaly = c.anomaly;
  m.not_anomaly = c.not_anomaly;
  m.outside_window = c.outside_window;
  m.unmatched = unmatched;
  m.true_positives = sum_above(c.anomaly_by_rank, g);
  m.false_positives = sum_above(c.not_anomaly_by_rank, g);
  m.precision = wilson_interval(m.true_positives, m.true_positives + m.false_positives);
  m.recall = wilson_interval(m.true_positives, m.anomaly);
  if (m.precision.value && m.recall.value) {
    const double p = *m.precision.value, r = *m.recall.value;
    m.f1 = p + r == 0.0 ? 0.0 : 2.0 * p * r / (p + r);
  }
  const auto warn = [&](const char* figure, std::int64_t n, const char* what) {
    if (n < kFewVerdicts)
      m.warnings.push_back(fmt::format("{} rests on {} {} (fewer than {}): its 95% interval is wide; review more incidents", figure, n, what,
                                       kFewVerdicts));
  };
  warn("reviewed precision", m.precision.trials, "alerted reviewed incidents");
  warn("reviewed recall", m.recall.trials, "confirmed anomalies");
  return m;
}

ReviewedMetrics reviewed_metrics_at_z(const VerdictAccumulator& verdicts, std::int64_t unmatched, std::int64_t alerts_total) {
  const std::vector<double>& th = verdicts.thresholds();
  const auto at = std::find(th.begin(), th.end(), verdicts.z());
  METERBENCH_CHECK(at != th.end());
  ReviewedMetrics m = reviewed_metrics(verdicts, static_cast<std::size_t>(at - th.begin()), unmatched);
  m.alerts_total = alerts_total;
  m.alerts_reviewed = verdicts.counts().alerts_reviewed;
  return m;
}

nlohmann::json to_json(const ReviewedMetrics& m, const std::vector<std::string>& sources) {
  nlohmann::json alerts = nullptr;
  if (m.alerts_total && m.alerts_reviewed)
    alerts = {{"total", *m.alerts_total}, {"reviewed", *m.alerts_reviewed}, {"unreviewed", *m.alerts_total - *m.alerts_reviewed}};
  return {{"sources", sources},
          {"z", m.z},
          {"verdicts", {{"anomaly", m.anomaly}, {"not_anomaly", m.not_anomaly}, {"outside_scored_window", m.outside_window}, {"unmatched", m.unmatched}}},
          {"true_positives", m.true_positives},
          {"false_positives", m.false_positives},
          {"missed", m.anomaly - m.true_positives},
          {"precision", wilson_json(m.precision)},
          {"recall", wilson_json(m.recall)},
          {"f1", opt(m.f1)},
          {"alerts", alerts},
          {"warnings", m.warnings}};
}

FeedbackLog read_feedback_logged(const std::filesystem::path& file, std::string_view command) {
  FeedbackLog log = read_feedback(file);
  for (const FeedbackProblem& p : log.problems) spdlog::warn("{}: {}, line {}: {}", command, file.string(), p.line, p.reason);
  if (!std::filesystem::exists(file)) spdlog::warn("{}: the feedback file {} does not exist: no verdicts", command, file.string());
  return log;
}

std::optional<VerdictIndex> verdict_index(const std::filesystem::path& feedback, const DatasetInfo& info, std::string_view command) {
  const bool ingested_labels = info.source == "ingested" && info.has_labels;
  if (feedback.empty() && !ingested_labels) return std::nullopt;
  const FeedbackLog log = feedback.empty() ? FeedbackLog{} : read_feedback_logged(feedback, command);
  return VerdictIndex(log, info.grid, ingested_labels);
}

std::int64_t drop_reviewed_false_alerts(std::vector<Incident>& incidents, const std::unordered_map<std::uint64_t, SeriesRecord>& series,
                                        const FeedbackLog& log, const TimeGrid& grid) {
  const VerdictIndex index(log, grid, false);
  std::vector<VerdictSteps> verdicts;
  const auto dropped = std::erase_if(incidents, [&](const Incident& incident) {
    const auto record = series.find(incident.series_index);
    if (record == series.end()) return false;
    index.verdicts_of(record->second.customer(), record->second.meter(), {}, verdicts);
    bool not_anomaly = false;
    for (const VerdictSteps& v : verdicts) {
      if (v.start > incident.end || incident.start > v.end) continue;
      if (v.verdict == Verdict::anomaly) return false;  // a confirmed anomaly overlaps: keep it in view
      not_anomaly = true;
    }
    return not_anomaly;
  });
  if (dropped > 0) spdlog::info("detect: {} incidents not raised again: they overlap a standing not_anomaly verdict of their series", dropped);
  return static_cast<std::int64_t>(dropped);
}

}  // namespace meterbench
