#pragma once
// A scenario describes a synthetic population: its size and calendar, the mix of usage profiles and noise
// models, prices, and for each injection kind its rate, length and size. Scenarios are TOML files under
// datasets/scenarios/; see default.toml for every key with its meaning.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/core/time_grid.hpp"

namespace meterbench {

/// A scenario file or value that cannot be used. The message names the file, line and key.
class ScenarioError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Range {
  double min = 0.0;
  double max = 0.0;
};

enum class NoiseModel : std::uint8_t { gaussian, poisson, negative_binomial, lognormal };
inline constexpr std::size_t kNoiseModelCount = 4;

/// How often and how large one injection kind is. Lengths are in steps; sizes in noise-scale units.
struct InjectionSpec {
  double rate = 0.0;       ///< expected events per series-year (0 = off)
  Range length{1, 1};      ///< labelled length in steps, drawn uniformly (integers)
  Range size{0, 0};        ///< peak size in noise-scale units (spike, dip, shifts, ramps)
  double factor = 0.0;     ///< unit_error: the unit mistake (x factor or / factor)
};

struct Scenario {
  std::string source;      ///< file name, for messages
  std::string text;        ///< the TOML text, stored in the dataset for provenance
  std::int64_t series = 0;
  std::int64_t days = 0;   ///< calendar length in days
  TimeGrid grid;           ///< start, step and steps (= days x steps per day)
  std::uint64_t seed = 1;
  std::array<double, kUsageProfileCount> profile_weights{};  ///< by UsageProfile code (observed unused)
  Range level{1, 1};       ///< usage per day at the start, log-uniform
  std::array<double, kNoiseModelCount> noise_weights{};
  Range gaussian_cv{0.05, 0.05};
  Range nb_dispersion{10, 10};
  Range lognormal_sigma{0.1, 0.1};
  Range wander{0, 0};      ///< sd of the slow multiplicative wander of the level (log scale; 0 = none)
  double wander_days = 7;  ///< its correlation time in days
  Range price{1, 1};       ///< USD per unit, log-uniform
  std::array<InjectionSpec, kAnomalyKindCount> injections{};  ///< by AnomalyKind code (normal unused)
  /// [injections] warmup_days: no event starts in a series' first days (a detector's fit needs them).
  /// Unset: 0 for `generate`, kInjectWarmupDays for `inject`.
  std::optional<std::int64_t> warmup_days;

  /// Applies command-line overrides and re-validates; throws ScenarioError naming the option.
  void override_size(std::optional<std::int64_t> series_override, std::optional<std::int64_t> days_override,
                     std::optional<std::uint64_t> seed_override);
};

/// What a scenario is read for: `generate` needs its [population]; `inject` reads only [injections] (the
/// population, profiles, levels, noise and prices come from the dataset it injects into).
enum class ScenarioPurpose : std::uint8_t { generate, inject };
/// Days at the start of a series without events in `inject` when the scenario does not say.
inline constexpr std::int64_t kInjectWarmupDays = 42;

/// Parses scenario TOML. Throws ScenarioError naming `source`, the line and the key for syntax errors,
/// unknown keys, wrong types and out-of-range values (negative rates, min > max, absurd sizes).
Scenario parse_scenario(const std::string& text, const std::string& source, ScenarioPurpose purpose = ScenarioPurpose::generate);
/// Reads and parses a scenario file; throws ScenarioError when it cannot be read.
Scenario load_scenario(const std::filesystem::path& path, ScenarioPurpose purpose = ScenarioPurpose::generate);

/// Largest population a scenario may ask for: beyond this it is a typo, not a study.
inline constexpr std::int64_t kMaxSeries = 1'000'000'000;
inline constexpr std::int64_t kMaxDays = 36'600;
inline constexpr std::int64_t kMaxSteps = 10'000'000;

}  // namespace meterbench
