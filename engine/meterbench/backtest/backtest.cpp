#include "meterbench/backtest/backtest.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <spdlog/spdlog.h>

#include "meterbench/backtest/series_pass.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/io/alert_csv.hpp"
#include "meterbench/io/bands_file.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/random_detector.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "meterbench/runtime/progress.hpp"
#include "meterbench/runtime/run_context.hpp"

namespace meterbench {

std::string_view to_string(Schedule schedule) { return schedule == Schedule::weekly ? "weekly" : "retrospective"; }

Schedule schedule_from_string(std::string_view text) {
  if (text == "retrospective") return Schedule::retrospective;
  if (text == "weekly") return Schedule::weekly;
  throw std::invalid_argument(fmt::format("unknown schedule '{}' (known: retrospective, weekly)", text));
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }
// CPU time of the calling thread: on a shared machine the stages' wall time also counts time spent waiting
// for a core, their CPU time does not.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
// Timings cross processes as integer nanoseconds (reductions are on integers).
std::int64_t to_ns(double seconds) { return std::llround(seconds * 1e9); }
double from_ns(std::int64_t ns) { return static_cast<double>(ns) * 1e-9; }

// Series fitted and then evaluated together: their outputs (16 x 730 steps x 4 floats = 187 KiB) stay in L2.
constexpr std::int64_t kFusedSeries = 16;

// Per-block working memory, recycled across the pipeline's tokens.
struct WorkBlock {
  SeriesBlock data;
  detail::BlockOutputs outputs;
  std::vector<std::uint64_t> value_hashes;
  std::vector<Alert> alerts;
  std::string alerts_text;  // alerts.csv rows of the block
  std::vector<FlaggedStep> flags;
  std::vector<FitStatus> status;
  double detect_seconds = 0.0, detect_cpu_seconds = 0.0;
  double evaluate_seconds = 0.0, evaluate_cpu_seconds = 0.0;

  // Steps the detector does not write must read as NaN where they are written out (bands.h5 of the weekly
  // schedule); elsewhere the fill would be a wasted pass over four arrays per series.
  void size_outputs(std::int64_t rows, bool nan_fill) {
    outputs.resize(rows, data.steps, nan_fill);
    value_hashes.resize(static_cast<std::size_t>(data.count));
    status.resize(static_cast<std::size_t>(data.count));
    alerts.clear();
    flags.clear();
  }
};

// Per-thread state: the detector's scratch, the additive evaluation counts and fit status counts.
struct ThreadState {
  ThreadState(const Detector& detector, const EvaluationConfig& config) : workspace(detector.make_workspace()), evaluation(config) {}
  std::unique_ptr<DetectorWorkspace> workspace;
  EvaluationAccumulator evaluation;
  std::array<std::int64_t, kFitStatusCount> status_counts{};
};

struct PassResult {
  EvaluationReport report;
  std::array<std::int64_t, kFitStatusCount> status_counts{};
  std::uint64_t fingerprint = 0;
  std::int64_t alerts = 0;
  double wall_seconds = 0.0;
  double read_seconds = 0.0, detect_seconds = 0.0, evaluate_seconds = 0.0, write_seconds = 0.0;
  double detect_cpu_seconds = 0.0, evaluate_cpu_seconds = 0.0;
};

struct PassOutputs {
  std::ostream* alerts_csv = nullptr;    ///< alerts at z, in series order
  BandsWriter* bands = nullptr;          ///< expected range per step
  bool evaluate = true;                  ///< accumulate metrics (needs labels for most of them)
  FlagCollector* flags = nullptr;        ///< flagged steps (the `detect` command)
  BacktestScaleOut* scale_out = nullptr; ///< run this process's range and combine totals across processes
  bool resumable = false;                ///< with scale_out: reuse (and save) this process's verified totals
};

}  // namespace

