// `meterbench capacity`: measure (or reuse measurements), fit the cost model, answer "how many cores and
// machines for N series within a window", print the assumptions, write capacity.json and a figure.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "meterbench/capacity/capacity_run.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench::cli {
namespace {

namespace fs = std::filesystem;

struct CapacityCommand {
  CapacityRunOptions measurement;
  std::string schedule = "retrospective";
  double series = 0.0;
  std::string window;
  int cores_per_machine = 0;
  std::int64_t machines = 0;
  double network_gbps = 10.0;
  double network_latency_us = 50.0;
  // The default lies outside the committed tree (.gitignore covers out/): results/capacity.json is a recorded result.
  static constexpr const char* kDefaultOut = "out/capacity/capacity.json";
  fs::path from, out = kDefaultOut, figure;
  bool force = false;
  CLI::Option* schedule_option = nullptr;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("capacity", "Measure the pipeline at several sizes and thread counts, fit a cost model, and answer "
                                                   "how many cores and machines N series need within a window");
    measurement.sizes = {10'000, 100'000};
    measurement.thread_counts = {1, 2};
    measurement.scenario = "datasets/scenarios/default.toml";
    cmd->add_option("--sizes", measurement.sizes, "Series counts to measure, comma-separated")
        ->delimiter(',')
        ->transform(integer_in<std::int64_t>())
        ->capture_default_str();
    cmd->add_option("--thread-counts", measurement.thread_counts, "Thread counts to measure each size at, comma-separated")
        ->delimiter(',')
        ->transform(integer_in<int>())
        ->capture_default_str();
    schedule_option = cmd->add_option("--schedule", schedule, "retrospective, or weekly (the cost of one weekly production run)")->capture_default_str();
    cmd->add_option("--series", series, "The question: number of series to process")->required();
    cmd->add_option("--window", window, "The question: time each run must fit in, e.g. 2h, 90m, 1h30m")->required();
    cmd->add_option("--cores-per-machine", cores_per_machine, "Cores (threads) of each machine (default: this machine's)")->transform(integer_in<int>());
    cmd->add_option("--machines", machines, "Machines K for an MPI run (0 = find the fewest that fit)")
        ->transform(integer_in<std::int64_t>())
        ->capture_default_str();
    cmd->add_option("--network-gbps", network_gbps, "Assumed network bandwidth between machines, Gbit/s")->capture_default_str();
    cmd->add_option("--network-latency-us", network_latency_us, "Assumed latency of one message, microseconds")->capture_default_str();
    cmd->add_option("--scenario", measurement.scenario, "Scenario generated at each size")->capture_default_str();
    cmd->add_option("--days", measurement.days, "Days per series")->transform(integer_in<std::int64_t>())->capture_default_str();
    cmd->add_option("--model", measurement.model, "Detector")->capture_default_str();
    cmd->add_option("--work", measurement.work_dir, "Directory for the datasets and runs while measuring (default: a temporary one, removed)");
    cmd->add_option("--from", from, "Reuse the measurements of an earlier capacity.json instead of running");
    cmd->add_option("--out", out, "capacity.json to write")->capture_default_str();
    cmd->add_option("--figure", figure, "Also draw the scaling figure (PNG) with tools/capacity_figure.py");
    cmd->add_flag("--force", force, "Replace --out and --figure if they exist");
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    const ThreadLimit limit(common.threads);  // validates --threads; each measured run sets its own limit
    CapacityQuestion q;
    q.series = series;
    q.window_seconds = parse_window_seconds(window);
    q.cores_per_machine = cores_per_machine != 0 ? cores_per_machine : hardware_threads();
    q.machines = machines;
    if (!(network_gbps > 0.0)) throw std::invalid_argument(fmt::format("--network-gbps must be positive, got {}", network_gbps));
    if (!(network_latency_us >= 0.0)) throw std::invalid_argument(fmt::format("--network-latency-us must be >= 0, got {}", network_latency_us));
    q.network = {network_gbps * 1e9 / 8, network_latency_us * 1e-6};
    if (!(q.series > 0.0)) throw std::invalid_argument(fmt::format("--series must be positive, got {}", series));
    measurement.schedule = schedule_from_string(schedule);
    if (out == kDefaultOut) fs::create_directories(out.parent_path());
    // Refuse before a long measurement, not after it.
    { const StagedOutput check(out, force); }
    if (!figure.empty()) { const StagedOutput check(figure, force); }

