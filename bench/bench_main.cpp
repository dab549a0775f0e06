// The one main() of every benchmark: records the build's context with each result (tool version and commit,
// build type, instruction set, library versions), warns when the build is not optimised, and keeps engine logs quiet.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include "meterbench/core/version.hpp"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  spdlog::set_level(spdlog::level::warn);  // progress lines would interleave with the results table
  benchmark::AddCustomContext("meterbench", meterbench::tool_version());
  benchmark::AddCustomContext("arch", meterbench::build_arch());
  benchmark::AddCustomContext("libraries", meterbench::library_versions());
  if (meterbench::is_unoptimized_build()) benchmark::AddCustomContext("WARNING", "unoptimized build: timings are meaningless");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
