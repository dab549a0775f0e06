#pragma once
// `random`: scores drawn from a counter-based hash of (seed, series index, step), with P(score > z) equal to
// the chosen flag rate: the floor every metric must beat. Bit-reproducible for any thread count.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/model/parameters.hpp"

namespace meterbench {

/// The validated settings of `random`; defaults, ranges and help in random_parameter_table().
struct RandomConfig {
  std::uint64_t seed;  ///< seed of the counter-based hash of (seed, series, step)
  double flag_rate;    ///< share of observed steps with score > z
  double z;            ///< the threshold at which the flag rate holds (the flag threshold)
};

/// The parameters of `random` bound to RandomConfig: the one source of truth for CLI and docs.
const ParameterTable<RandomConfig>& random_parameter_table();
std::span<const ParameterSpec> random_parameter_specs();
/// Builds `random` for a grid from "name=value" settings; throws std::invalid_argument on bad settings.
std::unique_ptr<Detector> make_random_detector(std::span<const std::string> settings, const TimeGrid& grid);
/// The same detector without the band: expected values and scores as above, lower and upper left untouched
/// (the MAD is not computed). For the backtest's side-by-side baseline, whose band nobody reads.
std::unique_ptr<Detector> make_bandless_random_detector(std::span<const std::string> settings, const TimeGrid& grid);
/// The uniform u in (0, 1) behind the score of (seed, series, grid step); exposed for tests.
double random_detector_uniform(std::uint64_t seed, std::uint64_t series_index, std::int64_t step);

}  // namespace meterbench
