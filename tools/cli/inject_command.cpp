#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "meterbench/core/anomaly.hpp"
#include "meterbench/inject/inject_dataset.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench::cli {
namespace {

struct InjectCommand {
  std::string scenario;
  meterbench::InjectOptions options;
  std::int64_t chunk = 0;
  int compress = 0;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand(
        "inject", "Inject a scenario's labelled anomalies into an existing dataset (e.g. ingested real usage), sized by its own noise (HDF5)");
    cmd->add_option("--data", options.data, "Dataset to inject into (HDF5, from ingest, generate or inject; not changed)")->required();
    cmd->add_option("--scenario", scenario, "Scenario TOML file: its [injections] tables (see datasets/scenarios/)")->required();
    cmd->add_option("--seed", options.seed, "Injection seed")->required()->transform(integer_in<std::uint64_t>());
    add_output_options(*cmd, options.out, options.overwrite, "HDF5 file");
    add_block_option(*cmd, options.block_series);
    cmd->add_option("--chunk", chunk, "Series per HDF5 chunk (0 = about 1 MiB of values)")->transform(integer_in<std::int64_t>())->capture_default_str();
    cmd->add_option("--compress", compress, "gzip level 0 (off) to 9")->transform(integer_in<int>(0, 9))->capture_default_str();
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    const meterbench::ThreadLimit limit(common.threads);
    // The scenario and the data are inputs: --force must replace neither.
    { const meterbench::StagedOutput check(options.out, options.overwrite, meterbench::OutputKind::file, {scenario, options.data}); }
    const meterbench::Scenario sc = meterbench::load_scenario(scenario, meterbench::ScenarioPurpose::inject);
    if (options.block_series < 0) throw std::invalid_argument(fmt::format("--block must be >= 0, got {}", options.block_series));
    if (chunk < 0) throw std::invalid_argument(fmt::format("--chunk must be >= 0, got {}", chunk));
    options.write.chunk_series = chunk;
    options.write.compression_level = compress;
    const meterbench::InjectSummary s = meterbench::inject_dataset(sc, options);
    std::printf("injected %s: %lld series x %lld steps, %lld events injected (%lld kept from the input, %lld found no place), %.0f USD "
                "injected impact",
                options.out.c_str(), static_cast<long long>(s.series), static_cast<long long>(s.steps), static_cast<long long>(s.events),
                static_cast<long long>(s.kept_events), static_cast<long long>(s.unplaced_injections), s.impact_usd);
    if (s.unknown_impact_events > 0) std::printf(" (%lld anomalies on series without a price: impact unknown)", static_cast<long long>(s.unknown_impact_events));
    std::printf("\n  %.2f s wall, %d threads\n  events by kind:", s.wall_seconds, limit.threads());
    for (std::size_t k = 1; k < meterbench::kAnomalyKindCount; ++k)
      if (s.events_by_kind[k] > 0)
        std::printf(" %s=%lld", std::string(meterbench::to_string(static_cast<meterbench::AnomalyKind>(k))).c_str(),
                    static_cast<long long>(s.events_by_kind[k]));
    std::printf("\n");
  }
};

}  // namespace

void add_inject_command(CLI::App& app, CommonOptions& common) { register_command<InjectCommand>(app, common); }

}  // namespace meterbench::cli
