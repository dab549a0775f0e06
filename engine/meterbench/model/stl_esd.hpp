#pragma once
// `stl-esd`: robust STL decomposition, then a hybrid generalized ESD test (median and MAD in place of mean
// and standard deviation, as in Twitter's S-H-ESD) on the remainder. See stl_esd.cpp for gap filling, the
// band, and how the ESD decision is encoded in the score.
#include <memory>
#include <span>
#include <string>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/parameters.hpp"

namespace meterbench {

/// The parameters of `stl-esd` (names, defaults, ranges, help): the one source of truth for CLI and docs.
std::span<const ParameterSpec> stl_esd_parameter_specs();
/// Builds `stl-esd` for a grid from "name=value" settings; throws std::invalid_argument on bad settings.
std::unique_ptr<Detector> make_stl_esd_detector(std::span<const std::string> settings, const TimeGrid& grid);

}  // namespace meterbench
