// Tests of gam's band scale floor (scale_floor) and of the clamp of its band at 0 on non-negative series:
// intermittent usage whose zero days collapse the MAD, a committed baseline with bursts,
// every fit path (regression, too_short, the weekly rolling schedule), and floor 0 as the old band.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/gam_detector.hpp"
#include "model/baseline_test_support.hpp"
#include "model/gam_test_support.hpp"

namespace meterbench {
namespace {

using testing::kDaily730;
using testing::kNaNf;
using testing::kWeeklyFirst;
using testing::OutputBuffers;

struct Result {
  FitStatus status;
  double scale;
  OutputBuffers out{730, kNaNf};
};

Result detect(const std::vector<std::string>& settings, const std::vector<float>& y) {
  const auto det = testing::make_base_gam(settings, kDaily730);
  auto ws = det->make_workspace();
  Result r;
  r.status = det->detect({y, 0}, DetectionWindow::retrospective(730), *ws, r.out.view());
  r.scale = dynamic_cast<GamWorkspace&>(*ws).scale();
  return r;
}

Result detect_weekly(const std::vector<std::string>& settings, const std::vector<float>& y) {
  const auto det = testing::make_base_gam(settings, kDaily730);
  auto ws = det->make_workspace();
  Result r;
  r.status = det->detect_rolling({y, 0}, kWeeklyFirst, 7, *ws, r.out.view());
  r.scale = dynamic_cast<GamWorkspace&>(*ws).scale();
  return r;
}

// Intermittent overage as the generator draws it: usage on a share `active` of days, at `burst` with
// log-normal noise (sd of log 0.1) and a weekly pattern (weekends at 70%), zero otherwise; `base` added to
// every day (a committed baseline: its repeated minimum is the point mass instead of 0).
std::vector<float> intermittent(std::uint64_t seed, double active, double burst, double base = 0.0) {
  Rng rng(stream_key(seed, 11));
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double weekly = i % 7 >= 5 ? 0.7 : 1.0;
    const double v = rng.bernoulli(active) ? burst * weekly * std::exp(0.1 * rng.normal() - 0.005) : 0.0;
    y[i] = static_cast<float>(base + v);
  }
  return y;
}

std::int64_t flagged(const Result& r, double z, std::int64_t begin = 0, std::int64_t end = 730) {
  std::int64_t n = 0;
  for (std::int64_t i = begin; i < end; ++i) n += r.out.score[static_cast<std::size_t>(i)] > z ? 1 : 0;
  return n;
}

std::int64_t bursts(const std::vector<float>& y, float above, std::int64_t begin = 0, std::int64_t end = 730) {
  std::int64_t n = 0;
  for (std::int64_t i = begin; i < end; ++i) n += y[static_cast<std::size_t>(i)] > above ? 1 : 0;
  return n;
}

// The band contract on every scored step: lower <= expected <= upper, a value inside the band scores <= z
// and one outside scores > z (float outputs compared with a relative tolerance of 1e-5 of the band), and
// with `nonnegative` expected and lower are >= 0.
void expect_consistent(const Result& r, const std::vector<float>& y, double z, bool nonnegative, std::int64_t begin, const char* what) {
  for (std::int64_t i = begin; i < 730; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const double lo = r.out.lower[k], ex = r.out.expected[k], hi = r.out.upper[k], s = r.out.score[k], v = y[k];
    ASSERT_TRUE(lo <= ex && ex <= hi) << what << " step " << i << ": " << lo << " " << ex << " " << hi;
    if (nonnegative) {
      ASSERT_GE(lo, 0.0) << what << " step " << i;
      ASSERT_GE(ex, 0.0) << what << " step " << i;
    }
    const double tol = 1e-5 * (hi - lo) + 1e-6;
    if (v >= lo + tol && v <= hi - tol) {
      EXPECT_LE(s, z) << what << " step " << i << " inside the band";
    }
    if (v < lo - tol || v > hi + tol) {
      EXPECT_GT(s, z) << what << " step " << i << " outside the band";
    }
  }
}

// Contract: on intermittent usage (active on 8-38% of days, zero otherwise) the default floor keeps every
// ordinary burst inside the band, retrospectively and in the weekly schedule. Floor 0 (the old band) flags
// most bursts when usage is rarer than one day in six (measured: 80-100% of them at 8-14%, 3-40% at
// 20-26%, none at 32-38%): its scale, the MAD of the residuals, measures the distance of the fit from the
// zero days (about the mean usage), not the bursts. A planted spike of 10x the burst level, on an active
// or on a zero day, is flagged in both schedules, and nothing else is.
TEST(GamScaleFloor, IntermittentBurstsAreNotAlertsButA10xSpikeIs) {
  const double z = testing::make_base_gam({}, kDaily730)->flag_threshold();
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const double active = 0.08 + 0.06 * static_cast<double>(seed - 1);
    auto y = intermittent(seed, active, 1000.0);
    const Result floored = detect({}, y);
    const Result old = detect({"scale_floor=0"}, y);
    ASSERT_EQ(floored.status, FitStatus::ok);
    EXPECT_EQ(flagged(floored, z), 0) << "seed " << seed << ": ordinary bursts flagged with the floor";
    if (active < 0.16) {
      EXPECT_GT(flagged(old, z), bursts(y, 0.0f) * 3 / 4) << "seed " << seed << ": the old band should flag most bursts";
      EXPECT_GT(floored.scale, 2.0 * old.scale) << "seed " << seed;
    }

    const Result weekly = detect_weekly({}, y);
    EXPECT_EQ(flagged(weekly, z, kWeeklyFirst), 0) << "seed " << seed << ": weekly schedule";

    // A 10x spike on an active day late in the series (after the weekly history too), and one on a zero day.
    std::size_t on = 600, off = 650;
    while (y[on] == 0.0f) ++on;
    while (y[off] != 0.0f) ++off;
    y[on] = 10000.0f;
    y[off] = 10000.0f;
    const Result spiked = detect({}, y);
    EXPECT_GT(spiked.out.score[on], z) << "seed " << seed;
    EXPECT_GT(spiked.out.score[off], z) << "seed " << seed;
    EXPECT_EQ(flagged(spiked, z), 2) << "seed " << seed;
    const Result spiked_weekly = detect_weekly({}, y);
    EXPECT_GT(spiked_weekly.out.score[on], z) << "seed " << seed;
    EXPECT_GT(spiked_weekly.out.score[off], z) << "seed " << seed;
  }
}

