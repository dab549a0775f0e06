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
  DatasetOutputOptions output;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand(
        "inject", "Inject a scenario's labelled anomalies into an existing dataset (e.g. ingested real usage), sized by its own noise (HDF5)");
    cmd->add_option("--data", options.data, "Dataset to inject into (HDF5, from ingest, generate or inject; not changed)")->required();
    cmd->add_option("--scenario", scenario, "Scenario TOML file: its [injections] tables (see datasets/scenarios/)")->required();
    cmd->add_option("--seed", options.seed, "Injection seed")->required()->transform(integer_in<std::uint64_t>());
    add_output_options(*cmd, options.out, options.overwrite, "HDF5 file");
    add_dataset_output_options(*cmd, output);
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& common) {
    const meterbench::ThreadLimit limit(common.threads);
    // The scenario and the data are inputs: --force must replace neither.
    { const meterbench::StagedOutput check(options.out, options.overwrite, meterbench::OutputKind::file, {scenario, options.data}); }
    const meterbench::Scenario sc = meterbench::load_scenario(scenario, meterbench::ScenarioPurpose::inject);
    options.write = output.checked();
    options.block_series = output.block_series;
    const meterbench::InjectSummary s = meterbench::inject_dataset(sc, options);
    std::printf("injected %s: %lld series x %lld steps, %lld events injected (%lld kept from the input, %lld found no place), %.0f USD "
                "injected impact",
                options.out.c_str(), static_cast<long long>(s.series), static_cast<long long>(s.steps), static_cast<long long>(s.events),
                static_cast<long long>(s.kept_events), static_cast<long long>(s.unplaced_injections), s.impact_usd);
    if (s.unknown_impact_events > 0) std::printf(" (%lld anomalies on series without a price: impact unknown)", static_cast<long long>(s.unknown_impact_events));
    std::printf("\n  %.2f s wall, %d threads\n  events by kind:", s.wall_seconds, limit.threads());
    print_events_by_kind(s.events_by_kind);
  }
};

}  // namespace

void add_inject_command(CLI::App& app, CommonOptions& common) { register_command<InjectCommand>(app, common); }

}  // namespace meterbench::cli
