// Runs of the engine over a dataset file (detect, backtest, sweep), a detector over series in memory (fit),
// and the detectors' parameter tables (models).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "binding.hpp"
#include "engine_call.hpp"
#include "meterbench/backtest/backtest.hpp"
#include "meterbench/detect/detect.hpp"
#include "meterbench/detect/incident_output.hpp"
#include "meterbench/model/registry.hpp"
#include "meterbench/pass/series_work.hpp"
#include "meterbench/sweep/sweep.hpp"

namespace py = pybind11;

namespace meterbench::python {
namespace {

using Path = std::filesystem::path;

// The incidents as columns (the pandas layer makes the DataFrame): the CLI's columns, start and end as Unix seconds.
py::dict incident_columns(const DetectedIncidents& detected) {
  const std::vector<Incident>& rows = detected.incidents.rows;
  const auto n = static_cast<py::ssize_t>(rows.size());
  py::list customer(n), meter(n), kind(n), direction(n);
  py::array_t<std::int64_t> start(n), end(n);
  py::array_t<double> days(n), observed(n), expected(n), impact(n), peak(n);
  for (py::ssize_t i = 0; i < n; ++i) {
    const Incident& f = rows[static_cast<std::size_t>(i)];
    const SeriesRecord& s = detected.incidents.series.at(f.series_index);
    const auto at = static_cast<std::size_t>(i);
    customer[at] = py::str(s.customer().data(), s.customer().size());
    meter[at] = py::str(s.meter().data(), s.meter().size());
    kind[at] = std::string(incident_kind_name(f.kind));
    direction[at] = f.over() ? "over" : "under";
    start.mutable_at(i) = detected.grid.time_at(f.start);
    end.mutable_at(i) = detected.grid.time_at(f.end);
    days.mutable_at(i) = incident_days(f, detected.grid);
    observed.mutable_at(i) = f.observed_total;
    expected.mutable_at(i) = f.expected_total;
    impact.mutable_at(i) = f.impact;
    peak.mutable_at(i) = static_cast<double>(f.peak_score);
  }
  py::dict d;
  d["customer"] = customer;
  d["meter"] = meter;
  d["kind"] = kind;
  d["start"] = start;
  d["end"] = end;
  d["days"] = days;
  d["direction"] = direction;
  d["observed_total"] = observed;
  d["expected_total"] = expected;
  d["impact"] = impact;
  d["currency"] = detected.currency;
  d["peak_score"] = peak;
  // Kept dimensions (ingest --keep), after meter in the CLI's order: their names in "dimensions".
  py::list names;
  for (std::size_t c = 0; c < detected.incidents.dimension_names.size(); ++c) {
    py::list values(n);
    for (py::ssize_t i = 0; i < n; ++i) {
      const std::span<const std::string> v = detected.incidents.dimensions_of(rows[static_cast<std::size_t>(i)].series_index);
      values[static_cast<std::size_t>(i)] = c < v.size() ? v[c] : std::string();
    }
    d[py::str(detected.incidents.dimension_names[c])] = values;
    names.append(detected.incidents.dimension_names[c]);
  }
  d["dimensions"] = names;
  return d;
}

py::dict detect(const Path& data, const std::string& model, const std::vector<std::string>& settings, double min_impact, std::int64_t last_days,
                const std::string& since, const std::string& by, int threads) {
  DetectOptions options;
  options.data = data;
  options.model = model;
  options.settings = settings;
  options.min_impact_usd = min_impact;
  options.last_days = last_days;
  options.since = since;
  options.by = by;
  DetectedIncidents detected;
  run_engine(threads, [&] { detected = detect_incidents(options); });
  py::dict d;
  d["incidents"] = incident_columns(detected);
  d["parameters"] = detected.parameters;
  d["series"] = detected.summary.series;
  d["incidents_without_price"] = detected.summary.incidents_without_price;
  d["fit_status"] = json_to_python(detected.summary.fit_status.dump());
  d["wall_seconds"] = detected.summary.wall_seconds;
  return d;
}

// Series per task of fit: enough work per task to amortise the copies, small enough to balance two threads.
constexpr std::int64_t kFitChunkSeries = 64;

py::dict fit(const py::array_t<float, py::array::c_style | py::array::forcecast>& values, std::int64_t start_unix_seconds,
             std::int64_t step_seconds, const std::string& model, const std::vector<std::string>& settings, const std::string& schedule,
             std::int64_t weeks, int threads) {
  if (values.ndim() != 2) throw std::invalid_argument(fmt::format("fit: values must be 2-D (series x steps), got {} dimensions", values.ndim()));
  const std::int64_t n = values.shape(0), steps = values.shape(1);
  const auto cells = static_cast<std::size_t>(n * steps);
  std::vector<float> expected(cells), lower(cells), upper(cells), score(cells);
  std::vector<std::uint8_t> status(static_cast<std::size_t>(n));
  double flag_threshold = 0.0;
  const float* input = values.data();
  run_engine(threads, [&] {
    const TimeGrid grid{start_unix_seconds, step_seconds, steps};
    const std::unique_ptr<Detector> detector = make_detector(model, settings, grid);
    flag_threshold = detector->flag_threshold();
    const ScoredWindow window = scored_window(schedule_from_string(schedule), weeks, grid);
    struct Scratch {
      std::unique_ptr<DetectorWorkspace> workspace;
      SeriesBlock block;
      BlockOutputs outputs;
      std::vector<FitStatus> status;
    };
    oneapi::tbb::enumerable_thread_specific<Scratch> scratch([&] { return Scratch{detector->make_workspace(), {}, {}, {}}; });
    const std::int64_t chunks = (n + kFitChunkSeries - 1) / kFitChunkSeries;
    oneapi::tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t chunk) {
      Scratch& s = scratch.local();
      const std::int64_t first = chunk * kFitChunkSeries, count = std::min(kFitChunkSeries, n - first);
      const auto at = static_cast<std::size_t>(first * steps), size = static_cast<std::size_t>(count * steps);
      s.block.reset(first, count, steps, false);
      std::memcpy(s.block.values.data(), input + at, size * sizeof(float));
      s.outputs.resize(count, steps);
      s.status.resize(static_cast<std::size_t>(count));
      detect_block(*detector, *s.workspace, s.block, window, s.outputs, s.status);
      std::copy_n(s.outputs.expected.begin(), size, expected.begin() + static_cast<std::ptrdiff_t>(at));
      std::copy_n(s.outputs.lower.begin(), size, lower.begin() + static_cast<std::ptrdiff_t>(at));
      std::copy_n(s.outputs.upper.begin(), size, upper.begin() + static_cast<std::ptrdiff_t>(at));
      std::copy_n(s.outputs.score.begin(), size, score.begin() + static_cast<std::ptrdiff_t>(at));
      for (std::int64_t i = 0; i < count; ++i) status[static_cast<std::size_t>(first + i)] = static_cast<std::uint8_t>(s.status[static_cast<std::size_t>(i)]);
    });
  });
  py::dict d;
  d["expected"] = array_owning(std::move(expected), {n, steps});
  d["lower"] = array_owning(std::move(lower), {n, steps});
  d["upper"] = array_owning(std::move(upper), {n, steps});
  d["score"] = array_owning(std::move(score), {n, steps});
  py::list status_names;
  for (const std::uint8_t code : status) status_names.append(std::string(to_string(static_cast<FitStatus>(code))));
  d["status"] = status_names;
  d["flag_threshold"] = flag_threshold;
  return d;
}

