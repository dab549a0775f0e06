#include "meterbench/pass/streaming_pass.hpp"

#include <algorithm>
#include <cmath>

#include "meterbench/io/dataset_fingerprint.hpp"
#include "meterbench/runtime/parallel.hpp"

namespace meterbench {

namespace {

// Timings cross processes as integer nanoseconds (reductions are on integers).
std::int64_t to_ns(double seconds) { return std::llround(seconds * 1e9); }
double from_ns(std::int64_t ns) { return static_cast<double>(ns) * 1e-9; }

// This process's share of `ranges`: their intersection with its range (an empty range at its start when none).
std::vector<SeriesRange> share_of(const std::vector<SeriesRange>& ranges, SeriesRange mine) {
  std::vector<SeriesRange> shared;
  for (const SeriesRange& r : ranges) {
    const std::int64_t first = std::max(r.first, mine.first), end = std::min(r.end(), mine.end());
    if (first < end) shared.push_back({first, end - first});
  }
  if (shared.empty()) shared.push_back({mine.first, 0});
  return shared;
}

}  // namespace

PassRecorder::PassRecorder(const DatasetInfo& info, const PassPlan& plan)
    : plan_(plan), steps_(info.grid.steps), ranges_(plan.ranges), start_(std::chrono::steady_clock::now()) {
  if (ranges_.empty()) ranges_.push_back({0, info.series_count});
  for (const SeriesRange& r : ranges_) pass_series_ += r.count;
  if (plan_.scale_out != nullptr) ranges_ = share_of(ranges_, plan_.scale_out->range());
  for (const SeriesRange& r : ranges_) local_series_ += r.count;
  block_series_ = meterbench::block_series(plan_.block_series, local_series_, steps_);
  tokens_ = pipeline_tokens(active_threads());
  fingerprint_ = fingerprint_seed(pass_series_, steps_);
}

void PassRecorder::chain(std::span<const std::uint64_t> value_hashes) {
  for (const std::uint64_t h : value_hashes) fingerprint_ = chain_fingerprint(fingerprint_, h);
  if (distributed()) value_hashes_.insert(value_hashes_.end(), value_hashes.begin(), value_hashes.end());
}

void PassRecorder::stop_clock() { timing_.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

std::optional<PassTotals> PassRecorder::load_saved(const PassTotalsReducer& reducer) const {
  if (plan_.scale_out == nullptr || plan_.checkpoint == nullptr) return std::nullopt;
  return plan_.checkpoint->load_saved(reducer.to_integers().size());
}

void PassRecorder::combine(PassTotalsReducer& reducer, std::optional<PassTotals> saved, std::string failure,
                           const std::function<void()>& finish_outputs) {
  PassTotals totals;
  if (saved) {
    totals = std::move(*saved);
  } else {
    const WorkTimes& w = timing_.work;
    totals = {reducer.to_integers(),          std::move(value_hashes_),       to_ns(timing_.read_seconds),
              to_ns(w.detect_seconds),        to_ns(w.evaluate_seconds),      to_ns(timing_.write_seconds),
              to_ns(w.detect_cpu_seconds),    to_ns(w.evaluate_cpu_seconds),  0};
    if (plan_.checkpoint != nullptr && failure.empty()) {
      try {
        finish_outputs();  // closed before the checkpoint checksums them
        plan_.checkpoint->save(totals);
      } catch (const std::exception& e) {
        failure = e.what();
      }
    }
  }
  totals.wall_ns = to_ns(timing_.wall_seconds);
  plan_.scale_out->check(failure, plan_.label);
  plan_.scale_out->combine(totals);
  reducer.from_integers(totals.integers);
  fingerprint_ = chain_fingerprint(pass_series_, steps_, totals.value_hashes);  // the writer's; the others' are unused
  timing_ = {from_ns(totals.wall_ns), from_ns(totals.read_ns), from_ns(totals.write_ns),
             {from_ns(totals.detect_ns), from_ns(totals.detect_cpu_ns), from_ns(totals.evaluate_ns), from_ns(totals.evaluate_cpu_ns)}};
}

}  // namespace meterbench
