#pragma once
// Generates one usage series with labelled injections as a pure function of (scenario, seed, series index):
// the same inputs give the same bits on any thread, in any block, in any order.
#include <cstdint>
#include <span>
#include <vector>

#include "meterbench/generate/injection.hpp"
#include "meterbench/generate/scenario.hpp"
#include "meterbench/io/dataset.hpp"

namespace meterbench {

/// Per-thread scratch for SeriesGenerator; sized on first use, then reused without allocation.
struct GeneratorWorkspace {
  std::vector<double> clean_mean;   ///< mean usage per step without injections
  std::vector<double> mean;         ///< mean usage per step with structural injections
  std::vector<double> observed;     ///< noisy usage per step
  std::vector<std::uint8_t> taken;  ///< steps claimed by an event or its guard band
  std::vector<PlannedInjection> planned;
};

/// Facts about one generated series that the dataset does not store but a run reports.
struct GeneratedSeriesStats {
  std::int64_t unplaced_injections = 0;  ///< injections that found no free place apart from the others
};

class SeriesGenerator {
 public:
  SeriesGenerator(const Scenario& scenario, std::uint64_t seed);

  /// Writes values and labels (grid.steps each), the series record, and appends its events (sorted by start).
  GeneratedSeriesStats generate(std::int64_t series_index, GeneratorWorkspace& workspace, std::span<float> values,
                                std::span<std::uint8_t> labels, SeriesRecord& record, std::vector<EventRecord>& events) const;

  [[nodiscard]] const Scenario& scenario() const { return scenario_; }
  /// Steps kept free around every event, so events never touch: 7 days (at least one step).
  [[nodiscard]] std::int64_t guard_steps() const { return guard_; }

 private:
  Scenario scenario_;
  std::uint64_t seed_;
  std::int64_t guard_ = 1;
  std::int64_t first_event_step_ = 0;  ///< [injections] warmup_days in steps
  double wander_persistence_ = 0.0;    ///< lag-1 correlation of the level wander per step
  double span_years_ = 0.0;
  GridCalendar calendar_;
};

}  // namespace meterbench
