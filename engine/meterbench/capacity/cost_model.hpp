#pragma once
// `meterbench capacity`, the arithmetic half: a cost model fitted to measured backtest runs, and the answer to
// "how many cores and machines for N series within a window?". No I/O here (capacity_run.hpp measures), so the
// fit and the answer are tested on synthetic points with known parameters.
//
// Model of one run's wall time on one machine with c threads:
//     wall = fixed + series x t / (c x E_c),   E_1 = 1, E_c = E for c > 1
// fixed: per-run overhead (open files, designs, summary); t: CPU seconds per series on one core; E: parallel
// efficiency, measured from the runs at more than one thread and assumed to hold at every larger c.
// On K machines (MPI) each rank runs the same pipeline on its share, and the evaluation accumulators
// are reduced in a binary tree: ceil(log2 K) rounds of (pack + send + merge).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace meterbench {

/// One measured backtest run.
struct CapacityPoint {
  std::int64_t series = 0;
  int threads = 1;
  double wall_seconds = 0.0;           ///< backtest main pass, wall
  double read_seconds = 0.0;           ///< serial HDF5 read, wall
  double write_seconds = 0.0;          ///< serial output write, wall
  double fit_cpu_seconds = 0.0;        ///< fit and score, summed over threads
  double evaluate_cpu_seconds = 0.0;   ///< evaluation, summed over threads
  double generate_seconds = 0.0;       ///< generating the dataset, wall (at all threads)
  double process_cpu_seconds = 0.0;    ///< the backtest's CPU time, all threads (user + system): load-resistant
  std::uint64_t peak_rss_bytes = 0;    ///< the backtest's peak resident memory
  std::uint64_t file_bytes = 0;        ///< the dataset's size on disk
};

/// The measured cost of reducing one rank's evaluation accumulator into another's.
struct MergeCost {
  std::uint64_t bytes = 0;       ///< packed size of one accumulator's counts
  double pack_seconds = 0.0;     ///< packing the counts into one buffer (median)
  double merge_seconds = 0.0;    ///< EvaluationAccumulator::merge (median)
};

struct CostModel {
  double fixed_seconds = 0.0;
  double seconds_per_series = 0.0;   ///< t: one core
  double parallel_efficiency = 1.0;  ///< E
  bool efficiency_measured = false;  ///< false: no run at more than one thread (E = 1 assumed)
  bool fixed_clamped = false;        ///< the free fit gave fixed < 0: refitted with fixed = 0
  double rms_residual_seconds = 0.0;
  std::size_t points = 0;
};

/// Least-squares fit, linear in (fixed, t, t / E) with one column for the single-thread runs and one for the
/// others. Throws std::invalid_argument with fewer than two distinct sizes, a non-positive field, or a fit
/// with t <= 0 (the runs do not grow with size: measure larger sizes).
CostModel fit_cost_model(const std::vector<CapacityPoint>& points);

/// Predicted wall seconds of one machine with `cores` threads on `series` series (no communication).
double predict_wall_seconds(const CostModel& model, double series, int cores);

struct NetworkAssumption {
  double bytes_per_second = 1.25e9;  ///< 10 Gbit/s
  double latency_seconds = 50e-6;    ///< per message
};

/// Seconds to reduce K ranks' accumulators (0 for K = 1).
double merge_seconds(const MergeCost& merge, const NetworkAssumption& network, std::int64_t machines);

struct CapacityQuestion {
  double series = 0.0;            ///< N (> 0)
  double window_seconds = 0.0;    ///< the run must finish within this (> 0)
  int cores_per_machine = 2;      ///< c (>= 1)
  std::int64_t machines = 0;      ///< K; 0 = find the fewest that fit
  NetworkAssumption network;
};

struct CapacityAnswer {
  bool feasible = false;               ///< some configuration fits the window
  std::string reason;                  ///< why not, when infeasible
  std::int64_t cores_one_machine = 0;  ///< threads one machine would need (0 = impossible: fixed >= window)
  std::int64_t machines = 0;           ///< machines used (given or found)
  std::int64_t total_cores = 0;        ///< machines x cores_per_machine
  std::int64_t cores_per_machine_needed = 0;  ///< with the given K: fewest cores per machine that fit (0 = none)
  double predicted_wall_seconds = 0.0;       ///< at `machines` x cores_per_machine, communication included
  double compute_seconds = 0.0;              ///< of which: series x t / (K c E)
  double communication_seconds = 0.0;        ///< of which: the accumulator reduction
  double core_hours = 0.0;                   ///< N x t / E / 3600: the work itself
};

/// CPU seconds per series over the runs that recorded it (all threads, all stages); 0 when none did.
double cpu_seconds_per_series(const std::vector<CapacityPoint>& points);

/// The quiet-machine cross-check of a wall-time answer measured under load: cores if every core delivered
/// the measured CPU time per series (no overhead, E = 1), and machines of q.cores_per_machine.
struct CpuBound {
  double cpu_seconds_per_series = 0.0;
  std::int64_t cores = 0;     ///< 0 when no CPU time was recorded
  std::int64_t machines = 0;
};
CpuBound cpu_bound_answer(double cpu_per_series, const CapacityQuestion& q);

/// Validates the question (std::invalid_argument naming the field) and answers it.
CapacityAnswer answer_capacity(const CostModel& model, const MergeCost& merge, const CapacityQuestion& question);

/// Parses a duration such as "2h", "90m", "1h30m", "3600s", "1d" or "2.5h"; throws std::invalid_argument
/// naming the text and the accepted forms.
double parse_window_seconds(std::string_view text);

nlohmann::json to_json(const CapacityPoint& p);
CapacityPoint capacity_point_from_json(const nlohmann::json& j);
nlohmann::json to_json(const MergeCost& m);
MergeCost merge_cost_from_json(const nlohmann::json& j);
nlohmann::json to_json(const CostModel& m);
nlohmann::json to_json(const CapacityAnswer& a);

}  // namespace meterbench
