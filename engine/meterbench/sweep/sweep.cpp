#include "meterbench/sweep/sweep.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <oneapi/tbb/parallel_for.h>
#include <spdlog/spdlog.h>

#include "meterbench/core/check.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/distributed/scale_out.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/feedback/verdict_metrics.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/dataset_fingerprint.hpp"
#include "meterbench/io/output_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/model/registry.hpp"
#include "meterbench/pass/streaming_pass.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "meterbench/runtime/progress.hpp"
#include "meterbench/runtime/run_context.hpp"

namespace meterbench {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A grid larger than this holds too many accumulators per thread; no sensible sweep needs it.
constexpr std::size_t kMaxPoints = 1000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

GridAxis parse_grid_axis(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) throw std::invalid_argument(fmt::format("--grid '{}': expected key=v1,v2,... (no '=')", text));
  GridAxis axis;
  axis.key = std::string(trim(text.substr(0, eq)));
  if (axis.key.empty()) throw std::invalid_argument(fmt::format("--grid '{}': the parameter name before '=' is empty", text));
  std::string_view rest = text.substr(eq + 1);
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view value = trim(rest.substr(0, comma));
    if (value.empty()) throw std::invalid_argument(fmt::format("--grid '{}': empty value for '{}' (expected key=v1,v2,...)", text, axis.key));
    if (std::find(axis.values.begin(), axis.values.end(), value) != axis.values.end())
      throw std::invalid_argument(fmt::format("--grid '{}': value '{}' of '{}' is repeated", text, value, axis.key));
    axis.values.emplace_back(value);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return axis;
}

std::vector<std::vector<std::string>> expand_grid(const std::vector<GridAxis>& axes) {
  if (axes.empty()) throw std::invalid_argument("a sweep needs at least one --grid key=v1,v2,...");
  std::vector<std::vector<std::string>> points{{}};
  for (const GridAxis& axis : axes) {
    std::vector<std::vector<std::string>> next;
    next.reserve(points.size() * axis.values.size());
    for (const auto& p : points)
      for (const std::string& v : axis.values) {
        next.push_back(p);
        next.back().push_back(axis.key + "=" + v);
      }
    points = std::move(next);
  }
  return points;
}

std::string_view to_string(SweepObjective objective) {
  switch (objective) {
    case SweepObjective::event_f1: return "event_f1";
    case SweepObjective::recall_at_budget: return "recall_at_budget";
    case SweepObjective::dollar_recall_at_budget: return "dollar_recall_at_budget";
    case SweepObjective::reviewed_f1: return "reviewed_f1";
  }
  return "unknown";
}

SweepObjective objective_from_string(std::string_view text) {
  for (const auto o : {SweepObjective::event_f1, SweepObjective::recall_at_budget, SweepObjective::dollar_recall_at_budget, SweepObjective::reviewed_f1})
    if (text == to_string(o)) return o;
  throw std::invalid_argument(fmt::format("unknown objective '{}' (known: event_f1, recall_at_budget, dollar_recall_at_budget, reviewed_f1)", text));
}

SplitHalf split_half(std::string_view customer, std::string_view meter) {
  // FNV-1a over "customer\0meter", finished by mix64: ids that differ in one character land independently.
  std::uint64_t h = 0xCBF29CE484222325ULL;
  const auto add = [&h](std::string_view s) {
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
  };
  add(customer);
  h = (h ^ 0U) * 0x100000001B3ULL;
  add(meter);
  return (mix64(h) >> 63) == 0 ? SplitHalf::tuning : SplitHalf::test;
}

