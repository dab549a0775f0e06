#include "meterbench/generate/generate_dataset.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <spdlog/spdlog.h>

#include "meterbench/core/check.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/distributed/generate_parts.hpp"
#include "meterbench/distributed/process_group.hpp"
#include "meterbench/generate/series_generator.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "meterbench/runtime/progress.hpp"

namespace meterbench {

std::int64_t default_block_series(std::int64_t steps) {
  constexpr std::int64_t kTargetBytes = 4 << 20;
  return std::max<std::int64_t>(1, kTargetBytes / (std::max<std::int64_t>(steps, 1) * 4));
}

namespace {

struct GeneratedBlock {
  SeriesBlock data;
  std::int64_t unplaced = 0;
};

// One generate run, in phases: open the outputs, run the pipeline over this process's series, agree with
// the other processes, and (rank 0) append their parts and commit the file.
struct GenerateRun {
  const Scenario& scenario;
  const GenerateOptions& options;
  const TimeGrid& grid;
  std::int64_t block_series = 0;
  // Across processes: rank r generates an equal share of the series (the cost per series does not depend
  // on its gaps); ranks other than 0 stream theirs to a part that rank 0 appends in rank order.
  ProcessGroup* group = nullptr;
  bool is_writer = true;
  SeriesRange range;
  std::optional<StagedOutput> staged;
  std::optional<DatasetWriter> file;
  std::optional<BlockPartWriter> part;
  std::optional<RemovedOnInterrupt> parts_on_interrupt;
  GenerateSummary summary;

