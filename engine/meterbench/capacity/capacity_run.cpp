#include "meterbench/capacity/capacity_run.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/generate/scenario.hpp"
#include "meterbench/io/output_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "meterbench/runtime/run_context.hpp"

namespace meterbench {

namespace fs = std::filesystem;

namespace {

// getrusage's peak never goes down, so runs in one process would all report the largest. Linux resets the
// peak (VmHWM) on writing 5 to clear_refs; when that is refused, the runs report the process peak so far.
bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

std::uint64_t vm_hwm_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024u;  // kB
  return peak_rss_bytes();
}

template <class T>
double median_seconds(int repetitions, T&& f) {
  std::vector<double> t;
  for (int r = 0; r < repetitions; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void append(std::vector<std::int64_t>& out, const std::vector<std::int64_t>& v) { out.insert(out.end(), v.begin(), v.end()); }
void append(std::vector<std::int64_t>& out, const OutcomeCounts& o) {
  out.insert(out.end(), {o.events, o.caught, o.caught_filtered, o.impact_cents, o.caught_impact_cents, o.caught_filtered_impact_cents});
}
void append(std::vector<std::int64_t>& out, const AlertCounts& a) {
  out.insert(out.end(), {a.total, a.true_alerts, a.false_alerts, a.dont_care, a.unlabelled});
}

}  // namespace

void pack_counts(const EvaluationCounts& c, std::vector<std::int64_t>& out) {
  out.insert(out.end(), {c.series, c.series_without_labels, c.scored_steps, c.observed_steps, c.flagged_steps, c.covered_steps,
                         c.covered_steps_labelled, c.dont_care_steps, c.point_tp, c.point_fp, c.point_fn, c.point_tn, c.events_unknown_impact,
                         c.alert_impact_cents, c.alerts_unknown_impact, c.range_recall_e9, c.range_recall_filtered_e9, c.range_precision_e9,
                         c.range_precision_filtered_e9});
  append(out, c.events);
  for (const auto& o : c.per_kind) append(out, o);
  for (const auto& o : c.per_size_bucket) append(out, o);
  append(out, c.alerts);
  append(out, c.alerts_filtered);
  for (const auto* v : {&c.delay_histogram, &c.delay_histogram_filtered, &c.score_histogram_labelled, &c.score_histogram_unlabelled,
                        &c.curve_tp_by_rank, &c.curve_fp_by_rank, &c.curve_caught_by_rank, &c.curve_caught_impact_by_rank,
                        &c.curve_caught_filtered_by_rank, &c.curve_caught_filtered_impact_by_rank})
    append(out, *v);
  for (const auto& a : c.curve_alerts_diff) append(out, a);
  for (const auto& a : c.curve_alerts_filtered_diff) append(out, a);
}

MergeCost measure_merge_cost(int repetitions) {
  // The backtest's daily configuration: gam's default z, 7-day tolerance, the full threshold curve.
  EvaluationConfig config;
  config.z = 2.5758293035489004;
  EvaluationAccumulator a(config), b(config);
  constexpr std::size_t kSteps = 730;
  std::vector<float> values(kSteps), expected(kSteps, 100.0F), lower(kSteps, 90.0F), upper(kSteps, 110.0F), score(kSteps);
  std::vector<std::uint8_t> labels(kSteps, 0);
  for (std::size_t t = 0; t < kSteps; ++t) {
    values[t] = 100.0F + static_cast<float>((t * 7919) % 23) - 11.0F;
    score[t] = std::abs(values[t] - 100.0F) / 4.0F;
  }
  for (std::uint64_t s = 0; s < 16; ++s) {
    SeriesEvaluationInput in{values, labels, {}, expected, lower, upper, score, 0.1, s, 0, static_cast<std::int64_t>(kSteps)};
    (s % 2 == 0 ? a : b).add_series(in);
  }
  MergeCost m;
  std::vector<std::int64_t> buffer;
  m.pack_seconds = median_seconds(repetitions, [&] {
    buffer.clear();
    pack_counts(b.counts(), buffer);
  });
  m.bytes = buffer.size() * sizeof(std::int64_t);
  m.merge_seconds = median_seconds(repetitions, [&] { a.merge(b); });
  return m;
}

CapacityMeasurement measure_capacity(const CapacityRunOptions& options) {
  if (options.sizes.empty()) throw std::invalid_argument("--sizes is empty");
  if (options.thread_counts.empty()) throw std::invalid_argument("--thread-counts is empty");
  for (const auto s : options.sizes)
    if (s < 1) throw std::invalid_argument(fmt::format("--sizes: every size must be >= 1, got {}", s));
  for (const auto t : options.thread_counts)
    if (t < 1 || t > 1024) throw std::invalid_argument(fmt::format("--thread-counts: every count must be in [1, 1024], got {}", t));

  CapacityMeasurement m;
  m.scenario = options.scenario.string();
  m.model = options.model;
  m.schedule = options.schedule;
  m.weeks = is_weekly(options.schedule) ? 1 : 0;
  m.days = options.days;
  const int max_threads = *std::max_element(options.thread_counts.begin(), options.thread_counts.end());
  m.context = to_json(current_run_context(max_threads));
  {  // the machine's load while measuring: figures from a loaded machine are pessimistic
    std::ifstream load("/proc/loadavg");
    std::string one, five, fifteen;
    if (load >> one >> five >> fifteen) m.context["load_average_at_start"] = one + " " + five + " " + fifteen;
  }

  const fs::path work = options.work_dir.empty() ? fs::temp_directory_path() / fmt::format("meterbench-capacity-{}", ::getpid()) : options.work_dir;
  const bool own_work = !fs::exists(work);
  fs::create_directories(work);
  struct Cleanup {
    fs::path dir;
    bool whole;
    ~Cleanup() {
      std::error_code ec;
      if (whole) fs::remove_all(dir, ec);
    }
  } cleanup{work, own_work};

  m.peak_rss_per_run = true;
  for (const std::int64_t size : options.sizes) {
    Scenario scenario = load_scenario(options.scenario);
    scenario.override_size(size, options.days, std::nullopt);
    const fs::path data = work / fmt::format("capacity-{}.h5", size);
    GenerateSummary generated;
    {
      const ThreadLimit limit(max_threads);
      generated = generate_dataset(scenario, {.out = data, .overwrite = true});
    }
    spdlog::info("capacity: generated {} series x {} days in {:.2f} s ({} bytes)", size, options.days, generated.wall_seconds, generated.file_bytes);
    for (const int threads : options.thread_counts) {
      const ThreadLimit limit(threads);
      m.peak_rss_per_run = reset_peak_rss() && m.peak_rss_per_run;
      BacktestOptions bt;
      bt.data = data;
      bt.model = options.model;
      bt.schedule = options.schedule;
      bt.weeks = m.weeks > 0 ? m.weeks : bt.weeks;
      bt.out_dir = work / fmt::format("run-{}-{}", size, threads);
      bt.overwrite = true;
      bt.random_baseline = false;  // a benchmark device, not part of a production run
      const double cpu0 = process_cpu_seconds();
      const BacktestThroughput t = run_backtest(bt).throughput;
      const double cpu = process_cpu_seconds() - cpu0;
      CapacityPoint p;
      p.series = size;
      p.threads = threads;
      p.wall_seconds = t.wall_seconds;
      p.read_seconds = t.read_seconds;
      p.write_seconds = t.write_seconds;
      p.fit_cpu_seconds = t.fit_and_score_seconds;
      p.evaluate_cpu_seconds = t.evaluate_seconds;
      p.generate_seconds = generated.wall_seconds;
      p.process_cpu_seconds = cpu;
      p.peak_rss_bytes = vm_hwm_bytes();
      p.file_bytes = generated.file_bytes;
      m.runs.push_back(p);
      spdlog::info("capacity: {} series, {} threads: {:.2f} s wall, {:.0f} series/s, peak RSS {:.0f} MiB", size, threads, p.wall_seconds,
                   static_cast<double>(size) / p.wall_seconds, static_cast<double>(p.peak_rss_bytes) / (1 << 20));
      std::error_code ec;
      fs::remove_all(bt.out_dir, ec);
    }
    std::error_code ec;
    fs::remove(data, ec);
  }
  m.merge = measure_merge_cost();
  std::ifstream load("/proc/loadavg");
  std::string one, five, fifteen;
  if (load >> one >> five >> fifteen) m.context["load_average_at_end"] = one + " " + five + " " + fifteen;
  return m;
}

nlohmann::json to_json(const CapacityMeasurement& m) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& p : m.runs) runs.push_back(to_json(p));
  return {{"scenario", m.scenario},
          {"model", m.model},
          {"schedule", std::string(to_string(m.schedule))},
          {"weeks_per_run", m.weeks},
          {"days", m.days},
          {"runs", runs},
          {"merge", to_json(m.merge)},
          {"peak_rss_per_run", m.peak_rss_per_run},
          {"context", m.context}};
}

