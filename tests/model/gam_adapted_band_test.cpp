// Tests of gam's adapted band options: a band scale local in time (local_scale), the Poisson band of small
// counts (count_band) and a band scale as wide as the residuals' tails (tail_scale), on the retrospective fit, a
// forward window and the weekly rolling schedule; and the tails and normal equivalents the count band is computed
// from.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "meterbench/core/portable_math.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/model/gam_count_band.hpp"
#include "meterbench/model/gam_detector.hpp"
#include "model/baseline_test_support.hpp"
#include "model/gam_test_support.hpp"

namespace meterbench {
namespace {

using testing::kDaily730;
using testing::kNaNf;
using testing::kWeeklyFirst;
using testing::OutputBuffers;

OutputBuffers band_of(const std::vector<std::string>& settings, const std::vector<float>& y, bool weekly = false) {
  const auto det = testing::make_base_gam(settings, kDaily730);
  auto ws = det->make_workspace();
  OutputBuffers out(730, kNaNf);
  if (weekly) det->detect_rolling({y, 0}, kWeeklyFirst, 7, *ws, out.view());
  else det->detect({y, 0}, DetectionWindow::retrospective(730), *ws, out.view());
  return out;
}

// The band of a forward window: fit on [0, 700), score the 30 steps after it.
OutputBuffers forward_band(const std::vector<std::string>& settings, const std::vector<float>& y) {
  const auto det = testing::make_base_gam(settings, kDaily730);
  auto ws = det->make_workspace();
  OutputBuffers out(730, kNaNf);
  det->detect({y, 0}, DetectionWindow::forward(700, 730), *ws, out.view());
  return out;
}

// Median half-width (upper - expected) of the band over [begin, end).
double median_half_width(const OutputBuffers& out, std::int64_t begin, std::int64_t end) {
  std::vector<double> w;
  for (std::int64_t i = begin; i < end; ++i) w.push_back(out.upper[static_cast<std::size_t>(i)] - out.expected[static_cast<std::size_t>(i)]);
  std::nth_element(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(w.size() / 2), w.end());
  return w[w.size() / 2];
}

// A level of 100 with normal noise of sd `sd(i)` and a step of `shift` from day 365.
template <typename Sd>
std::vector<float> noisy_level(std::uint64_t seed, Sd&& sd, double shift = 0.0) {
  Rng rng(stream_key(seed, 16));
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i)
    y[i] = static_cast<float>(100.0 + (i >= 365 ? shift : 0.0) + sd(static_cast<std::int64_t>(i)) * rng.normal());
  return y;
}

// Contract: after a level shift that also changes the noise (sd 1 before, 4 after), local_scale gives each part
// the band of its own residuals (with a floor low enough not to bind), narrower before and wider after than the
// one scale of the series (off), which gives both parts the same width. Measured: off 2.3-2.5 sd, on 1.3-1.4 before
// (the smoothed step leaves residuals of about 1.4 sd there) and 3.7-3.9 after.
TEST(GamLocalScale, LevelShiftBandFollowsEachPartsNoise) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto y = noisy_level(seed, [](std::int64_t i) { return i < 365 ? 1.0 : 4.0; }, 50.0);
    const OutputBuffers off = band_of({}, y);
    const OutputBuffers on = band_of({"local_scale=on", "local_floor=0.1"}, y);
    const OutputBuffers floored = band_of({"local_scale=on"}, y);
    EXPECT_NEAR(median_half_width(off, 430, 670) / median_half_width(off, 60, 300), 1.0, 1e-6) << "seed " << seed;
    const double before = median_half_width(on, 60, 300), after = median_half_width(on, 430, 670);
    const double off_width = median_half_width(off, 60, 300);
    EXPECT_LT(before, 0.65 * off_width) << "seed " << seed << ": the quiet part's band is narrower than the series'";
    EXPECT_GT(after, 1.3 * off_width) << "seed " << seed << ": the loud part's band is wider than the series'";
    EXPECT_GT(after / before, 2.4) << "seed " << seed;
    EXPECT_GT(median_half_width(floored, 430, 670) / median_half_width(floored, 60, 300), 2.4) << "seed " << seed;
  }
}

