// The speed regression check of CI. Machines differ and this one is shared, so seconds are not
// compared: each hot path's cost per item is divided by the cost of a fixed reference kernel (a 64 x 64
// dgemm with Eigen) measured in the same run, interleaved with it (reference, path, reference, path ...),
// on the calling thread's CPU clock (other processes' load does not count), and the median of the
// per-repetition ratios is compared with results/speed_baseline.json. A ratio above baseline x (1 + band)
// fails with the benchmark's name, both ratios and both microsecond figures.
//
//   build/release/bench/speed_check --baseline results/speed_baseline.json        (ctest -L speed)
//   tools/update_speed_baseline.sh                                                (rewrites the baseline)
//
// Each path's output is checked before it is timed (a broken path gets no figure and fails the check).
// One thread throughout: parallel speed-up is the capacity command's business, not this check's.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bench_data.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/evaluate/metrics.hpp"
#include "meterbench/generate/scenario.hpp"
#include "meterbench/generate/series_generator.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/runtime/run_context.hpp"

namespace mb = meterbench;
namespace fs = std::filesystem;

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <class F>
double cpu_time(F&& f) {
  const double t0 = thread_cpu_seconds();
  f();
  return thread_cpu_seconds() - t0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The reference kernel: fixed work, compute-bound, no I/O, no allocation in the loop.
struct Reference {
  static constexpr int kMultiplies = 200;
  Eigen::MatrixXd a = Eigen::MatrixXd::Random(64, 64), b = Eigen::MatrixXd::Random(64, 64), c = Eigen::MatrixXd::Zero(64, 64);
  void run() {
    for (int i = 0; i < kMultiplies; ++i) {
      c.noalias() += a * b;
      c *= 0.5;  // keeps the values bounded
    }
  }
};

struct Case {
  std::string name;
  std::string item;     // what one item is
  std::int64_t items;   // items per call of run
  std::function<void()> run;
};

constexpr std::int64_t kSeries = 64;      // series per detector / generator call
constexpr std::int64_t kIoSeries = 1024;  // series per HDF5 block (about 3 MiB of values)

using Data = mb::bench::GeneratedBlock;

[[noreturn]] void wrong(const std::string& name, const std::string& why) {
  throw std::runtime_error(fmt::format("{}: wrong output before timing: {}", name, why));
}

// Detector outputs for the first kSeries series, kept so that the evaluation case has real input.
struct Outputs {
  std::vector<float> expected, lower, upper, score;
  explicit Outputs(std::size_t n) : expected(n), lower(n), upper(n), score(n) {}
  mb::DetectionOutput row(std::int64_t i, std::int64_t steps) {
    const auto at = [&](std::vector<float>& v) { return std::span<float>(v.data() + i * steps, static_cast<std::size_t>(steps)); };
    return {at(expected), at(lower), at(upper), at(score)};
  }
};

Case detector_case(const std::string& case_name, const std::string& model, const Data& d, Outputs& out) {
  const std::int64_t steps = d.scenario.grid.steps;
  auto detector = std::shared_ptr<mb::Detector>(mb::make_detector(model, {}, d.scenario.grid));
  auto workspace = std::shared_ptr<mb::DetectorWorkspace>(detector->make_workspace());
  const auto window = mb::DetectionWindow::retrospective(steps);
  const auto run_all = [&d, &out, detector, workspace, window, steps]() {
    std::int64_t ok = 0;
    for (std::int64_t i = 0; i < kSeries; ++i)
      ok += detector->detect({d.block.row(i), static_cast<std::uint64_t>(i)}, window, *workspace, out.row(i, steps)) == mb::FitStatus::ok ? 1 : 0;
    return ok;
  };
  // Check: most fits succeed and every observed step has a finite band around a finite expected value.
  const std::int64_t ok = run_all();
  if (ok < kSeries * 3 / 4) wrong(case_name, fmt::format("only {} of {} fits ok", ok, kSeries));
  for (std::int64_t i = 0; i < kSeries * steps; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (std::isnan(d.block.values[k])) continue;
    if (!std::isfinite(out.expected[k]) || !(out.lower[k] <= out.upper[k]) || std::isnan(out.score[k]))
      wrong(case_name, fmt::format("bad output at series {} step {}", i / steps, i % steps));
  }
  return {case_name, "series", kSeries, [run_all] { (void)run_all(); }};
}

std::vector<Case> make_cases(const Data& d, Outputs& gam_out, Outputs& scratch, const fs::path& dir) {
  std::vector<Case> cases;
  const std::int64_t steps = d.scenario.grid.steps;

  {  // generate: bit-identical to the block made at start-up
    auto gen = std::make_shared<mb::SeriesGenerator>(d.scenario, d.scenario.seed);
    auto state = std::make_shared<std::tuple<mb::GeneratorWorkspace, mb::SeriesBlock>>();
    auto& [ws, block] = *state;
    block.reset(0, kSeries, steps, true);
    const auto run = [gen, state, steps] {
      auto& [w, b] = *state;
      b.events.clear();
      for (std::int64_t i = 0; i < kSeries; ++i) {
        const auto row = static_cast<std::size_t>(i * steps);
        gen->generate(i, w, b.row(i), {b.labels.data() + row, static_cast<std::size_t>(steps)}, b.series[static_cast<std::size_t>(i)], b.events);
      }
    };
    run();
    if (std::memcmp(block.values.data(), d.block.values.data(), static_cast<std::size_t>(kSeries * steps) * sizeof(float)) != 0)
      wrong("generate_block", "values differ from the first generation");
    cases.push_back({"generate_block", "series", kSeries, run});
  }

  cases.push_back(detector_case("gam_daily730", "gam", d, gam_out));
  cases.push_back(detector_case("seasonal_mad_daily730", "seasonal-mad", d, scratch));
  cases.push_back(detector_case("stl_esd_daily730", "stl-esd", d, scratch));

  {  // evaluation of the gam's output: the point counts must add up to the observed steps
    mb::EvaluationConfig config;
    config.z = 2.5758293035489004;
    auto acc = std::make_shared<mb::EvaluationAccumulator>(config);
    const auto run = [&d, &gam_out, acc, steps] {
      for (std::int64_t i = 0; i < kSeries; ++i) {
        const auto row = static_cast<std::size_t>(i * steps);
        const auto n = static_cast<std::size_t>(steps);
        const auto& rec = d.block.series[static_cast<std::size_t>(i)];
        mb::SeriesEvaluationInput in;
        in.values = d.block.row(i);
        in.labels = {d.block.labels.data() + row, n};
        in.events = std::span<const mb::EventRecord>(d.block.events).subspan(d.first_event[static_cast<std::size_t>(i)], d.event_count[static_cast<std::size_t>(i)]);
        in.expected = {gam_out.expected.data() + row, n};
        in.lower = {gam_out.lower.data() + row, n};
        in.upper = {gam_out.upper.data() + row, n};
        in.score = {gam_out.score.data() + row, n};
        in.price_per_unit = rec.price_per_unit;
        in.series_index = static_cast<std::uint64_t>(i);
        in.score_end = steps;
        acc->add_series(in);
      }
    };
    run();
    const auto& c = acc->counts();
    if (c.series != kSeries || c.point_tp + c.point_fp + c.point_fn + c.point_tn + c.dont_care_steps != c.observed_steps || c.observed_steps == 0)
      wrong("evaluate_daily730", "point counts and do-not-care steps do not add up to the observed steps");
    cases.push_back({"evaluate_daily730", "series", kSeries, run});
  }

  {  // HDF5 write and read of a block; the read must return the written values bit for bit
    const fs::path file = dir / "block.h5";
    const mb::DatasetInfo info = mb::bench::dataset_info(d.scenario, kIoSeries, mb::tool_version());
    auto block = std::make_shared<mb::SeriesBlock>(d.block);
    const auto write = [file, info, block] {
      fs::remove(file);
      mb::DatasetWriter writer(file, info);
      writer.write(*block);
      writer.finish();
    };
    write();
    auto read_block = std::make_shared<mb::SeriesBlock>();
    const auto read = [file, read_block] {
      mb::DatasetReader reader(file);
      reader.read(0, kIoSeries, *read_block);
    };
    read();
    if (read_block->values.size() != d.block.values.size() ||
        std::memcmp(read_block->values.data(), d.block.values.data(), d.block.values.size() * sizeof(float)) != 0 || read_block->events != d.block.events)
      wrong("hdf5_read_block", "values or events read back differ from those written");
    cases.push_back({"hdf5_write_block", "series", kIoSeries, write});
    cases.push_back({"hdf5_read_block", "series", kIoSeries, read});
  }
  return cases;
}

struct Measured {
  std::string name, item;
  double ratio = 0.0;         // median over repetitions of (path seconds per item) / (seconds of one reference multiply)
  double us_per_item = 0.0;   // median path CPU microseconds per item
  double reference_us = 0.0;  // median reference CPU microseconds per call
};

Measured measure(const Case& c, Reference& ref, int repetitions) {
  std::vector<double> ratios, per_item, refs;
  c.run();  // warm caches and allocators
  ref.run();
  for (int r = 0; r < repetitions; ++r) {
    const double t_ref = cpu_time([&] { ref.run(); }) / Reference::kMultiplies;  // one reference unit: one multiply
    const double t_case = cpu_time(c.run) / static_cast<double>(c.items);
    ratios.push_back(t_case / t_ref);
    per_item.push_back(t_case * 1e6);
    refs.push_back(t_ref * 1e6 * Reference::kMultiplies);
  }
  return {c.name, c.item, median(ratios), median(per_item), median(refs)};
}

struct Args {
  fs::path baseline;
  fs::path write;
  int repetitions = 15;
  double band = -1.0;  // < 0: the baseline's
  std::string only;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--baseline") a.baseline = value();
    else if (arg == "--write") a.write = value();
    else if (arg == "--repetitions") a.repetitions = std::stoi(value());
    else if (arg == "--band") a.band = std::stod(value());
    else if (arg == "--filter") a.only = value();
    else if (arg == "--help") {
      std::puts("speed_check [--baseline results/speed_baseline.json] [--write FILE] [--repetitions 15] [--band 0.2] [--filter NAME]");
      std::exit(0);
    } else throw std::invalid_argument("unknown argument '" + arg + "'");
  }
  if (a.repetitions < 3 || a.repetitions > 101) throw std::invalid_argument("--repetitions must be in [3, 101]");
  return a;
}

}  // namespace

