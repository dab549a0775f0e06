#pragma once
// A progress line for long runs: done / total, rate and time left, logged at most every few seconds.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace meterbench {

/// Thrown at a long run's next progress point after request_stop(): the pipeline unwinds, staged outputs are
/// removed by their destructors. A host that cannot end the process on a signal (the Python module) stops a
/// run this way; the CLI ends the process instead.
class StopRequested : public std::runtime_error {
 public:
  StopRequested() : std::runtime_error("stopped on request (interrupted)") {}
};

/// Asks every running pass to stop at its next progress point (any thread; async-signal-safe).
void request_stop() noexcept;
/// Clears the request before a new run starts.
void clear_stop_request() noexcept;
[[nodiscard]] bool stop_requested() noexcept;

class ProgressReporter {
 public:
  /// `what` names the work ("generate"), `unit` the items ("series").
  ProgressReporter(std::string what, std::string unit, std::int64_t total,
                   std::chrono::milliseconds interval = std::chrono::seconds(5));
  /// Records `items` more done; logs when the interval has passed. Call from one thread (a serial stage).
  /// Throws StopRequested when request_stop() was called.
  void advance(std::int64_t items);
  /// Logs the final line: total done, elapsed time and mean rate.
  void finish();
  [[nodiscard]] double elapsed_seconds() const;

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_, unit_;
  std::int64_t total_ = 0;
  std::int64_t done_ = 0;
  std::chrono::milliseconds interval_;
  Clock::time_point start_, last_log_;
};

}  // namespace meterbench