// Contract: a quiet season (sd 0.5 on days 200-299, 2 elsewhere) narrows its own weeks (to the floor, half the
// series' scale) and leaves the band of weeks further than local_weeks / 2 from it as it was.
TEST(GamLocalScale, QuietSeasonNarrowsOnlyItsOwnWeeks) {
  const auto y = noisy_level(7, [](std::int64_t i) { return i >= 200 && i < 300 ? 0.5 : 2.0; });
  const OutputBuffers off = band_of({}, y);
  const OutputBuffers on = band_of({"local_scale=on"}, y);
  EXPECT_LT(median_half_width(on, 230, 270), 0.55 * median_half_width(off, 230, 270));
  EXPECT_NEAR(median_half_width(on, 230, 270), 0.5 * median_half_width(off, 230, 270), 1e-3 * median_half_width(off, 230, 270)) << "at the floor";
  EXPECT_NEAR(median_half_width(on, 400, 700) / median_half_width(off, 400, 700), 1.0, 0.2);
  EXPECT_NEAR(median_half_width(on, 0, 140) / median_half_width(off, 0, 140), 1.0, 0.2);
  // local_floor=0 lets the local scale reach the season's own noise.
  const OutputBuffers unfloored = band_of({"local_scale=on", "local_floor=0"}, y);
  EXPECT_LT(median_half_width(unfloored, 230, 270), 0.4 * median_half_width(off, 230, 270));
}

// Contract: in the weekly schedule a week's local scale reads only its history: a noise change from day 600 on
// leaves every step before it bit for bit as it was (the week holding day 600 included: its band is set from the
// history before the week), and widens the weeks after it (trailing windows).
TEST(GamLocalScale, WeeklyScheduleNeverReadsItsFuture) {
  const auto calm = noisy_level(3, [](std::int64_t) { return 1.0; });
  const auto loud = noisy_level(3, [](std::int64_t i) { return i < 600 ? 1.0 : 4.0; });
  // Two weeks: their median is the mean of both weekly medians, so any week read shows in it.
  const OutputBuffers a = band_of({"local_scale=on", "local_weeks=2"}, calm, true);
  const OutputBuffers b = band_of({"local_scale=on", "local_weeks=2"}, loud, true);
  const OutputBuffers b_off = band_of({}, loud, true);
  for (std::size_t i = kWeeklyFirst; i < 600; ++i) {  // also the days of the week of 600 before it: the band is set at the week's start
    ASSERT_EQ(a.upper[i], b.upper[i]) << "step " << i;
    ASSERT_EQ(a.score[i], b.score[i]) << "step " << i;
  }
  // Eight weeks after the change the trailing window holds only loud weeks; the series' scale still mostly calm ones.
  const OutputBuffers b8 = band_of({"local_scale=on"}, loud, true);
  EXPECT_GT(median_half_width(b8, 670, 730), 2.0 * median_half_width(b_off, 670, 730));
  EXPECT_GT(median_half_width(b, 610, 730), 2.0 * median_half_width(b_off, 610, 730));
}

// Contract: a forward window scores its horizon with the local scale of the history's last weeks: a history
// whose last 8 weeks are loud gets a wider horizon band than the series' scale gives.
TEST(GamLocalScale, ForwardWindowUsesTheTrailingWeeks) {
  const auto y = noisy_level(5, [](std::int64_t i) { return i < 600 ? 1.0 : 4.0; });
  const OutputBuffers off = forward_band({}, y), on = forward_band({"local_scale=on"}, y);
  EXPECT_GT(median_half_width(on, 700, 730), 2.0 * median_half_width(off, 700, 730));
}

// A level of 100 with contaminated normal noise: sd 1, and on one day in `every` a deviation of sd `wild`, only
// upwards when `up_only` (heavy tails about a narrow middle, like page views' news days or a household's weeks away).
std::vector<float> heavy_tailed(std::uint64_t seed, double wild, int every, bool up_only = false) {
  Rng rng(stream_key(seed, 17));
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const bool burst = rng.uniform() * every < 1.0;
    const double e = rng.normal();
    y[i] = static_cast<float>(100.0 + (burst ? wild * (up_only ? std::abs(e) : e) : e));
  }
  return y;
}

