#include "meterbench/runtime/progress.hpp"

#include <atomic>

#include <spdlog/spdlog.h>

namespace meterbench {

namespace {
std::atomic<bool> stop_flag{false};  // lock-free: set from a signal handler or another thread
}  // namespace

void request_stop() noexcept { stop_flag.store(true, std::memory_order_relaxed); }
void clear_stop_request() noexcept { stop_flag.store(false, std::memory_order_relaxed); }
bool stop_requested() noexcept { return stop_flag.load(std::memory_order_relaxed); }

ProgressReporter::ProgressReporter(std::string what, std::string unit, std::int64_t total, std::chrono::milliseconds interval)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), interval_(interval), start_(Clock::now()), last_log_(start_) {}

double ProgressReporter::elapsed_seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

void ProgressReporter::advance(std::int64_t items) {
  if (stop_requested()) throw StopRequested();
  done_ += items;
  const auto now = Clock::now();
  if (now - last_log_ < interval_ || done_ >= total_) return;
  last_log_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0.0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double left = rate > 0.0 ? static_cast<double>(total_ - done_) / rate : 0.0;
  spdlog::info("{}: {}/{} {} ({:.1f}%), {:.0f} {}/s, about {:.0f} s left", what_, done_, total_, unit_,
               100.0 * static_cast<double>(done_) / static_cast<double>(total_), rate, unit_, left);
}

void ProgressReporter::finish() {
  const double elapsed = elapsed_seconds();
  spdlog::info("{}: {} {} in {:.2f} s ({:.0f} {}/s)", what_, done_, unit_, elapsed,
               elapsed > 0.0 ? static_cast<double>(done_) / elapsed : 0.0, unit_);
}

}  // namespace meterbench
