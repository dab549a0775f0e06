#include "meterbench/backtest/backtest.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "meterbench/backtest/backtest_pass.hpp"
#include "meterbench/detect/incident_output.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/dataset_fingerprint.hpp"
#include "meterbench/io/output_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/model/random_detector.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }


void validate(const BacktestOptions& options) {
  validate_pass_options(options.weeks, options.block_series, options.impact_filter_usd);
  if (options.random_baseline_series < 0)
    throw std::invalid_argument(fmt::format("--baseline-series must be >= 0, got {}", options.random_baseline_series));
  if (options.random_baseline_chunk < 1)
    throw std::invalid_argument(fmt::format("random_baseline_chunk must be >= 1, got {}", options.random_baseline_chunk));
}

nlohmann::json model_json(const BacktestModel& model) {
  nlohmann::json j = {{"name", model.name}, {"parameters", nlohmann::json::object()}, {"flag_threshold", model.flag_threshold}};
  for (const auto& [key, value] : model.parameters) j["parameters"][key] = value;
  return j;
}

// The main pass's alerts.csv and bands.h5: in the staged run directory, or with several processes in this
// process's parts, which the writer joins after the pass. The pass writes the alert rows with their sort keys
// in series order; finish() writes them sorted by impact into alerts.csv.
class MainPassFiles {
 public:
  MainPassFiles(const BacktestOptions& options, const DatasetInfo& info, BacktestScaleOut* scale_out, const std::filesystem::path& temp,
                const std::string& model_text)
      : options_(options), info_(info), scale_out_(scale_out), temp_(temp), model_text_(model_text),
        alerts_path_(scale_out != nullptr ? scale_out->alerts_part() : temp / "alerts.keyed") {
    if (options.write_alerts) {
      // A part kept for --resume is opened for appending nothing: the pass is skipped when it verifies.
      alerts_csv_.open(alerts_path_, scale_out != nullptr);
    }
    if (options.save_bands && scale_out != nullptr)  // this process's series, merged by the writer after the pass
      bands_ = std::make_unique<BandsWriter>(scale_out->bands_part(), info, options.data.string(), model_text, scale_out->range().first,
                                             scale_out->range().count);
    else if (options.save_bands)
      bands_ = std::make_unique<BandsWriter>(temp / "bands.h5", info, options.data.string(), model_text);
  }
  [[nodiscard]] BacktestOutputs outputs() { return {options_.write_alerts ? &alerts_csv_ : nullptr, bands_.get()}; }

  // Closes the files; the writer joins the processes' parts into the run directory.
  void finish() {
    const bool join = scale_out_ != nullptr && scale_out_->writer();
    if (bands_) bands_->finish();
    if (bands_ && join) scale_out_->merge_bands(temp_ / "bands.h5", info_, options_.data.string(), model_text_);
    if (!options_.write_alerts) return;
    alerts_csv_.close();
    if (scale_out_ != nullptr && !join) return;
    OutputFile sorted(temp_ / "alerts.csv");
    // detect's incident columns, then when the weekly run raises the incident and whether it is a true event.
    sorted << incident_csv_header(info_.dimensions) << ",raised_at,true_event\n";
    write_keyed_rows_in_order(join ? scale_out_->alert_parts() : std::vector{alerts_path_}, sorted);
    sorted.close();
    if (!join) std::filesystem::remove(alerts_path_);
  }

 private:
  const BacktestOptions& options_;
  const DatasetInfo& info_;
  BacktestScaleOut* scale_out_;
  std::filesystem::path temp_;
  std::string model_text_;
  std::filesystem::path alerts_path_;
  OutputFile alerts_csv_;
  std::unique_ptr<BandsWriter> bands_;
};

// The random baseline's series: all of them, or past `limit` series a deterministic sample of chunks of
// `chunk` consecutive series (those with the smallest hash of (dataset seed, chunk index)), so its cost stops
// growing with the dataset while its flag rate still comes from every series of the main pass. Chunks keep the
// reads contiguous; the hash keeps the sample spread over the population and independent of threads and blocks.
struct BaselineSample {
  std::vector<SeriesRange> ranges;  // empty = all series
  std::int64_t series = 0;
  std::optional<BaselineSampleRule> rule;
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
  sample.rule = BaselineSampleRule{chunk, wanted, chunks};
  return sample;
}

