#pragma once
// What the subcommands of the meterbench CLI share: --threads and --log-level, logging, printing a metric,
// registering a command object, and the options of the commands that run a detector over a dataset
// (backtest, sweep, detect), each declared here once with one help text.
#include <charconv>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "meterbench/backtest/backtest.hpp"
#include "meterbench/detect/detect.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace meterbench::cli {

/// Options every subcommand takes.
struct CommonOptions {
  int threads = 0;  ///< set to the hardware threads by main()
  std::string log_level = "info";
};

/// A transform for an integer option (`->transform(integer_in<T>(min, max))`): the text must be a plain decimal
/// integer in [min, max], else the option is refused naming the range. CLI11 alone would wrap "-1" into an
/// unsigned option, silently clamp a value beyond the type's range to its limit, and read "010" as octal;
/// the text is rewritten in canonical decimal, so what CLI11 then converts is the value checked here.
template <class T>
CLI::Validator integer_in(T min = std::numeric_limits<T>::min(), T max = std::numeric_limits<T>::max()) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        T value{};
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
          return fmt::format("'{}' is not an integer in [{}, {}]", text, min, max);
        text = fmt::format("{}", value);
        return {};
      },
      min == std::numeric_limits<T>::min() && max == std::numeric_limits<T>::max() ? std::string() : fmt::format("in [{}, {}]", min, max));
}

/// Adds --threads and --log-level to a subcommand.
void add_common_options(CLI::App& command, CommonOptions& common);
/// Installs the stderr logger at the chosen level; warns when the build is unoptimised.
void setup_logging(const CommonOptions& common);
/// Runs args[0] (looked up on PATH if it has no slash) with the terminal's stdout and stderr and returns its
/// exit code (128 + signal when a signal ended it). The child starts with SIGINT and SIGTERM unblocked (this
/// process blocks them for its signal thread), and while it runs, a SIGINT or SIGTERM to this process is passed
/// on to it and waited for before the staged outputs are removed. `hint` follows the error when it cannot start.
int run_process(const std::vector<std::string>& args, const std::string& hint);
/// The child run_process is waiting for (0: none): the signal thread stops it first.
pid_t running_child();

/// A metric at a JSON pointer path with 4 decimals, or "n/a" when it is absent or null.
std::string metric(const nlohmann::json& j, const char* path);

/// Adds a subcommand run by a `Command` object: `add_to(app, common)` declares it and its options, which
/// point into the object; when it is chosen, the logger is installed and `run(common)` runs it. The callback
/// owns the object, so it outlives parsing.
template <class Command>
void register_command(CLI::App& app, CommonOptions& common) {
  auto command = std::make_shared<Command>();
  CLI::App* cmd = command->add_to(app, common);
  cmd->callback([command, &common] {
    setup_logging(common);
    command->run(common);
  });
}

/// The options shared by the commands that run a detector over a dataset, filled by the add_*_options
/// helpers below and copied into the engine's options by the command. Defaults: the engine's (BacktestOptions).
struct PassOptions {
  PassOptions();
  std::filesystem::path data;
  std::string model;
  std::vector<std::string> settings;
  std::string schedule;  ///< parsed by the engine's schedule_from_string
  std::int64_t weeks = 0;
  std::filesystem::path out;
  bool force = false;
  std::int64_t block_series = 0;
  bool no_baseline = false;
  double impact_filter_usd = 0.0;
  double delay_tolerance_days = 0.0;
};

/// --data (required), --model and --set.
void add_model_options(CLI::App& command, PassOptions& pass);
/// --schedule and --weeks.
void add_schedule_options(CLI::App& command, PassOptions& pass);
/// --out (required), --force and --block; `output` names what --out creates, e.g. "run directory".
void add_run_options(CLI::App& command, PassOptions& pass, const std::string& output);
/// --no-baseline, --min-impact (the impact filter of the filtered metrics) and --delay-tolerance.
void add_evaluation_options(CLI::App& command, PassOptions& pass);
/// --out (required) and --force alone, for commands without PassOptions.
void add_output_options(CLI::App& command, std::filesystem::path& out, bool& force, const std::string& output);
/// --block alone, for commands without PassOptions.
void add_block_option(CLI::App& command, std::int64_t& block_series);
/// --block, --chunk and --compress of the commands that write a dataset (generate, inject).
struct DatasetOutputOptions {
  std::int64_t block_series = 0;
  std::int64_t chunk = 0;
  int compress = 0;
  /// The HDF5 write options; throws std::invalid_argument naming a negative --block or --chunk.
  [[nodiscard]] DatasetWriteOptions checked() const;
};
void add_dataset_output_options(CLI::App& command, DatasetOutputOptions& options);
/// Prints " kind=count" for every anomaly kind with events (counts indexed by kind code), then a newline.
void print_events_by_kind(std::span<const std::int64_t> counts);

/// Copies what every pass takes (dataset, model, settings, --force, --block) into the engine's DetectOptions,
/// BacktestOptions or SweepOptions (the same field names).
template <class EngineOptions>
void apply_dataset_and_model_options(const PassOptions& pass, EngineOptions& options) {
  options.data = pass.data;
  options.model = pass.model;
  options.settings = pass.settings;
  options.overwrite = pass.force;
  options.block_series = pass.block_series;
}
/// Copies the shared options into the engine's DetectOptions (detect has no schedule and no evaluation).
void apply_pass_options(const PassOptions& pass, DetectOptions& options);
/// Copies the shared options into the engine's BacktestOptions or SweepOptions (the same field names).
template <class EngineOptions>
void apply_pass_options(const PassOptions& pass, EngineOptions& options) {
  apply_dataset_and_model_options(pass, options);
  options.out_dir = pass.out;
  options.schedule = schedule_from_string(pass.schedule);
  options.weeks = pass.weeks;
  options.random_baseline = !pass.no_baseline;
  options.impact_filter_usd = pass.impact_filter_usd;
  options.delay_tolerance_days = pass.delay_tolerance_days;
}

}  // namespace meterbench::cli
