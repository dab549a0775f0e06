#include "meterbench/detect/incidents.hpp"

#include <algorithm>
#include <bit>
#include <tuple>
#include <cmath>
#include <limits>

#include "meterbench/core/anomaly.hpp"

namespace meterbench {

namespace {

// Spikes and dips last one or two steps; longer runs on one side are level shifts.
constexpr std::int64_t kShortestLevelShiftSteps = 3;

// The series' usual usage per step: the median of its observed, unflagged steps (NaN when there are none). A
// unit error is judged against it rather than against the expected values, which a retrospective fit lets the
// anomaly itself pull up (a 3-day x1000 error lifts a fit to about x30).
double typical_usage(const ScoredSeries& series, double z) {
  std::vector<float> usual;
  usual.reserve(series.observed.size());
  const auto history = static_cast<std::size_t>(std::max<std::int64_t>(series.score_begin, 0));
  for (std::size_t k = 0; k < series.observed.size(); ++k)
    if (!std::isnan(series.observed[k]) && (k < history || !(series.score[k] > z))) usual.push_back(series.observed[k]);
  if (usual.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto middle = usual.begin() + static_cast<std::ptrdiff_t>(usual.size() / 2);
  std::nth_element(usual.begin(), middle, usual.end());
  return *middle;
}

// Observed about x1000 or /1000 of the usual use (core/anomaly.hpp): a unit mix-up rather than a change in use.
bool far_apart(double a, double b) { return a > 0.0 && b > 0.0 && (a > kUnitErrorUpRatio * b || a * kUnitErrorDownRatio < b); }

// The incident's core: its flagged steps that deviate from the expected value by at least half the largest
// deviation. The shape is read from the core, because a retrospective fit pulled by a spike flags a few small
// deviations beside it too.
struct IncidentCore {
  std::int64_t steps = 0;
  double deviation = 0.0;  ///< sum of observed - expected over the core
  bool all_zero = true;    ///< every core step observed zero
};

IncidentCore incident_core(const Incident& incident, const ScoredSeries& series, double z) {
  double largest = 0.0;
  for (std::int64_t t = incident.start; t <= incident.end; ++t) {
    const auto k = static_cast<std::size_t>(t);
    if (series.score[k] > z) largest = std::max(largest, std::fabs(static_cast<double>(series.observed[k]) - series.expected[k]));
  }
  IncidentCore core;
  for (std::int64_t t = incident.start; t <= incident.end; ++t) {
    const auto k = static_cast<std::size_t>(t);
    const double deviation = static_cast<double>(series.observed[k]) - series.expected[k];
    if (!(series.score[k] > z) || std::fabs(deviation) < 0.5 * largest) continue;
    ++core.steps;
    core.deviation += deviation;
    core.all_zero = core.all_zero && series.observed[k] == 0.0F;
  }
  return core;
}

IncidentKind classify(const Incident& incident, const IncidentCore& core, std::int64_t flagged_steps, double typical) {
  const double o = incident.observed_total, e = incident.expected_total;
  const double per_step = o / static_cast<double>(flagged_steps);
  if (std::isnan(typical) ? far_apart(o, e) : far_apart(per_step, typical)) return IncidentKind::unit_error;
  if (core.all_zero && core.steps >= kShortestLevelShiftSteps) return IncidentKind::stopped_reporting;
  if (core.steps < kShortestLevelShiftSteps) return core.deviation > 0.0 ? IncidentKind::spike : IncidentKind::dip;
  return IncidentKind::level_shift;
}

// The incident kind of a detector's rule alert.
IncidentKind kind_of_rule(AnomalyKind rule) {
  switch (rule) {
    case AnomalyKind::stuck_meter: return IncidentKind::stuck_meter;
    case AnomalyKind::unit_error: return IncidentKind::unit_error;
    case AnomalyKind::dropped_reporting:  // zeros after regular use, named as classify() names an all-zero run
    case AnomalyKind::stopped_reporting: return IncidentKind::stopped_reporting;
    default: return IncidentKind::level_shift;
  }
}

// Accumulates the open incident of a series.
struct OpenIncident {
  Incident incident;
  std::int64_t flagged_steps = 0;
  std::uint8_t rule_kind = 0;  ///< the first rule alert's AnomalyKind code, 0 = none
  void add(std::int64_t t, float observed, float expected, float score) {
    if (flagged_steps == 0) incident.start = t;
    incident.end = t;
    incident.observed_total += observed;
    incident.expected_total += expected;
    incident.peak_score = std::max(incident.peak_score, score);
    ++flagged_steps;
  }
};

void close_incident(OpenIncident& open, const ScoredSeries& series, const IncidentFilter& filter, double typical,
                    std::vector<Incident>& into) {
  if (open.flagged_steps == 0) return;
  Incident& incident = open.incident;
  incident.series_index = series.series_index;
  incident.impact = (incident.observed_total - incident.expected_total) * series.price;
  incident.kind = open.rule_kind != 0 ? kind_of_rule(static_cast<AnomalyKind>(open.rule_kind))
                                      : classify(incident, incident_core(incident, series, filter.z), open.flagged_steps, typical);
  const bool recent = incident.end >= filter.first_end_step;
  const bool large = !std::isfinite(incident.impact) || std::fabs(incident.impact) >= filter.min_abs_impact;  // unknown impact is kept
  if (recent && large) into.push_back(incident);
  open = {};
}

}  // namespace

std::string_view incident_kind_name(IncidentKind kind) {
  switch (kind) {
    case IncidentKind::spike: return "spike";
    case IncidentKind::dip: return "dip";
    case IncidentKind::level_shift: return "level_shift";
    case IncidentKind::unit_error: return "unit_error";
    case IncidentKind::stopped_reporting: return "stopped_reporting";
    case IncidentKind::stuck_meter: return "stuck_meter";
  }
  return "unknown";
}

void find_incidents(const ScoredSeries& series, const IncidentFilter& filter, std::vector<Incident>& into) {
  const auto flagged = [&](float score) { return score > filter.z; };
  const auto steps = static_cast<std::int64_t>(series.observed.size());
  const std::int64_t first = std::clamp<std::int64_t>(series.score_begin, 0, steps);
  if (std::none_of(series.score.begin() + first, series.score.end(), flagged)) return;  // most series: skip the median
  OpenIncident open;
  const double typical = typical_usage(series, filter.z);
  std::int64_t missing_run = 0;
  for (std::int64_t t = first; t < steps; ++t) {
    const auto k = static_cast<std::size_t>(t);
    const float observed = series.observed[k];
    const bool is_flagged = series.score[k] > filter.z;  // NaN scores are never flags
    if (std::isnan(observed) && !is_flagged) {  // missing: bridged unless the run of missing steps is too long
      if (++missing_run > filter.merge_gap_steps) close_incident(open, series, filter, typical, into);
      continue;
    }
    missing_run = 0;
    if (is_flagged) {
      open.add(t, std::isnan(observed) ? 0.0F : observed, series.expected[k], series.score[k]);  // a flagged gap bills nothing
      if (!series.rule_kind.empty() && series.rule_kind[k] != 0 && open.rule_kind == 0) open.rule_kind = series.rule_kind[k];
    } else {
      close_incident(open, series, filter, typical, into);
    }
  }
  close_incident(open, series, filter, typical, into);
}

void sort_by_impact(std::vector<Incident>& incidents) {
  std::sort(incidents.begin(), incidents.end(), [](const Incident& a, const Incident& b) {
    const bool ka = std::isfinite(a.impact), kb = std::isfinite(b.impact);
    if (ka != kb) return ka;
    if (ka && std::fabs(a.impact) != std::fabs(b.impact)) return std::fabs(a.impact) > std::fabs(b.impact);
    if (!ka && a.peak_score != b.peak_score) return a.peak_score > b.peak_score;
    return std::tie(a.series_index, a.start) < std::tie(b.series_index, b.start);
  });
}

void append_incident_sort_key(std::string& out, const Incident& incident) {
  // Hex digits in big-endian order compare as the numbers do. A non-negative double's bits grow with its value,
  // so the complement of |impact|'s bits (or of the peak score's) puts the largest first.
  const auto hex = [&](std::uint64_t v) {
    for (int shift = 60; shift >= 0; shift -= 4) out += "0123456789abcdef"[(v >> shift) & 0xF];
  };
  const auto descending = [](double v) {
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(v);
    const std::uint64_t ordered = (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);  // total order of doubles
    return ~ordered;
  };
  const bool known = std::isfinite(incident.impact);
  out += known ? '0' : '1';
  hex(descending(known ? std::fabs(incident.impact) : static_cast<double>(incident.peak_score)));
  hex(incident.series_index);
  hex(static_cast<std::uint64_t>(incident.start));
}

}  // namespace meterbench