// `random` at the model's flag rate, evaluated like the model (on the scheduled weeks of a weekly run).
BacktestBaseline run_random_baseline(DatasetReader& reader, const BacktestOptions& options, const EvaluationConfig& config,
                                     std::int64_t first_scored, double flag_rate, BacktestScaleOut* scale_out) {
  const DatasetInfo& info = reader.info();
  const std::vector<std::string> random_settings = {fmt::format("flag_rate={:.9g}", std::clamp(flag_rate, 1e-9, 1.0)),
                                                    fmt::format("seed={}", info.seed % (std::uint64_t{1} << 53))};
  // Band-less: the baseline's band is never read (no alerts, no bands from this pass).
  const std::unique_ptr<Detector> random = make_bandless_random_detector(random_settings, info.grid);
  EvaluationConfig random_config = config;
  random_config.z = random->flag_threshold();
  random_config.sweep_thresholds = false;  // compared at the model's flag rate only; AUC-PR comes from the histograms
  const BaselineSample sample = baseline_sample(info, options.random_baseline_series, options.random_baseline_chunk);
  const BacktestPassResult baseline = run_backtest_pass(reader, *random, random_config, {first_scored, 0}, {},
                                                        {.ranges = sample.ranges, .block_series = options.block_series,
                                                         .label = "random baseline", .scale_out = scale_out});
  const WorkTimes& work = baseline.pass.timing.work;
  return {flag_rate, sample.series, sample.rule, baseline.report, baseline.pass.timing.wall_seconds,
          work.detect_cpu_seconds + work.evaluate_cpu_seconds};
}

BacktestDataset dataset_of(const BacktestOptions& options, const DatasetInfo& info, std::uint64_t fingerprint) {
  return {std::filesystem::absolute(options.data).lexically_normal(), fingerprint, info.series_count, info.grid, info.seed, info.source,
          info.has_labels, info.format_version};
}

BacktestThroughput throughput_of(const DatasetInfo& info, std::int64_t first_scored, const PassTiming& t) {
  return {info.series_count, info.series_count * (info.grid.steps - first_scored), t.wall_seconds, t.read_seconds, t.work.detect_seconds,
          t.work.evaluate_seconds, t.write_seconds, t.work.detect_cpu_seconds, t.work.evaluate_cpu_seconds};
}

void write_run_directory(const std::filesystem::path& temp, const BacktestSummary& summary) {
  if (summary.metrics) {
    OutputFile per_kind(temp / "per_kind.csv");
    write_per_kind_csv(*summary.metrics, per_kind);
    per_kind.close();
    OutputFile buckets(temp / "per_size_bucket.csv");
    write_per_size_bucket_csv(*summary.metrics, buckets);
    buckets.close();
    OutputFile curve(temp / "pr_curve.csv");
    write_pr_curve_csv(*summary.metrics, curve);
    curve.close();
  }
  OutputFile summary_json(temp / "summary.json");
  summary_json << to_json(summary).dump(2) << '\n';
  summary_json.close();
}

}  // namespace

BacktestSummary run_backtest(const BacktestOptions& options, BacktestScaleOut* scale_out) {
  const auto start = Clock::now();
  validate(options);
  const bool writer = scale_out == nullptr || scale_out->writer();  // only the writer touches the run directory
  std::optional<StagedOutput> staged;
  if (writer) staged.emplace(options.out_dir, options.overwrite, OutputKind::directory, std::vector{options.data});
  const std::filesystem::path temp = writer ? staged->temp_path() : std::filesystem::path();
  DatasetReader reader(options.data);
  const DatasetInfo& info = reader.info();
  const TimeGrid& grid = info.grid;
  const std::unique_ptr<Detector> detector = make_detector(options.model, options.settings, grid);
  const ScoredWindow window = scored_window(options.schedule, options.weeks, grid);
  const EvaluationConfig config = evaluation_config(*detector, grid, window, options.delay_tolerance_days, options.impact_filter_usd);
  if (!info.has_labels) spdlog::warn("backtest: {} has no labels: alerts and throughput are reported, accuracy metrics are skipped", options.data.string());
  if (writer) std::filesystem::create_directories(temp);
  spdlog::info("backtest: {} on {} ({} series x {} steps), {} schedule, {} threads -> {}", options.model, options.data.string(),
               info.series_count, grid.steps, to_string(options.schedule), active_threads(), options.out_dir.string());

  BacktestSummary summary;
  summary.model = {options.model, detector->parameters(), config.z};
  const std::string model_text = model_json(summary.model).dump();
  if (scale_out != nullptr) {
    const nlohmann::json run_key = {model_json(summary.model), to_string(options.schedule), window.first_scored, config.delay_tolerance_steps,
                                    config.impact_filter_usd, options.write_alerts, info.series_count, grid.steps,
                                    info.seed, fmt::format("{:016x}", std::hash<std::string>{}(info.scenario))};
    scale_out->plan(reader, options.out_dir, run_key.dump(), options.save_bands);
  }
  MainPassFiles files(options, info, scale_out, temp, model_text);
  const std::optional<VerdictIndex> verdicts = verdict_index(options.feedback, info, "backtest");
  BacktestOutputs outputs = files.outputs();
  outputs.verdicts = verdicts ? &*verdicts : nullptr;
  const BacktestPassResult main = run_backtest_pass(reader, *detector, config, window, outputs,
                                                    {.block_series = options.block_series, .label = "backtest", .scale_out = scale_out,
                                                     .checkpoint = scale_out});
  files.finish();

  summary.dataset = dataset_of(options, info, main.pass.fingerprint);
  summary.schedule = options.schedule;
  summary.scored_from_unix_seconds = grid.time_at(window.first_scored);
  if (is_weekly(options.schedule)) summary.weeks = options.weeks;
  summary.z = config.z;
  summary.delay_tolerance_days = options.delay_tolerance_days;
  summary.impact_filter_usd = options.impact_filter_usd;
  summary.fit_status = main.status_counts;
  summary.alerts = main.alerts;
  if (info.has_labels) summary.metrics = main.report;
  if (main.verdicts) {
    const std::int64_t unmatched = verdicts->file_verdicts() - main.verdicts->counts().matched_file_verdicts;
    summary.reviewed = reviewed_metrics_at_z(*main.verdicts, unmatched, main.report.counts.alerts.total);
    summary.reviewed_sources = verdicts->sources();
    for (const std::string& w : summary.reviewed->warnings) spdlog::warn("backtest: {}", w);
    if (unmatched > 0) spdlog::warn("backtest: {} verdicts of {} name no series of {}", unmatched, options.feedback.string(), options.data.string());
  }
  if (options.random_baseline && info.has_labels)
    summary.baseline_random = run_random_baseline(reader, options, config, window.first_scored, main.report.flag_rate(), scale_out);
  summary.throughput = throughput_of(info, window.first_scored, main.pass.timing);
  summary.peak_rss_bytes = peak_rss_bytes();
  summary.context = current_run_context(active_threads());
  summary.total_wall_seconds = seconds_since(start);
  if (scale_out != nullptr) {  // collective: the largest peak RSS, and each rank's
    summary.processes = scale_out->record_processes();
    summary.peak_rss_bytes = static_cast<std::uint64_t>(summary.processes->largest_peak_rss_bytes());
  }
  if (!writer) return summary;
  write_run_directory(temp, summary);
  staged->commit();
  if (scale_out != nullptr) scale_out->remove_parts();
  return summary;
}