// Contract: the point mass need not be 0. A committed baseline of 200 a day with bursts on 10% of days
// gets the same floor (its repeated minimum is 200), and a spike of 10x the burst height is flagged.
TEST(GamScaleFloor, CommittedBaselineWithBursts) {
  const double z = testing::make_base_gam({}, kDaily730)->flag_threshold();
  auto y = intermittent(21, 0.1, 800.0, 200.0);
  const Result floored = detect({}, y);
  const Result old = detect({"scale_floor=0"}, y);
  EXPECT_EQ(flagged(floored, z), 0);
  EXPECT_GT(flagged(old, z), bursts(y, 200.0f) / 2);
  std::size_t on = 500;
  while (y[on] == 200.0f) ++on;
  y[on] = 200.0f + 8000.0f;
  EXPECT_GT(detect({}, y).out.score[on], z);
}

// Contract: too short for the regression (200 observed steps against min_observed=300), the median and
// MAD fallback is floored too: on intermittent usage (median 0, MAD 0: the fallback's mean absolute
// deviation, about the mean usage, flags every burst) its bursts are not alerts, and a 10x spike is.
TEST(GamScaleFloor, TooShortFallbackIsFloored) {
  const std::vector<std::string> short_fit = {"min_observed=300"}, short_old = {"min_observed=300", "scale_floor=0"};
  const double z = testing::make_base_gam(short_fit, kDaily730)->flag_threshold();
  auto y = intermittent(31, 0.12, 500.0);
  for (std::size_t i = 0; i < y.size(); ++i)
    if (i < 500 || i >= 700) y[i] = kNaNf;
  const Result floored = detect(short_fit, y);
  ASSERT_EQ(floored.status, FitStatus::too_short);
  EXPECT_EQ(flagged(floored, z), 0);
  EXPECT_GT(flagged(detect(short_old, y), z), bursts(y, 0.0f) * 3 / 4);
  std::size_t on = 650;
  while (!(y[on] > 0.0f)) ++on;
  y[on] = 5000.0f;
  EXPECT_GT(detect(short_fit, y).out.score[on], z);
}

