// Datasets between HDF5 files and numpy: read_dataset, write_dataset and generate.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "binding.hpp"
#include "engine_call.hpp"
#include "meterbench/core/anomaly.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/generate/scenario.hpp"
#include "meterbench/ingest/ingest.hpp"
#include "meterbench/inject/inject_dataset.hpp"
#include "meterbench/ingest/usage_columns.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_path.hpp"

namespace py = pybind11;

namespace meterbench::python {
namespace {

using Path = std::filesystem::path;
template <class T>
using Column = py::array_t<T, py::array::c_style | py::array::forcecast>;

py::dict attributes_of(const DatasetInfo& info) {
  py::dict a;
  a["start_unix_seconds"] = info.grid.start_unix_seconds;
  a["step_seconds"] = info.grid.step_seconds;
  a["steps"] = info.grid.steps;
  a["series_count"] = info.series_count;
  a["has_labels"] = info.has_labels;
  a["seed"] = info.seed;
  a["scenario"] = info.scenario;
  a["source"] = info.source;
  a["tool_version"] = info.tool_version;
  a["format_version"] = info.format_version;
  a["currency"] = info.currency;
  py::list dims;
  for (const std::string& d : info.dimensions) dims.append(d);
  a["dimensions"] = dims;
  return a;
}

py::dict events_of(std::vector<EventRecord>&& events) {
  const auto n = static_cast<py::ssize_t>(events.size());
  auto column = [&](auto member) {
    using T = std::remove_cvref_t<decltype(events[0].*member)>;
    py::array_t<T> out(n);
    T* data = out.mutable_data();
    for (py::ssize_t i = 0; i < n; ++i) data[i] = events[static_cast<std::size_t>(i)].*member;
    return out;
  };
  py::dict e;
  e["series"] = column(&EventRecord::series);
  e["start"] = column(&EventRecord::start);
  e["end"] = column(&EventRecord::end);
  e["effect_end"] = column(&EventRecord::effect_end);
  e["size_sigma"] = column(&EventRecord::size_sigma);
  e["size_units"] = column(&EventRecord::size_units);
  e["impact_usd"] = column(&EventRecord::impact_usd);
  e["kind"] = column(&EventRecord::kind);
  return e;
}

py::dict series_of(const std::vector<SeriesRecord>& records, const SeriesDimensions& dimensions, const std::vector<std::string>& names) {
  const auto n = static_cast<py::ssize_t>(records.size());
  py::list customers(n), meters(n);
  py::array_t<double> price(n), noise(n);
  py::array_t<std::uint64_t> first_event(n);
  py::array_t<std::uint32_t> event_count(n);
  py::array_t<std::uint8_t> profile(n);
  for (py::ssize_t i = 0; i < n; ++i) {
    const SeriesRecord& r = records[static_cast<std::size_t>(i)];
    customers[static_cast<std::size_t>(i)] = py::str(r.customer().data(), r.customer().size());
    meters[static_cast<std::size_t>(i)] = py::str(r.meter().data(), r.meter().size());
    price.mutable_at(i) = r.price_per_unit;
    noise.mutable_at(i) = r.noise_scale;
    first_event.mutable_at(i) = r.first_event;
    event_count.mutable_at(i) = r.event_count;
    profile.mutable_at(i) = r.profile;
  }
  py::dict s;
  s["customer"] = customers;
  s["meter"] = meters;
  s["price_per_unit"] = price;
  s["noise_scale"] = noise;
  s["first_event"] = first_event;
  s["event_count"] = event_count;
  s["profile"] = profile;
  // Kept dimensions (ingest --keep), one column of str per dimension.
  for (std::size_t d = 0; d < names.size() && d < dimensions.columns; ++d) {
    py::list values(n);
    for (py::ssize_t i = 0; i < n; ++i) {
      const std::string_view v = dimensions.get(i, d);
      values[static_cast<std::size_t>(i)] = py::str(v.data(), v.size());
    }
    s[py::str(names[d])] = values;
  }
  return s;
}

py::dict read_dataset(const Path& path, int threads) {
  std::optional<DatasetInfo> info;
  SeriesBlock block;
  run_engine(threads, [&] {
    DatasetReader reader(path);
    info = reader.info();
    reader.read(0, info->series_count, block);
  });
  py::dict d;
  d["values"] = array_owning(std::move(block.values), {block.count, block.steps});
  d["labels"] = info->has_labels ? py::object(array_owning(std::move(block.labels), {block.count, block.steps})) : py::none();
  d["series"] = series_of(block.series, block.dimensions, info->dimensions);
  d["events"] = events_of(std::move(block.events));
  d["attributes"] = attributes_of(*info);
  return d;
}

// What write_dataset needs, copied out of the Python objects while the GIL is held (the arrays are views).
struct DatasetColumns {
  Column<float> values;
  std::optional<Column<std::uint8_t>> labels;
  std::vector<std::string> customer, meter;
  Column<double> price, noise_scale;
  Column<std::uint8_t> profile;
  std::vector<EventRecord> events;
};

std::vector<EventRecord> events_from(const py::dict& events) {
  if (events.empty()) return {};
  const auto series = events["series"].cast<Column<std::uint64_t>>();
  const auto start = events["start"].cast<Column<std::int64_t>>();
  const auto end = events["end"].cast<Column<std::int64_t>>();
  const auto effect_end = events["effect_end"].cast<Column<std::int64_t>>();
  const auto size_sigma = events["size_sigma"].cast<Column<double>>();
  const auto size_units = events["size_units"].cast<Column<double>>();
  const auto impact = events["impact_usd"].cast<Column<double>>();
  const auto kind = events["kind"].cast<Column<std::uint8_t>>();
  const py::ssize_t n = series.size();
  for (const py::ssize_t size : {start.size(), end.size(), effect_end.size(), size_sigma.size(), size_units.size(), impact.size(), kind.size()})
    if (size != n) throw std::invalid_argument(fmt::format("events: every column must have {} rows (as 'series'), one has {}", n, size));
  std::vector<EventRecord> out(static_cast<std::size_t>(n));
  for (py::ssize_t i = 0; i < n; ++i)
    out[static_cast<std::size_t>(i)] = {series.at(i), start.at(i), end.at(i), effect_end.at(i), size_sigma.at(i), size_units.at(i), impact.at(i), kind.at(i)};
  return out;
}

void check_rows(const char* what, py::ssize_t rows, py::ssize_t series) {
  if (rows != series) throw std::invalid_argument(fmt::format("write_dataset: {} has {} rows, values has {} series", what, rows, series));
}

void write_blocks(const Path& temp, const DatasetInfo& info, const DatasetColumns& c) {
  DatasetWriter writer(temp, info);
  const std::int64_t steps = info.grid.steps;
  const std::int64_t per_block = std::max<std::int64_t>(1, default_block_series(steps));
  const float* values = c.values.data();
  const std::uint8_t* labels = c.labels ? c.labels->data() : nullptr;
  auto next_event = c.events.begin();
  SeriesBlock block;
  for (std::int64_t first = 0; first < info.series_count; first += per_block) {
    const std::int64_t count = std::min(per_block, info.series_count - first);
    block.reset(first, count, steps, labels != nullptr);
    const auto cells = static_cast<std::size_t>(count * steps);
    std::memcpy(block.values.data(), values + first * steps, cells * sizeof(float));
    if (labels != nullptr) std::memcpy(block.labels.data(), labels + first * steps, cells);
    for (std::int64_t i = 0; i < count; ++i) {
      SeriesRecord& r = block.series[static_cast<std::size_t>(i)];
      const auto s = static_cast<std::size_t>(first + i);
      r.set_ids(c.customer[s], c.meter[s]);
      r.price_per_unit = c.price.at(first + i);
      r.noise_scale = c.noise_scale.at(first + i);
      r.profile = c.profile.at(first + i);
    }
    block.events.clear();
    while (next_event != c.events.end() && next_event->series < static_cast<std::uint64_t>(first + count)) block.events.push_back(*next_event++);
    writer.write(block);
  }
  if (next_event != c.events.end())
    throw std::invalid_argument(fmt::format("write_dataset: event of series {} is out of order or beyond the {} series", next_event->series, info.series_count));
  writer.finish();
}

void write_dataset(const Path& path, const Column<float>& values, const std::optional<Column<std::uint8_t>>& labels,
                   std::vector<std::string> customer, std::vector<std::string> meter, const Column<double>& price,
                   const Column<double>& noise_scale, const Column<std::uint8_t>& profile, const py::dict& events,
                   const py::dict& attributes, bool overwrite) {
  if (values.ndim() != 2) throw std::invalid_argument(fmt::format("write_dataset: values must be 2-D (series x steps), got {} dimensions", values.ndim()));
  const py::ssize_t n = values.shape(0);
  if (labels && (labels->ndim() != 2 || labels->shape(0) != n || labels->shape(1) != values.shape(1)))
    throw std::invalid_argument("write_dataset: labels must have the shape of values");
  check_rows("customer", static_cast<py::ssize_t>(customer.size()), n);
  check_rows("meter", static_cast<py::ssize_t>(meter.size()), n);
  check_rows("price_per_unit", price.size(), n);
  check_rows("noise_scale", noise_scale.size(), n);
  check_rows("profile", profile.size(), n);
  DatasetInfo info;
  info.grid = {attributes["start_unix_seconds"].cast<std::int64_t>(), attributes["step_seconds"].cast<std::int64_t>(), values.shape(1)};
  info.series_count = n;
  info.has_labels = labels.has_value();
  info.seed = attributes.contains("seed") ? attributes["seed"].cast<std::uint64_t>() : 0;
  info.scenario = attributes.contains("scenario") ? attributes["scenario"].cast<std::string>() : std::string("written from Python");
  info.source = attributes.contains("source") ? attributes["source"].cast<std::string>() : std::string("ingested");
  info.tool_version = tool_version();
  const DatasetColumns columns{values, labels, std::move(customer), std::move(meter), price, noise_scale, profile, events_from(events)};
  run_engine(1, [&] {
    StagedOutput staged(path, overwrite);
    write_blocks(staged.temp_path(), info, columns);
    staged.commit();
  });
}

py::dict generate(const std::string& scenario, bool scenario_is_text, const Path& out, std::optional<std::int64_t> series,
                  std::optional<std::int64_t> days, std::optional<std::uint64_t> seed, bool overwrite, int threads) {
  GenerateSummary s;
  run_engine(threads, [&] {
    Scenario sc = scenario_is_text ? parse_scenario(scenario, "<scenario text>") : load_scenario(scenario);
    sc.override_size(series, days, seed);
    GenerateOptions options;
    options.out = out;
    options.overwrite = overwrite;
    s = generate_dataset(sc, options);
  });
  py::dict d;
  d["series"] = s.series;
  d["steps"] = s.steps;
  d["events"] = s.events;
  d["unplaced_injections"] = s.unplaced_injections;
  d["impact_usd"] = s.impact_usd;
  d["wall_seconds"] = s.wall_seconds;
  return d;
}

py::dict inject(const Path& data, const std::string& scenario, bool scenario_is_text, const Path& out, std::uint64_t seed, bool overwrite,
                int threads) {
  InjectSummary s;
  run_engine(threads, [&] {
    const Scenario sc = scenario_is_text ? parse_scenario(scenario, "<scenario text>", ScenarioPurpose::inject)
                                         : load_scenario(scenario, ScenarioPurpose::inject);
    InjectOptions options;
    options.data = data;
    options.out = out;
    options.overwrite = overwrite;
    options.seed = seed;
    s = inject_dataset(sc, options);
  });
  py::dict d;
  d["series"] = s.series;
  d["steps"] = s.steps;
  d["kept_events"] = s.kept_events;
  d["events"] = s.events;
  d["unplaced_injections"] = s.unplaced_injections;
  d["impact_usd"] = s.impact_usd;
  d["unknown_impact_events"] = s.unknown_impact_events;
  d["wall_seconds"] = s.wall_seconds;
  return d;
}

py::dict usage_matrix(const Column<std::int32_t>& customer, const Column<std::int32_t>& meter, const Column<std::int64_t>& time,
                      const Column<double>& quantity, const std::optional<Column<double>>& price, std::int64_t step_seconds,
                      std::int64_t max_steps) {
  auto span_of = [](const auto& column) { return std::span(column.data(), static_cast<std::size_t>(column.size())); };
  const UsageColumns rows{span_of(customer), span_of(meter), span_of(time), span_of(quantity),
                          price ? span_of(*price) : std::span<const double>()};
  UsageMatrix m;
  run_engine(1, [&] { m = meterbench::usage_matrix(rows, step_seconds, max_steps); });
  const auto series = static_cast<py::ssize_t>(m.pairs.size());
  py::dict d;
  d["pairs"] = array_owning(std::move(m.pairs), {series});
  d["meters"] = m.meters;
  d["start_unix_seconds"] = m.grid.start_unix_seconds;
  d["steps"] = m.grid.steps;
  d["values"] = array_owning(std::move(m.values), {series, m.grid.steps});
  d["price"] = array_owning(std::move(m.price), {series});
  d["summed_rows"] = m.summed_rows;
  return d;
}

template <std::size_t N>
py::list names_of(const std::array<std::string_view, N>& names) {
  py::list out;
  for (const std::string_view name : names) out.append(std::string(name));
  return out;
}

}  // namespace

void add_dataset_functions(py::module_& m) {
  m.def("read_dataset", &read_dataset, py::arg("path"), py::arg("threads") = 0,
        "Reads a dataset file: values (series x steps, float32, NaN = not reported), labels, series table, events, attributes.");
  m.def("write_dataset", &write_dataset, py::arg("path"), py::arg("values"), py::arg("labels"), py::arg("customer"), py::arg("meter"),
        py::arg("price_per_unit"), py::arg("noise_scale"), py::arg("profile"), py::arg("events"), py::arg("attributes"),
        py::arg("overwrite") = false, "Writes a dataset file (staged, renamed when complete).");
  m.def("generate", &generate, py::arg("scenario"), py::arg("scenario_is_text"), py::arg("out"), py::arg("series") = py::none(),
        py::arg("days") = py::none(), py::arg("seed") = py::none(), py::arg("overwrite") = false, py::arg("threads") = 0,
        "Generates a scenario's population into a dataset file; returns the generator's summary.");
  m.def("inject", &inject, py::arg("data"), py::arg("scenario"), py::arg("scenario_is_text"), py::arg("out"), py::arg("seed"),
        py::arg("overwrite") = false, py::arg("threads") = 0,
        "Injects a scenario's labelled anomalies into a dataset file, writing a new one; returns the injector's summary.");
  m.def("usage_matrix", &usage_matrix, py::arg("customer"), py::arg("meter"), py::arg("time"), py::arg("quantity"), py::arg("price"),
        py::arg("step_seconds"), py::arg("max_steps"),
        "Usage rows as columns (id ranks, Unix seconds, quantity, price) into ingest's matrix of series x steps.");
  m.attr("ANOMALY_KIND_NAMES") = names_of(kAnomalyKindNames);
  m.attr("PROFILE_NAMES") = names_of(kUsageProfileNames);
  m.def("parse_step", &parse_step, py::arg("text"), "A grid step such as 1d or 1h, in seconds (the --step of ingest).");
  m.def("parse_utc_timestamp", &parse_utc_timestamp, py::arg("text"), "An ISO date or time (UTC), in Unix seconds.");
  m.attr("OBSERVED_PROFILE") = static_cast<int>(UsageProfile::observed);
  m.attr("MAX_GRID_DAYS") = kDefaultMaxGridDays;
}

}  // namespace meterbench::python
