#include "meterbench/model/gam_parameters.hpp"

#include <cmath>
#include <numbers>

#include "meterbench/core/check.hpp"
#include "meterbench/core/portable_math.hpp"

namespace meterbench {

namespace {

ParameterTable<GamConfig> build_table() {
  using C = GamConfig;
  using B = ParameterBinding<GamConfig>;
  return {"gam",
          {
              {.name = "changepoints", .bind = &C::changepoints, .default_value = "25", .min = 0, .max = 200,
               .help = "candidate trend changepoints, evenly spaced over the first changepoint_range of the fit window"},
              {.name = "changepoint_range", .bind = &C::changepoint_range, .default_value = "0.8", .min = 0.05, .max = 1.0,
               .help = "fraction of the fit window (from its start) that holds changepoints"},
              {.name = "changepoint_penalty", .bind = &C::changepoint_penalty, .default_value = "0.01", .min = 0.0, .max = 1e6,
               .help = "ridge penalty on standardised changepoint deltas; larger = stiffer trend"},
              {.name = "weekly_order", .bind = &C::weekly_order, .default_value = "3", .min = 0, .max = 20,
               .help = "Fourier order of the weekly term (0 = off; capped at the grid's Nyquist limit)"},
              {.name = "yearly_order", .bind = &C::yearly_order, .default_value = "10", .min = 0, .max = 40,
               .help = "Fourier order of the yearly term (0 = off)"},
              {.name = "yearly_min_days", .bind = &C::yearly_min_days, .default_value = "730", .min = 0, .max = 36500,
               .help = "observed history (days, first to last observed step) a series needs for the yearly term (prophet: 730)"},
              {.name = "monthly_order", .bind = &C::monthly_order, .default_value = "2", .min = 0, .max = 10,
               .help = "Fourier order of the billing-cycle term, phase (day_of_month - 1) / days_in_month (0 = off)"},
              {.name = "daily_order", .bind = &C::daily_order, .default_value = "4", .min = 0, .max = 24,
               .help = "Fourier order of the daily term on sub-daily grids (0 = off)"},
              {.name = "seasonality_penalty", .bind = &C::seasonality_penalty, .default_value = "0.001", .min = 0.0, .max = 1e6,
               .help = "ridge penalty on standardised Fourier coefficients"},
              {.name = "loss", .bind = B::choice(&C::loss, {{"huber", C::Loss::huber}, {"bisquare", C::Loss::bisquare}, {"squared", C::Loss::squared}}),
               .default_value = "huber",
               .help = "loss of the fit: huber (robust, default), bisquare (redescending, slower), squared (least squares)"},
              {.name = "huber_c", .bind = &C::huber_c, .default_value = "2", .min = 0.5, .max = 10,
               .help = "Huber constant in units of the robust scale"},
              {.name = "bisquare_c", .bind = &C::bisquare_c, .default_value = "4.685", .min = 1, .max = 20,
               .help = "bisquare constant in units of the robust scale"},
              {.name = "transform",
               .bind = B::choice(&C::transform, {{"none", C::Transform::none}, {"log1p", C::Transform::log1p},
                                                 {"log1p_relative", C::Transform::log1p_relative}, {"auto", C::Transform::automatic}}),
               .default_value = "auto",
               .help = "fitted space: none; log1p = log1p(max(y, 0)); log1p_relative = log1p(y / c), c = 0.05 x the median of "
                       "the series' positive values (unit-free; a series with a negative value is fitted as it is); auto = per series, "
                       "none where the spread of its 28-day blocks grows slower than the square root of their level (over levels "
                       "at least 2x apart), else log1p_relative; bands are mapped back"},
              {.name = "z", .bind = &C::z, .default_value = "7", .min = 0.1, .max = 20, .rules = {.exclusive_with = "width"},
               .role = ParameterRole::flag_threshold, .help = "band half-width in units of the scale"},
              {.name = "robust_start",
               .bind = B::choice(&C::robust_start, {{"off", C::RobustStart::off}, {"on", C::RobustStart::on}, {"auto", C::RobustStart::automatic}}),
               .default_value = "auto",
               .help = "start the robust fit from the values winsorised at 5 robust sd about their median, and re-estimate the "
                       "Huber scale at every iteration until it settles (a few gross outliers then move neither fit nor band); auto = "
                       "where the series is fitted as it is and holds a value beyond 10x its usual positive value either way (in logs a x1000 "
                       "burst is a few log units and cannot drag the fit)"},
              {.name = "weekday_scale", .bind = B::choice(&C::weekday_scale, {{"off", false}, {"on", true}}), .default_value = "on",
               .help = "band scale times clip(winsorised mean abs(residual) of the weekday / of all days, 0.5, 2) (1 when the weekday has < 8 "
                       "observed days): narrow on quiet days, wide on busy ones"},
              {.name = "run_score", .bind = B::choice(&C::run_score, {{"off", false}, {"on", true}}), .default_value = "on",
               .help = "score = max(|e_t|, sqrt(3) |mean_3 e|, sqrt(7) |mean_7 e|) of the standardised residuals e, each clipped at +-10, "
                       "over the steps not beyond z (windows centred when fitting the whole series, trailing within the scored period "
                       "otherwise): catches sustained deviations"},
              {.name = "rules", .bind = B::choice(&C::rules, {{"off", false}, {"on", true}}), .default_value = "on",
               .help = "rule alerts, flagged whatever z (score >= 1000) and labelled with their kind: stuck meter (a run of equal values rarer "
                       "than once in 100 series, by the series' habit or the 56 days' before it, whichever repeats more), stopped reporting "
                       "(a final silence of 7 days or more, after regular reporting and no longer than it), unit error (x100 of the expected and of the usual positive value, or positive and /300 of the expected), "
                       "zero run after regular use (at least 3 days, and rarer than once in 100 series by the share of zeros of the 56 days before it)"},
              {.name = "width", .bind = B::converted(&C::z, &normal_two_sided_quantile, &normal_two_sided_coverage),
               .default_value = "0.999999", .min = 0.5, .max = 0.999999, .rules = {.exclusive_with = "z"},
               .help = "band coverage under normal noise; sets z = two-sided normal quantile (at most 0.999999, z 4.89: set z for wider bands)"},
              {.name = "max_iterations", .bind = &C::max_iterations, .default_value = "50", .min = 1, .max = 1000,
               .help = "iteration limit of the robust fit (status not_converged beyond it)"},
              {.name = "tolerance", .bind = &C::tolerance, .default_value = "0.005", .min = 1e-12, .max = 0.1,
               .help = "convergence: RMS change of the fitted values below tolerance x scale"},
              {.name = "min_observed", .bind = &C::min_observed, .default_value = "28", .min = 2, .max = 1000000000,
               .help = "fewest observed steps in the fit window for a fit (also at least 2 x active columns)"},
              {.name = "scale_floor", .bind = &C::scale_floor, .default_value = "0.3", .min = 0, .max = 1,
               .help = "lower bound of the band scale, as a share of the robust scale of the residuals at steps above the series' "
                       "minimum when that minimum repeats (the zero days of intermittent usage); 0 = off"},
              {.name = "local_scale", .bind = B::choice(&C::local_scale, {{"off", false}, {"on", true}}), .default_value = "off",
               .help = "band scale local in time: max(local_floor x the series' scale, 1.4826 x the median of the weekly median abs(residual) "
                       "over local_weeks weeks about the step's week (centred when fitting the whole series, trailing inside the history "
                       "otherwise)), times the weekday factor"},
              {.name = "local_weeks", .bind = &C::local_weeks, .default_value = "8", .min = 2, .max = 52,
               .help = "weeks of residuals the local scale (local_scale=on) reads"},
              {.name = "local_floor", .bind = &C::local_floor, .default_value = "0.5", .min = 0, .max = 1,
               .help = "lower bound of the local scale (local_scale=on), as a share of the series' band scale"},
              {.name = "count_band", .bind = B::choice(&C::count_band, {{"off", false}, {"on", true}}), .default_value = "off",
               .help = "small counts (non-negative integers, median positive value <= 20): band = Poisson quantiles about the expected "
                       "value at the normal tail of z (integers, lower >= 0), score = the normal equivalent of the tail probability"},
              {.name = "tail_scale", .bind = B::choice(&C::tail_scale, {{"off", false}, {"on", true}}), .default_value = "on",
               .help = "each side of the band at least the 95th percentile of that side's residuals / 1.96 "
                       "wide: a series that often deviates by a lot, up or down, gets that side as wide as its tail; a light-tailed side "
                       "keeps the MAD band; a fitted step inside an episode that holds half of the side's top 5% residuals within 6 weeks "
                       "gets the side's width without it"},
          }};
}

}  // namespace

const ParameterTable<GamConfig>& gam_parameter_table() {
  static const ParameterTable<GamConfig> table = build_table();
  return table;
}

std::span<const ParameterSpec> gam_parameter_specs() { return gam_parameter_table().specs(); }

GamConfig gam_config_from_settings(std::span<const std::string> settings) { return gam_parameter_table().bind(settings).config; }

double normal_cdf(double x) { return 0.5 * pmath::erfc(-x / std::numbers::sqrt2); }

double normal_two_sided_coverage(double z) { return 2.0 * normal_cdf(z) - 1.0; }

double normal_two_sided_quantile(double width) {
  METERBENCH_CHECK(width > 0.0 && width < 1.0);
  const double p = 0.5 + 0.5 * width;  // upper quantile level, in (0.5, 1)
  // Acklam's rational approximation (relative error 1.15e-9), then two Newton steps on erfc.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
  double x = 0.0;
  if (p < 0.97575) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * pmath::log(1.0 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  for (int i = 0; i < 2; ++i) {
    const double err = normal_cdf(x) - p;
    x -= err * std::sqrt(2.0 * std::numbers::pi) * pmath::exp(0.5 * x * x);
  }
  return x;
}

}  // namespace meterbench