  GenerateRun(const Scenario& sc, const GenerateOptions& opts);
  [[nodiscard]] std::filesystem::path part_path(int rank) const {
    return parts_directory(options.out) / fmt::format("generate.rank-{}-of-{}.bin", rank, group != nullptr ? group->size() : 1);
  }
  void open_outputs();
  void run_pipeline();
  void tally(const SeriesBlock& data, std::int64_t unplaced);
  void agree_on_outcome(const std::string& failure);
  void append_parts_and_commit();
};

GenerateRun::GenerateRun(const Scenario& sc, const GenerateOptions& opts) : scenario(sc), options(opts), grid(sc.grid) {
  const std::int64_t n_series = scenario.series;
  block_series = std::min(n_series, options.block_series > 0 ? options.block_series : default_block_series(grid.steps));
  group = options.group != nullptr && options.group->size() > 1 ? options.group : nullptr;
  is_writer = group == nullptr || group->rank() == 0;
  range = SeriesRange{0, n_series};
  if (group != nullptr) {
    const std::int64_t r = group->rank(), k = group->size();
    range = {n_series * r / k, n_series * (r + 1) / k - n_series * r / k};
  }
  summary.series = n_series;
  summary.steps = grid.steps;
}

// The staged HDF5 file on rank 0, this rank's part elsewhere. A killed run's parts are removed before any rank
// writes; on SIGINT/SIGTERM each process removes its own.
void GenerateRun::open_outputs() {
  const std::int64_t n_series = scenario.series;
  if (is_writer) staged.emplace(options.out, options.overwrite);
  const auto estimated_bytes = static_cast<std::uintmax_t>(n_series) * static_cast<std::uintmax_t>(grid.steps) * 5u +
                               static_cast<std::uintmax_t>(n_series) * sizeof(SeriesRecord);
  if (is_writer && options.write.compression_level == 0) staged->require_free_space(estimated_bytes);

  DatasetInfo info;
  info.grid = grid;
  info.series_count = n_series;
  info.has_labels = true;
  info.seed = scenario.seed;
  info.scenario = scenario.text;
  info.source = "generated";
  info.tool_version = tool_version();
  if (is_writer) file.emplace(staged->temp_path(), info, options.write);
  if (group == nullptr && is_writer) remove_stale_parts_directory(options.out);
  if (group != nullptr) {
    if (is_writer) {
      claim_parts_directory(options.out);
      parts_on_interrupt.emplace(parts_directory(options.out));
    }
    group->barrier();
    if (!is_writer) parts_on_interrupt.emplace(part_path(group->rank()));
  }
  if (!is_writer) {
    // The writer made the parts directory before the barrier; recreating it here could undo an interrupt's cleanup.
    if (!std::filesystem::is_directory(parts_directory(options.out)))
      throw OutputError(fmt::format("the parts directory '{}' is gone (the run was interrupted?)", parts_directory(options.out).string()));
    part.emplace(part_path(group->rank()));
  }
}

// The writer's tally of a block, in series order (impact_usd is a floating-point sum: order matters).
void GenerateRun::tally(const SeriesBlock& data, std::int64_t unplaced) {
  summary.unplaced_injections += unplaced;
  for (const EventRecord& ev : data.events) {
    ++summary.events_by_kind[ev.kind];
    summary.impact_usd += ev.impact_usd;
  }
  summary.events += static_cast<std::int64_t>(data.events.size());
  for (const SeriesRecord& s : data.series) ++summary.series_by_profile[s.profile];
}

// Serial in-order hand-out of blocks of series indices -> parallel generation -> serial in-order write and tally.
void GenerateRun::run_pipeline() {
  const SeriesGenerator generator(scenario, scenario.seed);
  oneapi::tbb::enumerable_thread_specific<GeneratorWorkspace> workspaces;

  const int threads = static_cast<int>(oneapi::tbb::global_control::active_value(oneapi::tbb::global_control::max_allowed_parallelism));
  const int tokens = pipeline_tokens(threads);
  // One block per token, recycled: memory is tokens x block size, whatever the population size.
  std::vector<std::unique_ptr<GeneratedBlock>> blocks;
  oneapi::tbb::concurrent_queue<GeneratedBlock*> free_blocks;
  for (int i = 0; i < tokens; ++i) {
    blocks.push_back(std::make_unique<GeneratedBlock>());
    free_blocks.push(blocks.back().get());
  }

  spdlog::info("generate: {} series x {} steps ({} from {}), seed {}, {} threads, blocks of {} series -> {}", scenario.series, grid.steps,
               format_step(grid.step_seconds), format_utc_timestamp(grid.start_unix_seconds), scenario.seed, threads, block_series,
               options.out.string());
  ProgressReporter progress("generate", "series", range.count);
  std::int64_t next_first = range.first;
  std::string failure;
  try {
    oneapi::tbb::parallel_pipeline(
        static_cast<std::size_t>(tokens),
        // Serial, in order: hand out the next block of series indices.
        oneapi::tbb::make_filter<void, GeneratedBlock*>(oneapi::tbb::filter_mode::serial_in_order,
                                                        [&](oneapi::tbb::flow_control& fc) -> GeneratedBlock* {
                                                          if (next_first >= range.end()) {
                                                            fc.stop();
                                                            return nullptr;
                                                          }
                                                          GeneratedBlock* block = nullptr;
                                                          const bool popped = free_blocks.try_pop(block);
                                                          METERBENCH_CHECK(popped);
                                                          const std::int64_t count = std::min(block_series, range.end() - next_first);
                                                          block->data.reset(next_first, count, grid.steps, true);
                                                          next_first += count;
                                                          return block;
                                                        }) &
            // Parallel: every series is a pure function of (scenario, seed, index).
            oneapi::tbb::make_filter<GeneratedBlock*, GeneratedBlock*>(
                oneapi::tbb::filter_mode::parallel,
                [&](GeneratedBlock* block) {
                  GeneratorWorkspace& ws = workspaces.local();
                  SeriesBlock& b = block->data;
                  block->unplaced = 0;
                  for (std::int64_t i = 0; i < b.count; ++i) {
                    const GeneratedSeriesStats stats = generator.generate(b.first_series + i, ws, b.row(i), b.label_row(i),
                                                                          b.series[static_cast<std::size_t>(i)], b.events);
                    block->unplaced += stats.unplaced_injections;
                  }
                  return block;
                }) &
            // Serial, in order: write to HDF5 and tally.
            oneapi::tbb::make_filter<GeneratedBlock*, void>(oneapi::tbb::filter_mode::serial_in_order, [&](GeneratedBlock* block) {
              if (file) {
                file->write(block->data);
                tally(block->data, block->unplaced);
              } else {
                part->write(block->data, block->unplaced);
              }
              progress.advance(block->data.count);
              free_blocks.push(block);
            }));
    if (part) part->finish();
  } catch (const std::exception& e) {
    if (group == nullptr) throw;
    failure = e.what();
  }
  progress.finish();
  agree_on_outcome(failure);
}

// Every process learns whether any failed (a failure anywhere fails the run everywhere).
void GenerateRun::agree_on_outcome(const std::string& failure) {
  if (group == nullptr) return;
  try {
    agree_on_failure(*group, failure, range, "generate");
  } catch (const DistributedError&) {
    // generate has no --resume: its parts are of no use, so none is left behind.
    std::error_code ec;
    std::filesystem::remove(part_path(group->rank()), ec);
    group->barrier();
    if (is_writer) std::filesystem::remove_all(parts_directory(options.out), ec);
    throw;
  }
}

// Rank 0: the other ranks' parts in rank order, then the file is complete and takes its name.
void GenerateRun::append_parts_and_commit() {
  if (group != nullptr) {
    SeriesBlock data;
    std::int64_t unplaced = 0;
    for (int r = 1; r < group->size(); ++r) {
      BlockPartReader reader(part_path(r));
      while (reader.next(data, unplaced)) {
        file->write(data);
        tally(data, unplaced);
      }
    }
  }
  file->finish();
  staged->commit();
  if (group != nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(parts_directory(options.out), ec);
  }
}

}  // namespace

GenerateSummary generate_dataset(const Scenario& scenario, const GenerateOptions& options) {
  const auto start_time = std::chrono::steady_clock::now();
  GenerateRun run(scenario, options);
  run.open_outputs();
  run.run_pipeline();
  if (!run.is_writer) return run.summary;  // rank 0 reports
  run.append_parts_and_commit();
  GenerateSummary& summary = run.summary;
  std::error_code ec;
  summary.file_bytes = std::filesystem::file_size(options.out, ec);
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  if (summary.unplaced_injections > 0)
    spdlog::warn("generate: {} injections found no place apart from the others and were not made (rates or lengths too high for "
                 "{} steps); the event table lists only those placed",
                 summary.unplaced_injections, scenario.grid.steps);
  return summary;
}

}  // namespace meterbench