void FlagCollector::collect(const SeriesBlock& block, std::int64_t i, const DetectionOutput& out, double z,
                            std::vector<FlaggedStep>& into) const {
  const SeriesRecord& record = block.series[static_cast<std::size_t>(i)];
  const std::span<const float> values = block.row(i);
  for (std::int64_t t = std::max<std::int64_t>(first_step, 0); t < block.steps; ++t) {
    const auto k = static_cast<std::size_t>(t);
    if (!(out.score[k] > z)) continue;  // NaN scores are never flags
    const double impact = std::fabs(static_cast<double>(values[k]) - static_cast<double>(out.expected[k])) * record.price_per_unit;
    if (std::isfinite(impact) && impact < min_impact_usd) continue;  // unknown impact is never filtered out
    into.push_back({static_cast<std::uint64_t>(block.first_series + i), t, values[k], out.expected[k], out.lower[k], out.upper[k],
                    out.score[k], impact});
  }
}

namespace {

// Formats a block's alert rows (in the parallel stage; the serial stage only writes the bytes).
// Each row is written into a stack buffer with no length checks (every field has a bound) and appended once;
// the "customer,meter," prefix is formatted once per series (alerts come in series order, a dozen per series).
void format_alert_rows(WorkBlock& block, const StepTimes& times) {
  constexpr std::size_t kPrefixRoom = 2 * (2 * kIdCapacity + 2) + 2;
  constexpr std::size_t kRowRoom = kPrefixRoom + 3 * (StepTimes::kRoom + 1) + 6 * (kG6Room + 1) + 8;
  std::string& out = block.alerts_text;
  out.clear();
  char prefix[kPrefixRoom];
  std::size_t prefix_size = 0;
  std::uint64_t prefix_series = ~std::uint64_t{0};
  char row[kRowRoom];
  for (const Alert& a : block.alerts) {
    if (a.series_index != prefix_series) {
      const SeriesRecord& s = block.data.series[static_cast<std::size_t>(static_cast<std::int64_t>(a.series_index) - block.data.first_series)];
      char* p = write_csv_text(prefix, s.customer());
      *p++ = ',';
      p = write_csv_text(p, s.meter());
      *p++ = ',';
      prefix_size = static_cast<std::size_t>(p - prefix);
      prefix_series = a.series_index;
    }
    std::memcpy(row, prefix, prefix_size);
    char* o = times.write(row + prefix_size, a.start);
    *o++ = ',';
    o = times.write(o, a.end);
    for (const double v : {static_cast<double>(a.observed), static_cast<double>(a.expected), static_cast<double>(a.lower),
                           static_cast<double>(a.upper), static_cast<double>(a.max_score), a.impact_usd}) {
      *o++ = ',';
      o = write_g6(o, v);
    }
    *o++ = ',';
    o = times.write(o, a.raised_at);
    static constexpr char kTrue[8] = ",true\n", kFalse[8] = ",false\n";
    std::memcpy(o, a.overlaps_event ? kTrue : kFalse, 8);
    o += a.overlaps_event ? 6 : 7;
    out.append(row, static_cast<std::size_t>(o - row));
  }
}

// One streaming pass of `detector` over the series of `ranges` (ascending, disjoint; empty = the whole dataset).
PassResult run_pass(DatasetReader& reader, const Detector& detector, std::int64_t block_series_option, const EvaluationConfig& config,
                    detail::ScoredWindow window, const PassOutputs& outputs, const char* label,
                    std::vector<SeriesRange> ranges = {}) {
  const auto start = Clock::now();
  const DatasetInfo& info = reader.info();
  const TimeGrid& grid = info.grid;
  if (ranges.empty()) ranges.push_back({0, info.series_count});
  std::int64_t n_series = 0;  // of the pass over every process: the fingerprint's seed
  for (const SeriesRange& r : ranges) n_series += r.count;
  if (outputs.scale_out != nullptr) {  // this process's share of the ranges
    const SeriesRange mine = outputs.scale_out->range();
    std::vector<SeriesRange> shared;
    for (const SeriesRange& r : ranges) {
      const std::int64_t first = std::max(r.first, mine.first), end = std::min(r.end(), mine.end());
      if (first < end) shared.push_back({first, end - first});
    }
    if (shared.empty()) shared.push_back({mine.first, 0});
    ranges = std::move(shared);
  }
  std::int64_t local_series = 0;
  for (const SeriesRange& r : ranges) local_series += r.count;
  // Detectors write every scored step and the evaluation reads nothing else; only bands.h5 shows the steps
  // before a weekly schedule's scored window, which must read as NaN there.
  const bool nan_fill = window.first_scored > 0 && outputs.bands != nullptr;
  const std::int64_t block_series = detail::block_series(block_series_option, local_series, grid.steps);
  const int threads = detail::active_threads();
  const int tokens = pipeline_tokens(threads);

  detail::BlockFeed<WorkBlock> feed(reader, block_series, tokens, ranges);
  oneapi::tbb::enumerable_thread_specific<ThreadState> states([&] { return ThreadState(detector, config); });

  const StepTimes step_times(grid);
  PassResult result;
  std::uint64_t fingerprint = mix64(static_cast<std::uint64_t>(n_series) ^ mix64(static_cast<std::uint64_t>(grid.steps)));
  ProgressReporter progress(label, "series", local_series);
  std::vector<std::uint64_t> value_hashes;  // with scale_out: the fingerprint is chained after the gather
  std::optional<PassTotals> saved;
  if (outputs.scale_out != nullptr && outputs.resumable) saved = outputs.scale_out->load_saved(EvaluationAccumulator(config).counts());
  std::string failure;
  try {
  if (!saved) oneapi::tbb::parallel_pipeline(
      static_cast<std::size_t>(tokens),
      // Serial, in order: HDF5 reads stay on one stage.
      oneapi::tbb::make_filter<void, WorkBlock*>(oneapi::tbb::filter_mode::serial_in_order,
                                                 [&](oneapi::tbb::flow_control& fc) { return feed.next(fc, result.read_seconds); }) &
          // Parallel: fit, score and evaluate each series with this thread's workspace and accumulator.
          oneapi::tbb::make_filter<WorkBlock*, WorkBlock*>(
              oneapi::tbb::filter_mode::parallel,
              [&](WorkBlock* block) {
                ThreadState& state = states.local();
                SeriesBlock& b = block->data;
                // A few series at a time, fitted then evaluated, so that their detector outputs (four floats per
                // step) are read back from cache rather than from memory; the whole block at once when bands.h5
                // needs all of its outputs, or when the fits share per-window work across the block.
                const bool whole_block = outputs.bands != nullptr || !detail::fits_series_by_series(detector, window);
                const std::int64_t group = whole_block ? std::max<std::int64_t>(b.count, 1) : kFusedSeries;
                block->size_outputs(std::min(group, b.count), nan_fill);
                block->detect_seconds = block->evaluate_seconds = block->detect_cpu_seconds = block->evaluate_cpu_seconds = 0.0;
                for (std::int64_t first = 0; first < b.count; first += group) {
                  const std::int64_t count = std::min(group, b.count - first), out_first = whole_block ? 0 : first;
                  // 1. Detection.
                  const auto t0 = Clock::now();
                  const double cpu0 = thread_cpu_seconds();
                  detail::detect_series(detector, *state.workspace, b, first, count, window, block->outputs, out_first,
                                        std::span<FitStatus>(block->status).subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(count)));
                  const auto t1 = Clock::now();
                  const double cpu1 = thread_cpu_seconds();
                  // 2. Evaluation and the outputs' inputs.
                  for (std::int64_t i = first; i < first + count; ++i) {
                    ++state.status_counts[static_cast<std::size_t>(block->status[static_cast<std::size_t>(i)])];
                    const DetectionOutput out = block->outputs.row(i - out_first);
                    const SeriesEvaluationInput input = detail::evaluation_input(b, i, info.has_labels, out, window.first_scored);
                    if (outputs.evaluate) state.evaluation.add_series(input, outputs.alerts_csv != nullptr ? &block->alerts : nullptr);
                    if (outputs.flags != nullptr) outputs.flags->collect(b, i, out, config.z, block->flags);
                    block->value_hashes[static_cast<std::size_t>(i)] = detail::hash_values(b.row(i));
                  }
                  block->detect_seconds += std::chrono::duration<double>(t1 - t0).count();
                  block->evaluate_seconds += seconds_since(t1);
                  block->detect_cpu_seconds += cpu1 - cpu0;
                  block->evaluate_cpu_seconds += thread_cpu_seconds() - cpu1;
                }
                const auto t2 = Clock::now();
                const double cpu2 = thread_cpu_seconds();
                if (outputs.alerts_csv != nullptr) format_alert_rows(*block, step_times);
                block->evaluate_seconds += seconds_since(t2);
                block->evaluate_cpu_seconds += thread_cpu_seconds() - cpu2;
                return block;
              }) &
          // Serial, in order: outputs are written in series order, whatever the thread count.
          oneapi::tbb::make_filter<WorkBlock*, void>(oneapi::tbb::filter_mode::serial_in_order, [&](WorkBlock* block) {
            const auto t0 = Clock::now();
            const SeriesBlock& b = block->data;
            for (const std::uint64_t h : block->value_hashes) fingerprint = mix64(fingerprint ^ h);
            if (outputs.scale_out != nullptr) value_hashes.insert(value_hashes.end(), block->value_hashes.begin(), block->value_hashes.end());
            if (outputs.alerts_csv != nullptr) outputs.alerts_csv->write(block->alerts_text.data(), static_cast<std::streamsize>(block->alerts_text.size()));
            if (outputs.flags != nullptr) {
              for (const FlaggedStep& f : block->flags)
                outputs.flags->series.try_emplace(f.series_index, b.series[static_cast<std::size_t>(static_cast<std::int64_t>(f.series_index) - b.first_series)]);
              outputs.flags->rows.insert(outputs.flags->rows.end(), block->flags.begin(), block->flags.end());
            }
            if (outputs.bands != nullptr)
              outputs.bands->write(b.first_series, b.count, block->outputs.expected.data(), block->outputs.lower.data(),
                                   block->outputs.upper.data(), block->outputs.score.data());
            result.alerts += static_cast<std::int64_t>(block->alerts.size());
            result.detect_seconds += block->detect_seconds;
            result.evaluate_seconds += block->evaluate_seconds;
            result.detect_cpu_seconds += block->detect_cpu_seconds;
            result.evaluate_cpu_seconds += block->evaluate_cpu_seconds;
            result.write_seconds += seconds_since(t0);
            progress.advance(b.count);
            feed.recycle(block);
          }));

  } catch (const std::exception& e) {
    if (outputs.scale_out == nullptr) throw;
    failure = e.what();  // agreed with the other processes below, so none waits for this one forever
  }
  // Integer counts: the merge order does not change the result.
  EvaluationAccumulator total(config);
  for (const ThreadState& state : states) {
    total.merge(state.evaluation);
    for (std::size_t s = 0; s < kFitStatusCount; ++s) result.status_counts[s] += state.status_counts[s];
  }
  result.fingerprint = fingerprint;
  result.wall_seconds = seconds_since(start);
  if (outputs.scale_out != nullptr) {
    PassTotals totals = saved ? std::move(*saved) : PassTotals{};
    if (!saved) {
      totals = {total.counts(), result.status_counts, result.alerts, std::move(value_hashes), to_ns(result.read_seconds),
                to_ns(result.detect_seconds), to_ns(result.evaluate_seconds), to_ns(result.write_seconds),
                to_ns(result.detect_cpu_seconds), to_ns(result.evaluate_cpu_seconds), 0};
      if (outputs.alerts_csv != nullptr) outputs.alerts_csv->flush();
      if (outputs.resumable && failure.empty()) {
        try {
          if (outputs.bands != nullptr) outputs.bands->finish();  // closed before save() checksums its part
          outputs.scale_out->save(totals);
        } catch (const std::exception& e) {
          failure = e.what();
        }
      }
    }
    totals.wall_ns = to_ns(result.wall_seconds);
    outputs.scale_out->check(failure, label);
    outputs.scale_out->combine(totals);
    total = EvaluationAccumulator(config);
    total.merge(totals.counts);
    result.status_counts = totals.status_counts;
    result.alerts = totals.alerts;
    result.fingerprint = mix64(static_cast<std::uint64_t>(n_series) ^ mix64(static_cast<std::uint64_t>(grid.steps)));
    for (const std::uint64_t h : totals.value_hashes) result.fingerprint = mix64(result.fingerprint ^ h);
    result.read_seconds = from_ns(totals.read_ns);
    result.detect_seconds = from_ns(totals.detect_ns);
    result.evaluate_seconds = from_ns(totals.evaluate_ns);
    result.write_seconds = from_ns(totals.write_ns);
    result.detect_cpu_seconds = from_ns(totals.detect_cpu_ns);
    result.evaluate_cpu_seconds = from_ns(totals.evaluate_cpu_ns);
    result.wall_seconds = from_ns(totals.wall_ns);
  }
  result.report = total.report();
  progress.finish();
  return result;
}

