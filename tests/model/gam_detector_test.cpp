// Behavioural tests of the gam detector through the Detector contract: recovery of known coefficients,
// band coverage under Gaussian noise, robustness to outliers, long gaps, the forward schedule, the log1p
// transform, every fit status, and workspace reuse.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/gam_design.hpp"
#include "meterbench/model/gam_detector.hpp"
#include "model/gam_test_support.hpp"

namespace meterbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using testing::kDaily730;
using testing::kStart;
using testing::settings;

struct Outputs {
  explicit Outputs(std::int64_t n)
      : expected(static_cast<std::size_t>(n)), lower(expected.size()), upper(expected.size()), score(expected.size()) {}
  DetectionOutput view() { return {expected, lower, upper, score}; }
  std::vector<float> expected, lower, upper, score;
};

struct Run {
  FitStatus status;
  Outputs out;
};

Run run(const Detector& det, const std::vector<float>& y, DetectionWindow window, DetectorWorkspace* ws = nullptr) {
  std::unique_ptr<DetectorWorkspace> own;
  if (ws == nullptr) {
    own = det.make_workspace();
    ws = own.get();
  }
  Outputs out(static_cast<std::int64_t>(y.size()));
  const FitStatus status = det.detect({y, 0}, window, *ws, out.view());
  return {status, std::move(out)};
}

Run run(const Detector& det, const std::vector<float>& y) {
  return run(det, y, DetectionWindow::retrospective(static_cast<std::int64_t>(y.size())));
}


// A smooth usage-like signal: level, trend with one slope change, weekly and yearly cycles.
double signal(const TimeGrid& grid, std::int64_t i, double level, double phase) {
  const double t = static_cast<double>(i) / static_cast<double>(grid.steps);
  const double days = grid.days_at(i);
  const double two_pi = 2.0 * std::numbers::pi;
  return level * (1.0 + 0.3 * t + (t > 0.5 ? 0.4 * (t - 0.5) : 0.0) + 0.08 * std::sin(two_pi * (days / 7.0 + phase)) +
                  0.06 * std::cos(two_pi * (days / 365.25 + phase)) + 0.03 * std::sin(2.0 * two_pi * (days / 365.25)));
}

double rms(const std::vector<float>& a, const std::vector<double>& b, const std::vector<float>& mask_nan) {
  double sum = 0.0;
  int count = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(mask_nan[i])) continue;
    sum += (a[i] - b[i]) * (a[i] - b[i]);
    ++count;
  }
  return std::sqrt(sum / count);
}

// Contract: a noise-free series built from known raw coefficients of the model's own basis (trend, hinges at
// the design's changepoints, weekly/yearly/monthly Fourier terms; intercept 200, others uniform in [-10, 10])
// is recovered with the penalties set to 0: every raw coefficient within 1e-3 x (1 + 10) absolute and the
// fitted values within 1e-4 relative, for both the squared and the Huber loss. (The series is stored in
// float, so its values carry a relative rounding of 6e-8, amplified by the conditioning of the unpenalised
// hinge columns.)
TEST(GamDetector, NoiseFreeSeriesRecoversKnownCoefficients) {
  for (const char* loss : {"loss=squared", "loss=huber"}) {
    const auto det = testing::make_base_gam(settings({loss, "changepoint_penalty=0", "seasonality_penalty=0", "changepoints=8"}), kDaily730);
    const auto& gam = dynamic_cast<const GamDetector&>(*det);
    const GamDesign& d = gam.retrospective_design();
    const auto p = static_cast<std::size_t>(d.cols());
    Rng rng(stream_key(1, 2));
    std::vector<double> gamma(p);
    gamma[0] = 200.0;
    for (std::size_t j = 1; j < p; ++j) gamma[j] = rng.uniform(-10.0, 10.0);
    std::vector<double> raw(p);
    std::vector<float> y(730);
    std::vector<double> truth(730);
    for (std::int64_t i = 0; i < 730; ++i) {
      d.fill_raw_row(i, raw);
      double v = 0.0;
      for (std::size_t j = 0; j < p; ++j) v += raw[j] * gamma[j];
      truth[static_cast<std::size_t>(i)] = v;
      y[static_cast<std::size_t>(i)] = static_cast<float>(v);
    }
    auto ws_base = det->make_workspace();
    auto& ws = dynamic_cast<GamWorkspace&>(*ws_base);
    Outputs out(730);
    ASSERT_EQ(det->detect({y, 0}, DetectionWindow::retrospective(730), ws, out.view()), FitStatus::ok) << loss;
    // Back to raw coefficients: gamma_j = beta_j * inv_sd_j, intercept absorbs offset and column means.
    const auto& beta = ws.coefficients();
    std::vector<double> fitted(p);
    fitted[0] = ws.offset() + beta[0];
    for (std::size_t j = 1; j < p; ++j) {
      const auto jj = static_cast<Eigen::Index>(j);
      fitted[j] = beta[jj] * d.column_inv_sd()[jj];
      fitted[0] -= fitted[j] * d.column_mean()[jj];
    }
    for (std::size_t j = 0; j < p; ++j) EXPECT_NEAR(fitted[j], gamma[j], 1e-3 * (1.0 + 10.0)) << loss << " coefficient " << j;
    for (std::size_t i = 0; i < 730; ++i) EXPECT_NEAR(out.expected[i], truth[i], 1e-4 * std::abs(truth[i])) << loss << " step " << i;
  }
}

