#pragma once
// Incidents: what `detect` reports. The flagged steps of a series grouped as the evaluation groups them into
// alerts (a run of flagged steps, where up to a few consecutive missing steps do not break the run), with
// totals, a signed financial impact and a best guess of the anomaly's kind from its shape.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meterbench {

enum class IncidentKind : std::uint8_t { spike, dip, level_shift, unit_error, stopped_reporting, stuck_meter };

/// The name written in the `kind` column.
std::string_view incident_kind_name(IncidentKind kind);

/// One incident of one series; steps are grid steps. Plain data: gathered across processes as bytes.
struct Incident {
  std::uint64_t series_index = 0;
  std::int64_t start = 0, end = 0;   ///< first and last flagged step
  double observed_total = 0.0;       ///< sum of the observed usage over the flagged steps
  double expected_total = 0.0;       ///< sum of the expected usage over the same steps
  double impact = 0.0;               ///< (observed_total - expected_total) x price; NaN when the price is unknown
  float peak_score = 0.0F;
  IncidentKind kind = IncidentKind::spike;
  [[nodiscard]] bool over() const { return observed_total > expected_total; }
};

/// What find_incidents reads of one scored series.
struct ScoredSeries {
  std::uint64_t series_index = 0;
  std::span<const float> observed, expected, score;  ///< NaN observed = missing
  /// The AnomalyKind code of the detector's rule alert at each step (0 = none); empty when it gives none.
  /// A rule alert's kind names the incident; a missing step it flags (a meter that stopped) counts as usage 0.
  std::span<const std::uint8_t> rule_kind = {};
  double price = 0.0;                                ///< per unit; NaN when unknown
  std::int64_t score_begin = 0;                      ///< first scored step; the steps before it are history, never flagged
};

struct IncidentFilter {
  double z = 0.0;                     ///< a step is flagged when its score > z
  std::int64_t merge_gap_steps = 2;   ///< at most this many consecutive missing steps inside an incident
  std::int64_t first_end_step = 0;    ///< drop incidents ending before this step (--last)
  double min_abs_impact = 0.0;        ///< drop incidents with a known |impact| below this
};

/// Appends the series' incidents that pass the filter to `into`, in step order.
void find_incidents(const ScoredSeries& series, const IncidentFilter& filter, std::vector<Incident>& into);

/// Largest |impact| first; incidents without a price after them, by peak score; ties in series and step order.
void sort_by_impact(std::vector<Incident>& incidents);

/// The order of sort_by_impact as text (tested to agree): a fixed-length key (kIncidentSortKeyLength characters)
/// whose byte order is that order, so rows formatted apart (backtest's blocks and processes) sort as text.
inline constexpr std::size_t kIncidentSortKeyLength = 1 + 16 + 16 + 16;
void append_incident_sort_key(std::string& out, const Incident& incident);

}  // namespace meterbench