// The random baseline's series: all of them, or past `limit` series a deterministic sample of chunks of
// `chunk` consecutive series (those with the smallest hash of (dataset seed, chunk index)), so its cost stops
// growing with the dataset while its flag rate still comes from every series of the main pass. Chunks keep the
// reads contiguous; the hash keeps the sample spread over the population and independent of threads and blocks.
struct BaselineSample {
  std::vector<SeriesRange> ranges;  // empty = all series
  std::int64_t series = 0;
  nlohmann::json json;              // summary.json's baseline_random.sample (null = all series)
};

BaselineSample baseline_sample(const DatasetInfo& info, std::int64_t limit, std::int64_t chunk) {
  BaselineSample sample;
  sample.series = info.series_count;
  if (limit <= 0 || info.series_count <= limit) return sample;
  const std::int64_t chunks = (info.series_count + chunk - 1) / chunk;
  const std::int64_t wanted = std::min(chunks, (limit + chunk - 1) / chunk);
  const std::uint64_t key = mix64(info.seed ^ 0x72616E646F6D5F62ULL);  // "random_b"
  std::vector<std::pair<std::uint64_t, std::int64_t>> order;
  order.reserve(static_cast<std::size_t>(chunks));
  for (std::int64_t c = 0; c < chunks; ++c) order.emplace_back(mix64(key ^ static_cast<std::uint64_t>(c)), c);
  std::partial_sort(order.begin(), order.begin() + wanted, order.end());
  std::vector<std::int64_t> chosen;
  for (std::int64_t i = 0; i < wanted; ++i) chosen.push_back(order[static_cast<std::size_t>(i)].second);
  std::sort(chosen.begin(), chosen.end());
  sample.series = 0;
  for (const std::int64_t c : chosen) {
    const std::int64_t first = c * chunk, count = std::min(chunk, info.series_count - first);
    if (!sample.ranges.empty() && sample.ranges.back().first + sample.ranges.back().count == first) {
      sample.ranges.back().count += count;
    } else {
      sample.ranges.push_back({first, count});
    }
    sample.series += count;
  }
  sample.json = {{"chunk_series", chunk},
                 {"chunks", wanted},
                 {"of_chunks", chunks},
                 {"rule", "chunks of consecutive series with the smallest mix64(mix64(seed ^ 0x72616E646F6D5F62) ^ chunk index)"}};
  return sample;
}