// Contract: under Gaussian noise the band expected +/- z * scale covers the nominal share of points: the 99%
// band covers 98.5-99.5% and the 95% band 94.5-95.5% of 400 series x 730 daily steps (fixed seed, the
// project's own deterministic generator), with the default robust (Huber) fit.
TEST(GamDetector, GaussianNoiseBandsHaveNominalCoverage) {
  for (const auto& [width, lo, hi] : {std::tuple{"width=0.99", 0.985, 0.995}, std::tuple{"width=0.95", 0.945, 0.955}}) {
    const auto det = testing::make_base_gam(settings({width}), kDaily730);
    auto ws = det->make_workspace();
    Outputs out(730);
    std::int64_t covered = 0, total = 0;
    for (int s = 0; s < 400; ++s) {
      Rng rng(stream_key(2026, static_cast<std::uint64_t>(s)));
      const double level = rng.uniform(20.0, 2000.0), sigma = level * rng.uniform(0.01, 0.1), phase = rng.uniform();
      std::vector<float> y(730);
      for (std::int64_t i = 0; i < 730; ++i) y[static_cast<std::size_t>(i)] = static_cast<float>(signal(kDaily730, i, level, phase) + sigma * rng.normal());
      ASSERT_EQ(det->detect({y, static_cast<std::uint64_t>(s)}, DetectionWindow::retrospective(730), *ws, out.view()), FitStatus::ok);
      for (std::size_t i = 0; i < 730; ++i) {
        covered += (y[i] >= out.lower[i] && y[i] <= out.upper[i]) ? 1 : 0;
        ++total;
      }
    }
    const double coverage = static_cast<double>(covered) / static_cast<double>(total);
    RecordProperty(width, std::to_string(coverage));
    EXPECT_GE(coverage, lo) << width;
    EXPECT_LE(coverage, hi) << width;
  }
}