CapacityMeasurement capacity_measurement_from_json(const nlohmann::json& j, const std::string& source) {
  try {
    CapacityMeasurement m;
    m.scenario = j.at("scenario").get<std::string>();
    m.model = j.at("model").get<std::string>();
    m.schedule = schedule_from_string(j.at("schedule").get<std::string>());
    m.weeks = j.value("weeks_per_run", std::int64_t{0});
    m.days = j.value("days", std::int64_t{730});
    for (const auto& r : j.at("runs")) m.runs.push_back(capacity_point_from_json(r));
    m.merge = merge_cost_from_json(j.at("merge"));
    m.peak_rss_per_run = j.value("peak_rss_per_run", false);
    m.context = j.value("context", nlohmann::json::object());
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("{}: not a capacity measurement (key 'measurement'): {}", source, e.what()));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{}: {}", source, e.what()));
  }
}

}  // namespace meterbench

namespace meterbench {

std::vector<std::string> capacity_assumptions(const CapacityMeasurement& m, const CostModel& model, const CapacityQuestion& q) {
  std::vector<std::string> out;
  if (is_weekly(m.schedule))
    out.push_back(fmt::format("schedule weekly: the cost of ONE weekly production run (each series fitted on its history, the next week scored: "
                              "backtest --schedule weekly --weeks 1); a year is 52 such runs, each of which must fit the window; "
                              "the 52-week backtest of the past costs more (see results/README.md)"));
  else
    out.push_back("schedule retrospective: one fit per series over its whole history, every step scored, once per run");
  out.push_back(fmt::format("detector {} with its default parameters; alerts.csv written; the random baseline not run; scenario {} at {} days "
                            "(costs grow with the history length and differ on other populations)",
                            m.model, m.scenario, m.days));
  std::vector<int> threads;
  for (const auto& p : m.runs)
    if (std::find(threads.begin(), threads.end(), p.threads) == threads.end()) threads.push_back(p.threads);
  if (model.fixed_clamped) out.push_back("the free fit gave a negative fixed overhead (noise): refitted with fixed = 0");
  out.push_back(fmt::format("cost model wall = {:.2f} s fixed + series x {:.1f} us / (cores x E), fitted to {} runs (rms residual {:.2f} s)",
                            model.fixed_seconds, model.seconds_per_series * 1e6, model.points, model.rms_residual_seconds));
  out.push_back(model.efficiency_measured
                    ? fmt::format("parallel efficiency E = {:.2f}, measured between 1 and {} threads and assumed to hold at {} cores per machine "
                                  "(optimistic beyond the thread counts measured)",
                                  model.parallel_efficiency, *std::max_element(threads.begin(), threads.end()), q.cores_per_machine)
                    : "parallel efficiency E = 1 assumed: no runs at both 1 and more threads (optimistic)");
  if (!m.runs.empty()) {
    const CapacityPoint& big = *std::max_element(m.runs.begin(), m.runs.end(), [](const auto& a, const auto& b) {
      return std::pair(a.series, -a.threads) < std::pair(b.series, -b.threads);
    });
    const double io_per_series = (big.read_seconds + big.write_seconds) / static_cast<double>(big.series);
    const double compute_per_series = model.seconds_per_series / (q.cores_per_machine * (q.cores_per_machine > 1 ? model.parallel_efficiency : 1.0));
    out.push_back(fmt::format("HDF5 read and output write are serial per machine: {:.1f} us per series at {} series ({:.0f}% of that run's wall); "
                              "{} at {} cores per machine ({:.1f} us of compute per series)",
                              io_per_series * 1e6, big.series, 100 * (big.read_seconds + big.write_seconds) / big.wall_seconds,
                              io_per_series > compute_per_series ? "I/O-BOUND, the model is optimistic" : "compute-bound", q.cores_per_machine,
                              compute_per_series * 1e6));
    out.push_back(fmt::format("memory: peak RSS {:.0f} MiB at {} series and {} threads, bounded by (2 x threads + 1) blocks, not by the series count{}",
                              static_cast<double>(big.peak_rss_bytes) / (1 << 20), big.series, big.threads,
                              m.peak_rss_per_run ? "" : " (peak not reset between runs: the process's peak so far)"));
    const double disk = static_cast<double>(big.file_bytes) / static_cast<double>(big.series);
    out.push_back(fmt::format("disk: {:.0f} bytes per series uncompressed ({} days), so {:.3g} GB for {:.4g} series", disk, m.days, disk * q.series / 1e9,
                              q.series));
  }
  out.push_back(fmt::format("K machines (MPI, one rank per machine with {} threads): series split evenly; the evaluation accumulators ({} bytes) "
                            "reduced in a binary tree of ceil(log2 K) rounds, each {:.1f} us to pack + {:.0f} us latency + bytes at {:.3g} Gbit/s "
                            "+ {:.1f} us to merge (pack and merge measured here; the network assumed: --network-gbps, --network-latency-us); "
                            "per-rank alert files written in parallel, reading the shared data at the measured per-machine rate",
                            q.cores_per_machine, m.merge.bytes, m.merge.pack_seconds * 1e6, q.network.latency_seconds * 1e6,
                            q.network.bytes_per_second * 8 / 1e9, m.merge.merge_seconds * 1e6));
  if (!m.runs.empty()) {
    double cpu = 0.0, n = 0.0;
    for (const auto& p : m.runs) {
      cpu += p.process_cpu_seconds;
      n += static_cast<double>(p.series);
    }
    out.push_back(fmt::format("t comes from wall times; the runs' CPU time was {:.1f} us per series (all threads, all stages): when t is much larger, "
                              "other load on the machine inflated the wall times and the answer is pessimistic",
                              1e6 * cpu / n));
  }
  // Other work on the machine inflates wall times: say how loaded it was, and warn when more was runnable than cores.
  const nlohmann::json context = m.context.is_object() ? m.context : nlohmann::json::object();  // --from files may lack it
  const std::string load = context.value("load_average_at_start", std::string("unknown"));
  const double one_minute = std::strtod(load.c_str(), nullptr);
  const double cores = context.value("cores", 0.0);
  if (cores > 0.0 && one_minute > cores) {
    out.push_back(fmt::format("measured at a load average of {} on {} cores (context.load_average_at_start): other work inflated the wall "
                              "times; re-run on a quiet machine like the production one", load, cores));
  } else {
    out.push_back(fmt::format("measured at a load average of {} (context.load_average_at_start)", load));
  }
  return out;
}

nlohmann::json capacity_document(const CapacityMeasurement& m, const CostModel& model, const CapacityQuestion& q, const CapacityAnswer& a) {
  nlohmann::json curve = nlohmann::json::array();
  for (double n = 1e4; n <= 1e9 * 1.0001; n *= std::sqrt(10.0)) {
    CapacityQuestion cq = q;
    cq.series = n;
    cq.machines = 0;
    const CapacityAnswer ca = answer_capacity(model, m.merge, cq);
    curve.push_back({{"series", n}, {"cores_one_machine", ca.cores_one_machine}, {"machines", ca.feasible ? ca.machines : 0},
                     {"core_hours", ca.core_hours}});
  }
  return {{"format", "meterbench-capacity"},
          {"format_version", 1},
          {"measurement", to_json(m)},
          {"model", to_json(model)},
          {"question",
           {{"series", q.series},
            {"window_seconds", q.window_seconds},
            {"schedule", std::string(to_string(m.schedule))},
            {"cores_per_machine", q.cores_per_machine},
            {"machines", q.machines},
            {"network_gbps", q.network.bytes_per_second * 8 / 1e9},
            {"network_latency_us", q.network.latency_seconds * 1e6}}},
          {"answer", to_json(a)},
          {"cpu_bound", [&] {
             const CpuBound c = cpu_bound_answer(cpu_seconds_per_series(m.runs), q);
             return nlohmann::json{{"cpu_seconds_per_series", c.cpu_seconds_per_series}, {"cores", c.cores}, {"machines", c.machines},
                                   {"meaning", "cores if every core delivered the measured CPU time per series (no overhead, E = 1): the "
                                               "quiet-machine cross-check of a wall-time answer measured under load"}};
           }()},
          {"assumptions", capacity_assumptions(m, model, q)},
          {"curve", curve}};
}

void write_capacity_json(const fs::path& path, const nlohmann::json& document, bool overwrite) {
  StagedOutput staged(path, overwrite);
  OutputFile f(staged.temp_path());
  f << document.dump(2) << '\n';
  f.close();
  staged.commit();
}

}  // namespace meterbench
