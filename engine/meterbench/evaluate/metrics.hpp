#pragma once
// The evaluation of one detector run against ground truth (definitions in docs/metrics.md): additive per-series integer counts, merged in any order with bit-identical
// results, and the report derived from them (summary.json's "metrics", per_kind.csv, pr_curve.csv).
//
// Conventions (the ones METRICS.md leaves open):
// - Scored window: only steps in [score_begin, score_end) count. A step is observed when its value is not NaN;
//   it is flagged when its score is not NaN and score > z.
// - Alerts: maximal runs of flagged steps. Up to merge_gap_steps consecutive *missing* steps between two
//   flags do not break a run; any observed unflagged step does (the detector saw the step and said "normal").
//   An alert spans [first flag, last flag], bridged missing steps included.
// - Evaluated events: events with is_anomaly(kind) (gaps are not anomalies) whose start lies in the scored
//   window (and end >= start); their window is [start, min(end, score_end - 1)]. Events must be sorted by start.
// - Do-not-care regions: after a persistent event (level_shift, trend_change, seasonality_change) the steps
//   (end, min(effect_end, end + dont_care_weeks x steps_per_week, next anomaly start - 1)] count in no point
//   metric unless labelled. The windows of events that started before the scored window are do-not-care for
//   alerts too. An alert overlapping an evaluated event is true; else one overlapping a do-not-care region is
//   "dont_care" and counts in neither precision nor the false alert rate; else it is false.
// - Catching: event e is caught when a flag at step t in [start, min(end, start + k)] is raised no later than
//   start + k. Retrospective schedule: a flag at t is raised at t. Weekly schedule (period W): at
//   score_begin + ((t - score_begin) / W + 1) x W - 1, the end of its week. Delay = raised_at - start.
// - Impact filter: an alert with a known impact below impact_filter_usd is dropped from every "_filtered"
//   metric; an event caught only by dropped alerts is missed there. Unknown impact (NaN price): kept.
// - Money is accumulated in integer cents (llround(usd x 100)), range-based contributions in 1e-9 units.
// - Undefined ratios (0/0) are std::nullopt in the report, null in JSON and an empty cell in CSV.
// - Cost: the threshold sweep dominates. Noise scores cross the low thresholds of the grid (0.5 .. 2) at most
//   steps, so about every other step opens or closes a group of open threshold alerts (a data-dependent
//   branch). It runs as a second pass over the per-step ranks, so that its mispredictions do not discard the
//   branch-free per-step counting (bench/evaluate_bench.cpp measures both; results/README.md has the figures).
#include <array>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/io/dataset.hpp"