// What backtest and sweep share, under the engine's field names, from the dict the pandas layer passes.
template <class Options>
Options pass_options(const py::dict& run) {
  Options options;
  options.data = run["data"].cast<Path>();
  options.out_dir = run["out_dir"].cast<Path>();
  options.model = run["model"].cast<std::string>();
  options.settings = run["settings"].cast<std::vector<std::string>>();
  options.schedule = schedule_from_string(run["schedule"].cast<std::string>());
  options.weeks = run["weeks"].cast<std::int64_t>();
  options.random_baseline = run["random_baseline"].cast<bool>();
  options.impact_filter_usd = run["impact_filter_usd"].cast<double>();
  options.delay_tolerance_days = run["delay_tolerance_days"].cast<double>();
  options.overwrite = run["overwrite"].cast<bool>();
  return options;
}

py::object backtest(const py::dict& run, bool save_bands, int threads) {
  BacktestOptions options = pass_options<BacktestOptions>(run);
  options.save_bands = save_bands;
  std::string summary;
  run_engine(threads, [&] { summary = to_json(run_backtest(options)).dump(); });
  return json_to_python(summary);
}

py::object sweep(const py::dict& run, const std::vector<std::string>& grid, const std::string& objective, double budget, double max_minutes,
                 int threads) {
  SweepOptions options = pass_options<SweepOptions>(run);
  options.grid = grid;
  options.objective = objective_from_string(objective);
  options.budget = budget;
  options.max_minutes = max_minutes;
  std::string best;
  run_engine(threads, [&] { best = run_sweep(options).dump(); });
  return json_to_python(best);
}

