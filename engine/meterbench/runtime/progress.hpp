#pragma once
// A progress line for long runs: done / total, rate and time left, logged at most every few seconds.
#include <chrono>
#include <cstdint>
#include <string>

namespace meterbench {

class ProgressReporter {
 public:
  /// `what` names the work ("generate"), `unit` the items ("series").
  ProgressReporter(std::string what, std::string unit, std::int64_t total,
                   std::chrono::milliseconds interval = std::chrono::seconds(5));
  /// Records `items` more done; logs when the interval has passed. Call from one thread (a serial stage).
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
