// Generation benchmarks. Each checks its output before it is timed (a wrong generator gets no figure):
//   BM_GenerateSeries      one thread, per-series cost of a 730-day daily series (items = series)
//   BM_GenerateToFile/N    the whole `meterbench generate` path, N series x 730 days to an uncompressed
//                          HDF5 file on disk, all threads, wall time; reports series/s, bytes/s, peak RSS.
// The issue-2 target is BM_GenerateToFile/1000000 <= 30 s and < 1 GiB peak RSS on the 2-core machine:
//   build/bench/generate_bench --benchmark_filter='ToFile/1000000' --benchmark_repetitions=3
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include <benchmark/benchmark.h>

#include "meterbench/core/version.hpp"
#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/generate/series_generator.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/runtime/run_context.hpp"

namespace mb = meterbench;

namespace {

mb::Scenario default_scenario(std::int64_t series) {
  mb::Scenario s = mb::load_scenario(std::filesystem::path(METERBENCH_SOURCE_DIR) / "datasets/scenarios/default.toml");
  s.override_size(series, 730, std::nullopt);
  return s;
}

// The labels of a generated series must be exactly its events, and gaps exactly its NaNs.
bool consistent(const std::vector<float>& values, const std::vector<std::uint8_t>& labels, const std::vector<mb::EventRecord>& events) {
  std::vector<std::uint8_t> rebuilt(labels.size(), 0);
  for (const auto& ev : events) std::fill(rebuilt.begin() + ev.start, rebuilt.begin() + ev.end + 1, ev.kind);
  if (rebuilt != labels) return false;
  for (std::size_t t = 0; t < values.size(); ++t)
    if (std::isnan(values[t]) != (labels[t] == static_cast<std::uint8_t>(mb::AnomalyKind::gap))) return false;
  return true;
}

void BM_GenerateSeries(benchmark::State& state) {
  const mb::Scenario sc = default_scenario(1);
  const mb::SeriesGenerator gen(sc, sc.seed);
  mb::GeneratorWorkspace ws, fresh;
  const auto n = static_cast<std::size_t>(sc.grid.steps);
  std::vector<float> values(n), again(n);
  std::vector<std::uint8_t> labels(n), labels_again(n);
  std::vector<mb::EventRecord> events, events_again;
  mb::SeriesRecord record;
  // Verify: the same index twice (reused and fresh workspace) gives the same bits, and labels match events.
  for (std::int64_t i = 0; i < 64; ++i) {
    events.clear();
    events_again.clear();
    gen.generate(i, ws, values, labels, record, events);
    gen.generate(i, fresh, again, labels_again, record, events_again);
    if (std::memcmp(values.data(), again.data(), n * sizeof(float)) != 0 || !consistent(values, labels, events)) {
      state.SkipWithError("generator output is not reproducible or not consistent");
      return;
    }
  }
  std::int64_t index = 0;
  for (auto _ : state) {
    events.clear();
    gen.generate(index++, ws, values, labels, record, events);
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["steps_per_second"] = benchmark::Counter(static_cast<double>(state.iterations() * sc.grid.steps), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GenerateSeries);

void BM_GenerateToFile(benchmark::State& state) {
  const std::int64_t series = state.range(0);
  const mb::Scenario sc = default_scenario(series);
  const auto dir = std::filesystem::temp_directory_path() / ("meterbench-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "population.h5";
  std::uintmax_t bytes = 0;
  for (auto _ : state) {
    std::filesystem::remove(path);
    const mb::GenerateSummary summary = mb::generate_dataset(sc, {.out = path, .write = {}});
    bytes = summary.file_bytes;
    state.PauseTiming();
    // Verify a few series read back from disk against direct generation.
    mb::DatasetReader reader(path);
    const mb::SeriesGenerator gen(sc, sc.seed);
    mb::GeneratorWorkspace ws;
    const auto n = static_cast<std::size_t>(sc.grid.steps);
    std::vector<float> values(n);
    std::vector<std::uint8_t> labels(n);
    std::vector<mb::EventRecord> events;
    mb::SeriesRecord record;
    mb::SeriesBlock block;
    for (const std::int64_t i : {std::int64_t{0}, series / 2, series - 1}) {
      events.clear();
      gen.generate(i, ws, values, labels, record, events);
      reader.read(i, 1, block);
      if (std::memcmp(values.data(), block.values.data(), n * sizeof(float)) != 0 || block.events != events) {
        state.SkipWithError("file content differs from direct generation");
        break;
      }
    }
    state.ResumeTiming();
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * series);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
  state.counters["peak_rss_MiB"] = static_cast<double>(mb::peak_rss_bytes()) / (1 << 20);
  state.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK(BM_GenerateToFile)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

}  // namespace
