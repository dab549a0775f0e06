#include "meterbench/model/registry.hpp"

#include <array>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "meterbench/model/gam_detector.hpp"
#include "meterbench/model/random_detector.hpp"
#include "meterbench/model/seasonal_mad.hpp"
#include "meterbench/model/stl_esd.hpp"

namespace meterbench {

namespace {

struct Registration {
  std::string_view name;
  std::span<const ParameterSpec> (*specs)();
  std::unique_ptr<Detector> (*make)(std::span<const std::string>, const TimeGrid&);
};

// In name order: the order of detector_names(), help texts and error messages.
constexpr std::array kRegistry = {
    Registration{"gam", &gam_parameter_specs, &make_gam_detector},
    Registration{"random", &random_parameter_specs, &make_random_detector},
    Registration{"seasonal-mad", &seasonal_mad_parameter_specs, &make_seasonal_mad_detector},
    Registration{"stl-esd", &stl_esd_parameter_specs, &make_stl_esd_detector},
};

const Registration& find_registration(std::string_view name) {
  for (const auto& r : kRegistry)
    if (r.name == name) return r;
  throw std::invalid_argument(fmt::format("unknown model '{}' (known: {})", name, fmt::join(detector_names(), ", ")));
}

}  // namespace

std::string_view to_string(FitStatus status) {
  switch (status) {
    case FitStatus::ok: return "ok";
    case FitStatus::too_short: return "too_short";
    case FitStatus::all_missing: return "all_missing";
    case FitStatus::constant: return "constant";
    case FitStatus::not_converged: return "not_converged";
  }
  return "unknown";
}

std::unique_ptr<Detector> make_detector(std::string_view name, std::span<const std::string> settings, const TimeGrid& grid) {
  const Registration& registration = find_registration(name);
  grid.validate();
  return registration.make(settings, grid);
}

std::vector<std::string> detector_names() {
  std::vector<std::string> names;
  names.reserve(kRegistry.size());
  for (const auto& r : kRegistry) names.emplace_back(r.name);
  return names;
}

std::span<const ParameterSpec> detector_parameter_specs(std::string_view name) { return find_registration(name).specs(); }

std::string describe_all_detectors() {
  std::string out;
  for (const auto& r : kRegistry) {
    if (!out.empty()) out += '\n';
    out += describe_parameters(r.name, r.specs());
  }
  return out;
}

}  // namespace meterbench
