#pragma once
// The vocabulary of ground truth: anomaly kinds (stored as per-step labels and event rows) and the usage
// profiles of generated series. Codes are part of the dataset format: append, never renumber.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace meterbench {

/// Each kind's meaning, name and behaviour are its row of kAnomalyKinds below.
enum class AnomalyKind : std::uint8_t {
  normal = 0,
  spike = 1,
  dip = 2,
  level_shift = 3,
  trend_change = 4,
  seasonality_change = 5,
  unit_error = 6,
  double_counting = 7,
  dropped_reporting = 8,
  stuck_meter = 9,
  fraud_ramp = 10,
  gap = 11,
  reported = 12,
  stopped_reporting = 13,
};

/// What an injection of a kind changes in a generated series.
enum class InjectionEffect : std::uint8_t {
  none,      ///< never injected (normal steps; anomalies confirmed by a person)
  mean,      ///< structural: changes the clean mean usage, before noise; its size is in noise-scale units
  reported,  ///< billing fault or gap: changes the value the meter reported, after noise
};

/// Everything the code asks of an anomaly kind, in one row per kind.
struct AnomalyKindTraits {
  AnomalyKind kind = AnomalyKind::normal;
  std::string_view name;          ///< /anomaly_kinds name, labels-file `kind`, per_kind.csv row, summary.json key
  std::string_view scenario_key;  ///< the scenario table injections.<key>; empty when not injectable
  bool anomaly = false;           ///< a detector should flag it (normal steps and gaps are not anomalies)
  bool persistent = false;        ///< its effect outlasts its labelled window (a do-not-care tail follows)
  InjectionEffect effect = InjectionEffect::none;
  bool has_factor = false;        ///< the scenario takes `factor` (the unit mistake)
  std::string_view help;          ///< one line for help texts and docs
};

// One row per kind, in code order. Codes are part of the dataset format: append, never renumber.
// Columns: kind, name, scenario key, anomaly, persistent, injection effect, has factor, help.
inline constexpr std::array kAnomalyKinds = {
    AnomalyKindTraits{AnomalyKind::normal, "normal", "", false, false, InjectionEffect::none, false,
                      "no anomaly"},
    AnomalyKindTraits{AnomalyKind::spike, "spike", "spike", true, false, InjectionEffect::mean, false,
                      "short upward excursion"},
    AnomalyKindTraits{AnomalyKind::dip, "dip", "dip", true, false, InjectionEffect::mean, false,
                      "short downward excursion"},
    AnomalyKindTraits{AnomalyKind::level_shift, "level_shift", "level_shift", true, true, InjectionEffect::mean, false,
                      "persistent step change of the level"},
    AnomalyKindTraits{AnomalyKind::trend_change, "trend_change", "trend_change", true, true, InjectionEffect::mean, false,
                      "persistent change of slope"},
    AnomalyKindTraits{AnomalyKind::seasonality_change, "seasonality_change", "seasonality_change", true, true, InjectionEffect::mean, false,
                      "persistent change of the weekly pattern (amplitude and phase)"},
    AnomalyKindTraits{AnomalyKind::unit_error, "unit_error", "unit_error", true, false, InjectionEffect::reported, true,
                      "quantities reported x factor or / factor for some steps"},
    AnomalyKindTraits{AnomalyKind::double_counting, "double_counting", "double_counting", true, false, InjectionEffect::reported, false,
                      "quantities reported twice (x2) over a period"},
    AnomalyKindTraits{AnomalyKind::dropped_reporting, "dropped_reporting", "dropped_reporting", true, false, InjectionEffect::reported, false,
                      "zeros reported over a period"},
    AnomalyKindTraits{AnomalyKind::stuck_meter, "stuck_meter", "stuck_meter", true, false, InjectionEffect::reported, false,
                      "one constant value repeated over a period"},
    AnomalyKindTraits{AnomalyKind::fraud_ramp, "fraud_ramp", "fraud_ramp", true, false, InjectionEffect::mean, false,
                      "slow fraudulent ramp of extra usage, ending abruptly"},
    AnomalyKindTraits{AnomalyKind::gap, "gap", "gap", false, false, InjectionEffect::reported, false,
                      "not reported (NaN): recorded as an event, not an anomaly"},
    AnomalyKindTraits{AnomalyKind::reported, "reported", "", true, false, InjectionEffect::none, false,
                      "an anomaly confirmed by a person (labels file), kind not stated"},
    AnomalyKindTraits{AnomalyKind::stopped_reporting, "stopped_reporting", "stopped_reporting", true, false, InjectionEffect::reported, false,
                      "a meter that reported regularly stops reporting (NaN) until the end of the series"},
};
inline constexpr std::size_t kAnomalyKindCount = kAnomalyKinds.size();
inline constexpr std::array<std::string_view, kAnomalyKindCount> kAnomalyKindNames = [] {
  std::array<std::string_view, kAnomalyKindCount> names{};
  for (std::size_t code = 0; code < kAnomalyKindCount; ++code) names[code] = kAnomalyKinds[code].name;
  return names;
}();