// numpy's default quantile (linear between order statistics) of v at q.
double linear_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double at = q * static_cast<double>(v.size() - 1);
  const auto below = static_cast<std::size_t>(at);
  return v[below] + (at - static_cast<double>(below)) * (v[std::min(below + 1, v.size() - 1)] - v[below]);
}

// Contract (tail_scale=on): each side of the band is z x max(1.4826 x the median |residual|, the 95th percentile of
// that side's residuals / 1.96) wide, the residuals those of the final fit (the base model: fitted as it is, no
// weekday factor, z 3.5). With one day in seven at 6x the noise both tails bind: each side more than 1.2x as wide as
// the MAD band (off), which is 1.4826 x the median |residual| on both sides. The fit itself does not change.
TEST(GamTailScale, EachSideIsAsWideAsItsTails) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto y = heavy_tailed(seed, 6.0, 7);
    const OutputBuffers off = band_of({}, y), on = band_of({"tail_scale=on"}, y);
    std::vector<double> all, above, below;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double r = static_cast<double>(y[i]) - on.expected[i];
      all.push_back(std::abs(r));
      (r > 0.0 ? above : below).push_back(std::abs(r));
    }
    const double mad_scale = 1.482602218505602 * linear_quantile(all, 0.5);
    const double up = std::max(mad_scale, linear_quantile(above, 0.95) / 1.959963984540054);
    const double down = std::max(mad_scale, linear_quantile(below, 0.95) / 1.959963984540054);
    const double on_up = (on.upper[100] - on.expected[100]) / 3.5, on_down = (on.expected[100] - on.lower[100]) / 3.5;
    const double off_up = (off.upper[100] - off.expected[100]) / 3.5, off_down = (off.expected[100] - off.lower[100]) / 3.5;
    EXPECT_NEAR(on_up, up, 2e-3 * up) << "seed " << seed;
    EXPECT_NEAR(on_down, down, 2e-3 * down) << "seed " << seed;
    EXPECT_NEAR(off_up, mad_scale, 2e-3 * mad_scale) << "seed " << seed;
    EXPECT_NEAR(off_down, mad_scale, 2e-3 * mad_scale) << "seed " << seed;
    EXPECT_GT(on_up, 1.2 * off_up) << "seed " << seed;
    EXPECT_GT(on_down, 1.2 * off_down) << "seed " << seed;
    for (std::size_t i = 0; i < y.size(); i += 97) ASSERT_EQ(on.expected[i], off.expected[i]) << "the fit is the same";
  }
}

// Contract (tail_scale=on): a 5-week shift of 6 noise sd is 10% of its side's residuals and would set that side's
// 95th percentile itself; as an episode (a 6-week window holding half of the side's top 5% residuals, at least 4)
// its steps score against the side's scale without the window's residuals, and are flagged, while every step outside
// keeps the band of all the residuals. Each width is checked against a direct computation from the fit's residuals.
TEST(GamTailScale, AnEpisodeDoesNotWidenItsOwnBand) {
  constexpr std::size_t kFrom = 400, kTo = 435, kWindow = 42;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    auto y = noisy_level(seed, [](std::int64_t) { return 1.0; });
    for (std::size_t i = kFrom; i < kTo; ++i) y[i] += 6.0F;
    const OutputBuffers on = band_of({"tail_scale=on", "yearly_order=0"}, y);  // no yearly term to bend with the shift
    std::vector<double> all, above, above_outside;
    std::size_t first_top = y.size();
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double r = static_cast<double>(y[i]) - on.expected[i];
      all.push_back(std::abs(r));
      if (r > 0.0) above.push_back(r);
    }
    const double mad_scale = 1.482602218505602 * linear_quantile(all, 0.5);
    const double q95 = linear_quantile(above, 0.95);
    for (std::size_t i = 0; i < y.size(); ++i)  // the episode starts at the first top residual of the shift
      if (i >= kFrom && i < kTo && static_cast<double>(y[i]) - on.expected[i] >= q95 && first_top == y.size()) first_top = i;
    ASSERT_LT(first_top, kFrom + 7) << "seed " << seed;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double r = static_cast<double>(y[i]) - on.expected[i];
      if (r > 0.0 && (i < first_top || i >= first_top + kWindow)) above_outside.push_back(r);
    }
    const double whole = std::max(mad_scale, q95 / 1.959963984540054);
    const double without = std::max(mad_scale, linear_quantile(above_outside, 0.95) / 1.959963984540054);
    ASSERT_GT(whole, 1.5 * without) << "seed " << seed << ": the shift sets the side's tail";
    const auto half_width = [&](std::size_t i) { return (on.upper[i] - on.expected[i]) / 3.5; };
    EXPECT_NEAR(half_width(100), whole, 2e-3 * whole) << "seed " << seed << ": outside the episode, the whole side";
    EXPECT_NEAR(half_width(first_top + 10), without, 2e-3 * without) << "seed " << seed << ": inside, without it";
    std::size_t flagged = 0, by_whole = 0;
    for (std::size_t i = kFrom; i < kTo; ++i) {
      flagged += on.score[i] > 3.5F ? 1 : 0;
      by_whole += static_cast<double>(y[i]) - on.expected[i] > 3.5 * whole ? 1 : 0;
    }
    EXPECT_GE(flagged, 20U) << "seed " << seed << ": most of the shift is flagged";
    EXPECT_LE(by_whole, 5U) << "seed " << seed << ": against the band it set, little of it would be";
  }
}

