#pragma once
// The detector registry: which detectors exist, their parameter specs, and their documentation.
// make_detector() and detector_names() are declared in detector.hpp; this header adds the lookups the CLI
// help and the README parameter tables need.
#include <span>
#include <string>
#include <string_view>

#include "meterbench/model/detector.hpp"
#include "meterbench/model/parameters.hpp"

namespace meterbench {

/// The parameter specs of a registered detector; throws std::invalid_argument
/// "unknown model 'xyz' (known: gam, random, seasonal-mad, stl-esd)" for any other name.
std::span<const ParameterSpec> detector_parameter_specs(std::string_view name);

/// Markdown documentation of every detector's parameters: one describe_parameters() table per detector,
/// in name order, separated by blank lines.
std::string describe_all_detectors();

}  // namespace meterbench
