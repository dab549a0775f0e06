#pragma once
// `meterbench sweep`: a Cartesian grid over a detector's parameters, every point fitted once per series in
// one streaming pass (each block of series is read once for all points), every threshold z read off the
// score curve of that one fit (never refitted), and an honest choice: series are split by a hash of
// (customer, meter) into a tuning half and a test half, the best (point, z) is chosen on the tuning half
// and reported on the test half beside the `random` detector at the same flag rate.
//
// Outputs in DIR: sweep.csv (one row per point x threshold, tuning-half metrics) and best.json (see the
// README's "Results: the run directory of sweep").
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/pass/schedule.hpp"

namespace meterbench {

class ScaleOut;

/// One --grid option: a parameter and the values it takes, in the order given.
struct GridAxis {
  std::string key;
  std::vector<std::string> values;
};

/// Parses "key=v1,v2,..."; throws std::invalid_argument quoting the text when the '=' or the key is
/// missing, a value is empty or a value is repeated.
GridAxis parse_grid_axis(std::string_view text);

/// The grid's points in row-major order (the last axis varies fastest), each as "key=value" settings.
/// Throws std::invalid_argument when there is no axis.
std::vector<std::vector<std::string>> expand_grid(const std::vector<GridAxis>& axes);

enum class SweepObjective {
  event_f1,                 ///< event-wise F1 (k-delay rule)
  recall_at_budget,         ///< event recall with false alerts per 1,000 series-weeks <= budget
  dollar_recall_at_budget,  ///< dollar-weighted recall with false alerts per 1,000 series-weeks <= budget
  reviewed_f1,              ///< F1 of the reviewed precision and recall (reviewers' verdicts: --feedback, ingested labels)
};
std::string_view to_string(SweepObjective objective);
/// Throws std::invalid_argument naming the text and the known objectives.
SweepObjective objective_from_string(std::string_view text);

/// Which half of the honest split a series belongs to: a function of its customer and meter ids alone.
enum class SplitHalf : std::uint8_t { tuning = 0, test = 1 };
SplitHalf split_half(std::string_view customer, std::string_view meter);

/// The sweep would take longer than --max-minutes: thrown before any work, with the size and estimate.
class SweepTooLarge : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SweepOptions {
  std::filesystem::path data;               ///< the dataset (.h5), with labels
  std::string model = "gam";
  std::vector<std::string> grid;            ///< "key=v1,v2,..." texts, one per axis
  std::vector<std::string> settings;        ///< fixed parameters, "name=value"
  SweepObjective objective = SweepObjective::event_f1;
  double budget = 5.0;                      ///< false alerts per 1,000 series-weeks (the *_at_budget objectives)
  Schedule schedule = Schedule::retrospective;
  std::int64_t weeks = 52;                  ///< weekly schedule: the last `weeks` weeks are scored
  double max_minutes = 60.0;                ///< refuse when the probe's estimate exceeds this (0 = no limit)
  std::filesystem::path out_dir;
  bool overwrite = false;                   ///< replace an existing DIR (--force)
  std::int64_t block_series = 0;            ///< series per pipeline block; 0 = about 4 MiB of values
  bool random_baseline = true;              ///< evaluate `random` on the test half at the best flag rate
  double impact_filter_usd = 100.0;
  double delay_tolerance_days = 7.0;
  std::int64_t probe_series = 32;           ///< series timed per point for the estimate
  std::filesystem::path feedback;           ///< reviewers' verdicts (docs/feedback.md); empty = none
};

/// The cost estimate made before a sweep starts.
struct SweepEstimate {
  std::int64_t points = 0;
  std::int64_t series = 0;
  int threads = 1;
  double seconds_per_series_point = 0.0;  ///< mean over the points, one thread, fit + score + evaluate
  double seconds = 0.0;                   ///< estimated wall time of the main pass
};

/// Runs the sweep with the oneTBB thread limit in force, writes DIR and returns best.json's content.
/// `scale_out`: several processes (engine/meterbench/distributed/scale_out.hpp); this one runs its share of
/// the series, counts are summed over the processes and rank 0 writes DIR; the results equal the
/// one-process run's. Throws std::invalid_argument (bad grid, parameters, objective), DatasetError,
/// OutputError, SweepTooLarge.
nlohmann::json run_sweep(const SweepOptions& options, ScaleOut* scale_out = nullptr);

}  // namespace meterbench