namespace meterbench {

/// Positional bias delta(i) of the range-based metrics (Tatbul et al. 2018), i = 1..|A| inside range A.
enum class PositionalBias : std::uint8_t {
  flat = 0,    ///< 1
  front = 1,   ///< |A| - i + 1: rewards early detection
  back = 2,    ///< i
  middle = 3,  ///< i for i <= |A| / 2, else |A| - i + 1
};
std::string_view to_string(PositionalBias bias);

/// Event size buckets in sigma units (EventRecord::size_sigma): bucket b is [lower[b], lower[b + 1]), the
/// last one unbounded. A NaN size falls in no bucket.
inline constexpr std::size_t kSizeBucketCount = 5;
inline constexpr std::array<double, kSizeBucketCount> kSizeBucketLower = {0.0, 3.0, 5.0, 8.0, 12.0};
/// "[0,3)", "[3,5)", "[5,8)", "[8,12)", "[12,inf)".
std::string size_bucket_name(std::size_t bucket);
/// The bucket of a size in sigma units; kSizeBucketCount when it is NaN (negative sizes go to bucket 0).
std::size_t size_bucket(double size_sigma);

/// Score histogram of the AUC-PR: bin 0 holds scores <= 0 or NaN, bin i (1..kScoreBins) holds scores in
/// ((i - 1) / kScoreBinsPerUnit, i / kScoreBinsPerUnit], bin kScoreBins + 1 holds scores above
/// kScoreHistogramMax. Bin edges are exact binary fractions, so counts are exact.
inline constexpr int kScoreBinsPerUnit = 64;
inline constexpr int kScoreHistogramMax = 64;
inline constexpr std::size_t kScoreBins = static_cast<std::size_t>(kScoreBinsPerUnit) * kScoreHistogramMax;
inline constexpr std::size_t kScoreHistogramSize = kScoreBins + 2;

struct EvaluationConfig {
  double z = 3.0;                                        ///< flag threshold: a step is flagged when score > z
  std::int64_t delay_tolerance_steps = 7;                ///< k: how late a catching flag may be raised (steps)
  std::int64_t merge_gap_steps = 2;                      ///< at most this many missing steps between flags merge
  double impact_filter_usd = 100.0;                      ///< alerts below this impact drop out of "_filtered"
  std::int64_t steps_per_week = 7;                       ///< steps in a week (series-weeks, days = steps x 7 / this)
  std::int64_t schedule_period_steps = 0;                ///< 0 = retrospective; W > 0 = flags raised at week ends
  double curve_z_min = 0.5;                              ///< first threshold of the curve grid
  double curve_z_max = 12.0;                             ///< last threshold of the curve grid (inclusive)
  double curve_z_step = 0.25;                            ///< spacing of the curve grid (z itself is always added)
  bool sweep_thresholds = true;                          ///< false: the curve is the single row z (cheaper)
  double tatbul_alpha = 0.0;                             ///< existence reward of range-based recall, in [0, 1]
  PositionalBias tatbul_recall_bias = PositionalBias::flat;     ///< bias of range-based recall
  PositionalBias tatbul_precision_bias = PositionalBias::flat;  ///< bias of range-based precision
  std::int64_t dont_care_weeks = 4;                      ///< cap of a persistent event's do-not-care tail, weeks

