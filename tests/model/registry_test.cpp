// Contract of the detector registry: the known names, building each detector, and the exact error texts
// for unknown names and bad parameters; the parameter documentation lists every parameter.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "baseline_test_support.hpp"
#include "meterbench/model/registry.hpp"

// Counts heap allocations, to check that detect() never allocates (the contract of detector.hpp).
namespace {
std::atomic<long> g_allocations{0};
}  // namespace
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// GCC 12 flags free() inside a replacement operator delete as mismatched with operator new: a known false
// positive for replacement allocation functions, which are exactly the place where malloc/free belong.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace meterbench {
namespace {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument)";
}

TEST(Registry, NamesAreSortedAndComplete) {
  EXPECT_EQ(detector_names(), (std::vector<std::string>{"gam", "random", "seasonal-mad", "stl-esd"}));
}

// Every registered detector builds with its defaults on daily and hourly grids, reports its name and every
// parameter of its specs, and returns a workspace.
TEST(Registry, EveryNameBuildsWithDefaults) {
  for (const auto& grid : {testing::daily_grid(730), testing::hourly_grid(90)}) {
    for (const auto& name : detector_names()) {
      const auto detector = make_detector(name, {}, grid);
      ASSERT_NE(detector, nullptr) << name;
      EXPECT_EQ(detector->name(), name);
      EXPECT_NE(detector->make_workspace(), nullptr) << name;
      const auto parameters = detector->parameters();
      const auto specs = detector_parameter_specs(name);
      ASSERT_EQ(parameters.size(), specs.size()) << name;
      for (std::size_t i = 0; i < specs.size(); ++i) EXPECT_EQ(parameters[i].first, specs[i].name) << name;
    }
  }
}

TEST(Registry, UnknownModelNamesTheKnownOnes) {
  const std::vector<std::string> none;
  EXPECT_EQ(error_of([&] { (void)make_detector("xyz", none, testing::daily_grid(10)); }),
            "unknown model 'xyz' (known: gam, random, seasonal-mad, stl-esd)");
  EXPECT_EQ(error_of([&] { (void)detector_parameter_specs("prophet"); }),
            "unknown model 'prophet' (known: gam, random, seasonal-mad, stl-esd)");
}

TEST(Registry, BadParametersGiveExactMessages) {
  const auto grid = testing::daily_grid(100);
  const auto build = [&](const char* name, std::vector<std::string> settings) {
    return error_of([&] { (void)make_detector(name, settings, grid); });
  };
  EXPECT_EQ(build("seasonal-mad", {"k=3"}), "seasonal-mad: unknown parameter 'k' (known: weeks, min_history, z, scale_floor)");
  EXPECT_EQ(build("stl-esd", {"alpha=0.9"}),
            "stl-esd: parameter 'alpha' has value '0.9', out of range (expected number in [1e-09, 0.5])");
  EXPECT_EQ(build("random", {"flag_rate"}), "random: setting 'flag_rate' is not of the form name=value");
  EXPECT_EQ(build("random", {"seed=1.5"}),
            "random: parameter 'seed' has value '1.5', which is not an integer (expected integer in [0, 9007199254740991])");
  EXPECT_EQ(build("seasonal-mad", {"weeks=4", "weeks=5"}), "seasonal-mad: parameter 'weeks' is set twice");
  EXPECT_EQ(build("stl-esd", {"period=1"}),
            "stl-esd: parameter 'period' has value '1', out of range (expected 0 = one week, or integer in [2, 100000])");
  EXPECT_EQ(build("stl-esd", {"trend_window=1"}),
            "stl-esd: parameter 'trend_window' has value '1', out of range (expected 0 = 5 periods, or odd integer in [3, 1000001])");
}

