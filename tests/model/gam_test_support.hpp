#pragma once
// Shared by the gam tests: the start date and 730-day daily grid they fit on, and name=value settings lists.
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "meterbench/core/time_grid.hpp"

namespace meterbench::testing {

inline const std::int64_t kStart = parse_utc_timestamp("2021-01-04");  // a Monday
inline const TimeGrid kDaily730{kStart, kSecondsPerDay, 730};
inline constexpr std::int64_t kWeeklyFirst = 730 - 52 * 7;  ///< the first step the last 52 weekly runs score
inline constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

inline std::vector<std::string> settings(std::initializer_list<const char*> items) { return {items.begin(), items.end()}; }

}  // namespace meterbench::testing
