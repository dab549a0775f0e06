// The meterbench command line: each subcommand lives in cli/<name>_command.cpp; here they are assembled and
// errors become a message and a non-zero exit.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "meterbench/core/version.hpp"
#include "meterbench/distributed/process_group.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace cli = meterbench::cli;

namespace {

// SIGINT, SIGTERM and SIGHUP are blocked in every thread (the mask is inherited) and taken here, by sigwait, so the
// staged outputs are removed from a normal thread rather than a signal handler, and the exit status is the
// usual 128 + signal.
void handle_interrupts_on_a_thread() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // a closed terminal or ssh session
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int signal = 0;
    while (sigwait(&signals, &signal) != 0) {
    }
    // A child (the report's Python) is stopped and waited for first, so it cannot recreate what is removed.
    if (const pid_t child = cli::running_child(); child > 0) {
      ::kill(child, signal);
      ::waitpid(child, nullptr, 0);
    }
    const auto removed = meterbench::remove_staged_outputs_for_exit();
    std::fprintf(stderr, "meterbench: stopped by %s", signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "SIGHUP");
    for (const auto& path : removed) std::fprintf(stderr, "; removed the unfinished output '%s'", path.c_str());
    std::fprintf(stderr, "\n");
    _exit(128 + signal);
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  handle_interrupts_on_a_thread();  // before any other thread starts (TBB, MPI)
  CLI::App app{"meterbench: parallel backtesting and benchmarks for anomaly detection on metered-billing usage, with HTML reports"};
  app.require_subcommand(1);
  app.set_version_flag("--version", meterbench::tool_version());
  cli::CommonOptions common;
  common.threads = meterbench::hardware_threads();
  cli::add_generate_command(app, common);
  cli::add_backtest_command(app, common);
  cli::add_ingest_command(app, common);
  cli::add_detect_command(app, common);
  cli::add_report_command(app, common);
  cli::add_sweep_command(app, common);
  cli::add_models_command(app, common);
  cli::add_capacity_command(app, common);
  cli::add_inject_command(app, common);
  cli::add_review_command(app, common);
  cli::add_sample_export_command(app, common);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    if (spdlog::default_logger() != nullptr) spdlog::error("{}", e.what());
    else std::fprintf(stderr, "error: %s\n", e.what());
    // Under mpirun, a failure the other processes have not agreed on (they may be waiting in a collective)
    // ends them all; agreed failures (DistributedError) end every process on its own.
    if (dynamic_cast<const meterbench::DistributedError*>(&e) == nullptr && meterbench::mpi_available() && meterbench::launcher_world_size() > 1)
      meterbench::process_group().abort(1, e.what());
    return 1;
  }
  return 0;
}
