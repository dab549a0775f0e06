#pragma once
// Shared by the gam tests: the start date and 730-day daily grid they fit on, and name=value settings lists.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/gam_detector.hpp"

namespace meterbench::testing {

inline const std::int64_t kStart = parse_utc_timestamp("2021-01-04");  // a Monday
inline const TimeGrid kDaily730{kStart, kSecondsPerDay, 730};
inline constexpr std::int64_t kWeeklyFirst = 730 - 52 * 7;  ///< the first step the last 52 weekly runs score
inline constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

inline std::vector<std::string> settings(std::initializer_list<const char*> items) { return {items.begin(), items.end()}; }

/// The settings of the base model the fit's own tests check (the robust regression and its band, before the
/// real-usage layer of the shipped defaults: fitted as it is, one band scale (no weekday factor, no tail scale),
/// plain score, no rules, z 3.5, and the yearly term from 1.5 years of history, so that their 2-year series fit it),
/// for every one of those names the given settings don't set.
inline std::vector<std::string> base_model(std::span<const std::string> given) {
  std::vector<std::string> out(given.begin(), given.end());
  const auto sets = [&](const std::string& name) {
    return std::any_of(given.begin(), given.end(), [&](const std::string& s) { return s.rfind(name + "=", 0) == 0; });
  };
  for (const char* base : {"transform=none", "weekday_scale=off", "run_score=off", "rules=off", "tail_scale=off", "z=3.5",
                           "yearly_min_days=548"}) {
    const std::string text = base;
    const std::string name = text.substr(0, text.find('='));
    if (!sets(name) && !(name == "z" && sets("width"))) out.push_back(text);
  }
  return out;
}

/// The gam detector of the base model (base_model) with the given settings.
inline std::unique_ptr<Detector> make_base_gam(std::span<const std::string> given, const TimeGrid& grid) {
  const std::vector<std::string> all = base_model(given);
  return make_gam_detector(all, grid);
}
inline std::unique_ptr<Detector> make_base_gam(std::initializer_list<std::string> given, const TimeGrid& grid) {
  const std::vector<std::string> v(given);
  return make_base_gam(std::span<const std::string>(v), grid);
}

}  // namespace meterbench::testing