  /// Throws std::invalid_argument naming the field and the rule it breaks.
  void validate() const;
  /// The curve grid curve_z_min + i x curve_z_step up to curve_z_max, plus z, sorted, without duplicates;
  /// just {z} when sweep_thresholds is false.
  [[nodiscard]] std::vector<double> curve_thresholds() const;
  /// The step at which a flag at `t` is raised (t itself for the retrospective schedule).
  [[nodiscard]] std::int64_t raised_at(std::int64_t t, std::int64_t score_begin) const {
    if (schedule_period_steps <= 0) return t;
    return score_begin + ((t - score_begin) / schedule_period_steps + 1) * schedule_period_steps - 1;
  }
};

/// One series' data, detector output and ground truth. All per-step spans have the same length (the grid).
struct SeriesEvaluationInput {
  std::span<const float> values;         ///< NaN = missing
  std::span<const std::uint8_t> labels;  ///< AnomalyKind codes per step; empty = the dataset has no labels
  std::span<const EventRecord> events;   ///< this series' events, sorted by start (gaps included or not)
  std::span<const float> expected;       ///< detector's expected value
  std::span<const float> lower;          ///< detector's lower bound
  std::span<const float> upper;          ///< detector's upper bound
  std::span<const float> score;          ///< detector's score, NaN where the value is NaN
  double price_per_unit = 0.0;           ///< USD per unit; NaN = unknown (alert impacts unknown, never filtered)
  std::uint64_t series_index = 0;        ///< global series index, copied into alerts
  std::int64_t score_begin = 0;          ///< first evaluated step
  std::int64_t score_end = 0;            ///< one past the last evaluated step (clamped to the grid)
};

/// One alert at the configured z: a maximal run of flags (see the conventions above).
struct Alert {
  std::uint64_t series_index = 0;
  std::int64_t start = 0;          ///< first flagged step
  std::int64_t end = 0;            ///< last flagged step (inclusive)
  std::int64_t peak_step = 0;      ///< step of the highest score (the first one on ties)
  float observed = 0.0F;           ///< value at the peak step
  float expected = 0.0F;           ///< expected value at the peak step
  float lower = 0.0F;              ///< lower bound at the peak step
  float upper = 0.0F;              ///< upper bound at the peak step
  float max_score = 0.0F;          ///< score at the peak step
  double impact_usd = 0.0;         ///< sum over observed steps of |observed - expected| x price; NaN if no price
  std::int64_t raised_at = 0;      ///< step at which the alert is raised (end of week for the weekly schedule)
  bool overlaps_event = false;     ///< overlaps an evaluated event's window (a true alert)
  bool dont_care = false;          ///< overlaps no evaluated event but a do-not-care region
  bool passes_filter = true;       ///< impact unknown or >= impact_filter_usd
};

/// Per anomaly kind or per size bucket: events and what was caught, with and without the impact filter.
struct OutcomeCounts {
  std::int64_t events = 0;
  std::int64_t caught = 0;
  std::int64_t caught_filtered = 0;
  std::int64_t impact_cents = 0;
  std::int64_t caught_impact_cents = 0;
  std::int64_t caught_filtered_impact_cents = 0;
  void merge(const OutcomeCounts& o);
  friend bool operator==(const OutcomeCounts&, const OutcomeCounts&) = default;
};

/// Alerts by class. Alerts of series without labels are counted in total and unlabelled only.
struct AlertCounts {
  std::int64_t total = 0;
  std::int64_t true_alerts = 0;   ///< overlap an evaluated event
  std::int64_t false_alerts = 0;  ///< overlap no event and no do-not-care region
  std::int64_t dont_care = 0;     ///< overlap only do-not-care regions
  std::int64_t unlabelled = 0;    ///< in series without labels
  void merge(const AlertCounts& o);
  friend bool operator==(const AlertCounts&, const AlertCounts&) = default;
};

/// Everything the accumulator adds up: integers only, so merge order never matters.
struct EvaluationCounts {
  std::int64_t series = 0;
  std::int64_t series_without_labels = 0;
  std::int64_t scored_steps = 0;              ///< steps in the scored windows
  std::int64_t observed_steps = 0;            ///< non-missing steps in the scored windows
  std::int64_t flagged_steps = 0;             ///< observed steps with score > z
  std::int64_t covered_steps = 0;             ///< sum of observed spans (first to last observed step) of the windows
  std::int64_t covered_steps_labelled = 0;    ///< the same over series with labels
  std::int64_t dont_care_steps = 0;           ///< observed unlabelled steps in do-not-care regions
  std::int64_t point_tp = 0, point_fp = 0, point_fn = 0, point_tn = 0;
  OutcomeCounts events;                       ///< all evaluated events
  std::int64_t events_unknown_impact = 0;     ///< evaluated events with a NaN impact (counted as 0 USD)
  std::array<OutcomeCounts, kAnomalyKindCount> per_kind{};
  std::array<OutcomeCounts, kSizeBucketCount> per_size_bucket{};
  AlertCounts alerts;                         ///< alerts at z
  AlertCounts alerts_filtered;                ///< alerts at z that pass the impact filter
  std::int64_t alert_impact_cents = 0;        ///< sum of the known alert impacts
  std::int64_t alerts_unknown_impact = 0;
  std::int64_t range_recall_e9 = 0, range_recall_filtered_e9 = 0;        ///< Tatbul recall sums, 1e-9 units
  std::int64_t range_precision_e9 = 0, range_precision_filtered_e9 = 0;  ///< Tatbul precision sums, 1e-9 units
  std::vector<std::int64_t> delay_histogram;           ///< caught events by delay in steps, 0..k
  std::vector<std::int64_t> delay_histogram_filtered;  ///< the same for the filtered metrics
  std::vector<std::int64_t> score_histogram_labelled;    ///< kScoreHistogramSize bins, labelled observed steps
  std::vector<std::int64_t> score_histogram_unlabelled;  ///< kScoreHistogramSize bins, unlabelled observed steps
  // The curve over thresholds th[0..G): "by_rank" arrays have G + 1 entries, entry r counting items whose
  // score (or max score) exceeds exactly the r lowest thresholds; the value at th[g] is the sum over r > g.
  std::vector<std::int64_t> curve_tp_by_rank, curve_fp_by_rank;            ///< labelled / unlabelled steps
  std::vector<std::int64_t> curve_caught_by_rank, curve_caught_impact_by_rank;  ///< events by max eligible score
  std::vector<std::int64_t> curve_caught_filtered_by_rank, curve_caught_filtered_impact_by_rank;  ///< the same, filtered
  // Alerts per threshold as difference arrays (G + 1 entries): the count at th[g] is the sum of entries 0..g.
  std::vector<AlertCounts> curve_alerts_diff, curve_alerts_filtered_diff;

