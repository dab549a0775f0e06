#pragma once
// The vocabulary of ground truth: anomaly kinds (stored as per-step labels and event rows) and the usage
// profiles of generated series. Codes are part of the dataset format: append, never renumber.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace meterbench {

enum class AnomalyKind : std::uint8_t {
  normal = 0,
  spike = 1,               ///< short upward excursion
  dip = 2,                 ///< short downward excursion
  level_shift = 3,         ///< persistent step change of the level
  trend_change = 4,        ///< persistent change of slope
  seasonality_change = 5,  ///< persistent change of the weekly pattern (amplitude and phase)
  unit_error = 6,          ///< quantities reported x1000 or /1000 for some steps
  double_counting = 7,     ///< quantities reported twice (x2) over a period
  dropped_reporting = 8,   ///< zeros reported over a period
  stuck_meter = 9,         ///< one constant value repeated over a period
  fraud_ramp = 10,         ///< slow fraudulent ramp of extra usage, ending abruptly
  gap = 11,                ///< not reported (NaN): recorded as an event, not an anomaly
  reported = 12,           ///< an anomaly confirmed by a person (labels file), kind not stated
};
inline constexpr std::size_t kAnomalyKindCount = 13;

inline constexpr std::array<std::string_view, kAnomalyKindCount> kAnomalyKindNames = {
    "normal",       "spike",           "dip",         "level_shift", "trend_change", "seasonality_change",
    "unit_error",   "double_counting", "dropped_reporting", "stuck_meter", "fraud_ramp", "gap", "reported"};

constexpr std::string_view to_string(AnomalyKind kind) { return kAnomalyKindNames[static_cast<std::size_t>(kind)]; }
constexpr std::optional<AnomalyKind> anomaly_kind_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kAnomalyKindCount; ++i)
    if (kAnomalyKindNames[i] == name) return static_cast<AnomalyKind>(i);
  return std::nullopt;
}
/// True for kinds whose effect outlasts their labelled window (the level, slope or pattern stays changed).
constexpr bool is_persistent(AnomalyKind kind) {
  return kind == AnomalyKind::level_shift || kind == AnomalyKind::trend_change || kind == AnomalyKind::seasonality_change;
}
/// True for kinds a scenario can inject (everything but normal and reported).
constexpr bool is_injectable(AnomalyKind kind) { return kind != AnomalyKind::normal && kind != AnomalyKind::reported; }
/// True for labels that mark an anomaly a detector should flag (gaps and normal steps are not).
constexpr bool is_anomaly(std::uint8_t label) {
  return label != static_cast<std::uint8_t>(AnomalyKind::normal) && label != static_cast<std::uint8_t>(AnomalyKind::gap);
}

enum class UsageProfile : std::uint8_t {
  observed = 0,      ///< real usage (ingested): no generating profile
  steady = 1,        ///< steady enterprise usage, mild weekly pattern
  growing = 2,       ///< steady usage with a strong growth trend
  weekly = 3,        ///< strong weekly business pattern (weekends low)
  yearly = 4,        ///< yearly seasonal usage
  intermittent = 5,  ///< sparse overage usage with many zero days
  heavy_tailed = 6,  ///< bursty usage with heavy-tailed (log Student-t) noise
};
inline constexpr std::size_t kUsageProfileCount = 7;
inline constexpr std::array<std::string_view, kUsageProfileCount> kUsageProfileNames = {
    "observed", "steady", "growing", "weekly", "yearly", "intermittent", "heavy_tailed"};
constexpr std::string_view to_string(UsageProfile p) { return kUsageProfileNames[static_cast<std::size_t>(p)]; }

}  // namespace meterbench
