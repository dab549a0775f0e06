// HDF5 block I/O and block generation: the three streaming stages around the detectors, each on one
// pipeline block of the default scenario (1,436 series x 730 days, about 4 MiB of values), verified before
// it is timed; items = series.
//   BM_WriteBlock     one block written to a new dataset file (create, write, finish), one thread
//   BM_ReadBlock      one block read back (open, validate, read values, labels, records, events), one thread
//   BM_ReadBlocks     the pipeline's read stage: a file of 8 blocks, opened once, read block after block into
//                     3 recycled blocks, one thread
//   BM_GenerateBlock  one block generated in parallel with oneTBB on all threads, wall time
//   BM_ReadManySeries 1,000,000 short series (8 steps, ids of 16 and 7 bytes, no labels) read in blocks of
//                     65,536 into one recycled block, one thread: the per-series cost (records and ids)
//   build/release/bench/dataset_io_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>

#include "bench_data.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace mb = meterbench;
namespace fs = std::filesystem;

namespace {

const std::int64_t kBlock = mb::default_block_series(730);

const mb::bench::GeneratedBlock& block() {
  static const mb::bench::GeneratedBlock b = mb::bench::generate_default_block(kBlock);
  return b;
}

fs::path scratch_file(const char* name) {
  const fs::path dir = fs::temp_directory_path() / ("meterbench-io-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void write_block(const fs::path& path, mb::SeriesBlock& b) {
  fs::remove(path);
  mb::DatasetWriter writer(path, mb::bench::dataset_info(block().scenario, kBlock, mb::tool_version()));
  writer.write(b);
  writer.finish();
}

// True when the file holds exactly the block's values, labels and events.
bool holds_block(const fs::path& path, mb::SeriesBlock& into) {
  mb::DatasetReader reader(path);
  reader.read(0, kBlock, into);
  const auto& b = block().block;
  return into.values.size() == b.values.size() && std::memcmp(into.values.data(), b.values.data(), b.values.size() * sizeof(float)) == 0 &&
         into.labels == b.labels && into.events == b.events;
}

// Writes `copy` to `path` and checks that the file reads back (into `back`) as the block; when it does not,
// the benchmark is skipped with `error`.
bool write_and_verify(benchmark::State& state, const fs::path& path, mb::SeriesBlock& copy, mb::SeriesBlock& back, const char* error) {
  write_block(path, copy);
  if (holds_block(path, back)) return true;
  state.SkipWithError(error);
  return false;
}

// Counts a block per iteration (items = series, bytes = values) and removes the scratch directory.
void finish_block_benchmark(benchmark::State& state, const fs::path& path, const mb::SeriesBlock& b) {
  state.SetItemsProcessed(state.iterations() * kBlock);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(b.values.size() * sizeof(float)));
  fs::remove_all(path.parent_path());
}

void BM_WriteBlock(benchmark::State& state) {
  const fs::path path = scratch_file("write.h5");
  mb::SeriesBlock copy = block().block, back;
  if (!write_and_verify(state, path, copy, back, "the written file does not read back as the block")) return;
  for (auto _ : state) write_block(path, copy);
  finish_block_benchmark(state, path, copy);
}

void BM_ReadBlock(benchmark::State& state) {
  const fs::path path = scratch_file("read.h5");
  mb::SeriesBlock copy = block().block, back;
  if (!write_and_verify(state, path, copy, back, "the file does not read back as the block")) return;
  for (auto _ : state) {
    mb::DatasetReader reader(path);
    reader.read(0, kBlock, back);
    benchmark::DoNotOptimize(back.values.data());
  }
  finish_block_benchmark(state, path, back);
}

// The block copied `copies` times (series, events and customer ids renumbered) into one file.
void write_copies(const fs::path& path, std::int64_t copies) {
  fs::remove(path);
  mb::DatasetWriter writer(path, mb::bench::dataset_info(block().scenario, copies * kBlock, mb::tool_version()));
  for (std::int64_t c = 0; c < copies; ++c) {
    mb::SeriesBlock copy = block().block;
    copy.first_series = c * kBlock;
    for (mb::EventRecord& e : copy.events) e.series += static_cast<std::uint64_t>(c * kBlock);
    for (mb::SeriesRecord& r : copy.series)  // (customer, meter) pairs are unique in a valid file
      r.set_ids(std::string(r.customer()) + "-copy" + std::to_string(c), std::string(r.meter()));
    writer.write(copy);
  }
  writer.finish();
}

void BM_ReadBlocks(benchmark::State& state) {
  constexpr std::int64_t kCopies = 8;
  const fs::path path = scratch_file("read_blocks.h5");
  write_copies(path, kCopies);
  mb::DatasetReader reader(path);
  std::array<mb::SeriesBlock, 3> blocks;
  const auto& want = block().block;
  for (std::int64_t c = 0; c < kCopies; ++c) {
    mb::SeriesBlock& b = blocks[static_cast<std::size_t>(c % 3)];
    reader.read(c * kBlock, kBlock, b);
    bool same = b.values.size() == want.values.size() &&
                std::memcmp(b.values.data(), want.values.data(), want.values.size() * sizeof(float)) == 0 && b.labels == want.labels &&
                b.events.size() == want.events.size();
    for (std::size_t e = 0; same && e < want.events.size(); ++e)
      same = b.events[e].series == want.events[e].series + static_cast<std::uint64_t>(c * kBlock) && b.events[e].start == want.events[e].start;
    if (!same) {
      state.SkipWithError("the file does not read back as the copied blocks");
      return;
    }
  }
  for (auto _ : state) {
    for (std::int64_t c = 0; c < kCopies; ++c) reader.read(c * kBlock, kBlock, blocks[static_cast<std::size_t>(c % 3)]);
    benchmark::DoNotOptimize(blocks[0].values.data());
  }
  state.SetItemsProcessed(state.iterations() * kCopies * kBlock);
  state.SetBytesProcessed(state.iterations() * kCopies * static_cast<std::int64_t>(want.values.size() * sizeof(float)));
  fs::remove_all(path.parent_path());
}

void BM_GenerateBlock(benchmark::State& state) {
  const auto& ref = block();
  const mb::SeriesGenerator gen(ref.scenario, ref.scenario.seed);
  const std::int64_t steps = ref.scenario.grid.steps;
  mb::SeriesBlock b;
  b.reset(0, kBlock, steps, true);
  std::vector<std::vector<mb::EventRecord>> events(static_cast<std::size_t>(kBlock));
  tbb::enumerable_thread_specific<mb::GeneratorWorkspace> workspaces;
  const auto run = [&] {
    tbb::parallel_for(std::int64_t{0}, kBlock, [&](std::int64_t i) {
      const auto row = static_cast<std::size_t>(i * steps);
      auto& ev = events[static_cast<std::size_t>(i)];
      ev.clear();
      gen.generate(i, workspaces.local(), b.row(i), {b.labels.data() + row, static_cast<std::size_t>(steps)}, b.series[static_cast<std::size_t>(i)], ev);
    });
  };
  run();  // verify: the parallel block is bit-identical to the serial one
  std::vector<mb::EventRecord> all;
  for (const auto& ev : events) all.insert(all.end(), ev.begin(), ev.end());
  if (std::memcmp(b.values.data(), ref.block.values.data(), b.values.size() * sizeof(float)) != 0 || all != ref.block.events) {
    state.SkipWithError("the parallel block differs from serial generation");
    return;
  }
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(b.values.data());
  }
  state.SetItemsProcessed(state.iterations() * kBlock);
}

