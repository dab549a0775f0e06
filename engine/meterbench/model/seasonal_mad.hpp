#pragma once
// `seasonal-mad`: a robust z-score of each step against the median and MAD of the same phase of the week
// (weekday on daily grids, hour of week on hourly grids) over the k nearest earlier weeks. See
// seasonal_mad.cpp for the exact reference rule, the scale floor and the status rules.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/parameters.hpp"

namespace meterbench {

/// The validated settings of `seasonal-mad`; defaults, ranges and help in seasonal_mad_parameter_table().
struct SeasonalMadConfig {
  std::int64_t weeks;        ///< same-phase values in each step's reference
  std::int64_t min_history;  ///< fewest observed reference values for a score (at most weeks)
  double z;                  ///< band half-width in robust standard deviations (the flag threshold)
  double scale_floor;        ///< scale floor, share of the median non-zero absolute deviation from the median
};

/// The parameters of `seasonal-mad` bound to SeasonalMadConfig: the one source of truth for CLI and docs.
const ParameterTable<SeasonalMadConfig>& seasonal_mad_parameter_table();
std::span<const ParameterSpec> seasonal_mad_parameter_specs();
/// Builds `seasonal-mad` for a grid from "name=value" settings; throws std::invalid_argument on bad settings.
std::unique_ptr<Detector> make_seasonal_mad_detector(std::span<const std::string> settings, const TimeGrid& grid);

}  // namespace meterbench
