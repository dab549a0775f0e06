#include <cstdio>

#include "cli/commands.hpp"
#include "meterbench/model/registry.hpp"

namespace meterbench::cli {

void add_models_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand("models", "List the detectors and their parameters (name, default, range, meaning)");
  add_common_options(*cmd, common);  // every subcommand takes them, as the docs say; listing uses neither
  cmd->callback([] { std::printf("%s", describe_all_detectors().c_str()); });
}

}  // namespace meterbench::cli
