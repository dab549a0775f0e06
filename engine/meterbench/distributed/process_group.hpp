#pragma once
// The few collective operations meterbench needs to run one job on many processes: rank, size,
// integer reductions, a gather of bytes, a barrier and abort. Under an MPI launcher (mpirun) in a build
// with METERBENCH_MPI the group is MPI's world (process_group_mpi.cpp); otherwise it is this one process.
// Reductions are on integers only, so combined results do not depend on the number of processes.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace meterbench {

/// A failure agreed by every process of a group (the message names the failed ranks and their series).
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Series [first, first + count) of a dataset.
struct SeriesRange {
  std::int64_t first = 0;
  std::int64_t count = 0;
  [[nodiscard]] std::int64_t end() const { return first + count; }
  friend bool operator==(const SeriesRange&, const SeriesRange&) = default;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  [[nodiscard]] virtual int rank() const = 0;
  [[nodiscard]] virtual int size() const = 0;
  /// Collective: element-wise sum (or max) over every process; every process receives the result.
  virtual void allreduce_sum(std::span<std::int64_t> values) = 0;
  virtual void allreduce_max(std::span<std::int64_t> values) = 0;
  /// Collective: every process's bytes, in rank order, on `root`; an empty vector elsewhere.
  virtual std::vector<std::string> gather(std::string_view bytes, int root) = 0;
  virtual void barrier() = 0;
  /// Ends every process of the group (the launcher reports it) after logging `message`; for failures the
  /// other processes cannot learn about through a collective (they may be waiting in one).
  [[noreturn]] virtual void abort(int exit_code, std::string_view message) = 0;
  /// "MPI (N processes)" or "one process".
  [[nodiscard]] virtual std::string describe() const = 0;
};

/// A group of one: collectives return their input.
class SingleProcessGroup final : public ProcessGroup {
 public:
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }
  void allreduce_sum(std::span<std::int64_t>) override {}
  void allreduce_max(std::span<std::int64_t>) override {}
  std::vector<std::string> gather(std::string_view bytes, int root) override;
  void barrier() override {}
  [[noreturn]] void abort(int exit_code, std::string_view message) override;
  [[nodiscard]] std::string describe() const override { return "one process"; }
};

/// True when this build can run under MPI (CMake option METERBENCH_MPI).
bool mpi_available();
/// Processes an MPI launcher says this job has (its environment: OMPI_COMM_WORLD_SIZE, PMI_SIZE), 1 when none.
int launcher_world_size();

/// This process's group: MPI's world when built with MPI and started by an MPI launcher (MPI is initialised
/// on the first call and finalised at exit), else a group of one. Throws DistributedError when the launcher
/// started several processes but this build has no MPI (each would run the whole job).
ProcessGroup& process_group();

/// Collective: every process reports `error` (empty when its part succeeded). When any process failed,
/// throws DistributedError on every process naming each failed rank, its series range and its message.
void agree_on_failure(ProcessGroup& group, const std::string& error, SeriesRange range, std::string_view what);

}  // namespace meterbench
