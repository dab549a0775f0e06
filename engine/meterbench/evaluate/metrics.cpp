// The evaluation's configuration, its additive counts and the accumulator's setup (the score-bin rank table);
// the per-series pass itself is series_evaluation.cpp, the report derived from the counts report.cpp.
#include "meterbench/evaluate/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"

namespace meterbench {

std::string_view to_string(PositionalBias bias) {
  switch (bias) {
    case PositionalBias::flat: return "flat";
    case PositionalBias::front: return "front";
    case PositionalBias::back: return "back";
    case PositionalBias::middle: return "middle";
  }
  return "flat";
}

std::string size_bucket_name(std::size_t bucket) {
  METERBENCH_CHECK(bucket < kSizeBucketCount);
  if (bucket + 1 == kSizeBucketCount) return fmt::format("[{},inf)", kSizeBucketLower[bucket]);
  return fmt::format("[{},{})", kSizeBucketLower[bucket], kSizeBucketLower[bucket + 1]);
}

std::size_t size_bucket(double size_sigma) {
  if (std::isnan(size_sigma)) return kSizeBucketCount;
  std::size_t b = 0;
  while (b + 1 < kSizeBucketCount && size_sigma >= kSizeBucketLower[b + 1]) ++b;
  return b;
}

void EvaluationConfig::validate() const {
  auto fail = [](const std::string& message) { throw std::invalid_argument("evaluation: " + message); };
  if (!std::isfinite(z) || z < 0.0) fail(fmt::format("z must be finite and >= 0, got {}", z));
  if (delay_tolerance_steps < 0) fail(fmt::format("delay_tolerance_steps must be >= 0, got {}", delay_tolerance_steps));
  if (delay_tolerance_steps > 1'000'000)
    fail(fmt::format("delay_tolerance_steps must be at most 1000000, got {}", delay_tolerance_steps));
  if (merge_gap_steps < 0) fail(fmt::format("merge_gap_steps must be >= 0, got {}", merge_gap_steps));
  if (!(impact_filter_usd >= 0.0) || std::isinf(impact_filter_usd))
    fail(fmt::format("impact_filter_usd must be finite and >= 0, got {}", impact_filter_usd));
  if (steps_per_week < 1) fail(fmt::format("steps_per_week must be >= 1, got {}", steps_per_week));
  if (schedule_period_steps < 0) fail(fmt::format("schedule_period_steps must be >= 0, got {}", schedule_period_steps));
  if (!std::isfinite(curve_z_min) || curve_z_min < 0.0) fail(fmt::format("curve_z_min must be finite and >= 0, got {}", curve_z_min));
  if (!std::isfinite(curve_z_max) || curve_z_max < curve_z_min)
    fail(fmt::format("curve_z_max must be finite and >= curve_z_min, got {}", curve_z_max));
  if (!std::isfinite(curve_z_step) || curve_z_step <= 0.0) fail(fmt::format("curve_z_step must be finite and > 0, got {}", curve_z_step));
  if ((curve_z_max - curve_z_min) / curve_z_step > 10'000.0)
    fail("curve_z_step must give at most 10000 thresholds between curve_z_min and curve_z_max");
  if (!(tatbul_alpha >= 0.0 && tatbul_alpha <= 1.0)) fail(fmt::format("tatbul_alpha must be in [0, 1], got {}", tatbul_alpha));
  if (dont_care_weeks < 0) fail(fmt::format("dont_care_weeks must be >= 0, got {}", dont_care_weeks));
}

std::vector<double> EvaluationConfig::curve_thresholds() const {
  std::vector<double> th;
  if (!sweep_thresholds) return {z};
  const auto count = static_cast<std::int64_t>(std::floor((curve_z_max - curve_z_min) / curve_z_step + 1e-9)) + 1;
  for (std::int64_t i = 0; i < count; ++i) th.push_back(curve_z_min + static_cast<double>(i) * curve_z_step);
  th.push_back(z);
  std::sort(th.begin(), th.end());
  th.erase(std::unique(th.begin(), th.end()), th.end());
  return th;
}

void OutcomeCounts::merge(const OutcomeCounts& o) {
  for (auto field : {&OutcomeCounts::events, &OutcomeCounts::caught, &OutcomeCounts::caught_filtered, &OutcomeCounts::impact_cents,
                     &OutcomeCounts::caught_impact_cents, &OutcomeCounts::caught_filtered_impact_cents})
    this->*field += o.*field;
}

void AlertCounts::merge(const AlertCounts& o) {
  for (auto field : {&AlertCounts::total, &AlertCounts::true_alerts, &AlertCounts::false_alerts, &AlertCounts::dont_care, &AlertCounts::unlabelled})
    this->*field += o.*field;
}

namespace {

template <typename T>
void add_vector(std::vector<T>& into, const std::vector<T>& from) {
  METERBENCH_CHECK(into.size() == from.size());
  for (std::size_t i = 0; i < into.size(); ++i) {
    if constexpr (std::is_same_v<T, AlertCounts>) {
      into[i].merge(from[i]);
    } else {
      into[i] += from[i];
    }
  }
}


}  // namespace

void EvaluationCounts::merge(const EvaluationCounts& o) {
  // Every count is an integer sum, so merging in any order gives the same totals.
  using C = EvaluationCounts;
  for (auto field : {&C::series, &C::series_without_labels, &C::scored_steps, &C::observed_steps, &C::flagged_steps, &C::covered_steps,
                     &C::covered_steps_labelled, &C::dont_care_steps, &C::point_tp, &C::point_fp, &C::point_fn, &C::point_tn,
                     &C::events_unknown_impact, &C::alert_impact_cents, &C::alerts_unknown_impact, &C::range_recall_e9,
                     &C::range_recall_filtered_e9, &C::range_precision_e9, &C::range_precision_filtered_e9})
    this->*field += o.*field;
  events.merge(o.events);
  for (std::size_t i = 0; i < per_kind.size(); ++i) per_kind[i].merge(o.per_kind[i]);
  for (std::size_t i = 0; i < per_size_bucket.size(); ++i) per_size_bucket[i].merge(o.per_size_bucket[i]);
  alerts.merge(o.alerts);
  alerts_filtered.merge(o.alerts_filtered);
  for (auto field : {&C::delay_histogram, &C::delay_histogram_filtered, &C::score_histogram_labelled, &C::score_histogram_unlabelled,
                     &C::curve_tp_by_rank, &C::curve_fp_by_rank, &C::curve_caught_by_rank, &C::curve_caught_impact_by_rank,
                     &C::curve_caught_filtered_by_rank, &C::curve_caught_filtered_impact_by_rank})
    add_vector(this->*field, o.*field);
  add_vector(curve_alerts_diff, o.curve_alerts_diff);
  add_vector(curve_alerts_filtered_diff, o.curve_alerts_filtered_diff);
}

EvaluationAccumulator::EvaluationAccumulator(const EvaluationConfig& config) : config_(config) {
  config_.validate();
  thresholds_ = config_.curve_thresholds();
  const std::size_t g = thresholds_.size();
  const auto k = static_cast<std::size_t>(config_.delay_tolerance_steps);
  EvaluationCounts& c = counts_;
  c.delay_histogram.assign(k + 1, 0);
  c.delay_histogram_filtered.assign(k + 1, 0);
  c.score_histogram_labelled.assign(kScoreHistogramSize, 0);
  c.score_histogram_unlabelled.assign(kScoreHistogramSize, 0);
  c.curve_tp_by_rank.assign(g + 1, 0);
  c.curve_fp_by_rank.assign(g + 1, 0);
  c.curve_caught_by_rank.assign(g + 1, 0);
  c.curve_caught_impact_by_rank.assign(g + 1, 0);
  c.curve_caught_filtered_by_rank.assign(g + 1, 0);
  c.curve_caught_filtered_impact_by_rank.assign(g + 1, 0);
  c.curve_alerts_diff.assign(g + 1, AlertCounts{});
  c.curve_alerts_filtered_diff.assign(g + 1, AlertCounts{});
  // Rank of every score bin: bin i >= 1 holds ((i - 1) / 64, i / 64]; the rank is the same for all its scores
  // unless a threshold lies strictly inside the bin (then -1: search). Bin 0 (<= 0, NaN) has rank 0 since
  // thresholds are >= 0; the overflow bin has rank G unless a threshold exceeds the histogram's range.
  rank_by_bin_.assign(kScoreHistogramSize, 0);
  for (std::size_t i = 1; i <= kScoreBins; ++i) {
    const double lo = static_cast<double>(i - 1) / kScoreBinsPerUnit, hi = static_cast<double>(i) / kScoreBinsPerUnit;
    std::int32_t below = 0;
    bool split = false;
    for (const double t : thresholds_) {
      if (t <= lo) ++below;
      if (t > lo && t < hi) split = true;
    }
    rank_by_bin_[i] = split ? -1 : below;
  }
  rank_by_bin_[kScoreBins + 1] = thresholds_.back() <= static_cast<double>(kScoreHistogramMax) ? static_cast<std::int32_t>(g) : -1;
}

void EvaluationAccumulator::merge(const EvaluationAccumulator& other) {
  METERBENCH_CHECK(thresholds_ == other.thresholds_);
  METERBENCH_CHECK(config_.delay_tolerance_steps == other.config_.delay_tolerance_steps);
  counts_.merge(other.counts_);
}

// Number of curve thresholds strictly below `score` (0 for NaN): the score flags exactly thresholds [0, rank).
std::int64_t EvaluationAccumulator::rank_of(double score) const {
  const auto g = static_cast<std::int64_t>(thresholds_.size());
  if (!(score > thresholds_.front())) return 0;
  if (score > thresholds_.back()) return g;
  // Start from the uniform-grid estimate, then correct (z may sit between grid points).
  std::int64_t r = std::clamp<std::int64_t>(
      static_cast<std::int64_t>((score - config_.curve_z_min) / config_.curve_z_step) + 1, 1, g);
  while (r < g && thresholds_[static_cast<std::size_t>(r)] < score) ++r;
  while (r > 0 && thresholds_[static_cast<std::size_t>(r - 1)] >= score) --r;
  return r;
}

}  // namespace meterbench
