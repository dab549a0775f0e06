#pragma once
// Blocks of the default scenario's series for benchmarks, generated once outside the timed loops, with each
// series' events located in the block (the generator leaves first_event to the writer).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "meterbench/generate/scenario.hpp"
#include "meterbench/generate/series_generator.hpp"
#include "meterbench/io/dataset.hpp"

namespace meterbench::bench {

struct GeneratedBlock {
  Scenario scenario;
  SeriesBlock block;
  std::vector<std::size_t> first_event, event_count;  ///< each series' events in block.events
};

/// Series [0, count) of datasets/scenarios/default.toml at `days` days.
inline GeneratedBlock generate_default_block(std::int64_t count, std::int64_t days = 730) {
  GeneratedBlock d{load_scenario(std::filesystem::path(METERBENCH_SOURCE_DIR) / "datasets/scenarios/default.toml"), {}, {}, {}};
  d.scenario.override_size(count, days, std::nullopt);
  const SeriesGenerator gen(d.scenario, d.scenario.seed);
  GeneratorWorkspace ws;
  const std::int64_t steps = d.scenario.grid.steps;
  d.block.reset(0, count, steps, true);
  for (std::int64_t i = 0; i < count; ++i) {
    const auto row = static_cast<std::size_t>(i * steps);
    d.first_event.push_back(d.block.events.size());
    gen.generate(i, ws, d.block.row(i), {d.block.labels.data() + row, static_cast<std::size_t>(steps)}, d.block.series[static_cast<std::size_t>(i)],
                 d.block.events);
    d.event_count.push_back(d.block.events.size() - d.first_event.back());
  }
  return d;
}

/// The dataset facts of a generated block's scenario (what the generate pipeline writes).
inline DatasetInfo dataset_info(const Scenario& scenario, std::int64_t series, const std::string& tool_version) {
  DatasetInfo info;
  info.grid = scenario.grid;
  info.series_count = series;
  info.seed = scenario.seed;
  info.scenario = scenario.text;
  info.source = "generated";
  info.tool_version = tool_version;
  return info;
}

}  // namespace meterbench::bench