constexpr const AnomalyKindTraits& traits(AnomalyKind kind) { return kAnomalyKinds[static_cast<std::size_t>(kind)]; }

// True for the enumerators of AnomalyKind, false for any other code. -Wswitch (on with -Wall) flags this
// switch when a kind is appended to the enum without a case here; the static_assert below then requires its row.
constexpr bool is_enumerator(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::normal:
    case AnomalyKind::spike:
    case AnomalyKind::dip:
    case AnomalyKind::level_shift:
    case AnomalyKind::trend_change:
    case AnomalyKind::seasonality_change:
    case AnomalyKind::unit_error:
    case AnomalyKind::double_counting:
    case AnomalyKind::dropped_reporting:
    case AnomalyKind::stuck_meter:
    case AnomalyKind::fraud_ramp:
    case AnomalyKind::gap:
    case AnomalyKind::reported:
    case AnomalyKind::stopped_reporting: return true;
  }
  return false;
}
static_assert(
    [] {
      for (std::size_t code = 0; code < 256; ++code) {
        const bool has_row = code < kAnomalyKinds.size() && static_cast<std::size_t>(kAnomalyKinds[code].kind) == code;
        if (is_enumerator(static_cast<AnomalyKind>(code)) != has_row) return false;
      }
      for (const AnomalyKindTraits& row : kAnomalyKinds) {
        if (row.name.empty() || row.help.empty()) return false;
        // Injectable exactly when it has a scenario table; only structural kinds outlast their window.
        if (row.scenario_key.empty() != (row.effect == InjectionEffect::none)) return false;
        if (row.persistent && row.effect != InjectionEffect::mean) return false;
      }
      return true;
    }(),
    "kAnomalyKinds must hold one complete row per AnomalyKind enumerator, at its code");

constexpr std::string_view to_string(AnomalyKind kind) { return traits(kind).name; }
constexpr std::optional<AnomalyKind> anomaly_kind_from_string(std::string_view name) {
  for (const AnomalyKindTraits& row : kAnomalyKinds)
    if (row.name == name) return row.kind;
  return std::nullopt;
}
/// A unit error (a unit mix-up such as MB reported as GB) reads about x1000 or /1000 of the usual use: at least
/// kUnitErrorUpRatio times it, or at most 1 / kUnitErrorDownRatio of it. x100 leaves room for the usual value's own
/// error; /300 for a day 3x busier than usual, so that a near-outage at 1/100-1/300 (a storm) and a tiny reading of a
/// meter that idles near 0 are no unit errors (real London households: 30 of 66 false alerts under /100). gam's rule
/// (gam_rules.cpp) and detect's incident kind (incidents.cpp) read both.
inline constexpr double kUnitErrorUpRatio = 100.0;
inline constexpr double kUnitErrorDownRatio = 300.0;
/// True for kinds whose effect outlasts their labelled window (the level, slope or pattern stays changed).
constexpr bool is_persistent(AnomalyKind kind) { return traits(kind).persistent; }
/// True for kinds a scenario can inject.
constexpr bool is_injectable(AnomalyKind kind) { return traits(kind).effect != InjectionEffect::none; }
/// True for labels that mark an anomaly a detector should flag (gaps and normal steps are not).
/// Two compares rather than a table lookup: the evaluation asks this at every step; the assertion ties them.
constexpr bool is_anomaly(std::uint8_t label) {
  return label != static_cast<std::uint8_t>(AnomalyKind::normal) && label != static_cast<std::uint8_t>(AnomalyKind::gap);
}
static_assert(
    [] {
      for (const AnomalyKindTraits& row : kAnomalyKinds)
        if (is_anomaly(static_cast<std::uint8_t>(row.kind)) != row.anomaly) return false;
      return true;
    }(),
    "is_anomaly must agree with kAnomalyKinds");
/// True for kinds whose injection changes the clean mean (before noise); the others change what is reported.
constexpr bool is_structural(AnomalyKind kind) { return traits(kind).effect == InjectionEffect::mean; }

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
