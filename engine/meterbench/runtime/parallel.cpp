#include "meterbench/runtime/parallel.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>

namespace meterbench {

int hardware_threads() { return oneapi::tbb::info::default_concurrency(); }

int active_threads() {
  return static_cast<int>(oneapi::tbb::global_control::active_value(oneapi::tbb::global_control::max_allowed_parallelism));
}

struct ThreadLimit::Control {
  explicit Control(int threads) : control(oneapi::tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads)) {}
  oneapi::tbb::global_control control;
};

ThreadLimit::ThreadLimit(int threads) : threads_(threads) {
  if (threads < 1 || threads > 1024)
    throw std::invalid_argument(fmt::format("--threads must be between 1 and 1024, got {}", threads));
  control_ = std::make_unique<Control>(threads);
}

ThreadLimit::~ThreadLimit() = default;

}  // namespace meterbench
