#pragma once
// The one thread knob: --threads N maps to a scoped oneTBB limit for the duration of a command.
#include <memory>

namespace meterbench {

/// Number of hardware threads oneTBB would use by default.
int hardware_threads();

/// Number of threads oneTBB may use now: the innermost ThreadLimit (tbb::this_task_arena::max_concurrency
/// does not see a global_control limit).
int active_threads();

/// Limits oneTBB to `threads` threads while alive. Throws std::invalid_argument unless 1 <= threads <= 1024.
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads);
  ~ThreadLimit();
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;
  [[nodiscard]] int threads() const { return threads_; }

 private:
  struct Control;
  std::unique_ptr<Control> control_;
  int threads_;
};

/// Pipeline tokens for a thread count: enough blocks in flight to keep every thread busy while the serial
/// read and write stages wait, few enough to bound memory (tokens x block size).
inline int pipeline_tokens(int threads) { return 2 * threads + 1; }

}  // namespace meterbench
