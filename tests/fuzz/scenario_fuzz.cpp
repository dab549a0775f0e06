// Fuzz target: scenario TOML text -> Scenario (parse_scenario and its validation, then the command-line override
// path). A scenario that parses must keep the documented limits: population and calendar within bounds, every
// range ordered and finite, rates and weights non-negative. ScenarioError is the expected answer to bad text;
// anything else, or a scenario outside those limits, is a finding.
#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "meterbench/core/check.hpp"
#include "meterbench/generate/scenario.hpp"

namespace {

void check_range(const meterbench::Range& r) { METERBENCH_CHECK(std::isfinite(r.min) && std::isfinite(r.max) && r.min <= r.max); }

void check_limits(const meterbench::Scenario& s) {
  using namespace meterbench;
  METERBENCH_CHECK(s.series >= 1 && s.series <= kMaxSeries);
  METERBENCH_CHECK(s.days >= 1 && s.days <= kMaxDays);
  METERBENCH_CHECK(s.grid.steps >= 1 && s.grid.steps <= kMaxSteps && s.grid.step_seconds > 0);
  for (const Range& r : {s.level, s.gaussian_cv, s.nb_dispersion, s.lognormal_sigma, s.price}) check_range(r);
  for (const double w : s.profile_weights) METERBENCH_CHECK(std::isfinite(w) && w >= 0.0);
  for (const double w : s.noise_weights) METERBENCH_CHECK(std::isfinite(w) && w >= 0.0);
  for (const InjectionSpec& spec : s.injections) {
    METERBENCH_CHECK(std::isfinite(spec.rate) && spec.rate >= 0.0);
    check_range(spec.length);
    check_range(spec.size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  meterbench::fuzzing::prepare_process();
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    meterbench::Scenario scenario = meterbench::parse_scenario(text, "fuzz.toml");
    check_limits(scenario);
    scenario.override_size(1, 1, 7);  // re-validation with the smallest population
    check_limits(scenario);
  } catch (const meterbench::ScenarioError&) {
  }
  return 0;
}