// Grids whose week is not a whole number of steps are rejected by the week-based baselines.
TEST(Registry, RejectsGridsWithoutWholeWeeks) {
  const TimeGrid odd{0, 5 * kSecondsPerDay, 100};
  const std::vector<std::string> none;
  EXPECT_EQ(error_of([&] { (void)make_detector("seasonal-mad", none, odd); }),
            "seasonal-mad: grid step '5d' does not divide a week into at least two steps");
  EXPECT_EQ(error_of([&] { (void)make_detector("stl-esd", none, odd); }),
            "stl-esd: grid step '5d' does not divide a week into at least two steps");
  const std::vector<std::string> period{"period=4"};
  EXPECT_NO_THROW((void)make_detector("stl-esd", period, odd));
}

// Every spec is self-consistent: a help line, a default inside its range or the row's special 0 (the defaults
// build, above).
TEST(Registry, SpecsHaveHelpAndValidDefaults) {
  for (const auto& name : detector_names())
    for (const auto& spec : detector_parameter_specs(name)) {
      EXPECT_FALSE(spec.help.empty()) << name << "." << spec.name;
      if (spec.type != ParameterSpec::Type::choice) {
        const double v = std::stod(spec.default_value);
        if (v == 0.0 && !spec.rules.zero_means.empty()) continue;
        EXPECT_GE(v, spec.min) << name << "." << spec.name;
        EXPECT_LE(v, spec.max) << name << "." << spec.name;
      }
    }
}

TEST(Registry, DocumentationListsEveryParameter) {
  const std::string doc = describe_all_detectors();
  for (const auto& name : detector_names()) {
    EXPECT_NE(doc.find("### `" + name + "`"), std::string::npos) << name;
    for (const auto& spec : detector_parameter_specs(name))
      EXPECT_NE(doc.find("| `" + spec.name + "` | `" + spec.default_value + "` |"), std::string::npos) << spec.name;
  }
  EXPECT_LT(doc.find("### `gam`"), doc.find("### `stl-esd`"));
}

// The baselines' detect() does not allocate, for retrospective and forward windows, with gaps, on daily
// and hourly grids, including the status paths (workspaces and outputs are created beforehand).
TEST(Registry, BaselineDetectDoesNotAllocate) {
  for (const auto& grid : {testing::daily_grid(730), testing::hourly_grid(90)}) {
    auto y = testing::weekly_series(grid, 100.0, 3.0, 77);
    for (std::int64_t t = 0; t < grid.steps; t += 9) y[t] = testing::kNaN;
    const std::vector<float> flat(static_cast<std::size_t>(grid.steps), 2.0F);
    const std::vector<float> missing(static_cast<std::size_t>(grid.steps), testing::kNaN);
    for (const char* name : {"random", "seasonal-mad", "stl-esd"}) {
      const auto detector = make_detector(name, {}, grid);
      const auto ws = detector->make_workspace();
      testing::OutputBuffers out(grid.steps);
      const DetectionOutput view = out.view();
      const std::int64_t week = 7 * grid.steps_per_day();
      const DetectionWindow windows[] = {DetectionWindow::retrospective(grid.steps),
                                         DetectionWindow::forward(grid.steps - week, grid.steps), {0, 10, 0, 10}};
      const std::vector<float>* const inputs[] = {&y, &flat, &missing};
      const long before = g_allocations.load();
      for (const auto& window : windows)
        for (const std::vector<float>* values : inputs) (void)detector->detect({*values, 3}, window, *ws, view);
      EXPECT_EQ(g_allocations.load(), before) << name;
    }
  }
}

TEST(Registry, FitStatusNames) {
  EXPECT_EQ(to_string(FitStatus::ok), "ok");
  EXPECT_EQ(to_string(FitStatus::too_short), "too_short");
  EXPECT_EQ(to_string(FitStatus::all_missing), "all_missing");
  EXPECT_EQ(to_string(FitStatus::constant), "constant");
  EXPECT_EQ(to_string(FitStatus::not_converged), "not_converged");
}

}  // namespace
}  // namespace meterbench
