#include "meterbench/detect/detect.hpp"
#include "meterbench/feedback/verdict_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "meterbench/detect/incident_output.hpp"
#include "meterbench/detect/rollup.hpp"
#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/pass/streaming_pass.hpp"

namespace meterbench {

ScoredSeries scored_series(const SeriesBlock& block, std::int64_t i, const DetectionOutput& out, std::int64_t score_begin) {
  return {.series_index = static_cast<std::uint64_t>(block.first_series + i),
          .observed = block.row(i),
          .expected = out.expected,
          .score = out.score,
          .rule_kind = out.kind,
          .price = block.series[static_cast<std::size_t>(i)].price_per_unit,
          .score_begin = score_begin};
}

void IncidentCollector::collect(const SeriesBlock& block, std::int64_t i, const DetectionOutput& out, std::vector<Incident>& into) const {
  find_incidents(scored_series(block, i, out, score_begin), filter, into);
}

namespace {

struct DetectThreadState {
  std::unique_ptr<DetectorWorkspace> workspace;
  std::array<std::int64_t, kFitStatusCount> status_counts{};
};

struct DetectBlockState {
  BlockOutputs outputs;
  std::vector<FitStatus> status;
  std::vector<Incident> incidents;
};

// Each thread keeps its blocks' incidents; the serial stage moves them into the collector in series order.
class DetectWork final : public BlockWork<DetectThreadState, DetectBlockState> {
 public:
  DetectWork(const Detector& detector, ScoredWindow window, IncidentCollector& incidents)
      : detector_(detector), window_(window), incidents_(incidents) {}
  [[nodiscard]] DetectThreadState make_thread_state() const override { return {detector_.make_workspace(), {}}; }
  void process(const SeriesBlock& b, DetectBlockState& block, ThreadSlots<DetectThreadState>& threads, BlockHashes& hashes) const override {
    ThreadSlot<DetectThreadState>& slot = threads.local();
    block.incidents.clear();
    block.outputs.keep_kinds = true;  // a rule alert's kind names its incident
    detect_and_visit(detector_, *slot.state.workspace, b, window_, false, false, block.outputs, block.status, slot.times,
                     [&](std::int64_t i, const DetectionOutput& out) {
                       ++slot.state.status_counts[static_cast<std::size_t>(block.status[static_cast<std::size_t>(i)])];
                       incidents_.collect(b, i, out, block.incidents);
                       hashes.hash(b, i);
                     });
  }
  void write(const SeriesBlock& b, DetectBlockState& block) override {
    for (const Incident& f : block.incidents)
      incidents_.series.try_emplace(f.series_index, b.series[static_cast<std::size_t>(static_cast<std::int64_t>(f.series_index) - b.first_series)]);
    incidents_.rows.insert(incidents_.rows.end(), block.incidents.begin(), block.incidents.end());
  }

 private:
  const Detector& detector_;
  ScoredWindow window_;
  IncidentCollector& incidents_;
};

class FitStatusReducer final : public PassReducer<DetectThreadState> {
 public:
  void merge(const DetectThreadState& state) override {
    for (std::size_t s = 0; s < kFitStatusCount; ++s) counts[s] += state.status_counts[s];
  }
  [[nodiscard]] std::vector<std::int64_t> to_integers() const override { return {counts.begin(), counts.end()}; }
  void from_integers(std::span<const std::int64_t> integers) override { std::copy(integers.begin(), integers.end(), counts.begin()); }
  std::array<std::int64_t, kFitStatusCount> counts{};
};

// Collective: moves every process's incidents and their series records to the writer, in rank order;
// other processes' collectors are left empty. Plain records: the rows, then (index, record) per series with an incident.
void gather_incidents(const ScaleOut& scale_out, IncidentCollector& incidents) {
  std::string bytes;
  const auto rows = static_cast<std::uint64_t>(incidents.rows.size());
  bytes.append(reinterpret_cast<const char*>(&rows), sizeof(rows));
  bytes.append(reinterpret_cast<const char*>(incidents.rows.data()), incidents.rows.size() * sizeof(Incident));
  for (const auto& [index, record] : incidents.series) {
    bytes.append(reinterpret_cast<const char*>(&index), sizeof(index));
    bytes.append(reinterpret_cast<const char*>(&record), sizeof(record));
  }
  const std::vector<std::string> all = scale_out.group().gather(bytes, 0);
  incidents.rows.clear();
  incidents.series.clear();
  for (const std::string& part : all) {
    std::uint64_t n = 0;
    std::memcpy(&n, part.data(), sizeof(n));
    std::size_t at = sizeof(n);
    const std::size_t first = incidents.rows.size();
    incidents.rows.resize(first + n);
    std::memcpy(static_cast<void*>(incidents.rows.data() + first), part.data() + at, n * sizeof(Incident));
    at += n * sizeof(Incident);
    for (; at + sizeof(std::uint64_t) + sizeof(SeriesRecord) <= part.size(); at += sizeof(std::uint64_t) + sizeof(SeriesRecord)) {
      std::uint64_t index = 0;
      SeriesRecord record;
      std::memcpy(&index, part.data() + at, sizeof(index));
      std::memcpy(static_cast<void*>(&record), part.data() + at + sizeof(index), sizeof(record));
      incidents.series.emplace(index, record);
    }
  }
}

IncidentProvenance provenance_of(const DetectOptions& options, const DatasetInfo& info, const Detector& detector) {
  IncidentProvenance p;
  p.dataset = {{"path", options.data.string()},
               {"by", options.by.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.by)},
               {"scored_from", format_utc_timestamp(info.grid.time_at(since_window(options.since, info.grid).first_scored))},
               {"series", info.series_count},
               {"steps", info.grid.steps},
               {"start", format_utc_timestamp(info.grid.start_unix_seconds)},
               {"step", format_step(info.grid.step_seconds)}};
  p.model = options.model;
  p.parameters = nlohmann::json::object();
  for (const auto& [name, value] : detector.parameters()) p.parameters[name] = value;
  return p;
}

// Standard output is written in place (there is nothing to stage); a file is staged and then committed.
std::int64_t write_output(IncidentFormat format, std::optional<StagedOutput>& staged,
                          const IncidentCollector& incidents, const TimeGrid& grid, const IncidentProvenance& provenance) {
  if (!staged) {
    const std::int64_t without_price = write_incidents(std::cout, format, incidents, grid, provenance);
    std::cout.flush();
    if (!std::cout) throw OutputError("cannot write the incidents to standard output");
    return without_price;
  }
  OutputFile out(staged->temp_path());
  const std::int64_t without_price = write_incidents(out, format, incidents, grid, provenance);
  out.close();
  staged->commit();
  return without_price;
}

}  // namespace

