#pragma once
// Injects a scenario's labelled anomalies into one series of an existing dataset (real usage included),
// keeping its values, gaps and labels: a pure function of (scenario, seed, series index, the series), so the
// same inputs give the same bits on any thread, in any block, in any order.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "meterbench/generate/injection.hpp"
#include "meterbench/generate/scenario.hpp"
#include "meterbench/io/dataset.hpp"

namespace meterbench {

/// Per-thread scratch for SeriesInjector; sized on first use, then reused.
struct InjectorWorkspace {
  std::vector<double> original;     ///< the series as read (noise scales are measured on it)
  std::vector<double> values;       ///< the series being injected
  std::vector<double> scratch;      ///< differences for the noise scale
  std::vector<std::uint8_t> taken;  ///< steps claimed by an event (the input's included)
  std::vector<PlannedInjection> planned;
};

struct InjectedSeriesStats {
  std::int64_t events = 0;      ///< injections made
  std::int64_t unplaced = 0;    ///< injections that found no place (too short, too gappy, too full)
  std::array<std::int64_t, kAnomalyKindCount> events_by_kind{};
  double impact_usd = 0.0;      ///< of the injected anomalies with a known impact
  std::int64_t unknown_impact = 0;  ///< injected anomalies whose impact is NaN (no price)

  InjectedSeriesStats& operator+=(const InjectedSeriesStats& other);
};

/// The robust local noise scale of a series around [start, end]: 1.4826 x MAD of its first differences /
/// sqrt(2), over the reported steps within `half_window` steps of the window. Fewer than 5 differences there:
/// over the whole series; a zero or undefined result: 1.4826 x MAD of the values, then 1% of the mean
/// absolute value, then 1 (a series of zeros).
double local_noise_scale(std::span<const double> series, std::int64_t start, std::int64_t end, std::int64_t half_window,
                         std::vector<double>& scratch);

class SeriesInjector {
 public:
  SeriesInjector(const Scenario& scenario, const TimeGrid& grid, std::uint64_t seed);

  /// Injects into `values` and `labels` (grid.steps each) of series `series_index`; appends the series' events
  /// to `events`, its own (`existing`, kept) and the injected ones, sorted by start.
  InjectedSeriesStats inject(std::int64_t series_index, InjectorWorkspace& workspace, std::span<float> values, std::span<std::uint8_t> labels,
                             const SeriesRecord& record, std::span<const EventRecord> existing, std::vector<EventRecord>& events) const;

  /// Steps at the start of each series' reported span without events.
  [[nodiscard]] std::int64_t warmup_steps() const { return warmup_; }

 private:
  Scenario scenario_;
  TimeGrid grid_;
  std::uint64_t seed_;
  std::int64_t guard_ = 1;
  std::int64_t warmup_ = 0;
  std::int64_t noise_window_ = 28;  ///< half-window of the local noise scale: 28 days in steps
  std::int64_t eight_weeks_ = 56;   ///< regular reporting is required this long before a meter stops
  GridCalendar calendar_;
};

}  // namespace meterbench