nlohmann::json to_json(const BacktestSummary& s) {
  nlohmann::json j;
  j["schema_version"] = 1;
  j["dataset"] = {{"path", s.dataset.path.string()},
                  {"fingerprint", format_fingerprint(s.dataset.fingerprint)},
                  {"series", s.dataset.series},
                  {"steps", s.dataset.grid.steps},
                  {"start", format_utc_timestamp(s.dataset.grid.start_unix_seconds)},
                  {"step", format_step(s.dataset.grid.step_seconds)},
                  {"seed", s.dataset.seed},
                  {"source", s.dataset.source},
                  {"has_labels", s.dataset.has_labels},
                  {"format_version", s.dataset.format_version}};
  j["model"] = model_json(s.model);
  j["schedule"] = {{"name", to_string(s.schedule)},
                   {"scored_from", format_utc_timestamp(s.scored_from_unix_seconds)},
                   {"weeks", s.weeks ? nlohmann::json(*s.weeks) : nlohmann::json(nullptr)}};
  j["evaluation"] = {{"z", s.z}, {"delay_tolerance_days", s.delay_tolerance_days}, {"impact_filter_usd", s.impact_filter_usd}};
  j["fit_status"] = fit_status_json(s.fit_status);
  j["alerts"] = s.alerts;
  j["metrics"] = s.metrics ? s.metrics->to_json() : nlohmann::json(nullptr);
  if (s.reviewed) j["reviewed"] = to_json(*s.reviewed, s.reviewed_sources);
  if (s.baseline_random) {
    const BacktestBaseline& b = *s.baseline_random;
    nlohmann::json sample = nullptr;
    if (b.sample)
      sample = {{"chunk_series", b.sample->chunk_series},
                {"chunks", b.sample->chunks},
                {"of_chunks", b.sample->of_chunks},
                {"rule", "chunks of consecutive series with the smallest mix64(mix64(seed ^ 0x72616E646F6D5F62) ^ chunk index)"}};
    j["baseline_random"] = {{"flag_rate", b.flag_rate},      {"series", b.series},             {"sample", sample},
                            {"metrics", b.report.to_json()}, {"wall_seconds", b.wall_seconds}, {"cpu_seconds", b.cpu_seconds}};
  }
  const BacktestThroughput& t = s.throughput;
  j["throughput"] = {{"series_per_second", static_cast<double>(t.series) / t.wall_seconds},
                     {"points_per_second", static_cast<double>(t.points) / t.wall_seconds},
                     {"wall_seconds", t.wall_seconds},
                     {"stage_seconds", {{"read", t.read_seconds}, {"fit_and_score", t.fit_and_score_seconds}, {"evaluate", t.evaluate_seconds}, {"write", t.write_seconds}}},
                     {"stage_cpu_seconds", {{"fit_and_score", t.fit_and_score_cpu_seconds}, {"evaluate", t.evaluate_cpu_seconds}}},
                     {"stage_seconds_note", "read and write are serial wall time; fit_and_score and evaluate are summed over threads (stage_cpu_seconds: their thread CPU time)"}};
  j["peak_rss_bytes"] = s.peak_rss_bytes;
  j["context"] = to_json(s.context);
  j["total_wall_seconds"] = s.total_wall_seconds;
  if (s.processes) j["processes"] = to_json(*s.processes);
  return j;
}

}  // namespace meterbench