// Contract: with 5% of the points replaced by large positive outliers (+10 to +30 sigma), the Huber fit's
// expected values stay within 0.35 sigma RMS of the clean series' fit (and within 1 sigma everywhere), while
// the least-squares fit moves by more than 0.6 sigma RMS; bisquare stays within 0.2 sigma RMS.
TEST(GamDetector, RobustFitIgnoresOutliersWhereLeastSquaresBends) {
  const double level = 500.0, sigma = 10.0;
  Rng rng(stream_key(5, 5));
  std::vector<float> clean(730), dirty(730);
  for (std::size_t i = 0; i < 730; ++i) {
    clean[i] = static_cast<float>(signal(kDaily730, static_cast<std::int64_t>(i), level, 0.3) + sigma * rng.normal());
    dirty[i] = clean[i];
    if (rng.bernoulli(0.05)) dirty[i] = static_cast<float>(clean[i] + sigma * rng.uniform(10.0, 30.0));
  }
  const auto rms_between = [](const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0.0, worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      s += (a[i] - b[i]) * (a[i] - b[i]);
      worst = std::max(worst, static_cast<double>(std::abs(a[i] - b[i])));
    }
    return std::pair{std::sqrt(s / static_cast<double>(a.size())), worst};
  };
  const auto huber = testing::make_base_gam({}, kDaily730);
  const auto reference = run(*huber, clean);
  const auto robust = run(*huber, dirty);
  const auto [robust_rms, robust_worst] = rms_between(robust.out.expected, reference.out.expected);
  EXPECT_LT(robust_rms, 0.35 * sigma);
  EXPECT_LT(robust_worst, 1.0 * sigma);

  const auto bisquare = run(*testing::make_base_gam(settings({"loss=bisquare"}), kDaily730), dirty);
  EXPECT_EQ(bisquare.status, FitStatus::ok);
  EXPECT_LT(rms_between(bisquare.out.expected, reference.out.expected).first, 0.2 * sigma);

  const auto squared = run(*testing::make_base_gam(settings({"loss=squared"}), kDaily730), dirty);
  EXPECT_GT(rms_between(squared.out.expected, reference.out.expected).first, 0.6 * sigma);

  // The outliers score far outside the robust band.
  int flagged = 0, outliers = 0;
  for (std::size_t i = 0; i < 730; ++i) {
    if (dirty[i] == clean[i]) continue;
    ++outliers;
    flagged += robust.out.score[i] > 2.576 ? 1 : 0;
  }
  EXPECT_GE(flagged, outliers * 95 / 100);
}

// Contract: a 90-day gap (absent rows, no imputation) leaves the fit on the observed part unchanged within
// 0.25 sigma RMS of the fit without the gap, and its error against the noise-free signal on the observed part
// grows by at most 30%; expected/lower/upper are finite on every step (the model predicts across the gap),
// the score is NaN exactly at the gap steps. Also for gaps at the start and at the end of the window.
TEST(GamDetector, NinetyDayGapsKeepFitQualityAndLeakNoNaN) {
  const double level = 300.0, sigma = 6.0;
  Rng rng(stream_key(9, 9));
  std::vector<float> full(730);
  std::vector<double> truth(730);
  for (std::size_t i = 0; i < 730; ++i) {
    truth[i] = signal(kDaily730, static_cast<std::int64_t>(i), level, 0.1);
    full[i] = static_cast<float>(truth[i] + sigma * rng.normal());
  }
  const auto det = testing::make_base_gam({}, kDaily730);
  const auto base = run(*det, full);
  ASSERT_EQ(base.status, FitStatus::ok);
  for (const std::size_t gap_start : {std::size_t{300}, std::size_t{0}, std::size_t{640}}) {
    std::vector<float> gappy = full;
    for (std::size_t i = gap_start; i < gap_start + 90; ++i) gappy[i] = static_cast<float>(kNaN);
    const auto res = run(*det, gappy);
    EXPECT_EQ(res.status, FitStatus::ok) << gap_start;
    for (std::size_t i = 0; i < 730; ++i) {
      ASSERT_TRUE(std::isfinite(res.out.expected[i]) && std::isfinite(res.out.lower[i]) && std::isfinite(res.out.upper[i])) << gap_start << " step " << i;
      EXPECT_EQ(std::isnan(res.out.score[i]), std::isnan(gappy[i])) << gap_start << " step " << i;
    }
    std::vector<double> base_expected(base.out.expected.begin(), base.out.expected.end());
    EXPECT_LT(rms(res.out.expected, base_expected, gappy), 0.25 * sigma) << gap_start;
    const double err_gap = rms(res.out.expected, truth, gappy);
    const double err_base = rms(base.out.expected, truth, gappy);
    EXPECT_LT(err_gap, 1.3 * err_base + 0.05 * sigma) << gap_start;
  }
}