// Contract (tail_scale=on): a series whose bursts only go up gets a wide upper side and keeps about its MAD band
// below (within 10%), so a drop of 5 MAD scales is flagged while the band above is wider than that; a step scores
// above z exactly when its value is outside the band, on either side (each side scores against its own scale).
TEST(GamTailScale, OneSidedTailsWidenOnlyTheirSide) {
  auto y = heavy_tailed(5, 6.0, 7, true);
  const OutputBuffers off = band_of({}, y);
  const double mad_scale = (off.upper[300] - off.expected[300]) / 3.5;
  y[300] = static_cast<float>(off.expected[300] - 5.0 * mad_scale);
  const OutputBuffers on = band_of({"tail_scale=on"}, y);
  const double on_up = (on.upper[100] - on.expected[100]) / 3.5, on_down = (on.expected[100] - on.lower[100]) / 3.5;
  EXPECT_GT(on_up, 1.5 * mad_scale);
  EXPECT_LE(on_down, 1.1 * mad_scale);
  EXPECT_GT(on.score[300], 3.5F) << "the drop is flagged";
  EXPECT_GT(on_up, 5.0 * mad_scale / 3.5) << "a rise of 5 scales would not be";
  for (std::size_t i = 0; i < y.size(); ++i) {
    const bool outside = y[i] > on.upper[i] || y[i] < on.lower[i];
    const bool near_edge = std::abs(y[i] - on.upper[i]) < 1e-4F || std::abs(y[i] - on.lower[i]) < 1e-4F;
    if (!near_edge) {
      EXPECT_EQ(on.score[i] > 3.5F, outside) << "step " << i << " score " << on.score[i];
    }
  }
}

// Contract (tail_scale=on): a series with normal noise keeps about its MAD band (their ratio within [1, 1.1] on each
// side: the 95th percentile of |N(0, 1)| and of either half of N(0, 1) is 1.96).
TEST(GamTailScale, NormalNoiseKeepsItsMadBand) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto y = noisy_level(seed, [](std::int64_t) { return 2.0; });
    const OutputBuffers off = band_of({}, y), on = band_of({"tail_scale=on"}, y);
    const double up = (on.upper[100] - on.expected[100]) / (off.upper[100] - off.expected[100]);
    const double down = (on.expected[100] - on.lower[100]) / (off.expected[100] - off.lower[100]);
    EXPECT_GE(up, 1.0) << "seed " << seed;
    EXPECT_LE(up, 1.1) << "seed " << seed;
    EXPECT_GE(down, 1.0) << "seed " << seed;
    EXPECT_LE(down, 1.1) << "seed " << seed;
  }
}

