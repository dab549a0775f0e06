#include "meterbench/inject/inject_dataset.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <spdlog/spdlog.h>

#include "meterbench/core/check.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/inject/series_injector.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "meterbench/runtime/progress.hpp"

namespace meterbench {

namespace {

struct InjectBlock {
  SeriesBlock data;
  std::vector<EventRecord> events;  // the block's events after injection
  InjectedSeriesStats stats;
};

// The output's description: the scenario that was injected, then the input's own description, commented.
std::string describe(const Scenario& scenario, const InjectOptions& options, const DatasetInfo& input) {
  std::string text = fmt::format("# meterbench inject --seed {} --data {} ({} dataset)\n{}", options.seed, options.data.string(),
                                 input.source, scenario.text);
  if (!text.ends_with('\n')) text += '\n';
  text += "# the input dataset's description:\n";
  std::size_t begin = 0;
  while (begin < input.scenario.size()) {
    const std::size_t end = std::min(input.scenario.find('\n', begin), input.scenario.size());
    text += "# " + input.scenario.substr(begin, end - begin) + "\n";
    begin = end + 1;
  }
  return text;
}

// Every series of a block in order, so its events come out sorted by series, then start.
void inject_block(const SeriesInjector& injector, InjectorWorkspace& ws, InjectBlock& block) {
  SeriesBlock& b = block.data;
  if (b.labels.empty()) b.labels.assign(b.values.size(), std::uint8_t{0});  // an input without labels
  block.events.clear();
  block.stats = {};
  std::size_t cursor = 0;
  for (std::int64_t i = 0; i < b.count; ++i) {
    const auto index = static_cast<std::uint64_t>(b.first_series + i);
    const std::size_t own_begin = cursor;
    while (cursor < b.events.size() && b.events[cursor].series == index) ++cursor;
    const std::span<const EventRecord> own(b.events.data() + own_begin, cursor - own_begin);
    block.stats += injector.inject(b.first_series + i, ws, b.row(i), b.label_row(i), b.series[static_cast<std::size_t>(i)], own, block.events);
  }
  METERBENCH_CHECK(cursor == b.events.size());
}

}  // namespace

InjectSummary inject_dataset(const Scenario& scenario, const InjectOptions& options) {
  const auto start_time = std::chrono::steady_clock::now();
  StagedOutput staged(options.out, options.overwrite, OutputKind::file, {options.data});
  DatasetReader reader(options.data);
  const DatasetInfo& input = reader.info();
  const TimeGrid& grid = input.grid;
  InjectSummary summary;
  summary.series = input.series_count;
  summary.steps = grid.steps;

  DatasetInfo info = input;
  info.has_labels = true;
  info.seed = options.seed;
  info.scenario = describe(scenario, options, input);
  info.source = "injected";
  info.tool_version = tool_version();
  info.format_version = kDatasetFormatVersion;
  DatasetWriter file(staged.temp_path(), info, options.write);

  const SeriesInjector injector(scenario, grid, options.seed);
  oneapi::tbb::enumerable_thread_specific<InjectorWorkspace> workspaces;
  const std::int64_t block_series =
      std::max<std::int64_t>(1, std::min(input.series_count, options.block_series > 0 ? options.block_series : default_block_series(grid.steps)));
  const int threads = static_cast<int>(oneapi::tbb::global_control::active_value(oneapi::tbb::global_control::max_allowed_parallelism));
  const int tokens = pipeline_tokens(threads);
  std::vector<std::unique_ptr<InjectBlock>> blocks;
  oneapi::tbb::concurrent_queue<InjectBlock*> free_blocks;
  for (int i = 0; i < tokens; ++i) {
    blocks.push_back(std::make_unique<InjectBlock>());
    free_blocks.push(blocks.back().get());
  }
  spdlog::info("inject: {} series x {} steps of {}, seed {}, {} threads, blocks of {} series -> {}", input.series_count, grid.steps,
               options.data.string(), options.seed, threads, block_series, options.out.string());
  ProgressReporter progress("inject", "series", input.series_count);
  std::int64_t next_first = 0;
  InjectedSeriesStats injected;
  oneapi::tbb::parallel_pipeline(
      static_cast<std::size_t>(tokens),
      // Serial, in order: read the next block.
      oneapi::tbb::make_filter<void, InjectBlock*>(oneapi::tbb::filter_mode::serial_in_order,
                                                   [&](oneapi::tbb::flow_control& fc) -> InjectBlock* {
                                                     if (next_first >= input.series_count) {
                                                       fc.stop();
                                                       return nullptr;
                                                     }
                                                     InjectBlock* block = nullptr;
                                                     const bool popped = free_blocks.try_pop(block);
                                                     METERBENCH_CHECK(popped);
                                                     const std::int64_t count = std::min(block_series, input.series_count - next_first);
                                                     reader.read(next_first, count, block->data);
                                                     next_first += count;
                                                     return block;
                                                   }) &
          // Parallel: every series is a pure function of (scenario, seed, index, its data).
          oneapi::tbb::make_filter<InjectBlock*, InjectBlock*>(oneapi::tbb::filter_mode::parallel,
                                                               [&](InjectBlock* block) {
                                                                 inject_block(injector, workspaces.local(), *block);
                                                                 return block;
                                                               }) &
          // Serial, in order: write and tally.
          oneapi::tbb::make_filter<InjectBlock*, void>(oneapi::tbb::filter_mode::serial_in_order, [&](InjectBlock* block) {
            summary.kept_events += static_cast<std::int64_t>(block->data.events.size());
            block->data.events.swap(block->events);
            file.write(block->data);
            injected += block->stats;
            progress.advance(block->data.count);
            free_blocks.push(block);
          }));
  progress.finish();
  file.finish();
  summary.events = injected.events;
  summary.unplaced_injections = injected.unplaced;
  summary.events_by_kind = injected.events_by_kind;
  summary.impact_usd = injected.impact_usd;
  summary.unknown_impact_events = injected.unknown_impact;
  staged.commit();
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  if (summary.unplaced_injections > 0)
    spdlog::info("inject: {} injections found no place (series too short or too gappy after the warmup, or too full); the event "
                 "table lists only those placed",
                 summary.unplaced_injections);
  return summary;
}

}  // namespace meterbench
