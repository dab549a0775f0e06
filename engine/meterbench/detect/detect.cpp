#include "meterbench/detect/detect.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/io/alert_csv.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/pass/streaming_pass.hpp"

namespace meterbench {

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

struct DetectThreadState {
  std::unique_ptr<DetectorWorkspace> workspace;
  std::array<std::int64_t, kFitStatusCount> status_counts{};
};

struct DetectBlockState {
  BlockOutputs outputs;
  std::vector<FitStatus> status;
  std::vector<FlaggedStep> flags;
};

// Each thread keeps its blocks' flagged steps; the serial stage moves them into the collector in series order.
class DetectWork final : public BlockWork<DetectThreadState, DetectBlockState> {
 public:
  DetectWork(const Detector& detector, FlagCollector& flags) : detector_(detector), flags_(flags) {}
  [[nodiscard]] DetectThreadState make_thread_state() const override { return {detector_.make_workspace(), {}}; }
  void process(const SeriesBlock& b, DetectBlockState& block, ThreadSlots<DetectThreadState>& threads, BlockHashes& hashes) const override {
    ThreadSlot<DetectThreadState>& slot = threads.local();
    block.flags.clear();
    detect_and_visit(detector_, *slot.state.workspace, b, {}, false, false, block.outputs, block.status, slot.times,
                     [&](std::int64_t i, const DetectionOutput& out) {
                       ++slot.state.status_counts[static_cast<std::size_t>(block.status[static_cast<std::size_t>(i)])];
                       flags_.collect(b, i, out, detector_.flag_threshold(), block.flags);
                       hashes.hash(b, i);
                     });
  }
  void write(const SeriesBlock& b, DetectBlockState& block) override {
    for (const FlaggedStep& f : block.flags)
      flags_.series.try_emplace(f.series_index, b.series[static_cast<std::size_t>(static_cast<std::int64_t>(f.series_index) - b.first_series)]);
    flags_.rows.insert(flags_.rows.end(), block.flags.begin(), block.flags.end());
  }

 private:
  const Detector& detector_;
  FlagCollector& flags_;
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

// Collective: moves every process's flagged steps and their series records to the writer, in rank order;
// other processes' collectors are left empty. Plain records: the rows, then (index, record) per flagged series.
void gather_flags(const ScaleOut& scale_out, FlagCollector& flags) {
  std::string bytes;
  const auto rows = static_cast<std::uint64_t>(flags.rows.size());
  bytes.append(reinterpret_cast<const char*>(&rows), sizeof(rows));
  bytes.append(reinterpret_cast<const char*>(flags.rows.data()), flags.rows.size() * sizeof(FlaggedStep));
  for (const auto& [index, record] : flags.series) {
    bytes.append(reinterpret_cast<const char*>(&index), sizeof(index));
    bytes.append(reinterpret_cast<const char*>(&record), sizeof(record));
  }
  const std::vector<std::string> all = scale_out.group().gather(bytes, 0);
  flags.rows.clear();
  flags.series.clear();
  for (const std::string& part : all) {
    std::uint64_t n = 0;
    std::memcpy(&n, part.data(), sizeof(n));
    std::size_t at = sizeof(n);
    const std::size_t first = flags.rows.size();
    flags.rows.resize(first + n);
    std::memcpy(static_cast<void*>(flags.rows.data() + first), part.data() + at, n * sizeof(FlaggedStep));
    at += n * sizeof(FlaggedStep);
    for (; at + sizeof(std::uint64_t) + sizeof(SeriesRecord) <= part.size(); at += sizeof(std::uint64_t) + sizeof(SeriesRecord)) {
      std::uint64_t index = 0;
      SeriesRecord record;
      std::memcpy(&index, part.data() + at, sizeof(index));
      std::memcpy(static_cast<void*>(&record), part.data() + at + sizeof(index), sizeof(record));
      flags.series.emplace(index, record);
    }
  }
}

// Largest known impact first; rows without a price after them, by score; ties in series and step order.
void sort_by_impact(std::vector<FlaggedStep>& rows) {
  std::sort(rows.begin(), rows.end(), [](const FlaggedStep& a, const FlaggedStep& b) {
    const bool ka = std::isfinite(a.impact_usd), kb = std::isfinite(b.impact_usd);
    if (ka != kb) return ka;
    if (ka && a.impact_usd != b.impact_usd) return a.impact_usd > b.impact_usd;
    if (!ka && a.score != b.score) return a.score > b.score;
    return std::tie(a.series_index, a.step) < std::tie(b.series_index, b.step);
  });
}

// Writes the rows to `path`; returns how many have no price.
std::int64_t write_flag_rows(const std::filesystem::path& path, const FlagCollector& flags, const TimeGrid& grid) {
  std::int64_t without_price = 0;
  OutputFile out(path);
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
    without_price += !std::isfinite(f.impact_usd);
  }
  out.close();
  return without_price;
}

}  // namespace

DetectSummary run_detect(const DetectOptions& options, ScaleOut* scale_out) {
  if (options.last_days < 0) throw std::invalid_argument(fmt::format("--last must be >= 0 days, got {}", options.last_days));
  validate_pass_options(1, options.block_series, options.min_impact_usd);  // detect has no --weeks
  std::optional<StagedOutput> output;
  if (scale_out == nullptr || scale_out->writer()) output.emplace(options.out, options.overwrite, OutputKind::file, std::vector{options.data});
  DatasetReader reader(options.data);
  const DatasetInfo& info = reader.info();
  const TimeGrid& grid = info.grid;
  const std::unique_ptr<Detector> detector = make_detector(options.model, options.settings, grid);
  if (scale_out != nullptr) scale_out->partition(reader, options.out, "detect", false);

  FlagCollector flags;
  flags.min_impact_usd = options.min_impact_usd;
  if (options.last_days > 0) flags.first_step = grid.steps - options.last_days * kSecondsPerDay / grid.step_seconds;
  DetectWork work(*detector, flags);
  FitStatusReducer reducer;
  const PassResult pass =
      run_streaming_pass(reader, {.block_series = options.block_series, .label = "detect", .scale_out = scale_out}, work, reducer);
  if (scale_out != nullptr) {
    gather_flags(*scale_out, flags);  // every rank's flags, on the writer
    if (!scale_out->writer()) return {};
  }
  sort_by_impact(flags.rows);
  DetectSummary summary;
  summary.rows_without_price = write_flag_rows(output->temp_path(), flags, grid);
  output->commit();
  summary.series = info.series_count;
  summary.rows = static_cast<std::int64_t>(flags.rows.size());
  summary.fit_status = fit_status_json(reducer.counts);
  summary.wall_seconds = pass.timing.wall_seconds;
  return summary;
}

}  // namespace meterbench