namespace {

// One grid point: its settings, its detector (built once, shared by all threads) and its evaluation config.
struct Point {
  std::vector<std::string> grid_values;  // in --grid order
  std::vector<std::string> settings;     // --set and grid settings together
  std::unique_ptr<Detector> detector;
  EvaluationConfig config;
};

// Per thread: one workspace and two accumulators (tuning, test) per point, one block of detector outputs.
struct SweepThreadState {
  SweepThreadState(const std::vector<Point>& points, const VerdictIndex* verdict_index) {
    for (const Point& p : points) {
      workspaces.push_back(p.detector->make_workspace());
      accumulators.emplace_back(p.config);
      accumulators.emplace_back(p.config);
      if (verdict_index == nullptr) continue;
      verdicts.emplace_back(accumulators.back().thresholds(), p.config.z);
      verdicts.emplace_back(accumulators.back().thresholds(), p.config.z);
    }
    status_counts.resize(points.size());
  }
  std::vector<std::unique_ptr<DetectorWorkspace>> workspaces;
  std::vector<EvaluationAccumulator> accumulators;  // 2 x point + half
  std::vector<VerdictAccumulator> verdicts;         // 2 x point + half; empty without verdicts
  std::vector<VerdictSteps> series_verdicts;        // scratch: the verdicts of the series at hand
  std::vector<std::array<std::int64_t, kFitStatusCount>> status_counts;
  BlockOutputs outputs;
  std::vector<FitStatus> status;
};

struct SweepBlockState {
  std::vector<std::uint8_t> half;  // SplitHalf per series
};

// Fits, scores and evaluates every series of a block for one point, with this thread's workspace and accumulators.
void run_point_on_block(const Point& point, std::size_t p, SweepThreadState& state, const SeriesBlock& b, std::span<const std::uint8_t> half,
                        bool has_labels, ScoredWindow window, WorkTimes& times, const VerdictIndex* verdict_index) {
  WorkStopwatch watch;
  state.outputs.resize(b.count, b.steps);
  state.status.resize(static_cast<std::size_t>(b.count));
  detect_block(*point.detector, *state.workspaces[p], b, window, state.outputs, state.status);
  watch.lap_detect(times);
  for (std::int64_t i = 0; i < b.count; ++i) {
    const auto k = static_cast<std::size_t>(i);
    ++state.status_counts[p][static_cast<std::size_t>(state.status[k])];
    state.accumulators[2 * p + half[k]].add_series(evaluation_input(b, i, has_labels, state.outputs.row(i), window.first_scored));
    if (verdict_index == nullptr) continue;
    verdict_index->verdicts_of(b, i, has_labels, state.series_verdicts);
    if (!state.series_verdicts.empty())
      state.verdicts[2 * p + half[k]].add_series(state.series_verdicts, b.row(i), state.outputs.row(i).score, window.first_scored, b.steps, {});
  }
  watch.lap_evaluate(times);
}

void assign_halves(const SeriesBlock& b, std::vector<std::uint8_t>& half) {
  half.resize(static_cast<std::size_t>(b.count));
  for (std::int64_t i = 0; i < b.count; ++i) {
    const SeriesRecord& r = b.series[static_cast<std::size_t>(i)];
    half[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(split_half(r.customer(), r.meter()));
  }
}

// Each block is read once, then every point runs on it in parallel (parallel across blocks and across
// points), each with its own per-thread workspace and accumulators. A sweep writes nothing per block.
class SweepWork final : public BlockWork<SweepThreadState, SweepBlockState> {
 public:
  SweepWork(const std::vector<Point>& points, bool has_labels, ScoredWindow window, const VerdictIndex* verdicts)
      : points_(points), has_labels_(has_labels), window_(window), verdicts_(verdicts) {}
  [[nodiscard]] SweepThreadState make_thread_state() const override { return SweepThreadState(points_, verdicts_); }
  // The points run in parallel on the block, so none of them hashes it: the runner does, once.
  void process(const SeriesBlock& b, SweepBlockState& block, ThreadSlots<SweepThreadState>& threads, BlockHashes&) const override {
    assign_halves(b, block.half);
    oneapi::tbb::parallel_for(std::size_t{0}, points_.size(), [&](std::size_t p) {
      ThreadSlot<SweepThreadState>& slot = threads.local();
      run_point_on_block(points_[p], p, slot.state, b, block.half, has_labels_, window_, slot.times, verdicts_);
    });
  }
  void write(const SeriesBlock&, SweepBlockState&) override {}

 private:
  const std::vector<Point>& points_;
  bool has_labels_;
  ScoredWindow window_;
  const VerdictIndex* verdicts_;
};

// Per point: the tuning and test halves' evaluation counts and the fit statuses.
class SweepReducer final : public PassReducer<SweepThreadState> {
 public:
  SweepReducer(const std::vector<Point>& points, bool with_verdicts) : status_counts_(points.size()) {
    for (const Point& p : points) {
      totals_.emplace_back(p.config);
      totals_.emplace_back(p.config);
      if (!with_verdicts) continue;
      verdicts_.emplace_back(totals_.back().thresholds(), p.config.z);
      verdicts_.emplace_back(totals_.back().thresholds(), p.config.z);
    }
  }
  void merge(const SweepThreadState& state) override {
    for (std::size_t t = 0; t < totals_.size(); ++t) totals_[t].merge(state.accumulators[t]);
    for (std::size_t t = 0; t < verdicts_.size(); ++t) verdicts_[t].merge(state.verdicts[t]);
    for (std::size_t p = 0; p < status_counts_.size(); ++p)
      for (std::size_t s = 0; s < kFitStatusCount; ++s) status_counts_[p][s] += state.status_counts[p][s];
  }
  [[nodiscard]] std::vector<std::int64_t> to_integers() const override {
    std::vector<std::int64_t> v;
    for (const EvaluationAccumulator& t : totals_) {
      const std::vector<std::int64_t> counts = counts_to_integers(t.counts());
      v.insert(v.end(), counts.begin(), counts.end());
    }
    for (const auto& counts : status_counts_) v.insert(v.end(), counts.begin(), counts.end());
    for (const VerdictAccumulator& t : verdicts_) t.counts().append_integers(v);
    return v;
  }
  void from_integers(std::span<const std::int64_t> v) override {
    std::size_t at = 0;
    for (EvaluationAccumulator& t : totals_) {
      const std::size_t n = counts_to_integers(t.counts()).size();
      EvaluationAccumulator merged(t.config());
      merged.merge(counts_from_integers(v.subspan(at, n), t.counts()));
      t = std::move(merged);
      at += n;
    }
    for (auto& counts : status_counts_)
      for (auto& c : counts) c = v[at++];
    for (VerdictAccumulator& t : verdicts_) t.counts().read_integers(v, at);
  }
  [[nodiscard]] EvaluationReport report(std::size_t point, std::size_t half) const { return totals_[2 * point + half].report(); }
  [[nodiscard]] const std::vector<std::array<std::int64_t, kFitStatusCount>>& status_counts() const { return status_counts_; }
  [[nodiscard]] const std::vector<VerdictAccumulator>& verdicts() const { return verdicts_; }

 private:
  std::vector<EvaluationAccumulator> totals_;  // per point: tuning, test
  std::vector<VerdictAccumulator> verdicts_;   // per point: tuning, test; empty without verdicts
  std::vector<std::array<std::int64_t, kFitStatusCount>> status_counts_;
};

struct SweepPass {
  std::vector<std::array<EvaluationReport, 2>> reports;  // per point: tuning, test
  std::vector<std::array<std::int64_t, kFitStatusCount>> status_counts;
  std::vector<VerdictAccumulator> verdicts;  // per point: tuning, test; empty without verdicts
  std::int64_t unmatched_verdicts = 0;       // the feedback file's standing verdicts on no series of the dataset
  std::vector<std::string> verdict_sources;
  PassResult pass;
};

// One streaming pass of every point; with `scale_out`, over this process's range, the counts then summed
// over the processes.
SweepPass run_points(DatasetReader& reader, const std::vector<Point>& points, std::int64_t block_option, ScoredWindow window,
                     const char* label, const ScaleOut* scale_out, const VerdictIndex* verdicts = nullptr) {
  SweepWork work(points, reader.info().has_labels, window, verdicts);
  SweepReducer reducer(points, verdicts != nullptr);
  SweepPass result;
  result.pass = run_streaming_pass(reader, {.block_series = block_option, .label = label, .scale_out = scale_out}, work, reducer);
  result.reports.resize(points.size());
  for (std::size_t p = 0; p < points.size(); ++p)
    for (std::size_t h = 0; h < 2; ++h) result.reports[p][h] = reducer.report(p, h);
  result.status_counts = reducer.status_counts();
  result.verdicts = reducer.verdicts();
  if (verdicts != nullptr) {
    // Every point reads the same verdicts: point 0's two halves matched them all but the unmatched.
    result.unmatched_verdicts = verdicts->file_verdicts() - result.verdicts[0].counts().matched_file_verdicts -
                                result.verdicts[1].counts().matched_file_verdicts;
    result.verdict_sources = verdicts->sources();
  }
  return result;
}

// The metrics of one row of sweep.csv (a threshold of a point's curve) or of a report at its own z.
struct RowMetrics {
  std::optional<double> point_precision, point_recall, point_f1;
  std::optional<double> event_precision, event_recall, event_f1;
  std::optional<double> dollar_recall, false_alerts_per_1000_series_weeks, flag_rate;
  std::optional<ReviewedMetrics> reviewed;  // with verdicts
};

std::optional<double> ratio(std::int64_t num, std::int64_t den) {
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}

std::optional<double> f1(const std::optional<double>& p, const std::optional<double>& r) {
  if (!p || !r) return std::nullopt;
  if (*p + *r == 0.0) return 0.0;
  return 2.0 * *p * *r / (*p + *r);
}

// Flag rate over the point-evaluated steps (observed, do-not-care steps excluded): the rate `random` is set to.
std::int64_t evaluated_steps(const EvaluationCounts& c) { return c.point_tp + c.point_fp + c.point_fn + c.point_tn; }

// `verdicts`: the same point and half's verdict counts, or null.
RowMetrics curve_metrics(const EvaluationReport& r, std::size_t g, const VerdictAccumulator* verdicts = nullptr, std::int64_t unmatched = 0) {
  const CurvePoint& c = r.curve[g];
  RowMetrics m;
  if (verdicts != nullptr) m.reviewed = reviewed_metrics(*verdicts, g, unmatched);
  m.point_precision = c.point_precision;
  m.point_recall = c.point_recall;
  m.point_f1 = f1(m.point_precision, m.point_recall);
  m.event_precision = c.alert_precision;
  m.event_recall = c.event_recall;
  m.event_f1 = f1(m.event_precision, m.event_recall);
  m.dollar_recall = c.dollar_recall;
  m.false_alerts_per_1000_series_weeks = c.false_alerts_per_1000_series_weeks;
  m.flag_rate = ratio(c.point_tp + c.point_fp, evaluated_steps(r.counts));
  return m;
}

RowMetrics report_metrics(const EvaluationReport& r) {
  RowMetrics m;
  m.point_precision = r.point.precision;
  m.point_recall = r.point.recall;
  m.point_f1 = r.point.f1;
  m.event_precision = r.event.precision;
  m.event_recall = r.event.recall;
  m.event_f1 = r.event.f1;
  m.dollar_recall = r.dollar_recall;
  m.false_alerts_per_1000_series_weeks = r.false_alerts_per_1000_series_weeks;
  m.flag_rate = ratio(r.counts.point_tp + r.counts.point_fp, evaluated_steps(r.counts));
  return m;
}

std::optional<double> objective_value(const RowMetrics& m, SweepObjective objective, double budget) {
  switch (objective) {
    case SweepObjective::event_f1: return m.event_f1;
    case SweepObjective::recall_at_budget:
      if (m.false_alerts_per_1000_series_weeks && *m.false_alerts_per_1000_series_weeks <= budget) return m.event_recall;
      return std::nullopt;
    case SweepObjective::dollar_recall_at_budget:
      if (m.false_alerts_per_1000_series_weeks && *m.false_alerts_per_1000_series_weeks <= budget) return m.dollar_recall;
      return std::nullopt;
    case SweepObjective::reviewed_f1: return m.reviewed ? m.reviewed->f1 : std::nullopt;
  }
  return std::nullopt;
}

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
std::string cell(const std::optional<double>& v) { return v ? fmt::format("{}", *v) : std::string(); }

nlohmann::json metrics_json(const RowMetrics& m, const EvaluationReport& r, const std::vector<std::string>& verdict_sources = {}) {
  nlohmann::json j = {{"series", r.counts.series},
          {"events", r.counts.events.events},
          {"point_precision", opt(m.point_precision)},
          {"point_recall", opt(m.point_recall)},
          {"point_f1", opt(m.point_f1)},
          {"event_precision", opt(m.event_precision)},
          {"event_recall", opt(m.event_recall)},
          {"event_f1", opt(m.event_f1)},
          {"dollar_recall", opt(m.dollar_recall)},
          {"false_alerts_per_1000_series_weeks", opt(m.false_alerts_per_1000_series_weeks)},
          {"flag_rate", opt(m.flag_rate)}};
  if (m.reviewed) j["reviewed"] = to_json(*m.reviewed, verdict_sources);
  return j;
}

// The verdict counts of a point's half, or null without verdicts.
const VerdictAccumulator* verdicts_of(const SweepPass& pass, std::size_t point, std::size_t half) {
  return pass.verdicts.empty() ? nullptr : &pass.verdicts[2 * point + half];
}

// A word the shell passes through unchanged, or single-quoted.
std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+=.,/:@%") == std::string::npos)
    return s;
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string setting_name(std::string_view setting) { return std::string(trim(setting.substr(0, setting.find('=')))); }

// The fixed settings and the grid, validated against the model's parameter specs before any work.
std::vector<GridAxis> validated_axes(const SweepOptions& options) {
  const auto specs = detector_parameter_specs(options.model);  // unknown model: the registry's error
  std::vector<std::string> known;
  for (const ParameterSpec& s : specs) known.push_back(s.name);
  std::vector<GridAxis> axes;
  std::set<std::string> keys;
  for (const std::string& text : options.grid) {
    GridAxis axis = parse_grid_axis(text);
    if (std::find(known.begin(), known.end(), axis.key) == known.end())
      throw std::invalid_argument(fmt::format("--grid '{}': unknown parameter '{}' of {} (known: {})", text, axis.key, options.model,
                                              fmt::join(known, ", ")));
    if (sets_flag_threshold(*find_parameter_spec(specs, axis.key), specs))
      throw std::invalid_argument(fmt::format("--grid '{}': '{}' cannot be swept: every threshold z is read off the score curve of one fit "
                                              "per point (sweep.csv has a row per z)",
                                              text, axis.key));
    if (!keys.insert(axis.key).second) throw std::invalid_argument(fmt::format("--grid '{}': parameter '{}' is given by two --grid options", text, axis.key));
    for (const std::string& s : options.settings)
      if (setting_name(s) == axis.key)
        throw std::invalid_argument(fmt::format("--grid '{}': parameter '{}' is also fixed by --set {}", text, axis.key, s));
    axes.push_back(std::move(axis));
  }
  return axes;
}

// The highest threshold a point's curve holds: the top of the detector's flag-threshold range (so the best z can
// be --set and a model whose range reaches past the evaluation's default curve is swept over it), at most
// kSweepCurveZMax (a wider range, e.g. up to 100, would only add rows of thresholds that flag nothing).
constexpr double kSweepCurveZMax = 20.0;
double curve_z_max_for(std::string_view model) {
  const ParameterSpec* threshold = flag_threshold_spec(detector_parameter_specs(model));
  return threshold != nullptr ? std::min(threshold->max, kSweepCurveZMax) : 12.0;
}

// The settings that reproduce a point at the chosen threshold z: the point's own, but those setting the flag
// threshold (its row and the rows exclusive with it, as width), then the threshold's row at z.
std::vector<std::string> settings_at_threshold(std::string_view model, const std::vector<std::string>& settings, double z) {
  const auto specs = detector_parameter_specs(model);
  std::vector<std::string> out;
  for (const std::string& s : settings) {
    const ParameterSpec* spec = find_parameter_spec(specs, setting_name(s));
    if (spec == nullptr || !sets_flag_threshold(*spec, specs)) out.push_back(s);
  }
  if (const ParameterSpec* threshold = flag_threshold_spec(specs)) out.push_back(fmt::format("{}={}", threshold->name, z));
  return out;
}

// Times fit + score + evaluate of a few series per point on one thread (the second of two runs: the first
// warms the workspaces), and scales to the whole dataset.
SweepEstimate estimate_cost(DatasetReader& reader, const std::vector<Point>& points, ScoredWindow window, std::int64_t probe_series) {
  const DatasetInfo& info = reader.info();
  SweepEstimate e;
  e.points = static_cast<std::int64_t>(points.size());
  e.series = info.series_count;
  e.threads = active_threads();
  const std::int64_t n = std::min(info.series_count, std::max<std::int64_t>(1, probe_series));
  if (n == 0) return e;
  SeriesBlock block;
  reader.read(0, n, block);
  std::vector<std::uint8_t> half;
  assign_halves(block, half);
  SweepThreadState state(points, nullptr);
  WorkTimes times;
  double total = 0.0;
  for (std::size_t p = 0; p < points.size(); ++p) {
    double best = 0.0;
    for (int run = 0; run < 2; ++run) {
      const auto t0 = Clock::now();
      run_point_on_block(points[p], p, state, block, half, info.has_labels, window, times, nullptr);
      const double s = seconds_since(t0);
      best = run == 0 ? s : std::min(best, s);
    }
    total += best / static_cast<double>(n);
  }
  e.seconds_per_series_point = total / static_cast<double>(points.size());
  e.seconds = total * static_cast<double>(info.series_count) / static_cast<double>(e.threads);
  return e;
}

void validate(const SweepOptions& options) {
  validate_pass_options(options.weeks, options.block_series, options.impact_filter_usd);
  if (!(options.budget >= 0.0) || !std::isfinite(options.budget))
    throw std::invalid_argument(fmt::format("--budget must be a finite number >= 0 false alerts per 1,000 series-weeks, got {}", options.budget));
  if (!(options.max_minutes >= 0.0)) throw std::invalid_argument(fmt::format("--max-minutes must be >= 0 (0 = no limit), got {}", options.max_minutes));
}

// Every point's detector, built now: a bad value fails here, naming the point, before any work.
std::vector<Point> build_points(const SweepOptions& options, const std::vector<std::vector<std::string>>& grid_settings, const TimeGrid& grid,
                                ScoredWindow window) {
  std::vector<Point> points;
  const double curve_top = curve_z_max_for(options.model);
  for (std::size_t p = 0; p < grid_settings.size(); ++p) {
    Point point;
    point.settings = options.settings;
    point.settings.insert(point.settings.end(), grid_settings[p].begin(), grid_settings[p].end());
    for (const std::string& s : grid_settings[p]) point.grid_values.push_back(s.substr(s.find('=') + 1));
    try {
      point.detector = make_detector(options.model, point.settings, grid);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("grid point {} ({}): {}", p, fmt::join(grid_settings[p], ", "), e.what()));
    }
    point.config = evaluation_config(*point.detector, grid, window, options.delay_tolerance_days, options.impact_filter_usd);
    point.config.curve_z_max = curve_top;
    points.push_back(std::move(point));
  }
  return points;
}

// The cost estimate every process agrees on, logged; throws SweepTooLarge past --max-minutes.
SweepEstimate agreed_estimate(DatasetReader& reader, const std::vector<Point>& points, ScoredWindow window, const SweepOptions& options,
                              const ScaleOut* scale_out) {
  const DatasetInfo& info = reader.info();
  SweepEstimate estimate = estimate_cost(reader, points, window, options.probe_series);
  if (scale_out != nullptr) {
    // Every process must take the same decision below: the slowest probe, over K processes' threads.
    std::int64_t probe[2] = {std::llround(estimate.seconds_per_series_point * 1e12), std::llround(estimate.seconds * 1e9)};
    scale_out->max(probe);
    estimate.seconds_per_series_point = static_cast<double>(probe[0]) * 1e-12;
    estimate.seconds = static_cast<double>(probe[1]) * 1e-9 / static_cast<double>(scale_out->group().size());
  }
  const std::string processes = scale_out != nullptr ? fmt::format(" x {} processes", scale_out->group().size()) : std::string();
  spdlog::info("sweep: {} on {} ({} series x {} steps), {} grid points, {} schedule, {} threads{}: about {:.1f} min ({:.0f} us per series "
               "and point) -> {}",
               options.model, options.data.string(), info.series_count, info.grid.steps, points.size(), to_string(options.schedule),
               estimate.threads, processes, estimate.seconds / 60.0, estimate.seconds_per_series_point * 1e6, options.out_dir.string());
  if (options.max_minutes > 0.0 && estimate.seconds > options.max_minutes * 60.0)
    throw SweepTooLarge(fmt::format(
        "sweep too large for --max-minutes {}: {} grid points x {} series ({} fits) would take about {:.1f} minutes on {} threads{} "
        "(probe: {:.0f} us per series and point over {} series); shrink the grid, use a smaller dataset or raise --max-minutes",
        options.max_minutes, points.size(), info.series_count, static_cast<std::int64_t>(points.size()) * info.series_count,
        estimate.seconds / 60.0, estimate.threads, processes, estimate.seconds_per_series_point * 1e6,
        std::min(info.series_count, std::max<std::int64_t>(1, options.probe_series))));
  return estimate;
}

// The best row of sweep.csv by the objective.
struct Choice {
  std::size_t point = 0, row = 0;
  double objective = 0.0, false_alerts = 0.0;
};

// sweep.csv (every point x threshold on the tuning half) to `csv`, and the best row by the objective.
std::optional<Choice> write_sweep_csv(std::ostream& csv, const std::vector<GridAxis>& axes, const std::vector<Point>& points,
                                      const SweepPass& pass, const SweepOptions& options) {
  csv << "point";
  for (const GridAxis& a : axes) csv << ',' << a.key;
  csv << ",z,point_precision,point_recall,point_f1,event_precision,event_recall,event_f1,dollar_recall,"
         "false_alerts_per_1000_series_weeks,flag_rate,objective";
  csv << (pass.verdicts.empty() ? "\n" : ",reviewed_precision,reviewed_recall,reviewed_f1\n");
  std::optional<Choice> best;
  for (std::size_t p = 0; p < points.size(); ++p) {
    const EvaluationReport& tuning = pass.reports[p][0];
    for (std::size_t g = 0; g < tuning.curve.size(); ++g) {
      const RowMetrics m = curve_metrics(tuning, g, verdicts_of(pass, p, 0), pass.unmatched_verdicts);
      const std::optional<double> objective = objective_value(m, options.objective, options.budget);
      csv << p;
      for (const std::string& v : points[p].grid_values) csv << ',' << v;
      csv << ',' << fmt::format("{}", tuning.curve[g].z);
      for (const auto& v : {m.point_precision, m.point_recall, m.point_f1, m.event_precision, m.event_recall, m.event_f1, m.dollar_recall,
                            m.false_alerts_per_1000_series_weeks, m.flag_rate, objective})
        csv << ',' << cell(v);
      if (m.reviewed)
        for (const auto& v : {m.reviewed->precision.value, m.reviewed->recall.value, m.reviewed->f1}) csv << ',' << cell(v);
      csv << '\n';
      // Ties go to fewer false alerts, then to the earlier row (lower point, lower z).
      if (objective) {
        const double fa = m.false_alerts_per_1000_series_weeks.value_or(std::numeric_limits<double>::infinity());
        if (!best || *objective > best->objective || (*objective == best->objective && fa < best->false_alerts))
          best = Choice{p, g, *objective, fa};
      }
    }
  }
  return best;
}

// The backtest that reproduces the best run: the fixed settings and the point at the chosen z (settings_at_threshold).
std::string reproduce_command(const SweepOptions& options, const std::vector<std::string>& best_settings) {
  std::string command = fmt::format("meterbench backtest --data {} --model {}", shell_word(options.data.string()), shell_word(options.model));
  for (const std::string& s : best_settings) command += " --set " + shell_word(s);
  if (is_weekly(options.schedule)) command += fmt::format(" --schedule {} --weeks {}", to_string(options.schedule), options.weeks);
  if (options.delay_tolerance_days != 7.0) command += fmt::format(" --delay-tolerance {}", options.delay_tolerance_days);
  if (options.impact_filter_usd != 100.0) command += fmt::format(" --min-impact {}", options.impact_filter_usd);
  if (!options.feedback.empty()) command += " --feedback " + shell_word(options.feedback.string());
  command += " --out " + shell_word((options.out_dir / "best_backtest").string());
  return command;
}

// `random` on the test half at the best point's test flag rate (a pass of its own); its wall time.
double add_random_test(DatasetReader& reader, const SweepOptions& options, ScoredWindow window, double flag_rate, const ScaleOut* scale_out,
                       nlohmann::json& best) {
  const DatasetInfo& info = reader.info();
  const std::vector<std::string> random_settings = {fmt::format("flag_rate={:.9g}", flag_rate),
                                                    fmt::format("seed={}", info.seed % (std::uint64_t{1} << 53))};
  std::vector<Point> random(1);
  random[0].detector = make_detector("random", random_settings, info.grid);
  // `random` detects retrospectively; its flags are raised as the schedule raises them (as in backtest).
  random[0].config = evaluation_config(*random[0].detector, info.grid, window, options.delay_tolerance_days, options.impact_filter_usd);
  random[0].config.sweep_thresholds = false;
  const SweepPass baseline = run_points(reader, random, options.block_series, {window.first_scored, 0}, "random baseline", scale_out);
  best["random_test"] = metrics_json(report_metrics(baseline.reports[0][1]), baseline.reports[0][1]);
  best["random_test"]["flag_rate_set"] = flag_rate;
  return baseline.pass.timing.wall_seconds;
}

// best.json's "best": the chosen point and z on both halves (and `random` beside it); the random pass's wall time.
double add_best(DatasetReader& reader, const SweepOptions& options, const std::vector<GridAxis>& axes, const std::vector<Point>& points,
                const SweepPass& pass, const Choice& choice, ScoredWindow window, const ScaleOut* scale_out, nlohmann::json& result) {
  const Point& point = points[choice.point];
  const EvaluationReport& tuning = pass.reports[choice.point][0];
  const EvaluationReport& test = pass.reports[choice.point][1];
  const double z = tuning.curve[choice.row].z;
  METERBENCH_CHECK(test.curve[choice.row].z == z);
  const RowMetrics test_metrics = curve_metrics(test, choice.row, verdicts_of(pass, choice.point, 1), pass.unmatched_verdicts);
  const RowMetrics tuning_metrics = curve_metrics(tuning, choice.row, verdicts_of(pass, choice.point, 0), pass.unmatched_verdicts);
  // The parameters in force at the chosen z: those of the detector the reproducing command builds.
  const std::vector<std::string> best_settings = settings_at_threshold(options.model, point.settings, z);
  nlohmann::json parameters = nlohmann::json::object();
  for (const auto& [key, value] : make_detector(options.model, best_settings, reader.info().grid)->parameters()) parameters[key] = value;
  nlohmann::json b = {{"point", choice.point},
                      {"grid_values", nlohmann::json::object()},
                      {"parameters", parameters},
                      {"z", z},
                      {"objective", choice.objective},
                      {"tuning", metrics_json(tuning_metrics, tuning, pass.verdict_sources)},
                      {"test", metrics_json(test_metrics, test, pass.verdict_sources)},
                      {"random_test", nullptr}};
  for (std::size_t a = 0; a < axes.size(); ++a) b["grid_values"][axes[a].key] = point.grid_values[a];
  b["fit_status"] = fit_status_json(pass.status_counts[choice.point]);
  double random_seconds = 0.0;
  if (options.random_baseline)
    random_seconds = add_random_test(reader, options, window, std::clamp(test_metrics.flag_rate.value_or(0.0), 1e-9, 1.0), scale_out, b);
  result["best"] = b;
  result["command"] = reproduce_command(options, best_settings);
  return random_seconds;
}

// best.json before its "best" and "command".
nlohmann::json sweep_json(const SweepOptions& options, const std::vector<GridAxis>& axes, const DatasetInfo& info, const SweepPass& pass) {
  nlohmann::json result;
  result["kind"] = "sweep";
  result["schema_version"] = 1;
  result["objective"] = to_string(options.objective);
  result["budget"] = options.budget;
  result["grid"] = nlohmann::json::object();
  for (const GridAxis& a : axes) result["grid"][a.key] = a.values;
  result["fixed_settings"] = options.settings;
  result["model"] = options.model;
  result["schedule"] = {{"name", to_string(options.schedule)},
                        {"weeks", is_weekly(options.schedule) ? nlohmann::json(options.weeks) : nlohmann::json(nullptr)}};
  result["evaluation"] = {{"delay_tolerance_days", options.delay_tolerance_days}, {"impact_filter_usd", options.impact_filter_usd}};
  result["dataset"] = {{"path", std::filesystem::absolute(options.data).lexically_normal().string()},
                       {"fingerprint", format_fingerprint(pass.pass.fingerprint)},
                       {"series", info.series_count},
                       {"steps", info.grid.steps},
                       {"seed", info.seed},
                       {"source", info.source}};
  result["split"] = {{"rule", "hash of (customer, meter): tuning or test half"},
                     {"tuning_series", pass.reports.front()[0].counts.series},
                     {"test_series", pass.reports.front()[1].counts.series}};
  return result;
}

// Warnings about what the choice rests on: few labelled events (or verdicts) in a half make its figures noise.
std::vector<std::string> sample_warnings(const SweepOptions& options, const SweepPass& pass, const DatasetInfo& info) {
  const bool has_labels = info.has_labels;
  std::vector<std::string> warnings;
  if (has_labels && info.source == "ingested" && options.objective != SweepObjective::reviewed_f1)
    warnings.emplace_back("the labels were ingested (a reviewer's, partial): the event precision behind this objective counts every "
                          "alert no label covers as false; --objective reviewed_f1 counts them as unknown");
  constexpr const char* kHalf[2] = {"tuning", "test"};
  for (std::size_t h = 0; h < 2; ++h) {
    const std::int64_t events = pass.reports.front()[h].counts.events.events;  // the same for every point
    if (has_labels && options.objective != SweepObjective::reviewed_f1 && events < kFewVerdicts)
      warnings.push_back(fmt::format("the {} half holds {} labelled events (fewer than {}): {} too few to trust; label more events or "
                                     "use a larger dataset",
                                     kHalf[h], events, kFewVerdicts, h == 0 ? "the choice rests on" : "the test figures rest on"));
    if (pass.verdicts.empty()) continue;
    const VerdictCounts& v = pass.verdicts[h].counts();  // the same for every point
    if (v.anomaly < kFewVerdicts || v.anomaly + v.not_anomaly < kFewVerdicts)
      warnings.push_back(fmt::format("the {} half holds {} confirmed anomalies and {} not_anomaly verdicts (fewer than {}): the reviewed "
                                     "metrics there have wide intervals; review more incidents",
                                     kHalf[h], v.anomaly, v.not_anomaly, kFewVerdicts));
  }
  return warnings;
}

// Why no row has a defined objective, when the labels themselves are the reason.
std::optional<std::string> undefined_objective_reason(const SweepOptions& options, const SweepPass& pass) {
  if (options.objective != SweepObjective::dollar_recall_at_budget) return std::nullopt;
  const EvaluationCounts& c = pass.reports.front()[0].counts;
  if (c.events.events == 0 || c.events.impact_cents != 0) return std::nullopt;
  return fmt::format("the labels of {} carry no impact (labels ingested from a CSV have none), so dollar_recall is undefined: use "
                     "--objective recall_at_budget or event_f1, or a dataset whose labels carry impacts (generate, inject)",
                     options.data.string());
}

nlohmann::json throughput_json(const DatasetInfo& info, std::size_t points, const PassTiming& timing, const SweepEstimate& estimate,
                               double random_seconds, double total_seconds) {
  const double wall = timing.wall_seconds;
  const double fits = static_cast<double>(info.series_count) * static_cast<double>(points);
  return {{"points", points},
          {"series", info.series_count},
          {"wall_seconds", wall},
          {"series_per_second", static_cast<double>(info.series_count) / wall},
          {"series_points_per_second", fits / wall},
          {"stage_seconds", {{"read", timing.read_seconds}, {"fit_and_score", timing.work.detect_seconds}, {"evaluate", timing.work.evaluate_seconds}}},
          {"stage_seconds_note", "read is serial wall time; fit_and_score and evaluate are summed over threads"},
          {"estimate", {{"seconds", estimate.seconds}, {"us_per_series_and_point", estimate.seconds_per_series_point * 1e6}}},
          {"random_baseline_seconds", random_seconds},
          {"total_wall_seconds", total_seconds},
          {"peak_rss_bytes", peak_rss_bytes()}};
}

}  // namespace

