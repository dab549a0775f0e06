#include "meterbench/distributed/process_group.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace meterbench {

#ifdef METERBENCH_WITH_MPI
// process_group_mpi.cpp: the MPI world, initialising MPI.
std::unique_ptr<ProcessGroup> make_mpi_world();
bool mpi_available() { return true; }
#else
bool mpi_available() { return false; }
#endif

std::vector<std::string> SingleProcessGroup::gather(std::string_view bytes, int /*root*/) { return {std::string(bytes)}; }

void SingleProcessGroup::abort(int exit_code, std::string_view message) {
  std::fprintf(stderr, "meterbench: %.*s\n", static_cast<int>(message.size()), message.data());
  std::exit(exit_code);
}

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
    if (const char* value = std::getenv(name); value != nullptr) {
      const int n = std::atoi(value);
      if (n >= 1) return n;
    }
  }
  return 1;
}

ProcessGroup& process_group() {
  static const std::unique_ptr<ProcessGroup> group = []() -> std::unique_ptr<ProcessGroup> {
    const int launched = launcher_world_size();
#ifdef METERBENCH_WITH_MPI
    // Started by mpirun (even with -np 1): join MPI's world. Started directly: no MPI at all, so a plain run
    // never pays MPI's start-up or needs its daemons.
    if (launched > 1 || std::getenv("OMPI_COMM_WORLD_RANK") != nullptr || std::getenv("PMIX_RANK") != nullptr) return make_mpi_world();
#endif
    if (launched > 1)
      throw DistributedError(fmt::format("started by an MPI launcher as one of {} processes, but this meterbench was built without MPI "
                                         "(METERBENCH_MPI=OFF or MPI not found): each process would run the whole job; rebuild with "
                                         "libopenmpi-dev installed, or run without mpirun",
                                         launched));
    return std::make_unique<SingleProcessGroup>();
  }();
  return *group;
}

void agree_on_failure(ProcessGroup& group, const std::string& error, SeriesRange range, std::string_view what) {
  std::int64_t failed = error.empty() ? 0 : 1;
  group.allreduce_sum({&failed, 1});
  if (failed == 0) return;
  // Every process learns who failed: gather to rank 0, then share its message through a second gather-free
  // path (each process formats the same text from the same gathered reports).
  const std::string report = error.empty() ? std::string() : fmt::format("rank {} (series [{}, {})): {}", group.rank(), range.first, range.end(), error);
  const std::vector<std::string> reports = group.gather(report, 0);
  std::string message = fmt::format("{} failed on {} of {} processes", what, failed, group.size());
  if (group.rank() == 0) {
    for (const std::string& r : reports)
      if (!r.empty()) message += "; " + r;
  } else if (!report.empty()) {
    message += "; " + report;
  } else {
    message += " (rank 0 names them); this rank's part succeeded";
  }
  throw DistributedError(message);
}

}  // namespace meterbench
