// Ingest benchmark: a synthetic usage export of N rows (100,000 customers' meters, daily, in date order as
// exports come) is written once outside the timed region, then `ingest` turns it into a dataset.
// Verified before it is reported: the dataset holds the expected series, steps and a sampled value.
// The issue-6 target: 100 million rows at >= 2 million rows/s in bounded memory on the 2-core machine:
//   build/release/bench/ingest_bench --benchmark_filter='Ingest/100000000'
// The 18-column Azure-style sample export (`sample-export` at its defaults: 316k rows, 144 MB) as one file, a
// folder of daily files, and gzip (one file), ingested with the options the quick start uses:
//   build/release/bench/ingest_bench --benchmark_filter='SampleExport' --benchmark_repetitions=5
// (all cores: the 2 of the reference machine).
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/generate/usage_export.hpp"
#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/runtime/run_context.hpp"

namespace mb = meterbench;

namespace {

// CPU seconds of the whole process (all threads): the machine is shared, so wall time alone misleads.
double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

constexpr std::int64_t kSeries = 100'000;

// The quantity of series s on day d: deterministic, so the check below knows it.
double quantity(std::int64_t s, std::int64_t d) { return static_cast<double>((s * 7919 + d * 104729) % 100000) / 100.0; }

std::filesystem::path write_export(std::int64_t rows) {
  const auto path = std::filesystem::temp_directory_path() / fmt::format("meterbench-ingest-bench-{}-{}.csv", ::getpid(), rows);
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("customer,meter,date,quantity,price\n", f);
  const std::int64_t start_day = mb::days_from_civil({2020, 1, 1});
  std::string line;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t d = r / kSeries, s = r % kSeries;
    const mb::CivilDate c = mb::civil_from_days(start_day + d);
    line = fmt::format("cust-{:06d},meter-{},{:04d}-{:02d}-{:02d},{:.2f},0.05\n", s / 4, s % 4, c.year, c.month, c.day, quantity(s, d));
    std::fputs(line.c_str(), f);
  }
  std::fclose(f);
  return path;
}

void BM_Ingest(benchmark::State& state) {
  const std::int64_t rows = state.range(0);
  const auto csv = write_export(rows);
  const auto out = std::filesystem::path(csv).replace_extension(".h5");
  const std::int64_t days = (rows + kSeries - 1) / kSeries;
  double cpu = 0.0;
  std::int64_t file_reads = 0;
  for (auto _ : state) {
    std::filesystem::remove(out);
    const double cpu_start = process_cpu_seconds();
    const mb::IngestSummary s = mb::ingest_csv({.csv = csv, .out = out});
    cpu += process_cpu_seconds() - cpu_start;
    file_reads = s.file_reads;
    state.PauseTiming();
    mb::DatasetReader reader(out);
    mb::SeriesBlock block;
    reader.read(kSeries / 2, 1, block);  // series 50000 is cust-012500/meter-0
    const bool ok = s.rows == rows && s.series == std::min(rows, kSeries) && s.steps == days && block.series[0].customer() == "cust-012500" &&
                    std::fabs(block.values[0] - static_cast<float>(quantity(kSeries / 2, 0))) < 1e-3f;
    state.ResumeTiming();
    if (!ok) {
      state.SkipWithError("ingested dataset does not hold the export's values");
      break;
    }
  }
  std::filesystem::remove(out);
  std::filesystem::remove(csv);
  state.SetItemsProcessed(state.iterations() * rows);
  state.counters["process_cpu_s"] = cpu / static_cast<double>(state.iterations());
  state.counters["file_reads"] = static_cast<double>(file_reads);
  state.counters["peak_rss_MiB"] = static_cast<double>(mb::peak_rss_bytes()) / (1 << 20);
}
BENCHMARK(BM_Ingest)->Arg(10'000'000)->Arg(100'000'000)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

// The sample export in its three forms, written once per process outside the timed region.
enum class ExportForm : std::int64_t { one_file = 0, daily_files = 1, gzip_file = 2 };

struct RemovedAtExit {
  std::filesystem::path dir;
  ~RemovedAtExit() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

const std::filesystem::path& sample_export(ExportForm form) {
  static const RemovedAtExit scratch{std::filesystem::temp_directory_path() / fmt::format("meterbench-ingest-bench-export-{}", ::getpid())};
  const std::filesystem::path& dir = scratch.dir;
  static std::filesystem::path paths[3];
  auto& path = paths[static_cast<std::size_t>(form)];
  if (path.empty()) {
    std::filesystem::create_directories(dir);
    path = dir / (form == ExportForm::one_file ? "usage.csv" : form == ExportForm::daily_files ? "daily" : "usage.csv.gz");
    mb::write_usage_export({.out = path,
                            .labels = dir / fmt::format("labels-{}.csv", static_cast<int>(form)),
                            .overwrite = true,
                            .daily_files = form == ExportForm::daily_files,
                            .gzip = form == ExportForm::gzip_file});
  }
  return path;
}

void BM_IngestSampleExport(benchmark::State& state) {
  const auto form = static_cast<ExportForm>(state.range(0));
  const std::filesystem::path& in = sample_export(form);
  const auto out = in.parent_path() / "bench.h5";
  mb::IngestOptions options{.csv = in,
                            .column_map = {"date=Date", "customer=CustomerName+SubscriptionId", "meter=MeterId", "quantity=Quantity", "price=EffectivePrice"},
                            .date_format = "%m/%d/%Y",
                            .out = out,
                            .overwrite = true};
  double cpu = 0.0;
  std::int64_t rows = 0;
  for (auto _ : state) {
    const double cpu_start = process_cpu_seconds();
    const mb::IngestSummary s = mb::ingest_csv(options);
    cpu += process_cpu_seconds() - cpu_start;
    rows = s.rows;
    if (s.series != 899 || s.steps != 365) {
      state.SkipWithError("ingested dataset does not hold the export's 899 series x 365 days");
      break;
    }
  }
  std::filesystem::remove(out);
  state.SetItemsProcessed(state.iterations() * rows);
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["process_cpu_s"] = cpu / static_cast<double>(state.iterations());
  state.counters["rows_per_cpu_s"] = static_cast<double>(rows) * static_cast<double>(state.iterations()) / cpu;
}
BENCHMARK(BM_IngestSampleExport)->ArgName("form_file0_daily1_gz2")->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
