// `random`: the floor every metric must beat.
//
// Each observed step t of series s gets u = U(seed, s, t) in (0, 1) from a counter-based hash (splitmix64's
// finalizer applied to seed, series index and grid step in turn; the top 53 bits give u). The score is
//   score = z log(u) / log(flag_rate),
// so P(score > x) = flag_rate^(x / z): monotone in x and equal to flag_rate at x = z, which makes a sweep
// over the threshold trace the random precision/recall curve (flag_rate = 1: every observed step scores
// +inf). The written score is clamped at z so that
// score > z exactly when u < flag_rate, bit for bit. Nothing depends on the thread, the block or the window:
// the same (seed, series, step) always gets the same score.
//
// expected = the median of the fit window's observed values, band = expected +/- z x scale with scale the
// 1.4826 MAD of those values (their median non-zero absolute deviation when the MAD is 0); NaN-free context
// for impact estimates only: the score ignores them. Score is NaN at gap steps.
//
// Status: the same screen as the other baselines. all_missing writes NaN outputs; constant is reported
// (as every detector does) but still gets random scores, with a band of width 0 at the series' value;
// too_short never happens (one observed value is enough).
#include "meterbench/model/random_detector.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "meterbench/core/check.hpp"
#include "meterbench/core/portable_math.hpp"
#include "meterbench/model/baseline_common.hpp"

namespace meterbench {

namespace {

constexpr std::string_view kName = "random";

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class RandomWorkspace final : public DetectorWorkspace {
 public:
  explicit RandomWorkspace(std::int64_t steps)
      : fit_values(static_cast<std::size_t>(std::max<std::int64_t>(steps, 1))), scratch(fit_values.size()), deviations(fit_values.size()) {}
  std::vector<float> fit_values;   // the fit window's observed values (floats: the median needs no more)
  std::vector<float> scratch;      // the median's second buffer
  std::vector<double> deviations;  // the band's MAD
};

class RandomDetector final : public Detector {
 public:
  RandomDetector(std::span<const std::string> settings, const TimeGrid& grid, bool band)
      : values_(kName, random_parameter_specs(), settings),
        band_(band),
        steps_(grid.steps),
        seed_(static_cast<std::uint64_t>(values_.integer("seed"))),
        flag_rate_(values_.real("flag_rate")),
        z_(values_.real("z")),
        inv_log_rate_(flag_rate_ < 1.0 ? 1.0 / pmath::log(flag_rate_) : 0.0),
        encode_(z_) {}

  [[nodiscard]] std::string_view name() const override { return kName; }
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> parameters() const override {
    return values_.effective();
  }
  [[nodiscard]] std::unique_ptr<DetectorWorkspace> make_workspace() const override {
    return std::make_unique<RandomWorkspace>(steps_);
  }

  FitStatus detect(const SeriesInput& series, const DetectionWindow& window, DetectorWorkspace& workspace,
                   const DetectionOutput& out) const override {
    baseline::check_detect_arguments(series, window, out, steps_);
    auto* ws = dynamic_cast<RandomWorkspace*>(&workspace);
    METERBENCH_CHECK(ws != nullptr);
    const std::span<const float> y = series.values;
    const baseline::FitScreen screen = baseline::screen_fit_window(y, window, 1, 1);
    if (screen.status == FitStatus::all_missing) {
      baseline::write_nan_outputs(window, out);
      return screen.status;
    }
    // Gathered without branches: every value is stored, only observed ones advance the count.
    float* const fit_values = ws->fit_values.data();
    std::size_t count = 0;
    for (std::int64_t t = window.fit_begin; t < window.fit_end; ++t) {
      const float v = y[t];
      fit_values[count] = v;
      count += std::fabs(v) < std::numeric_limits<float>::infinity() ? 1 : 0;
    }
    if (band_) std::copy(fit_values, fit_values + count, ws->deviations.begin());  // the median reorders them
    const double median = baseline::median_in_place(std::span<float>(fit_values, count), ws->scratch);
    const auto expected = static_cast<float>(median);
    if (band_) {
      const std::span<double> deviations(ws->deviations.data(), count);
      double scale = baseline::kMadToSigma * baseline::mad_in_place(deviations, median);
      if (!(scale > 0.0)) scale = baseline::nonzero_median_abs_deviation(deviations, 0.0);  // deviations now
      const auto lower = static_cast<float>(median - z_ * scale);
      const auto upper = static_cast<float>(median + z_ * scale);
      std::fill(out.lower.begin() + window.score_begin, out.lower.begin() + window.score_end, lower);
      std::fill(out.upper.begin() + window.score_begin, out.upper.begin() + window.score_end, upper);
    }
    const std::uint64_t series_key = mix64(mix64(seed_) ^ series.series_index);
    for (std::int64_t t = window.score_begin; t < window.score_end; ++t) {
      out.expected[t] = expected;
      if (!std::isfinite(y[t])) {
        out.score[t] = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      const double u = random_detector_uniform_from_key(series_key, t);
      const double natural = flag_rate_ < 1.0 ? z_ * pmath::log(u) * inv_log_rate_ : std::numeric_limits<double>::infinity();
      out.score[t] = encode_(natural, u < flag_rate_);
    }
    return screen.status;
  }

  static double random_detector_uniform_from_key(std::uint64_t series_key, std::int64_t step) {
    const std::uint64_t h = mix64(series_key ^ static_cast<std::uint64_t>(step));
    return (static_cast<double>(h >> 11) + 0.5) * 0x1p-53;
  }

 private:
  ParameterValues values_;
  bool band_;  // false: lower and upper are not computed nor written
  std::int64_t steps_;
  std::uint64_t seed_;
  double flag_rate_;
  double z_;
  double inv_log_rate_;
  baseline::FlagScoreEncoder encode_;
};

}  // namespace

double random_detector_uniform(std::uint64_t seed, std::uint64_t series_index, std::int64_t step) {
  return RandomDetector::random_detector_uniform_from_key(mix64(mix64(seed) ^ series_index), step);
}

std::span<const ParameterSpec> random_parameter_specs() {
  using Type = ParameterSpec::Type;
  static const std::vector<ParameterSpec> specs = {
      {"seed", Type::integer, "0", 0, 9007199254740991.0, {},
       "seed of the counter-based hash of (seed, series, step); at most 2^53 - 1 (exact in a double)"},
      {"flag_rate", Type::real, "0.01", 1e-9, 1, {},
       "share of observed steps with score > z; set it to the flag rate of the detector being compared"},
      {"z", Type::real, "3", 0.1, 100, {}, "threshold at which the flag rate holds (match the sweep's z)"},
  };
  return specs;
}

std::unique_ptr<Detector> make_random_detector(std::span<const std::string> settings, const TimeGrid& grid) {
  return std::make_unique<RandomDetector>(settings, grid, true);
}

std::unique_ptr<Detector> make_bandless_random_detector(std::span<const std::string> settings, const TimeGrid& grid) {
  return std::make_unique<RandomDetector>(settings, grid, false);
}

}  // namespace meterbench