    CapacityMeasurement m;
    if (!from.empty()) {
      std::ifstream in(from);
      if (!in) throw std::invalid_argument(fmt::format("--from {}: cannot read it", from.string()));
      nlohmann::json doc;
      try {
        doc = nlohmann::json::parse(in);
      } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(fmt::format("--from {}: not JSON: {}", from.string(), e.what()));
      }
      if (!doc.contains("measurement")) throw std::invalid_argument(fmt::format("--from {}: no 'measurement' key: not a capacity.json", from.string()));
      m = capacity_measurement_from_json(doc["measurement"], from.string());
      if (schedule_option->count() > 0 && m.schedule != measurement.schedule)
        throw std::invalid_argument(fmt::format("--schedule {} differs from the schedule measured in {} ({}): re-measure without --from", schedule,
                                                from.string(), to_string(m.schedule)));
    } else {
      m = measure_capacity(measurement);
    }
    const CostModel model = fit_cost_model(m.runs);
    const CapacityAnswer a = answer_capacity(model, m.merge, q);

    std::printf("measured runs (%s schedule, %s, %lld days):\n", std::string(to_string(m.schedule)).c_str(), m.model.c_str(),
                static_cast<long long>(m.days));
    std::printf("  %10s %7s %9s %11s %11s %9s %9s %10s %13s\n", "series", "threads", "wall s", "series/s", "CPU us/ser", "read s", "write s", "peak MiB",
                "disk B/series");
    for (const auto& p : m.runs)
      std::printf("  %10lld %7d %9.2f %11.0f %11.1f %9.2f %9.2f %10.0f %13.0f\n", static_cast<long long>(p.series), p.threads, p.wall_seconds,
                  static_cast<double>(p.series) / p.wall_seconds, 1e6 * p.process_cpu_seconds / static_cast<double>(p.series), p.read_seconds, p.write_seconds, static_cast<double>(p.peak_rss_bytes) / (1 << 20),
                  static_cast<double>(p.file_bytes) / static_cast<double>(p.series));
    std::printf("cost model: wall = %.2f s + series x %.1f us / (cores x %.2f)\n", model.fixed_seconds, model.seconds_per_series * 1e6,
                model.parallel_efficiency);
    std::printf("question: %.4g series within %s (%.0f s), %s schedule, %d cores per machine\n", q.series, window.c_str(), q.window_seconds,
                std::string(to_string(m.schedule)).c_str(), q.cores_per_machine);
    if (a.cores_one_machine > 0) std::printf("  one machine would need %lld cores\n", static_cast<long long>(a.cores_one_machine));
    else std::printf("  no single machine fits: the fixed overhead exceeds the window\n");
    std::printf("  %s: %lld machine(s) x %d cores = %lld cores; predicted %.0f s (compute %.0f s + reduction %.3f s + fixed %.1f s); "
                "%.1f core-hours of work\n",
                a.feasible ? "answer" : "DOES NOT FIT", static_cast<long long>(a.machines), q.cores_per_machine, static_cast<long long>(a.total_cores),
                a.predicted_wall_seconds, a.compute_seconds, a.communication_seconds, model.fixed_seconds, a.core_hours);
    if (machines > 0)
      std::printf("  with %lld machines, each needs %lld cores\n", static_cast<long long>(machines), static_cast<long long>(a.cores_per_machine_needed));
    if (!a.feasible) std::printf("  why: %s\n", a.reason.c_str());
    const CpuBound cb = cpu_bound_answer(cpu_seconds_per_series(m.runs), q);
    if (cb.cores > 0)
      std::printf("  cross-check from CPU time (%.1f us per series, no overhead, E = 1; what a quiet machine approaches): %lld cores, "
                  "%lld machine(s)\n",
                  cb.cpu_seconds_per_series * 1e6, static_cast<long long>(cb.cores), static_cast<long long>(cb.machines));
    std::printf("assumptions:\n");
    for (const auto& s : capacity_assumptions(m, model, q)) std::printf("  - %s\n", s.c_str());

    write_capacity_json(out, capacity_document(m, model, q, a), force);
    std::printf("wrote %s\n", out.c_str());
    if (!figure.empty()) draw_figure();
  }

  void draw_figure() const {
    const fs::path script = fs::path(METERBENCH_SOURCE_DIR) / "tools/capacity_figure.py";
    if (!fs::exists(script)) throw std::runtime_error(fmt::format("the figure script {} is missing", script.string()));
    StagedOutput staged(figure, force);
    const std::vector<std::string> command = {"/usr/bin/python3", script.string(), out.string(), staged.temp_path().string()};
    const int status = run_process(command, "install python3 with python3-matplotlib");
    if (status != 0 || !fs::exists(staged.temp_path()))
      throw std::runtime_error(fmt::format("drawing the figure failed (exit status {}): {}", status, fmt::join(command, " ")));
    staged.commit();
    std::printf("wrote %s\n", figure.c_str());
  }
};

}  // namespace

void add_capacity_command(CLI::App& app, CommonOptions& common) { register_command<CapacityCommand>(app, common); }

}  // namespace meterbench::cli