ScoredWindow since_window(const std::string& since, const TimeGrid& grid) {
  if (since.empty()) return {};
  std::int64_t t = 0;
  try {
    t = parse_utc_timestamp(since);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("--since '{}': {}", since, e.what()));
  }
  const std::int64_t offset = t - grid.start_unix_seconds;
  const std::int64_t step = offset / grid.step_seconds;
  if (offset % grid.step_seconds != 0 || step < 1 || step >= grid.steps)
    throw std::invalid_argument(fmt::format("--since '{}' is not a step of the dataset's grid after its first: steps of {} from {} to {}", since,
                                            format_step(grid.step_seconds), format_utc_timestamp(grid.time_at(0)),
                                            format_utc_timestamp(grid.time_at(grid.steps - 1))));
  return {.first_scored = step, .period = grid.steps - step, .independent_fits = true};
}

DetectSummary run_detect(const DetectOptions& options, ScaleOut* scale_out) {
  if (options.last_days < 0) throw std::invalid_argument(fmt::format("--last must be >= 0 days, got {}", options.last_days));
  validate_pass_options(1, options.block_series, options.min_impact_usd);  // detect has no --weeks
  const IncidentFormat format = resolve_incident_format(options.format, options.out);
  const bool to_stdout = options.out == kStandardOutput;
  if (to_stdout && scale_out != nullptr) throw std::invalid_argument("--out - (standard output) is for one process; under mpirun give a file");
  if (!options.by.empty() && scale_out != nullptr) throw std::invalid_argument("--by is for one process; run it without mpirun");
  std::optional<StagedOutput> output;
  if (!to_stdout && (scale_out == nullptr || scale_out->writer())) output.emplace(options.out, options.overwrite, OutputKind::file, std::vector{options.data});
  std::optional<RolledUpDataset> rolled;
  if (!options.by.empty()) rolled.emplace(options.data, options.by, to_stdout ? std::filesystem::path() : options.out);
  DatasetReader reader(rolled ? rolled->path() : options.data);
  const DatasetInfo& info = reader.info();
  const TimeGrid& grid = info.grid;
  const std::unique_ptr<Detector> detector = make_detector(options.model, options.settings, grid);
  if (scale_out != nullptr) scale_out->partition(reader, options.out, "detect", false);
  // Read before the pass: a bad verdicts file stops the run before its work.
  const std::optional<FeedbackLog> feedback =
      options.feedback.empty() ? std::nullopt : std::optional<FeedbackLog>(read_feedback_logged(options.feedback, "detect"));

  const ScoredWindow window = since_window(options.since, grid);
  IncidentCollector incidents;
  incidents.filter = {.z = detector->flag_threshold(), .min_abs_impact = options.min_impact_usd};
  incidents.score_begin = window.first_scored;
  if (options.last_days > 0) incidents.filter.first_end_step = grid.steps - options.last_days * kSecondsPerDay / grid.step_seconds;
  DetectWork work(*detector, window, incidents);
  FitStatusReducer reducer;
  const PassResult pass =
      run_streaming_pass(reader, {.block_series = options.block_series, .label = "detect", .scale_out = scale_out}, work, reducer);
  if (scale_out != nullptr) {
    gather_incidents(*scale_out, incidents);  // every rank's incidents, on the writer
    if (!scale_out->writer()) return {};
  }
  if (feedback) drop_reviewed_false_alerts(incidents.rows, incidents.series, *feedback, grid);
  sort_by_impact(incidents.rows);
  DetectSummary summary;
  summary.incidents_without_price = write_output(format, output, incidents, grid, provenance_of(options, info, *detector));
  summary.series = info.series_count;
  summary.incidents = static_cast<std::int64_t>(incidents.rows.size());
  summary.fit_status = fit_status_json(reducer.counts);
  summary.wall_seconds = pass.timing.wall_seconds;
  return summary;
}

}  // namespace meterbench
