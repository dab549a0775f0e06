#include <cstdio>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "meterbench/core/anomaly.hpp"
#include "meterbench/distributed/process_group.hpp"
#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench::cli {
namespace {

struct GenerateCommand {
  std::string scenario;
  std::optional<std::int64_t> series, days;
  std::optional<std::uint64_t> seed;
  meterbench::GenerateOptions options;
  DatasetOutputOptions output;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("generate", "Generate a synthetic population of usage series with labelled anomalies (HDF5)");
    cmd->add_option("--scenario", scenario, "Scenario TOML file (see datasets/scenarios/)")->required();
    cmd->add_option("--series", series, "Number of series (overrides the scenario)")->transform(integer_in<std::int64_t>());
    cmd->add_option("--days", days, "Length in days (overrides the scenario)")->transform(integer_in<std::int64_t>());
    cmd->add_option("--seed", seed, "Random seed (overrides the scenario)")->transform(integer_in<std::uint64_t>());
    add_output_options(*cmd, options.out, options.overwrite, "HDF5 file");
    add_dataset_output_options(*cmd, output);
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    const meterbench::ThreadLimit limit(common.threads);
    // The scenario is an input too: --force must not replace it.
    if (meterbench::process_group().rank() == 0) {
      const meterbench::StagedOutput check(options.out, options.overwrite, meterbench::OutputKind::file, {scenario});
    }
    meterbench::Scenario sc = meterbench::load_scenario(scenario);
    sc.override_size(series, days, seed);
    options.write = output.checked();
    options.block_series = output.block_series;
    options.group = &meterbench::process_group();  // under mpirun: every rank generates its share
    const meterbench::GenerateSummary s = meterbench::generate_dataset(sc, options);
    if (options.group->rank() != 0) return;  // rank 0 reports
    std::printf("generated %s: %lld series x %lld steps, %lld events, %.0f USD injected impact\n", options.out.c_str(),
                static_cast<long long>(s.series), static_cast<long long>(s.steps), static_cast<long long>(s.events), s.impact_usd);
    std::printf("  %.2f s wall, %.0f series/s, %.1f MB/s written (%.1f MB), %d threads\n", s.wall_seconds,
                static_cast<double>(s.series) / s.wall_seconds, static_cast<double>(s.file_bytes) / 1e6 / s.wall_seconds,
                static_cast<double>(s.file_bytes) / 1e6, limit.threads());
    std::printf("  events by kind:");
    print_events_by_kind(s.events_by_kind);
    std::printf("  series by profile:");
    for (std::size_t p = 1; p < meterbench::kUsageProfileCount; ++p)
      std::printf(" %s=%lld", std::string(meterbench::to_string(static_cast<meterbench::UsageProfile>(p))).c_str(),
                  static_cast<long long>(s.series_by_profile[p]));
    std::printf("\n");
  }
};

}  // namespace

void add_generate_command(CLI::App& app, CommonOptions& common) { register_command<GenerateCommand>(app, common); }

}  // namespace meterbench::cli