// Contract (tail_scale=on): the weekly schedule widens the band of a heavy-tailed series too (its refits take the
// tail scale of their history), and a forward window scores its horizon with the tail scale of its fit window.
TEST(GamTailScale, WeeklyScheduleAndForwardWindowsWidenToo) {
  const auto y = heavy_tailed(4, 6.0, 7);
  EXPECT_GT(median_half_width(band_of({"tail_scale=on"}, y, true), kWeeklyFirst, 730),
            1.5 * median_half_width(band_of({}, y, true), kWeeklyFirst, 730));
  EXPECT_GT(median_half_width(forward_band({"tail_scale=on"}, y), 700, 730), 1.5 * median_half_width(forward_band({}, y), 700, 730));
}

// Contract: on an hourly grid (weeks of 168 steps) the local scale follows a noise change as on a daily one: sd 1
// for 45 days, then 4.
TEST(GamLocalScale, HourlyGridFollowsANoiseChange) {
  const TimeGrid hourly{testing::kStart, 3600, 90 * 24};
  Rng rng(stream_key(9, 16));
  std::vector<float> y(static_cast<std::size_t>(hourly.steps));
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(100.0 + (i < 45 * 24 ? 1.0 : 4.0) * rng.normal());
  const auto run = [&](const std::vector<std::string>& settings) {
    const auto det = testing::make_base_gam(settings, hourly);
    auto ws = det->make_workspace();
    OutputBuffers out(hourly.steps, kNaNf);
    det->detect({y, 0}, DetectionWindow::retrospective(hourly.steps), *ws, out.view());
    return out;
  };
  const OutputBuffers off = run({}), on = run({"local_scale=on", "local_floor=0.1", "local_weeks=2"});
  EXPECT_NEAR(median_half_width(off, 24 * 70, 24 * 88) / median_half_width(off, 24 * 2, 24 * 20), 1.0, 1e-6);
  EXPECT_GT(median_half_width(on, 24 * 70, 24 * 88) / median_half_width(on, 24 * 2, 24 * 20), 2.5);
}

// Poisson counts at `level` (0 before step 0 of nothing: a steady series).
std::vector<float> poisson_counts(std::uint64_t seed, double level) {
  Rng rng(stream_key(seed, 17));
  std::vector<float> y(730);
  for (auto& v : y) v = static_cast<float>(rng.poisson(level));
  return y;
}

// Contract: on a Poisson series at level 3 the count band has integer bounds, lower never below 0, a score
// above z exactly outside the band, and covers the clean points near its nominal level: at z = 2 (two-sided
// 95.4%) Poisson intervals are conservative, between 95% and 99.5%. In the weekly schedule and a forward window too.
TEST(GamCountBand, PoissonAtLevelThreeIntegerBoundsAndCoverage) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto y = poisson_counts(seed, 3.0);
    for (const bool weekly : {false, true}) {
      const OutputBuffers on = band_of({"count_band=on", "transform=log1p_relative", "z=2"}, y, weekly);
      std::int64_t inside = 0, n = 0;
      for (std::int64_t i = weekly ? kWeeklyFirst : 0; i < 730; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const float lo = on.lower[k], hi = on.upper[k];
        ASSERT_EQ(lo, std::floor(lo)) << "step " << i;
        ASSERT_EQ(hi, std::floor(hi)) << "step " << i;
        ASSERT_GE(lo, 0.0F) << "step " << i;
        const bool in = y[k] >= lo && y[k] <= hi;
        ASSERT_EQ(in, on.score[k] <= 2.0F) << "step " << i << " value " << y[k] << " band " << lo << ".." << hi << " score " << on.score[k];
        inside += in ? 1 : 0;
        ++n;
      }
      const double coverage = static_cast<double>(inside) / static_cast<double>(n);
      EXPECT_GT(coverage, 0.95) << "seed " << seed << (weekly ? " weekly" : "");
      EXPECT_LT(coverage, 0.995) << "seed " << seed << (weekly ? " weekly" : "");
    }
    // A forward window (history [0, 700), horizon [700, 730)): the same contract on the horizon.
    const auto det = testing::make_base_gam(testing::settings({"count_band=on", "transform=log1p_relative", "z=2"}), kDaily730);
    auto ws = det->make_workspace();
    OutputBuffers fwd(730, kNaNf);
    det->detect({y, 0}, DetectionWindow::forward(700, 730), *ws, fwd.view());
    for (std::size_t k = 700; k < 730; ++k) {
      ASSERT_EQ(fwd.upper[k], std::floor(fwd.upper[k])) << "forward step " << k;
      ASSERT_EQ(fwd.lower[k], std::floor(fwd.lower[k])) << "forward step " << k;
      ASSERT_EQ(y[k] >= fwd.lower[k] && y[k] <= fwd.upper[k], fwd.score[k] <= 2.0F) << "forward step " << k;
    }
    const OutputBuffers off = band_of({"transform=log1p_relative", "z=2"}, y);
    EXPECT_NE(off.upper[100], std::floor(off.upper[100])) << "the default band is not on the count scale";
  }
}

