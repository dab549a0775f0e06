// The MPI implementation of ProcessGroup: compiled only with METERBENCH_MPI (see engine/CMakeLists.txt).
// The C API only: OpenMPI's mpi.h would otherwise pull in its deprecated C++ bindings (another library).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "meterbench/distributed/process_group.hpp"

namespace meterbench {
namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw DistributedError(fmt::format("{} failed: {}", call, std::string_view(text, static_cast<std::size_t>(length))));
}

class MpiWorld final : public ProcessGroup {
 public:
  MpiWorld() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      // Only the thread that calls main() makes MPI calls; oneTBB workers never do.
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      std::atexit([] {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
      });
    }
    // Errors come back as codes (turned into exceptions) instead of aborting the job silently.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }
  void allreduce_sum(std::span<std::int64_t> values) override { reduce(values, MPI_SUM); }
  void allreduce_max(std::span<std::int64_t> values) override { reduce(values, MPI_MAX); }
  std::vector<std::string> gather(std::string_view bytes, int root) override {
    // Sizes first, then the bytes: fine for the small reports, hashes and counts meterbench gathers.
    long long size = static_cast<long long>(bytes.size());
    std::vector<long long> sizes(static_cast<std::size_t>(size_));
    check(MPI_Gather(&size, 1, MPI_LONG_LONG, sizes.data(), 1, MPI_LONG_LONG, root, MPI_COMM_WORLD), "MPI_Gather");
    std::vector<int> counts(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
    std::string all;
    if (rank_ == root) {
      long long total = 0;
      for (int r = 0; r < size_; ++r) {
        const auto i = static_cast<std::size_t>(r);
        if (sizes[i] > std::numeric_limits<int>::max() || total > std::numeric_limits<int>::max() - sizes[i])
          throw DistributedError("gather: more than 2 GiB in one gather");
        counts[i] = static_cast<int>(sizes[i]);
        offsets[i] = static_cast<int>(total);
        total += sizes[i];
      }
      all.resize(static_cast<std::size_t>(total));
    }
    check(MPI_Gatherv(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE, root,
                      MPI_COMM_WORLD),
          "MPI_Gatherv");
    std::vector<std::string> out;
    if (rank_ == root)
      for (int r = 0; r < size_; ++r)
        out.emplace_back(all, static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]), static_cast<std::size_t>(counts[static_cast<std::size_t>(r)]));
    return out;
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  [[noreturn]] void abort(int exit_code, std::string_view message) override {
    std::fprintf(stderr, "meterbench: rank %d of %d: %.*s; aborting every rank\n", rank_, size_, static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }
  [[nodiscard]] std::string describe() const override { return fmt::format("MPI ({} processes)", size_); }

 private:
  void reduce(std::span<std::int64_t> values, MPI_Op op) {
    static_assert(sizeof(std::int64_t) == sizeof(std::int64_t));
    // In chunks below 2^31 elements (MPI counts are int).
    constexpr std::size_t kChunk = std::size_t{1} << 30;
    for (std::size_t i = 0; i < values.size(); i += kChunk) {
      const auto n = static_cast<int>(std::min(kChunk, values.size() - i));
      check(MPI_Allreduce(MPI_IN_PLACE, values.data() + i, n, MPI_INT64_T, op, MPI_COMM_WORLD), "MPI_Allreduce");
    }
  }
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<ProcessGroup> make_mpi_world() { return std::make_unique<MpiWorld>(); }

}  // namespace meterbench
