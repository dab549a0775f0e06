#pragma once
// Reviewers' verdicts as labels (definitions in docs/metrics.md, "Reviewed metrics"): a reviewed incident
// counts as a true positive (verdict anomaly) or a false positive (not_anomaly) when the detector flags a step
// inside it; unreviewed alerts count as unknown, never as false. Precision is over the reviewed incidents the
// detector alerted on, recall over the confirmed anomalies, each with a 95% Wilson interval and a warning when
// fewer than kFewVerdicts verdicts stand behind it. Counts are integers per series, merged in any order.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/detect/incidents.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/feedback/feedback_log.hpp"
#include "meterbench/io/dataset.hpp"

namespace meterbench {

/// Below this many verdicts behind a figure, its interval is wide: the figure carries a warning.
inline constexpr std::int64_t kFewVerdicts = 30;

/// One verdict of one series in grid steps, [start, end] inclusive.
struct VerdictSteps {
  std::int64_t start = 0, end = 0;
  Verdict verdict = Verdict::anomaly;
  bool from_file = false;  ///< a feedback file's verdict (else an ingested label's)
};

/// A proportion k / n with its 95% Wilson score interval; all null when n = 0.
struct WilsonEstimate {
  std::int64_t successes = 0, trials = 0;
  std::optional<double> value, low, high;
};
WilsonEstimate wilson_interval(std::int64_t successes, std::int64_t trials);

/// The verdicts behind a run, found per series by (customer, meter): a feedback file's standing verdicts and,
/// on an ingested dataset with labels, its labels (anomaly events as "anomaly", verdict=not_anomaly rows as
/// "not_anomaly"). Read-only during the pass.
class VerdictIndex {
 public:
  /// `log`'s standing verdicts on `grid`; `ingested_labels`: also read each series' events as verdicts.
  VerdictIndex(const FeedbackLog& log, const TimeGrid& grid, bool ingested_labels);
  /// The series' verdicts in steps (from the file, then from its events), into `out` (cleared first).
  void verdicts_of(std::string_view customer, std::string_view meter, std::span<const EventRecord> events, std::vector<VerdictSteps>& out) const;
  /// The same for series `i` of a block (its events only when the dataset has labels).
  void verdicts_of(const SeriesBlock& block, std::int64_t i, bool has_labels, std::vector<VerdictSteps>& out) const;
  [[nodiscard]] std::int64_t file_verdicts() const { return file_verdicts_; }
  [[nodiscard]] bool ingested_labels() const { return ingested_labels_; }
  /// Where the verdicts come from, for summary.json ("feedback file", "ingested labels").
  [[nodiscard]] std::vector<std::string> sources() const;

 private:
  std::unordered_map<std::string, std::vector<VerdictSteps>> by_series_;  // key: customer '\0' meter
  std::int64_t file_verdicts_ = 0;
  bool ingested_labels_ = false;
};

/// Integer counts of the verdicts of a run, over the thresholds of the evaluation's curve.
struct VerdictCounts {
  std::int64_t matched_file_verdicts = 0;  ///< feedback-file verdicts found on a series of the dataset
  std::int64_t anomaly = 0, not_anomaly = 0;  ///< verdicts overlapping the scored window
  std::int64_t outside_window = 0;            ///< verdicts of the dataset's series outside the scored window
  std::int64_t alerts_reviewed = 0;           ///< alerts at z that overlap at least one verdict
  // "by_rank" arrays of G + 1 entries: entry r counts verdicts whose highest score exceeds exactly the r lowest
  // thresholds; the number alerted at threshold g is the sum of entries r > g.
  std::vector<std::int64_t> anomaly_by_rank, not_anomaly_by_rank;

  void merge(const VerdictCounts& other);
  /// Appends the counts to `out` as integers (the layout of a distributed run's parts).
  void append_integers(std::vector<std::int64_t>& out) const;
  /// Reads what append_integers wrote from `in` at `at` (advanced); sizes come from this object's arrays.
  void read_integers(std::span<const std::int64_t> in, std::size_t& at);
};

/// Adds series one at a time (one per thread); integers only, so any merge order gives the same counts.
class VerdictAccumulator {
 public:
  /// `thresholds`: the evaluation's curve thresholds (EvaluationConfig::curve_thresholds), z among them.
  VerdictAccumulator(std::vector<double> thresholds, double z);
  /// One series: its verdicts, its values and scores, its scored window [score_begin, score_end), and its
  /// alerts at z (to count the reviewed ones).
  void add_series(std::span<const VerdictSteps> verdicts, std::span<const float> values, std::span<const float> score, std::int64_t score_begin,
                  std::int64_t score_end, std::span<const Alert> alerts);
  void merge(const VerdictAccumulator& other) { counts_.merge(other.counts_); }
  [[nodiscard]] VerdictCounts& counts() { return counts_; }
  [[nodiscard]] const VerdictCounts& counts() const { return counts_; }
  [[nodiscard]] const std::vector<double>& thresholds() const { return thresholds_; }
  [[nodiscard]] double z() const { return z_; }

 private:
  std::vector<double> thresholds_;
  double z_ = 0.0;
  VerdictCounts counts_;
};

/// The reviewed metrics at one threshold.
struct ReviewedMetrics {
  double z = 0.0;
  std::int64_t anomaly = 0, not_anomaly = 0, outside_window = 0, unmatched = 0;
  std::int64_t true_positives = 0, false_positives = 0;  ///< alerted confirmed anomalies / alerted not_anomaly verdicts
  WilsonEstimate precision, recall;
  std::optional<double> f1;
  std::optional<std::int64_t> alerts_total, alerts_reviewed;  ///< alerts at z (backtest)
  std::vector<std::string> warnings;                          ///< sample-size warnings
};

/// The metrics at curve threshold `g` (the index of z for the run's own threshold). `unmatched`: the feedback
/// file's standing verdicts that name no series of the dataset (over the whole run).
ReviewedMetrics reviewed_metrics(const VerdictAccumulator& verdicts, std::size_t g, std::int64_t unmatched);
/// The same at the accumulator's z, with the alerts at z (`alerts_total`: all alerts of the run at z).
ReviewedMetrics reviewed_metrics_at_z(const VerdictAccumulator& verdicts, std::int64_t unmatched, std::int64_t alerts_total);

/// summary.json's / best.json's "reviewed" object.
nlohmann::json to_json(const ReviewedMetrics& metrics, const std::vector<std::string>& sources);

/// The verdicts behind a run on `info`'s dataset: those of `feedback` (a file; empty = none) and, on an ingested
/// dataset with labels, its labels; none (nullopt) when there are neither. Logs the file's damaged lines.
std::optional<VerdictIndex> verdict_index(const std::filesystem::path& feedback, const DatasetInfo& info, std::string_view command);

/// Drops the incidents that overlap a standing "not_anomaly" verdict of their series (customer and meter of
/// `series`, by index) and no standing "anomaly" verdict: what a reviewer judged a false alert is not raised again
/// for the same series and period. Logs and returns how many were dropped.
std::int64_t drop_reviewed_false_alerts(std::vector<Incident>& incidents, const std::unordered_map<std::uint64_t, SeriesRecord>& series,
                                        const FeedbackLog& log, const TimeGrid& grid);

/// Reads a feedback file for a run and logs each damaged line as a warning (`command` names the caller).
FeedbackLog read_feedback_logged(const std::filesystem::path& file, std::string_view command);

}  // namespace meterbench