// Contract: the forward schedule fits on [fit_begin, fit_end) and scores [score_begin, score_end) after it:
// the trend continues with its last slope and the seasonal terms follow the calendar, so a noise-free
// trend + weekly series is predicted within 0.5% of its level a week ahead; only the score window is written.
TEST(GamDetector, ForwardScheduleExtrapolatesTrendAndSeasonality) {
  const TimeGrid grid{kStart, kSecondsPerDay, 400};
  std::vector<float> y(400);
  for (std::size_t i = 0; i < 400; ++i) {
    const double t = static_cast<double>(i);
    y[i] = static_cast<float>(100.0 + 0.1 * t + 10.0 * std::sin(2.0 * std::numbers::pi * grid.days_at(static_cast<std::int64_t>(i)) / 7.0));
  }
  const auto det = testing::make_base_gam({}, grid);
  auto ws = det->make_workspace();
  Outputs out(400);
  std::fill(out.expected.begin(), out.expected.end(), -1.0f);
  const auto window = DetectionWindow::forward(393, 400);
  ASSERT_EQ(det->detect({y, 0}, window, *ws, out.view()), FitStatus::ok);
  for (std::size_t i = 0; i < 393; ++i) ASSERT_EQ(out.expected[i], -1.0f) << "step " << i << " outside the score window was written";
  for (std::size_t i = 393; i < 400; ++i) {
    EXPECT_NEAR(out.expected[i], y[i], 0.005 * y[i]) << "step " << i;
    EXPECT_LE(out.lower[i], out.expected[i]);
    EXPECT_GE(out.upper[i], out.expected[i]);
    EXPECT_TRUE(std::isfinite(out.score[i]));
  }
  // The window's design is cached in the workspace: the same call again gives identical outputs, and a
  // retrospective call in between does not disturb it.
  Outputs again(400);
  (void)det->detect({y, 0}, DetectionWindow::retrospective(400), *ws, again.view());
  ASSERT_EQ(det->detect({y, 0}, window, *ws, again.view()), FitStatus::ok);
  for (std::size_t i = 393; i < 400; ++i) EXPECT_EQ(again.expected[i], out.expected[i]);
}

// Contract: with transform=log1p the model fits log1p(y); expected, lower and upper are mapped back by expm1
// and clamped at 0, the band is asymmetric in units (wider above), and the score is measured in log space.
TEST(GamDetector, Log1pTransformMapsBandBackToUnits) {
  Rng rng(stream_key(3, 3));
  std::vector<float> y(730);
  for (std::size_t i = 0; i < 730; ++i)
    y[i] = static_cast<float>(std::exp(std::log(signal(kDaily730, static_cast<std::int64_t>(i), 50.0, 0.0)) + 0.2 * rng.normal()));
  y[100] = 0.0f;
  const auto res = run(*testing::make_base_gam(settings({"transform=log1p"}), kDaily730), y);
  ASSERT_EQ(res.status, FitStatus::ok);
  int covered = 0;
  for (std::size_t i = 0; i < 730; ++i) {
    ASSERT_GE(res.out.lower[i], 0.0f);
    ASSERT_GT(res.out.expected[i], 0.0f);
    ASSERT_GT(res.out.upper[i] - res.out.expected[i], res.out.expected[i] - res.out.lower[i]) << "multiplicative band is wider above";
    covered += (y[i] >= res.out.lower[i] && y[i] <= res.out.upper[i]) ? 1 : 0;
  }
  EXPECT_GE(covered, 710);
  EXPECT_GT(res.out.score[100], 5.0f) << "a zero in a series around 50 is far below in log space";
}

// Contract: every status path fills outputs as documented in gam_detector.hpp.
TEST(GamDetector, AllMissingSeriesReportsAllMissingWithNaNOutputs) {
  const std::vector<float> y(730, static_cast<float>(kNaN));
  const auto res = run(*testing::make_base_gam({}, kDaily730), y);
  EXPECT_EQ(res.status, FitStatus::all_missing);
  for (std::size_t i = 0; i < 730; ++i) EXPECT_TRUE(std::isnan(res.out.expected[i]) && std::isnan(res.out.score[i]));
}