const char* type_name(ParameterSpec::Type type) {
  switch (type) {
    case ParameterSpec::Type::integer: return "integer";
    case ParameterSpec::Type::real: return "real";
    case ParameterSpec::Type::choice: return "choice";
  }
  return "";
}

// One row per parameter of every detector, from the one parameter table (the `models` listing's source).
py::list models() {
  py::list rows;
  for (const std::string& name : detector_names()) {
    for (const ParameterSpec& spec : detector_parameter_specs(name)) {
      py::dict row;
      row["model"] = name;
      row["parameter"] = spec.name;
      row["type"] = type_name(spec.type);
      row["default"] = spec.default_value;
      const bool numeric = spec.type != ParameterSpec::Type::choice;
      row["min"] = numeric ? py::object(py::float_(spec.min)) : py::none();
      row["max"] = numeric ? py::object(py::float_(spec.max)) : py::none();
      row["choices"] = spec.choices;
      row["flag_threshold"] = spec.role == ParameterRole::flag_threshold;
      row["odd"] = spec.rules.odd;
      row["zero_means"] = spec.rules.zero_means;
      row["at_most"] = spec.rules.at_most;
      row["exclusive_with"] = spec.rules.exclusive_with;
      row["help"] = spec.help;
      rows.append(row);
    }
  }
  return rows;
}

}  // namespace

void add_run_functions(py::module_& m) {
  m.def("detect", &detect, py::arg("data"), py::arg("model"), py::arg("settings"), py::arg("min_impact"), py::arg("last_days"),
        py::arg("since"), py::arg("by"), py::arg("threads"),
        "`meterbench detect` without its file: the incidents as columns, the parameters in force and the run's summary.");
  m.def("fit", &fit, py::arg("values"), py::arg("start_unix_seconds"), py::arg("step_seconds"), py::arg("model"), py::arg("settings"),
        py::arg("schedule"), py::arg("weeks"), py::arg("threads"),
        "Fits and scores every row of values (series x steps): expected, lower, upper, score, status.");
  m.def("backtest", &backtest, py::arg("run"), py::arg("save_bands"), py::arg("threads"),
        "`meterbench backtest`: writes the run directory; returns summary.json. `run`: data, out_dir, model, settings, schedule, weeks, "
        "random_baseline, impact_filter_usd, delay_tolerance_days, overwrite.");
  m.def("sweep", &sweep, py::arg("run"), py::arg("grid"), py::arg("objective"), py::arg("budget"), py::arg("max_minutes"), py::arg("threads"),
        "`meterbench sweep`: writes the sweep directory; returns best.json. `run`: as for backtest.");
  m.def("models", &models, "Every detector's parameters, one dict per row of its parameter table.");
}

}  // namespace meterbench::python