nlohmann::json status_json(const std::array<std::int64_t, kFitStatusCount>& counts) {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t s = 0; s < kFitStatusCount; ++s) j[std::string(to_string(static_cast<FitStatus>(s)))] = counts[s];
  return j;
}

}  // namespace

nlohmann::json run_backtest(const BacktestOptions& options) {
  const auto start = Clock::now();
  detail::validate_pass_options(options.weeks, options.block_series, options.impact_filter_usd);
  if (options.random_baseline_series < 0)
    throw std::invalid_argument(fmt::format("--baseline-series must be >= 0, got {}", options.random_baseline_series));
  if (options.random_baseline_chunk < 1)
    throw std::invalid_argument(fmt::format("random_baseline_chunk must be >= 1, got {}", options.random_baseline_chunk));
  BacktestScaleOut* const scale_out = options.scale_out;
  const bool writer = scale_out == nullptr || scale_out->writer();  // only the writer touches the run directory
  std::optional<StagedOutput> staged;
  if (writer) staged.emplace(options.out_dir, options.overwrite, OutputKind::directory, std::vector{options.data});
  const std::filesystem::path temp = writer ? staged->temp_path() : std::filesystem::path();
  DatasetReader reader(options.data);
  const DatasetInfo& info = reader.info();
  const TimeGrid& grid = info.grid;
  const std::unique_ptr<Detector> detector = make_detector(options.model, options.settings, grid);

  const detail::ScoredWindow window = detail::scored_window(options.schedule, options.weeks, grid);
  const std::int64_t first_scored = window.first_scored;
  const EvaluationConfig config =
      detail::evaluation_config(*detector, grid, window, options.delay_tolerance_days, options.impact_filter_usd);
  if (!info.has_labels) spdlog::warn("backtest: {} has no labels: alerts and throughput are reported, accuracy metrics are skipped", options.data.string());

  if (writer) std::filesystem::create_directories(temp);
  const int threads = detail::active_threads();
  spdlog::info("backtest: {} on {} ({} series x {} steps), {} schedule, {} threads -> {}", options.model, options.data.string(),
               info.series_count, grid.steps, to_string(options.schedule), threads, options.out_dir.string());

  nlohmann::json model_json = {{"name", options.model}, {"parameters", nlohmann::json::object()}, {"flag_threshold", config.z}};
  for (const auto& [key, value] : detector->parameters()) model_json["parameters"][key] = value;
  if (scale_out != nullptr) {
    const nlohmann::json run_key = {model_json, to_string(options.schedule), first_scored, config.delay_tolerance_steps,
                                    config.impact_filter_usd, options.write_alerts, info.series_count, grid.steps,
                                    info.seed, fmt::format("{:016x}", std::hash<std::string>{}(info.scenario))};
    scale_out->plan(reader, options.out_dir, run_key.dump(), options.save_bands);
  }
  // Several processes: each writes its alert rows to its part; the writer joins them after the pass.
  const std::filesystem::path alerts_path = scale_out != nullptr ? scale_out->alerts_part() : temp / "alerts.csv";
  OutputFile alerts_csv;
  if (options.write_alerts) {
    // A part kept for --resume is opened for appending nothing: the pass is skipped when it verifies.
    alerts_csv.open(alerts_path, scale_out != nullptr);
    if (scale_out == nullptr) alerts_csv << "customer,meter,start,end,observed,expected,lower,upper,max_score,impact_usd,raised_at,true_event\n";
  }
  std::unique_ptr<BandsWriter> bands;
  if (options.save_bands && scale_out != nullptr)  // this process's series, merged by the writer after the pass
    bands = std::make_unique<BandsWriter>(scale_out->bands_part(), info, options.data.string(), model_json.dump(), scale_out->range().first,
                                          scale_out->range().count);
  else if (options.save_bands)
    bands = std::make_unique<BandsWriter>(temp / "bands.h5", info, options.data.string(), model_json.dump());

  const PassResult main =
      run_pass(reader, *detector, options.block_series, config, window,
               {options.write_alerts ? &alerts_csv : nullptr, bands.get(), true, nullptr, scale_out, true}, "backtest");
  if (bands) bands->finish();
  if (bands && scale_out != nullptr && writer) scale_out->merge_bands(temp / "bands.h5", info, options.data.string(), model_json.dump());
  if (options.write_alerts) {
    alerts_csv.close();
    if (scale_out != nullptr && writer) {
      OutputFile joined(temp / "alerts.csv");
      joined << "customer,meter,start,end,observed,expected,lower,upper,max_score,impact_usd,raised_at,true_event\n";
      scale_out->append_alert_parts(joined);
      joined.close();
    }
  }

  const std::int64_t points = info.series_count * (grid.steps - first_scored);
  nlohmann::json summary;
  summary["schema_version"] = 1;
  summary["dataset"] = {{"path", std::filesystem::absolute(options.data).lexically_normal().string()},  // the report finds it from any directory
                        {"fingerprint", fmt::format("{:016x}", main.fingerprint)},
                        {"series", info.series_count},
                        {"steps", grid.steps},
                        {"start", format_utc_timestamp(grid.start_unix_seconds)},
                        {"step", format_step(grid.step_seconds)},
                        {"seed", info.seed},
                        {"source", info.source},
                        {"has_labels", info.has_labels},
                        {"format_version", info.format_version}};
  summary["model"] = model_json;
  summary["schedule"] = {{"name", to_string(options.schedule)},
                         {"scored_from", format_utc_timestamp(grid.time_at(first_scored))},
                         {"weeks", options.schedule == Schedule::weekly ? nlohmann::json(options.weeks) : nlohmann::json(nullptr)}};
  summary["evaluation"] = {{"z", config.z}, {"delay_tolerance_days", options.delay_tolerance_days}, {"impact_filter_usd", options.impact_filter_usd}};
  summary["fit_status"] = status_json(main.status_counts);
  summary["alerts"] = main.alerts;
  summary["metrics"] = info.has_labels ? main.report.to_json() : nlohmann::json(nullptr);

  if (options.random_baseline && info.has_labels) {
    const double flag_rate = main.report.flag_rate();
    const std::vector<std::string> random_settings = {fmt::format("flag_rate={:.9g}", std::clamp(flag_rate, 1e-9, 1.0)),
                                                      fmt::format("seed={}", info.seed % (std::uint64_t{1} << 53))};
    // Band-less: the baseline's band is never read (no alerts, no bands from this pass).
    const std::unique_ptr<Detector> random = make_bandless_random_detector(random_settings, grid);
    EvaluationConfig random_config = config;
    random_config.z = random->flag_threshold();
    random_config.sweep_thresholds = false;  // compared at the model's flag rate only; AUC-PR comes from the histograms
    const BaselineSample sample = baseline_sample(info, options.random_baseline_series, options.random_baseline_chunk);
    const PassResult baseline =
        run_pass(reader, *random, options.block_series, random_config, {first_scored, 0}, {.scale_out = scale_out}, "random baseline",
                 sample.ranges);
    summary["baseline_random"] = {{"flag_rate", flag_rate},
                                  {"series", sample.series},
                                  {"sample", sample.json},
                                  {"metrics", baseline.report.to_json()},
                                  {"wall_seconds", baseline.wall_seconds},
                                  {"cpu_seconds", baseline.detect_cpu_seconds + baseline.evaluate_cpu_seconds}};
  }

  const double wall = main.wall_seconds;
  summary["throughput"] = {{"series_per_second", static_cast<double>(info.series_count) / wall},
                           {"points_per_second", static_cast<double>(points) / wall},
                           {"wall_seconds", wall},
                           {"stage_seconds",
                            {{"read", main.read_seconds}, {"fit_and_score", main.detect_seconds}, {"evaluate", main.evaluate_seconds}, {"write", main.write_seconds}}},
                           {"stage_cpu_seconds", {{"fit_and_score", main.detect_cpu_seconds}, {"evaluate", main.evaluate_cpu_seconds}}},
                           {"stage_seconds_note", "read and write are serial wall time; fit_and_score and evaluate are summed over threads (stage_cpu_seconds: their thread CPU time)"}};
  summary["peak_rss_bytes"] = peak_rss_bytes();
  summary["context"] = to_json(current_run_context(threads));
  summary["total_wall_seconds"] = seconds_since(start);

  if (scale_out != nullptr) scale_out->record_processes(summary);  // collective: the largest peak RSS, and each rank's
  if (!writer) return summary;
  if (info.has_labels) {
    OutputFile per_kind(temp / "per_kind.csv");
    write_per_kind_csv(main.report, per_kind);
    per_kind.close();
    OutputFile buckets(temp / "per_size_bucket.csv");
    write_per_size_bucket_csv(main.report, buckets);
    buckets.close();
    OutputFile curve(temp / "pr_curve.csv");
    write_pr_curve_csv(main.report, curve);
    curve.close();
  }
  OutputFile summary_json(temp / "summary.json");
  summary_json << summary.dump(2) << '\n';
  summary_json.close();
  staged->commit();
  if (scale_out != nullptr) scale_out->remove_parts();
  return summary;
}