// Contract: on a non-negative series the band never goes below 0 and expected is max(fit, 0), while the
// band stays consistent with the score (inside: score <= z; outside: > z): intermittent usage, low Poisson
// counts (whose old lower bound was negative on most days), both schedules, both transforms, with and
// without the floor. A series with a negative value is not clamped.
TEST(GamScaleFloor, BandIsClampedAtZeroOnNonNegativeSeries) {
  const double z = testing::make_base_gam({}, kDaily730)->flag_threshold();
  std::vector<float> poisson(730);
  Rng rng(stream_key(41, 3));
  for (auto& v : poisson) v = static_cast<float>(rng.poisson(3.0 + (rng.bernoulli(0.02) ? 15.0 : 0.0)));
  const std::vector<std::vector<float>> series = {intermittent(42, 0.2, 300.0), poisson};
  bool old_was_negative = false;
  for (const auto& y : series) {
    for (const std::vector<std::string>& settings : {std::vector<std::string>{}, std::vector<std::string>{"scale_floor=0"},
                                                    std::vector<std::string>{"transform=log1p"}}) {
      const double zz = testing::make_base_gam(settings, kDaily730)->flag_threshold();
      expect_consistent(detect(settings, y), y, zz, true, 0, "retrospective");
      expect_consistent(detect_weekly(settings, y), y, zz, true, kWeeklyFirst, "weekly");
    }
    // What the clamp removes: the unclamped lower bound expected - z scale is negative on this series.
    const Result r = detect({"scale_floor=0"}, y);
    for (std::size_t i = 0; i < 730; ++i) old_was_negative |= r.out.expected[i] - z * r.scale < 0.0;
  }
  EXPECT_TRUE(old_was_negative);

  // Net usage with a credit day: no clamp, the lower bound goes below 0 and stays consistent.
  auto y = poisson;
  y[100] = -2.0f;
  const Result r = detect({}, y);
  expect_consistent(r, y, z, false, 0, "signed");
  EXPECT_LT(*std::min_element(r.out.lower.begin(), r.out.lower.end()), 0.0f);
}

// Contract: scale_floor=0 is the old band scale, 1.4826 x the median absolute residual of the final fit
// (checked on a committed-baseline series, whose expected stays far above 0 so that no clamp applies), and
// the floor never changes a series without a repeated minimum (continuous noise): outputs are bit-identical
// for every floor there.
TEST(GamScaleFloor, FloorZeroIsTheOldScaleAndRegularSeriesAreUnchanged) {
  const auto y = intermittent(51, 0.1, 400.0, 1000.0);
  const Result r = detect({"scale_floor=0"}, y);
  std::vector<double> abs_res;
  for (std::size_t i = 0; i < 730; ++i) {
    ASSERT_GT(r.out.expected[i], 0.0f);
    abs_res.push_back(std::abs(static_cast<double>(y[i]) - static_cast<double>(r.out.expected[i])));
  }
  std::nth_element(abs_res.begin(), abs_res.begin() + 365, abs_res.end());
  const double upper_mid = abs_res[365];
  const double lower_mid = *std::max_element(abs_res.begin(), abs_res.begin() + 365);
  EXPECT_NEAR(r.scale, 1.482602218505602 * 0.5 * (lower_mid + upper_mid), 1e-3 * r.scale + 1e-3);
  EXPECT_GT(detect({}, y).scale, 2.0 * r.scale);

  std::vector<float> regular(730);
  Rng rng(stream_key(52, 5));
  for (std::size_t i = 0; i < regular.size(); ++i)
    regular[i] = static_cast<float>(500.0 + 0.2 * static_cast<double>(i) + 25.0 * rng.normal() + (i % 97 == 0 ? 300.0 : 0.0));
  regular[300] = kNaNf;
  const Result a = detect({"scale_floor=0"}, regular);
  for (const char* f : {"scale_floor=0.3", "scale_floor=1"}) {
    const Result b = detect({f}, regular);
    EXPECT_EQ(a.scale, b.scale) << f;
    for (std::size_t i = 0; i < 730; ++i) {
      const auto same = [](float p, float q) { return (std::isnan(p) && std::isnan(q)) || p == q; };
      ASSERT_TRUE(same(a.out.expected[i], b.out.expected[i]) && same(a.out.lower[i], b.out.lower[i]) &&
                  same(a.out.upper[i], b.out.upper[i]) && same(a.out.score[i], b.out.score[i]))
          << f << " step " << i;
    }
  }
}

}  // namespace
}  // namespace meterbench
