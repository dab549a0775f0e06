#pragma once
// Robust STL: seasonal-trend decomposition by LOESS (Cleveland, Cleveland, McRae & Terpenning 1990,
// "STL: A Seasonal-Trend Decomposition Procedure Based on Loess", J. Official Statistics 6(1)).
// Inner loop: detrend, LOESS-smooth each cycle-subseries (extended by one period at both ends), low-pass
// filter the result (moving averages of lengths np, np, 3 and a LOESS), seasonal = smoothed cycle-subseries
// minus low-pass, then LOESS-smooth the deseasonalized series into the trend. Outer loop: bisquare
// robustness weights from the remainder, B(|r| / (6 median |r|)), used by the next inner loops.
// Written for meterbench from the paper; the structure (jumps, end extrapolation) follows the published
// Fortran description. Prior per-point weights (0 for gap steps filled before the decomposition) multiply
// the robustness weights, so filled values never inform the smoothers.
#include <cstdint>
#include <span>
#include <vector>

namespace meterbench::baseline {

/// STL smoothing parameters (n_p, n_s, n_t, n_l and the LOESS degrees and jumps of the paper).
struct StlSettings {
  std::int64_t period = 7;           ///< n_p, steps per seasonal cycle (>= 2)
  std::int64_t seasonal_window = 13; ///< n_s, odd, >= 3: LOESS span over cycles of each cycle-subseries
  std::int64_t trend_window = 15;    ///< n_t, odd, >= 3
  std::int64_t low_pass_window = 7;  ///< n_l, odd, >= 3, at least the period
  int seasonal_degree = 0;           ///< LOESS degree of the cycle-subseries smoother (0 or 1)
  int trend_degree = 1;              ///< LOESS degree of the trend smoother
  int low_pass_degree = 1;           ///< LOESS degree of the low-pass smoother
  std::int64_t seasonal_jump = 2;    ///< evaluate every jump-th point, interpolate linearly in between
  std::int64_t trend_jump = 2;
  std::int64_t low_pass_jump = 1;
  int inner_loops = 2;               ///< n_i
  int outer_loops = 5;               ///< n_o robustness passes (0 = not robust)

  /// The paper's defaults for a period and seasonal window: n_t = next odd >= 1.5 n_p / (1 - 1.5 / n_s),
  /// n_l = next odd >= n_p, jumps = ceil(window / 10). `trend_window` 0 means that default.
  static StlSettings defaults(std::int64_t period, std::int64_t seasonal_window, std::int64_t trend_window,
                              int inner_loops, int outer_loops);
};

/// Scratch memory for series of up to `capacity` steps; sized once, reused for every series.
class StlScratch {
 public:
  StlScratch(std::int64_t capacity, std::int64_t period);

 private:
  friend void stl_decompose(std::span<const double>, std::span<const double>, const StlSettings&, StlScratch&,
                            std::span<double>, std::span<double>);
  std::int64_t capacity_;
  std::vector<double> work1_, work2_, work3_, robustness_, kernel_;
  std::vector<double> sub_y_, sub_w_, sub_out_;
};

/// Decomposes y (n >= 2 periods, all finite) into trend + seasonal + remainder. `prior_weights` (n entries,
/// 0 or 1) marks which values are observed. Writes trend and seasonal (n entries each).
void stl_decompose(std::span<const double> y, std::span<const double> prior_weights, const StlSettings& settings,
                   StlScratch& scratch, std::span<double> trend, std::span<double> seasonal);

}  // namespace meterbench::baseline