int main(int argc, char** argv) try {
  spdlog::set_level(spdlog::level::warn);
  const Args args = parse(argc, argv);
  if (mb::is_unoptimized_build()) std::puts("WARNING: unoptimized build: ratios are meaningless against a Release baseline");
  const fs::path dir = fs::temp_directory_path() / fmt::format("meterbench-speed-{}", ::getpid());
  fs::create_directories(dir);
  struct Cleanup {
    fs::path p;
    ~Cleanup() { std::error_code ec; fs::remove_all(p, ec); }
  } cleanup{dir};

  const Data data = mb::bench::generate_default_block(kIoSeries);
  const auto n = static_cast<std::size_t>(kSeries * data.scenario.grid.steps);
  Outputs gam_out(n), scratch(n);
  const std::vector<Case> cases = make_cases(data, gam_out, scratch, dir);

  nlohmann::json baseline = nlohmann::json::object();
  if (!args.baseline.empty()) {
    std::ifstream in(args.baseline);
    if (!in) throw std::runtime_error("cannot read the baseline " + args.baseline.string());
    try {
      baseline = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(args.baseline.string() + ": not valid JSON: " + e.what());
    }
  }
  const double default_band = args.band >= 0 ? args.band : baseline.value("noise_band", 0.20);

  Reference ref;
  std::vector<Measured> results;
  int failures = 0;
  std::printf("%-24s %10s %12s %12s %12s %8s  %s\n", "benchmark", "ratio", "baseline", "us/item", "baseline us", "band", "verdict");
  for (const Case& c : cases) {
    if (!args.only.empty() && c.name.find(args.only) == std::string::npos) continue;
    const Measured m = measure(c, ref, args.repetitions);
    results.push_back(m);
    std::string verdict = "new (no baseline)";
    double base_ratio = NAN, base_us = NAN, band = default_band;
    if (baseline.contains("benchmarks") && baseline["benchmarks"].contains(c.name)) {
      const auto& b = baseline["benchmarks"][c.name];
      base_ratio = b.at("ratio").get<double>();
      base_us = b.at("us_per_item").get<double>();
      if (args.band < 0) band = b.value("band", default_band);
      const double change = m.ratio / base_ratio - 1.0;
      if (change > band) {
        verdict = "SLOWER";
        ++failures;
        std::fprintf(stderr,
                     "speed regression: %s costs %.3f reference units per %s (%.1f us) against the baseline's %.3f (%.1f us): "
                     "%+.0f%%, beyond the %.0f%% noise band\n",
                     c.name.c_str(), m.ratio, c.item.c_str(), m.us_per_item, base_ratio, base_us, 100 * change, 100 * band);
      } else if (change < -band) {
        verdict = "faster: update the baseline?";
      } else {
        verdict = fmt::format("ok ({:+.0f}%)", 100 * change);
      }
    }
    std::printf("%-24s %10.4f %12.4f %12.2f %12.2f %7.0f%%  %s\n", c.name.c_str(), m.ratio, base_ratio, m.us_per_item, base_us, 100 * band,
                verdict.c_str());
  }
  std::printf("reference kernel: %d multiplies of 64 x 64 doubles (Eigen), median %.0f us CPU per call; thread CPU time, %d repetitions\n",
              Reference::kMultiplies, results.empty() ? 0.0 : results.front().reference_us, args.repetitions);

  if (!args.write.empty()) {
    nlohmann::json out;
    out["about"] =
        "Speed baseline of bench/speed_check.cpp: per benchmark, the median ratio of its CPU cost per item to the reference kernel "
        "(one 64 x 64 dgemm with Eigen, timed as 200 in a row) measured in the same run, and the microseconds behind it. See results/README.md.";
    out["noise_band"] = baseline.value("noise_band", 0.20);
    out["repetitions"] = args.repetitions;
    for (const Measured& m : results) {
      nlohmann::json b = {{"ratio", m.ratio}, {"us_per_item", m.us_per_item}, {"item", m.item}, {"reference_us", m.reference_us}};
      if (baseline.contains("benchmarks") && baseline["benchmarks"].contains(m.name) && baseline["benchmarks"][m.name].contains("band"))
        b["band"] = baseline["benchmarks"][m.name]["band"];
      out["benchmarks"][m.name] = b;
    }
    out["context"] = mb::to_json(mb::current_run_context(1));
    mb::StagedOutput staged(args.write, true);
    {
      std::ofstream f(staged.temp_path());
      f << out.dump(2) << '\n';
      if (!f) throw std::runtime_error("cannot write " + staged.temp_path().string());
    }
    staged.commit();
    std::printf("wrote %s\n", args.write.c_str());
  }
  if (failures > 0) {
    std::fprintf(stderr, "%d benchmark(s) slower than the baseline beyond the noise band (see above; results/README.md says what to do)\n", failures);
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "speed_check: %s\n", e.what());
  return 2;
}