DetectSummary run_detect(const DetectOptions& options) {
  if (options.last_days < 0) throw std::invalid_argument(fmt::format("--last must be >= 0 days, got {}", options.last_days));
  detail::validate_pass_options(1, options.block_series, options.min_impact_usd);  // detect has no --weeks
  BacktestScaleOut* const scale_out = options.scale_out;
  std::optional<StagedOutput> output;
  if (scale_out == nullptr || scale_out->writer()) output.emplace(options.out, options.overwrite, OutputKind::file, std::vector{options.data});
  DatasetReader reader(options.data);
  const DatasetInfo& info = reader.info();
  const TimeGrid& grid = info.grid;
  const std::unique_ptr<Detector> detector = make_detector(options.model, options.settings, grid);
  EvaluationConfig config;
  config.z = detector->flag_threshold();
  config.steps_per_week = 7 * std::max<std::int64_t>(1, grid.steps_per_day());
  if (scale_out != nullptr) scale_out->plan(reader, options.out, "detect");

  FlagCollector flags;
  flags.min_impact_usd = options.min_impact_usd;
  if (options.last_days > 0)
    flags.first_step = grid.steps - options.last_days * kSecondsPerDay / grid.step_seconds;
  const PassResult pass =
      run_pass(reader, *detector, options.block_series, config, {}, {.evaluate = false, .flags = &flags, .scale_out = scale_out}, "detect");
  if (scale_out != nullptr) {
    scale_out->gather_flags(flags);  // every rank's flags, on the writer
    if (!scale_out->writer()) return {};
    scale_out->remove_parts();
  }

  // Largest known impact first; rows without a price after them, by score; ties in series and step order.
  std::sort(flags.rows.begin(), flags.rows.end(), [](const FlaggedStep& a, const FlaggedStep& b) {
    const bool ka = std::isfinite(a.impact_usd), kb = std::isfinite(b.impact_usd);
    if (ka != kb) return ka;
    if (ka && a.impact_usd != b.impact_usd) return a.impact_usd > b.impact_usd;
    if (!ka && a.score != b.score) return a.score > b.score;
    return std::tie(a.series_index, a.step) < std::tie(b.series_index, b.step);
  });
  DetectSummary summary;
  {
    OutputFile out(output->temp_path());
    out << "customer,meter,date,observed,expected,lower,upper,score,impact_usd\n";
    std::string row;
    for (const FlaggedStep& f : flags.rows) {
      const SeriesRecord& s = flags.series.at(f.series_index);
      row.clear();
      append_csv_text(row, s.customer());
      row += ',';
      append_csv_text(row, s.meter());
      row += ',';
      row += format_utc_timestamp(grid.time_at(f.step));
      for (const double v : {static_cast<double>(f.observed), static_cast<double>(f.expected), static_cast<double>(f.lower),
                             static_cast<double>(f.upper), static_cast<double>(f.score), f.impact_usd}) {
        row += ',';
        append_g6(row, v);
      }
      row += '\n';
      out << row;
      summary.rows_without_price += !std::isfinite(f.impact_usd);
    }
    out.close();
  }
  output->commit();
  summary.series = info.series_count;
  summary.rows = static_cast<std::int64_t>(flags.rows.size());
  summary.fit_status = status_json(pass.status_counts);
  summary.wall_seconds = pass.wall_seconds;
  return summary;
}

}  // namespace meterbench