// Contract: at z = 8 (a normal tail of 6e-16) a Poisson series at level 3 gets no alert from its clean points,
// and a spike of 40 (P(X >= 40) ~ 7e-31, a normal equivalent of 11.5) is flagged.
TEST(GamCountBand, SpikeOnSmallCountsIsFlagged) {
  auto y = poisson_counts(11, 3.0);
  y[500] = 40.0F;
  const auto det = make_gam_detector(testing::settings({"count_band=on", "rules=off", "run_score=off", "z=8"}), kDaily730);
  auto ws = det->make_workspace();
  OutputBuffers out(730, kNaNf);
  det->detect({y, 0}, DetectionWindow::retrospective(730), *ws, out.view());
  std::int64_t flagged = 0;
  for (std::size_t i = 0; i < 730; ++i) flagged += out.score[i] > det->flag_threshold() ? 1 : 0;
  EXPECT_GT(out.score[500], det->flag_threshold());
  EXPECT_EQ(flagged, 1);
}

// Contract: count_band leaves a series that is not small counts as it was: non-integer values, or counts whose
// median positive value is above 20.
TEST(GamCountBand, OtherSeriesUnchanged) {
  const auto real = noisy_level(2, [](std::int64_t) { return 1.0; });
  const auto large = poisson_counts(4, 30.0);
  for (const auto* y : {&real, &large}) {
    const auto a = band_of({"transform=log1p_relative"}, *y);
    const auto b = band_of({"transform=log1p_relative", "count_band=on"}, *y);
    EXPECT_TRUE(a.same_bits(b));
  }
}

// Contract: the normal equivalent inverts the normal tail from z 0.1 to far beyond any band (log tails to -1e4),
// and the Poisson tails match their sums term by term.
TEST(GamCountBand, TailsAndNormalEquivalents) {
  for (const double z : {0.1, 1.0, 3.0, 8.0, 16.75, 20.0, 29.9, 30.1, 60.0, 140.0})
    EXPECT_NEAR(normal_equivalent(normal_log_upper_tail(z)), z, 1e-9 * std::max(1.0, z)) << "z " << z;
  EXPECT_NEAR(normal_log_upper_tail(16.75), -144.0, 1.0);
  const PoissonTails tails(3.0);
  double cdf = 0.0;
  for (std::int64_t k = 0; k < 40; ++k) {
    cdf += std::exp(-3.0 + static_cast<double>(k) * std::log(3.0) - std::lgamma(static_cast<double>(k) + 1.0));
    EXPECT_NEAR(tails.log_lower(k), std::log(cdf), 1e-9) << "k " << k;
  }
  double tail = 0.0;
  for (int k = 40; k < 200; ++k) tail += std::exp(-3.0 + k * std::log(3.0) - std::lgamma(k + 1.0));
  EXPECT_NEAR(tails.log_upper(40), std::log(tail), 1e-9);
  EXPECT_EQ(tails.score(1e30), std::numeric_limits<double>::infinity()) << "a value beyond any count";
  EXPECT_EQ(tails.score(3.0), 0.0);
  std::int64_t lower = 0, upper = 0;
  tails.band(normal_log_upper_tail(16.75), lower, upper);
  EXPECT_EQ(lower, 0);
  EXPECT_GE(upper, 40);
  EXPECT_LT(tails.log_upper(upper + 1), normal_log_upper_tail(16.75));
  EXPECT_GE(tails.log_upper(upper), normal_log_upper_tail(16.75));
}

}  // namespace
}  // namespace meterbench
