#pragma once
// `stl-esd`: robust STL decomposition, then a hybrid generalized ESD test (median and MAD in place of mean
// and standard deviation, as in Twitter's S-H-ESD) on the remainder. See stl_esd.cpp for gap filling, the
// band, and how the ESD decision is encoded in the score.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/parameters.hpp"

namespace meterbench {

/// The validated settings of `stl-esd`; defaults, ranges, rules and help in stl_esd_parameter_table().
struct StlEsdConfig {
  std::int64_t period;           ///< steps per seasonal cycle (0 = one week of the grid)
  std::int64_t seasonal_window;  ///< odd LOESS span, in cycles, of the cycle-subseries smoother
  std::int64_t trend_window;     ///< odd LOESS span, in steps, of the trend smoother (0 = 5 periods, made odd)
  int inner_loops;               ///< STL inner-loop passes per robustness iteration
  int outer_loops;               ///< STL robustness iterations (0 = not robust)
  double alpha;                  ///< significance level of the generalized ESD test
  double max_anoms;              ///< largest share of the sample the ESD test may flag
  double z;                      ///< band half-width in robust standard deviations of the remainder (the flag threshold)
  double scale_floor;            ///< remainder scale floor, share of the median non-zero absolute deviation from the median
};

/// The parameters of `stl-esd` bound to StlEsdConfig: the one source of truth for CLI and docs.
const ParameterTable<StlEsdConfig>& stl_esd_parameter_table();
std::span<const ParameterSpec> stl_esd_parameter_specs();
/// Builds `stl-esd` for a grid from "name=value" settings; throws std::invalid_argument on bad settings.
std::unique_ptr<Detector> make_stl_esd_detector(std::span<const std::string> settings, const TimeGrid& grid);

}  // namespace meterbench