  void merge(const EvaluationCounts& o);
  friend bool operator==(const EvaluationCounts&, const EvaluationCounts&) = default;
};

struct PrecisionRecall {
  std::optional<double> precision;
  std::optional<double> recall;
  std::optional<double> f1;  ///< 2PR / (P + R); 0 when P = R = 0; null when either is null
};

struct TimeToDetect {
  std::int64_t caught = 0;
  std::optional<double> p50_days;        ///< nearest-rank median delay of caught events, days
  std::optional<double> p90_days;        ///< nearest-rank 90th percentile, days
  std::optional<double> within_7_days;   ///< events caught with delay <= 7 days / all events (bounded by k)
  std::optional<double> within_14_days;  ///< events caught with delay <= 14 days / all events (bounded by k)
  std::vector<std::int64_t> delay_histogram_steps;  ///< caught events by delay in steps 0..k (the report's distribution)
};

/// One row of the threshold sweep (pr_curve.csv).
struct CurvePoint {
  double z = 0.0;
  std::int64_t point_tp = 0, point_fp = 0, point_fn = 0;
  std::int64_t caught = 0, caught_filtered = 0;
  std::int64_t caught_impact_cents = 0, caught_filtered_impact_cents = 0;
  AlertCounts alerts, alerts_filtered;
  std::optional<double> point_precision, point_recall;
  std::optional<double> event_recall, alert_precision, false_alerts_per_1000_series_weeks, dollar_recall;
  std::optional<double> event_recall_filtered, alert_precision_filtered, false_alerts_per_1000_series_weeks_filtered,
      dollar_recall_filtered;
};

/// Metrics of a whole run, derived from the merged counts.
struct EvaluationReport {
  EvaluationConfig config;
  EvaluationCounts counts;
  bool has_labels = false;      ///< at least one evaluated series had labels: label metrics are defined
  bool labels_missing = false;  ///< at least one evaluated series had no labels
  double series_weeks = 0.0;    ///< covered_steps / steps_per_week
  PrecisionRecall point;
  PrecisionRecall event, event_filtered;  ///< precision over alerts, recall over events (k-delay rule)
  PrecisionRecall range, range_filtered;  ///< Tatbul et al.
  std::optional<double> dollar_recall, dollar_recall_filtered;
  std::optional<double> false_alerts_per_1000_series_weeks, false_alerts_per_1000_series_weeks_filtered;
  std::optional<double> alerts_per_1000_series_weeks, alerts_per_1000_series_weeks_filtered;  ///< all alerts
  std::optional<double> auc_pr;  ///< average precision from the score histograms
  TimeToDetect time_to_detect, time_to_detect_filtered;
  std::array<std::optional<double>, kAnomalyKindCount> recall_per_kind{};
  std::array<std::optional<double>, kSizeBucketCount> recall_per_size_bucket{};
  std::vector<CurvePoint> curve;  ///< one row per config.curve_thresholds()

  /// flagged_steps / observed_steps (0 when nothing was observed): the random baseline's flag rate.
  [[nodiscard]] double flag_rate() const;
  /// The "metrics" object of summary.json (key tree in docs/metrics.md).
  [[nodiscard]] nlohmann::json to_json() const;
};

/// Adds series one at a time (one accumulator per thread), merges, reports. Not thread-safe itself.
class EvaluationAccumulator {
 public:
  /// Validates the config (std::invalid_argument naming the field).
  explicit EvaluationAccumulator(const EvaluationConfig& config);

