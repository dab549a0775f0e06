#pragma once
// The parameters of the `gam` detector: its config struct and the table that fills it (names, defaults,
// ranges, rules, help: the only place they are written), and the width <-> z conversion of its band.
#include <span>
#include <string>

#include "meterbench/model/parameters.hpp"

namespace meterbench {

/// The validated settings of the `gam` detector. No defaults here: gam_parameter_table() holds them, and
/// gam_config_from_settings({}) gives the shipped configuration.
struct GamConfig {
  enum class Loss { huber, bisquare, squared };
  /// The fitted space: y; log1p(max(y, 0)); log1p(y / c) with c a share of the series' typical positive
  /// value (unit-free; a series with a negative value is fitted as it is); or, per series, y where its spread
  /// grows slower than the square root of its level, else log1p(y / c) (automatic; GamDetector, "Transform").
  enum class Transform { none, log1p, log1p_relative, automatic };
  /// The robust start: never, always, or where the series is fitted as it is (automatic; GamDetector, "Robust start").
  enum class RobustStart { off, on, automatic };
  int changepoints;             ///< candidate changepoints
  double changepoint_range;     ///< fraction of the fit window the candidates spread over
  double changepoint_penalty;   ///< ridge penalty on standardised changepoint deltas
  int weekly_order;             ///< Fourier order of the weekly term (0 = off)
  int yearly_order;             ///< Fourier order of the yearly term (0 = off)
  double yearly_min_days;       ///< observed history (days) needed before the yearly term is used
  int monthly_order;            ///< Fourier order of the billing-cycle (day-of-month) term
  int daily_order;              ///< Fourier order of the daily term on sub-daily grids
  double seasonality_penalty;   ///< ridge penalty on standardised Fourier coefficients
  Loss loss;                    ///< robust loss of the IRLS fit
  double huber_c;               ///< Huber tuning constant, in units of the robust scale
  double bisquare_c;            ///< bisquare tuning constant, in units of the robust scale
  Transform transform;          ///< the fitted space
  double z;                     ///< band half-width in units of the scale (the flag threshold)
  RobustStart robust_start;     ///< start from a fit to the winsorised values and re-estimate the Huber scale while iterating
  bool weekday_scale;           ///< band scale times a factor per weekday (GamDetector, "Band")
  bool run_score;               ///< score also sustained deviations: the mean over 3 and 7 steps (GamDetector, "Score")
  bool rules;                   ///< rule alerts (stuck meter, stopped reporting, unit error, zero run), whatever z
  int max_iterations;           ///< IRLS iteration limit
  double tolerance;             ///< convergence: RMS change of the fit below tolerance x scale
  int min_observed;             ///< fewest observed steps in the fit window worth a fit
  double scale_floor;           ///< band scale floor, share of the MAD of residuals above the series' minimum (GamDetector)
  bool local_scale;             ///< band scale local in time: the robust scale of the residuals within local_weeks (GamDetector, "Band")
  int local_weeks;              ///< weeks of residuals the local scale reads
  double local_floor;           ///< local scale at least this share of the series' band scale
  bool count_band;              ///< small counts: Poisson quantile band on the count scale (GamDetector, "Band")
  bool tail_scale;              ///< each side of the band as wide as its residuals' 95th percentile / 1.96 (GamDetector, "Tail scale")
};

/// The table of gam's parameters (see parameters.hpp), bound to GamConfig.
const ParameterTable<GamConfig>& gam_parameter_table();
std::span<const ParameterSpec> gam_parameter_specs();
/// Validates "name=value" settings into a GamConfig; throws std::invalid_argument naming the offending
/// parameter and the rule it breaks.
GamConfig gam_config_from_settings(std::span<const std::string> settings);

/// The standard normal distribution function.
double normal_cdf(double x);
/// z such that a band of +/- z standard deviations covers `width` of a normal distribution (0 < width < 1).
double normal_two_sided_quantile(double width);
/// The inverse: the coverage 2 Phi(z) - 1 of a band of +/- z.
double normal_two_sided_coverage(double z);

}  // namespace meterbench