TEST(GamDetector, TooShortSeriesFallsBackToMedianAndMad) {
  std::vector<float> y(730, static_cast<float>(kNaN));
  for (std::size_t i = 0; i < 20; ++i) y[700 + i] = static_cast<float>(10 + (i % 5));  // 20 observed < min_observed 28
  y[705] = 100.0f;
  const auto res = run(*testing::make_base_gam({}, kDaily730), y);
  EXPECT_EQ(res.status, FitStatus::too_short);
  for (std::size_t i = 0; i < 730; ++i) {
    EXPECT_FLOAT_EQ(res.out.expected[i], 12.0f);  // median of the observed values
    EXPECT_LT(res.out.lower[i], 12.0f);
    EXPECT_EQ(std::isnan(res.out.score[i]), std::isnan(y[i]));
  }
  EXPECT_GT(res.out.score[705], 10.0f);
  // More observed steps than min_observed but fewer than 2 x the active columns is also too short: every 12th
  // day over two years is 61 steps, against 32 active columns (changepoint segments are mostly unobserved
  // and dropped; intercept, trend, weekly 6, yearly 20, monthly 4 stay).
  std::vector<float> y2(730, static_cast<float>(kNaN));
  for (std::size_t i = 0; i < 730; i += 12) y2[i] = static_cast<float>(i % 7);
  EXPECT_EQ(run(*testing::make_base_gam({}, kDaily730), y2).status, FitStatus::too_short);
}

TEST(GamDetector, ConstantSeriesReportsConstantWithZeroWidthBand) {
  std::vector<float> y(730, 42.0f);
  y[5] = static_cast<float>(kNaN);
  const auto res = run(*testing::make_base_gam({}, kDaily730), y);
  EXPECT_EQ(res.status, FitStatus::constant);
  for (std::size_t i = 0; i < 730; ++i) {
    EXPECT_EQ(res.out.expected[i], 42.0f);
    EXPECT_EQ(res.out.lower[i], 42.0f);
    EXPECT_EQ(res.out.upper[i], 42.0f);
    if (i != 5) {
      EXPECT_EQ(res.out.score[i], 0.0f);
    }
  }
  EXPECT_TRUE(std::isnan(res.out.score[5]));
}

TEST(GamDetector, ZeroOnlySeriesReportsConstant) {
  const std::vector<float> y(730, 0.0f);
  for (const char* transform : {"transform=none", "transform=log1p"}) {
    const auto res = run(*testing::make_base_gam(settings({transform}), kDaily730), y);
    EXPECT_EQ(res.status, FitStatus::constant) << transform;
    for (std::size_t i = 0; i < 730; ++i) {
      EXPECT_EQ(res.out.expected[i], 0.0f);
      EXPECT_EQ(res.out.score[i], 0.0f);
    }
  }
  // A forward window after a zero-only history: any usage is infinitely surprising, never NaN.
  std::vector<float> y2(730, 0.0f);
  y2[729] = 3.0f;
  const auto fwd = run(*testing::make_base_gam({}, kDaily730), y2, DetectionWindow::forward(700, 730));
  EXPECT_EQ(fwd.status, FitStatus::constant);
  EXPECT_TRUE(std::isinf(fwd.out.score[729]));
}

TEST(GamDetector, IterationLimitReportsNotConvergedWithFilledOutputs) {
  Rng rng(stream_key(4, 4));
  std::vector<float> y(730);
  for (std::size_t i = 0; i < 730; ++i) {
    y[i] = static_cast<float>(signal(kDaily730, static_cast<std::int64_t>(i), 100.0, 0.0) + 3.0 * rng.normal());
    if (i % 17 == 0) y[i] += 80.0f;
  }
  const auto res = run(*testing::make_base_gam(settings({"max_iterations=1"}), kDaily730), y);
  EXPECT_EQ(res.status, FitStatus::not_converged);
  for (std::size_t i = 0; i < 730; ++i)
    ASSERT_TRUE(std::isfinite(res.out.expected[i]) && std::isfinite(res.out.lower[i]) && std::isfinite(res.out.upper[i]) &&
                std::isfinite(res.out.score[i]));
}