void BM_ReadManySeries(benchmark::State& state) {
  constexpr std::int64_t kSeries = 1'000'000, kSteps = 8, kReadBlock = 65'536;
  const fs::path path = scratch_file("many.h5");
  mb::DatasetInfo info;
  info.grid = {mb::parse_utc_timestamp("2024-01-01"), mb::kSecondsPerDay, kSteps};
  info.series_count = kSeries;
  info.has_labels = false;
  info.source = "generated";
  info.tool_version = mb::tool_version();
  {
    mb::DatasetWriter writer(path, info);
    mb::SeriesBlock b;
    for (std::int64_t first = 0; first < kSeries; first += kReadBlock) {
      const std::int64_t n = std::min(kReadBlock, kSeries - first);
      b.reset(first, n, kSteps, false);
      for (std::int64_t i = 0; i < n; ++i) {
        std::fill_n(b.row(i).begin(), kSteps, static_cast<float>(i % 100));
        char id[32];
        std::snprintf(id, sizeof(id), "customer-%07lld", static_cast<long long>((first + i) / 4));
        b.series[static_cast<std::size_t>(i)].set_ids(id, "meter-" + std::to_string((first + i) % 4));
        b.series[static_cast<std::size_t>(i)].price_per_unit = 0.5;
      }
      writer.write(b);
    }
    writer.finish();
  }
  mb::DatasetReader reader(path);
  mb::SeriesBlock b;
  reader.read(kSeries - 1, 1, b);
  if (b.series[0].customer() != "customer-0249999" || b.series[0].meter() != "meter-3") {
    state.SkipWithError("the file does not read back");
    return;
  }
  for (auto _ : state) {
    for (std::int64_t first = 0; first < kSeries; first += kReadBlock) reader.read(first, std::min(kReadBlock, kSeries - first), b);
    benchmark::DoNotOptimize(b.series.data());
  }
  state.SetItemsProcessed(state.iterations() * kSeries);
  fs::remove_all(path.parent_path());
}

BENCHMARK(BM_WriteBlock)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadBlock)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadBlocks)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GenerateBlock)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadManySeries)->Unit(benchmark::kMillisecond);

}  // namespace