  /// Evaluates one series; appends its alerts at z to *alerts_out when given. Throws std::invalid_argument
  /// when a per-step span's length differs from values'. No allocation once the scratch is warm.
  void add_series(const SeriesEvaluationInput& input, std::vector<Alert>* alerts_out = nullptr);
  /// Adds another accumulator's counts (same config). Exact: any merge order gives the same counts.
  void merge(const EvaluationAccumulator& other);
  /// Adds counts of the same config combined elsewhere (other processes: engine/meterbench/distributed/).
  void merge(const EvaluationCounts& counts) { counts_.merge(counts); }
  [[nodiscard]] const EvaluationCounts& counts() const { return counts_; }
  [[nodiscard]] const EvaluationConfig& config() const { return config_; }
  [[nodiscard]] const std::vector<double>& thresholds() const { return thresholds_; }
  [[nodiscard]] EvaluationReport report() const;

 private:
  struct DirectAlert {
    std::int64_t start = 0, end = 0, peak = 0;
    double max_score = 0.0;
    double deviation = 0.0;  // sum of |observed - expected| over its observed steps
    bool kept = true;
    bool true_alert = false;
    std::int64_t overlaps = 0;   // evaluated events it overlaps
    double precision_sum = 0.0;  // sum of omega(alert, alert ∩ event) over them
  };
  struct Group {  // open curve alerts of thresholds [lo, hi), all started at `start`
    std::int64_t start = 0, lo = 0, hi = 0;
  };
  struct Scratch {
    struct Mark {  // +1 / -1 changes of the interval coverages at a window-relative step
      std::size_t pos = 0;
      std::int32_t event = 0, pre = 0, ext = 0;
    };
    std::vector<Mark> marks;  // few per series (two per interval), sorted by pos before the sweep
    std::vector<std::int32_t> prefix_event, prefix_ignored;    // counts of marked steps before each step
    std::vector<std::int32_t> prefix_observed;                // count of observed steps before each step
    std::vector<double> deviation_prefix;                     // sum of |observed - expected| before each step
    std::vector<std::int32_t> alert_of_step;                  // direct alert index of a flagged step, else -1
    std::vector<std::int32_t> rank_of_step;                   // curve rank of an observed step, -1 if missing
    std::vector<DirectAlert> alerts;
    std::vector<Group> groups;
    std::vector<std::int64_t> alert_diff;  // 6 rows of G + 1: per-series curve alert differences
    std::vector<std::int64_t> event_start, event_last_eligible;  // evaluated events, in order
    std::vector<std::int64_t> event_filtered_rank;              // thresholds [0, r) catch it with the filter
  };

  /// One add_series call in named phases (series_evaluation.cpp).
  struct SeriesEvaluation;

  /// Number of curve thresholds strictly below `score` (0 for NaN), by search.
  [[nodiscard]] std::int64_t rank_of(double score) const;

  EvaluationConfig config_;
  std::vector<double> thresholds_;
  std::vector<std::int32_t> rank_by_bin_;  // kScoreHistogramSize entries; -1 where a threshold splits the bin
  EvaluationCounts counts_;
  Scratch scratch_;
};

/// per_kind.csv: kind,events,caught,recall,caught_filtered,recall_filtered,impact_usd,caught_impact_usd,
/// dollar_recall,caught_filtered_impact_usd,dollar_recall_filtered; one row per kind except normal and gap.
void write_per_kind_csv(const EvaluationReport& report, std::ostream& out);
/// per_size_bucket.csv: the same columns with "size_bucket" (e.g. "[3,5)") first, one row per bucket.
void write_per_size_bucket_csv(const EvaluationReport& report, std::ostream& out);
/// pr_curve.csv: z,point_precision,point_recall,event_recall,alert_precision,false_alerts_per_1000_series_weeks,
/// dollar_recall,event_recall_filtered,alert_precision_filtered,false_alerts_per_1000_series_weeks_filtered,
/// dollar_recall_filtered,alerts,alerts_filtered; one row per threshold, ascending z.
void write_pr_curve_csv(const EvaluationReport& report, std::ostream& out);

}  // namespace meterbench
