// Fuzz target: scenario TOML text -> Scenario (parse_scenario and its validation, then the command-line
// override path). ScenarioError is the expected answer to bad text; anything else is a finding.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "meterbench/generate/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  meterbench::fuzzing::prepare_process();
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    meterbench::Scenario scenario = meterbench::parse_scenario(text, "fuzz.toml");
    scenario.override_size(1, 1, 7);  // re-validation with the smallest population
  } catch (const meterbench::ScenarioError&) {
  }
  return 0;
}