// Contract: degenerate windows never abort: a forward fit window of 3 steps with the penalties set to 0
// (fewer rows than columns) reports too_short, and an empty fit window reports all_missing.
TEST(GamDetector, DegenerateWindowsReportStatusesInsteadOfFailing) {
  std::vector<float> y(730, 5.0f);
  for (std::size_t i = 0; i < 730; ++i) y[i] = static_cast<float>(i % 3);
  const auto det = testing::make_base_gam(settings({"changepoint_penalty=0", "seasonality_penalty=0", "min_observed=2"}), kDaily730);
  EXPECT_EQ(run(*det, y, DetectionWindow{100, 103, 103, 110}).status, FitStatus::too_short);
  EXPECT_EQ(run(*det, y, DetectionWindow{100, 100, 100, 110}).status, FitStatus::all_missing);
}

// Contract: detect() is a pure function of (series, window): reusing one workspace across different series,
// grids' windows and statuses gives bit-identical outputs to a fresh workspace.
TEST(GamDetector, WorkspaceReuseIsDeterministic) {
  const auto det = testing::make_base_gam({}, kDaily730);
  Rng rng(stream_key(8, 8));
  std::vector<std::vector<float>> series;
  for (int s = 0; s < 4; ++s) {
    std::vector<float> y(730);
    for (std::size_t i = 0; i < 730; ++i) {
      y[i] = static_cast<float>(signal(kDaily730, static_cast<std::int64_t>(i), 100.0 + s, 0.1 * s) + 2.0 * rng.normal());
      if (s == 1 && i > 200 && i < 320) y[i] = static_cast<float>(kNaN);
      if (s == 2 && rng.bernoulli(0.05)) y[i] = static_cast<float>(kNaN);
    }
    series.push_back(y);
  }
  series.push_back(std::vector<float>(730, 1.0f));
  auto shared_ws = det->make_workspace();
  for (int round = 0; round < 2; ++round) {
    for (const auto& y : series) {
      for (const auto window : {DetectionWindow::retrospective(730), DetectionWindow::forward(700, 730)}) {
        const auto fresh = run(*det, y, window);
        const auto reused = run(*det, y, window, shared_ws.get());
        ASSERT_EQ(fresh.status, reused.status);
        for (std::size_t i = static_cast<std::size_t>(window.score_begin); i < static_cast<std::size_t>(window.score_end); ++i) {
          ASSERT_EQ(fresh.out.expected[i], reused.out.expected[i]);
          ASSERT_EQ(fresh.out.upper[i], reused.out.upper[i]);
          ASSERT_TRUE(fresh.out.score[i] == reused.out.score[i] || (std::isnan(fresh.out.score[i]) && std::isnan(reused.out.score[i])));
        }
      }
    }
  }
}

// Contract: on an hourly grid the daily term is fitted: a noise-free hourly series with a daily cycle is
// reproduced within 0.5% (90 days, default settings).
TEST(GamDetector, HourlyGridFitsDailyCycle) {
  const TimeGrid grid{kStart, kSecondsPerHour, 90 * 24};
  std::vector<float> y(static_cast<std::size_t>(grid.steps));
  for (std::int64_t i = 0; i < grid.steps; ++i) {
    const double day_phase = grid.days_at(i);
    y[static_cast<std::size_t>(i)] = static_cast<float>(50.0 + 20.0 * std::sin(2.0 * std::numbers::pi * day_phase) +
                                                        5.0 * std::cos(4.0 * std::numbers::pi * day_phase));
  }
  const auto res = run(*testing::make_base_gam({}, grid), y);
  EXPECT_EQ(res.status, FitStatus::ok);
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(res.out.expected[i], y[i], 0.005 * 50.0) << i;
}

}  // namespace
}  // namespace meterbench
