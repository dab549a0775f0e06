#pragma once
// `meterbench capacity`, the measuring half (and a macro benchmark of the whole pipeline): generate the scenario at
// each size, backtest it at each thread count end to end, and record what each run cost (wall, stages,
// peak memory, file size), plus the cost of packing and merging evaluation accumulators (the reduction an
// MPI run over K machines adds). cost_model.hpp turns the result into a model and an answer.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/backtest/backtest.hpp"
#include "meterbench/capacity/cost_model.hpp"
#include "meterbench/evaluate/metrics.hpp"

namespace meterbench {

struct CapacityRunOptions {
  std::filesystem::path scenario;           ///< scenario file (its size is overridden)
  std::vector<std::int64_t> sizes;          ///< series counts to run
  std::vector<int> thread_counts;           ///< thread counts to run each size at
  Schedule schedule = Schedule::retrospective;
  std::int64_t days = 730;
  std::string model = "gam";
  std::filesystem::path work_dir;           ///< where datasets and runs go (removed after); empty = a temp dir
};

struct CapacityMeasurement {
  std::string scenario;                     ///< path of the scenario file
  std::string model;
  Schedule schedule = Schedule::retrospective;
  std::int64_t weeks = 0;                   ///< weekly: weeks scored per run (1 = one production run)
  std::int64_t days = 730;
  std::vector<CapacityPoint> runs;
  MergeCost merge;
  bool peak_rss_per_run = false;            ///< true: the kernel's peak RSS was reset before each run
  nlohmann::json context;                   ///< run context of the measuring process
};

/// Throws std::invalid_argument on empty or non-positive sizes / thread counts, and what generate and
/// backtest throw. Logs one line per run.
CapacityMeasurement measure_capacity(const CapacityRunOptions& options);

/// Median cost of packing one accumulator's counts into a buffer and merging two accumulators, with the
/// backtest's evaluation settings (thresholds curve included), over `repetitions` trials.
MergeCost measure_merge_cost(int repetitions = 101);

/// Packs every count of an accumulator into one buffer of integers (what a rank would send); appends.
void pack_counts(const EvaluationCounts& counts, std::vector<std::int64_t>& out);

nlohmann::json to_json(const CapacityMeasurement& m);
/// Throws std::invalid_argument naming `source` and the key at fault.
CapacityMeasurement capacity_measurement_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace meterbench

namespace meterbench {

/// The assumptions behind an answer, one sentence each, for the terminal and the JSON.
std::vector<std::string> capacity_assumptions(const CapacityMeasurement& m, const CostModel& model, const CapacityQuestion& q);

/// The whole capacity.json: measurement, model, question, answer, assumptions, and the curve the figure plots
/// (machines and cores needed versus the number of series, for the question's window).
nlohmann::json capacity_document(const CapacityMeasurement& m, const CostModel& model, const CapacityQuestion& q, const CapacityAnswer& a);

/// Writes the document under a temporary name and renames it (OutputError if it exists without overwrite).
void write_capacity_json(const std::filesystem::path& path, const nlohmann::json& document, bool overwrite);

}  // namespace meterbench
