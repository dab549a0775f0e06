#include "cli/common.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/distributed/process_group.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench::cli {

void add_common_options(CLI::App& command, CommonOptions& common) {
  command.add_option("--threads", common.threads, "Worker threads (oneTBB limit for this command)")
      ->transform(integer_in<int>())  // the range is ThreadLimit's
      ->capture_default_str();
  command.add_option("--log-level", common.log_level, "Log verbosity")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

void setup_logging(const CommonOptions& common) {
  auto logger = spdlog::stderr_color_mt("meterbench");
  // Under mpirun every process logs: tag the lines with the rank.
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (rank == nullptr) rank = std::getenv("PMI_RANK");
  logger->set_pattern(rank != nullptr && meterbench::launcher_world_size() > 1 ? fmt::format("[%H:%M:%S.%e] [rank {}] [%^%l%$] %v", rank)
                                                                                : std::string("[%H:%M:%S.%e] [%^%l%$] %v"));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(common.log_level));
  if (meterbench::is_unoptimized_build())
    spdlog::warn("this is a {} build without optimisation: timings are meaningless, use a Release build", meterbench::build_type());
}

std::string metric(const nlohmann::json& j, const char* path) {
  const nlohmann::json::json_pointer pointer(path);
  if (!j.contains(pointer) || j.at(pointer).is_null()) return "n/a";
  return fmt::format("{:.4f}", j.at(pointer).get<double>());
}

PassOptions::PassOptions() {
  const meterbench::BacktestOptions defaults;
  model = defaults.model;
  schedule = std::string(meterbench::to_string(defaults.schedule));
  weeks = defaults.weeks;
  block_series = defaults.block_series;
  no_baseline = !defaults.random_baseline;
  impact_filter_usd = defaults.impact_filter_usd;
  delay_tolerance_days = defaults.delay_tolerance_days;
}

void add_model_options(CLI::App& command, PassOptions& pass) {
  command.add_option("--data", pass.data, "Dataset (.h5) made by `generate` or `ingest`")->required();
  command.add_option("--model", pass.model, fmt::format("Detector: {} (see `meterbench models`)", fmt::join(meterbench::detector_names(), ", ")))
      ->capture_default_str();
  command.add_option("--set", pass.settings, "Detector parameter name=value (repeatable)");
}

void add_schedule_options(CLI::App& command, PassOptions& pass) {
  command.add_option("--schedule", pass.schedule, "retrospective (one fit, every step scored), weekly (fit before each week, score it; gam reuses last week's work) "
                     "or weekly-refit (an independent fit before each week: what detect --since runs)")
      ->capture_default_str();
  command.add_option("--weeks", pass.weeks, "Weekly schedule: how many final weeks are scored")
      ->transform(integer_in<std::int64_t>())
      ->capture_default_str();
}

void add_output_options(CLI::App& command, std::filesystem::path& out, bool& force, const std::string& output) {
  command.add_option("--out", out, fmt::format("The {} to create", output))->required();
  command.add_flag("--force", force, fmt::format("Replace the {} if it exists", output));
}

void add_block_option(CLI::App& command, std::int64_t& block_series) {
  command.add_option("--block", block_series, "Series per pipeline block (0 = about 4 MiB of values)")
      ->transform(integer_in<std::int64_t>())
      ->capture_default_str();
}

void add_dataset_output_options(CLI::App& command, DatasetOutputOptions& options) {
  add_block_option(command, options.block_series);
  command.add_option("--chunk", options.chunk, "Series per HDF5 chunk (0 = about 1 MiB of values)")
      ->transform(integer_in<std::int64_t>())
      ->capture_default_str();
  command.add_option("--compress", options.compress, "gzip level 0 (off) to 9")->transform(integer_in<int>(0, 9))->capture_default_str();
}

DatasetWriteOptions DatasetOutputOptions::checked() const {
  if (block_series < 0) throw std::invalid_argument(fmt::format("--block must be >= 0, got {}", block_series));
  if (chunk < 0) throw std::invalid_argument(fmt::format("--chunk must be >= 0, got {}", chunk));
  return {.chunk_series = chunk, .compression_level = compress};
}

void print_events_by_kind(std::span<const std::int64_t> counts) {
  for (std::size_t k = 1; k < counts.size(); ++k)
    if (counts[k] > 0) std::printf(" %s=%lld", std::string(to_string(static_cast<AnomalyKind>(k))).c_str(), static_cast<long long>(counts[k]));
  std::printf("\n");
}

void add_run_options(CLI::App& command, PassOptions& pass, const std::string& output) {
  add_output_options(command, pass.out, pass.force, output);
  add_block_option(command, pass.block_series);
}

void add_evaluation_options(CLI::App& command, PassOptions& pass) {
  command.add_flag("--no-baseline", pass.no_baseline, "Skip the random baseline pass (the random detector at the same flag rate)");
  command.add_option("--min-impact", pass.impact_filter_usd, "Impact filter, USD: the filtered metrics (and backtest's alerts.csv) leave out alerts with a known |impact| below it")->capture_default_str();
  command.add_option("--delay-tolerance", pass.delay_tolerance_days, "Event-wise delay tolerance k, days")->capture_default_str();
}

void apply_pass_options(const PassOptions& pass, DetectOptions& options) {
  apply_dataset_and_model_options(pass, options);
  options.out = pass.out;
}

namespace {
std::atomic<pid_t> g_running_child{0};
}  // namespace

pid_t running_child() { return g_running_child.load(); }

int run_process(const std::vector<std::string>& args, const std::string& hint) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], nullptr, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) throw std::runtime_error(fmt::format("cannot run '{}': {} ({})", args[0], std::strerror(rc), hint));
  g_running_child = pid;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(fmt::format("waiting for '{}': {}", args[0], std::strerror(errno)));
  }
  g_running_child = 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace meterbench::cli