nlohmann::json run_sweep(const SweepOptions& options, ScaleOut* scale_out) {
  const auto start = Clock::now();
  validate(options);
  const std::vector<GridAxis> axes = validated_axes(options);
  const std::vector<std::vector<std::string>> grid_settings = expand_grid(axes);
  if (grid_settings.size() > kMaxPoints)
    throw std::invalid_argument(fmt::format("the grid has {} points; a sweep holds at most {} (split it into several sweeps)",
                                            grid_settings.size(), kMaxPoints));
  const bool writer = scale_out == nullptr || scale_out->writer();  // only the writer touches DIR
  std::optional<StagedOutput> output;
  if (writer) output.emplace(options.out_dir, options.overwrite, OutputKind::directory, std::vector{options.data});
  DatasetReader reader(options.data);
  const DatasetInfo& info = reader.info();
  const std::optional<VerdictIndex> verdicts = verdict_index(options.feedback, info, "sweep");
  if (options.objective == SweepObjective::reviewed_f1 && !verdicts)
    throw std::invalid_argument("--objective reviewed_f1 needs reviewers' verdicts: give --feedback FILE (or a dataset ingested with --labels)");
  if (!info.has_labels && options.objective != SweepObjective::reviewed_f1)
    throw std::invalid_argument(fmt::format("{} has no labels: a sweep chooses parameters against ground truth (use backtest or detect, or "
                                            "--feedback FILE with --objective reviewed_f1)",
                                            options.data.string()));
  const ScoredWindow window = scored_window(options.schedule, options.weeks, info.grid);
  const std::vector<Point> points = build_points(options, grid_settings, info.grid, window);
  const SweepEstimate estimate = agreed_estimate(reader, points, window, options, scale_out);
  if (scale_out != nullptr) scale_out->partition(reader, options.out_dir, "sweep", false);
  const SweepPass pass = run_points(reader, points, options.block_series, window, "sweep", scale_out, verdicts ? &*verdicts : nullptr);

  // Every process chooses (the same) best, for the baseline pass; only the writer writes.
  OutputFile csv;  // unopened on other processes: what they stream into it goes nowhere
  if (writer) {
    std::filesystem::create_directories(output->temp_path());
    csv.open(output->temp_path() / "sweep.csv");
  }
  const std::optional<Choice> best = write_sweep_csv(csv, axes, points, pass, options);
  csv.close();

  nlohmann::json result = sweep_json(options, axes, info, pass);
  double random_seconds = 0.0;
  std::vector<std::string> warnings = sample_warnings(options, pass, info);
  if (!best) {
    const std::optional<std::string> reason = undefined_objective_reason(options, pass);
    const bool budgeted = options.objective == SweepObjective::recall_at_budget || options.objective == SweepObjective::dollar_recall_at_budget;
    warnings.insert(warnings.begin(), fmt::format("no grid point and threshold has a defined objective {} on the tuning half{}", to_string(options.objective),
                                                  reason ? ": " + *reason
                                                  : budgeted ? fmt::format(" within the budget of {} false alerts per 1,000 series-weeks", options.budget)
                                                             : std::string()));
    result["best"] = nullptr;
    result["command"] = nullptr;
  } else {
    random_seconds = add_best(reader, options, axes, points, pass, *best, window, scale_out, result);
  }
  for (const std::string& w : warnings) spdlog::warn("sweep: {}", w);
  result["warnings"] = warnings;
  result["throughput"] = throughput_json(info, points.size(), pass.pass.timing, estimate, random_seconds, seconds_since(start));
  result["context"] = to_json(current_run_context(active_threads()));
  if (scale_out != nullptr) {  // collective: the largest peak RSS of the processes, and each one's
    const ProcessesRecord processes = scale_out->record_processes();
    result["throughput"]["peak_rss_bytes"] = processes.largest_peak_rss_bytes();
    result["processes"] = to_json(processes);
  }
  if (!writer) return result;
  OutputFile best_json(output->temp_path() / "best.json");
  best_json << result.dump(2) << '\n';
  best_json.close();
  output->commit();
  return result;
}

}  // namespace meterbench
