// The gam detector on shapes of real usage: a gross unit-error burst (robust start), a weekday-only customer and
// a growing customer (no alerts at the shipped defaults), a small count series with a level shift (a band the
// data warrant), and the rule alerts with their kinds (stuck meter, stopped reporting, unit error, zero run).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "meterbench/core/anomaly.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/model/gam_detector.hpp"
#include "model/gam_test_support.hpp"

namespace meterbench {
namespace {

using testing::kDaily730;
using testing::kNaNf;
using testing::settings;

struct ShapeOutputs {
  explicit ShapeOutputs(std::size_t n) : expected(n), lower(n), upper(n), score(n), kind(n) {}
  DetectionOutput view() { return {expected, lower, upper, score, kind}; }
  std::vector<float> expected, lower, upper, score;
  std::vector<std::uint8_t> kind;
};

ShapeOutputs detect_shape(const std::vector<std::string>& set, const std::vector<float>& y, FitStatus* status = nullptr) {
  const auto det = make_gam_detector(set, kDaily730);
  const auto ws = det->make_workspace();
  ShapeOutputs out(y.size());
  const FitStatus s = det->detect({y, 0}, DetectionWindow::retrospective(static_cast<std::int64_t>(y.size())), *ws, out.view());
  if (status != nullptr) *status = s;
  return out;
}

std::int64_t flagged(const ShapeOutputs& out, double z) {
  return std::count_if(out.score.begin(), out.score.end(), [&](float s) { return s > z; });
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// A customer at level ~620 with 22% noise and a mild weekly cycle.
std::vector<float> steady_customer(std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i)
    y[i] = static_cast<float>(std::max(0.0, 620.0 * (1.0 + 0.1 * std::sin(2.0 * 3.141592653589793 * static_cast<double>(i) / 7.0)) *
                                                (1.0 + 0.22 * rng.normal())));
  return y;
}

// The largest shift of the expected value (in band half-widths of `a`) and change of the half-width (relative) of
// `b` against `a`, off steps [from, to] and a week either side.
struct BandChange {
  double shift = 0.0, width = 0.0;
};
BandChange band_change(const ShapeOutputs& a, const ShapeOutputs& b, std::size_t from, std::size_t to) {
  BandChange worst;
  for (std::size_t i = 0; i < a.expected.size(); ++i) {
    if (i + 7 >= from && i <= to + 7) continue;
    const double half = a.upper[i] - a.expected[i];
    worst.shift = std::max(worst.shift, std::abs(b.expected[i] - a.expected[i]) / half);
    worst.width = std::max(worst.width, std::abs((b.upper[i] - b.expected[i]) / half - 1.0));
  }
  return worst;
}

// Contract (robust_start on, and auto on a series fitted as it is): a 3-day x1000 unit error moves neither the
// expected value nor the band outside the burst: off the burst (and a week either side), the expected value stays
// within 0.1 band half-widths of the fit without the burst, and the band half-width within 15% of that fit's.
// Without the robust start (robust_start=off) the burst's least-squares start sets a scale that holds the fit near it.
TEST(GamRealShapes, GrossBurstMovesNeitherFitNorBandWithRobustStart) {
  const std::vector<float> clean = steady_customer(16);
  std::vector<float> burst = clean;
  for (std::size_t i = 400; i < 403; ++i) burst[i] *= 1000.0F;
  for (const char* start : {"robust_start=on", "robust_start=auto"}) {
    const auto set = settings({"transform=none", start, "z=3.5"});
    const BandChange change = band_change(detect_shape(set, clean), detect_shape(set, burst), 400, 402);
    EXPECT_LT(change.shift, 0.1) << start;
    EXPECT_LT(change.width, 0.15) << start;
  }
  const auto off = settings({"transform=none", "robust_start=off", "z=3.5"});
  EXPECT_GT(band_change(detect_shape(off, clean), detect_shape(off, burst), 400, 402).width, 0.15);
}

// Contract (shipped defaults): a customer who uses the service on weekdays only (weekends ~0) raises no alert.
TEST(GamRealShapes, WeekdayOnlyCustomerRaisesNoAlertAtDefaults) {
  Rng rng(17);
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const bool weekend = i % 7 >= 5;  // the grid starts on a Monday
    y[i] = static_cast<float>(weekend ? (rng.uniform() < 0.3 ? 0.5 : 0.0) : std::max(0.0, 300.0 * (1.0 + 0.15 * rng.normal())));
  }
  const auto det = make_gam_detector({}, kDaily730);
  const ShapeOutputs out = detect_shape({}, y);
  EXPECT_EQ(flagged(out, det->flag_threshold()), 0);
}

// Contract (shipped defaults): a customer growing 6x over two years, noise proportional to the level, raises
// no alert.
TEST(GamRealShapes, GrowingCustomerRaisesNoAlertAtDefaults) {
  Rng rng(18);
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double level = 50.0 * std::exp(std::log(6.0) * static_cast<double>(i) / 729.0);
    const double weekly = i % 7 >= 5 ? 0.6 : 1.0;
    y[i] = static_cast<float>(std::max(0.0, level * weekly * (1.0 + 0.12 * rng.normal())));
  }
  const auto det = make_gam_detector({}, kDaily730);
  const ShapeOutputs out = detect_shape({}, y);
  EXPECT_EQ(flagged(out, det->flag_threshold()), 0);
}

// Contract (shipped defaults, the run score off so that scores are the standardised residuals): a steady Poisson
// series of ~7 a day that drops to ~2 a day gets, after the drop, a band no wider than the data there warrant:
// the median score of its steps is at least 0.55 (a scale that fits them gives 0.67, the median of |N(0, 1)|).
// One scale in units for the whole series, set by the busier part, gives 0.48 there (and 0.89 before the drop:
// too narrow before, too wide after).
TEST(GamRealShapes, SmallCountsAfterALevelShiftGetABandTheDataWarrant) {
  Rng rng(19);
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(rng.poisson(i < 450 ? 7.0 : 2.0));
  const ShapeOutputs out = detect_shape(settings({"run_score=off"}), y);
  std::vector<double> after;
  for (std::size_t i = 480; i < y.size(); ++i) after.push_back(out.score[i]);
  EXPECT_GE(median(after), 0.55);
}

// Contract (rules=on): each rule flags its steps whatever z (score >= 1000) with its kind: a meter stuck at one value
// for 10 days (from its adaptive length on), one that stops reporting for the last 14 days (from the 7th day),
// a x1000 unit error, and 5 days of zeros after regular use (from the 3rd zero); nothing else is a rule alert.
TEST(GamRealShapes, RuleAlertsFlagWhateverZAndSayTheirKind) {
  std::vector<float> y = steady_customer(20);
  for (std::size_t i = 200; i < 210; ++i) y[i] = 612.5F;                 // stuck
  y[300] *= 1000.0F;                                                      // unit error
  for (std::size_t i = 400; i < 405; ++i) y[i] = 0.0F;                    // zero run
  for (std::size_t i = 716; i < 730; ++i) y[i] = kNaNf;                   // stopped reporting
  const ShapeOutputs out = detect_shape(settings({"rules=on", "z=20"}), y);
  const auto kind_at = [&](std::size_t i) { return static_cast<AnomalyKind>(out.kind[i]); };
  for (std::size_t i = 200; i < 210; ++i) EXPECT_EQ(kind_at(i), AnomalyKind::stuck_meter) << i;
  EXPECT_EQ(kind_at(300), AnomalyKind::unit_error);
  EXPECT_EQ(kind_at(401), AnomalyKind::normal);
  for (std::size_t i = 402; i < 405; ++i) EXPECT_EQ(kind_at(i), AnomalyKind::dropped_reporting) << i;
  EXPECT_EQ(kind_at(721), AnomalyKind::normal);
  for (std::size_t i = 722; i < 730; ++i) {
    EXPECT_EQ(kind_at(i), AnomalyKind::stopped_reporting) << i;
    EXPECT_GE(out.score[i], 1000.0F) << i;
  }
  std::int64_t rule_steps = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    rule_steps += out.kind[i] != 0 ? 1 : 0;
    if (out.kind[i] != 0) {
      EXPECT_GE(out.score[i], 1000.0F) << i;
    }
  }
  EXPECT_EQ(rule_steps, 10 + 1 + 3 + 8);
  // Off, no step has a kind and the gap is unscored.
  const ShapeOutputs off = detect_shape(settings({"rules=off", "z=20"}), y);
  EXPECT_TRUE(std::all_of(off.kind.begin(), off.kind.end(), [](std::uint8_t k) { return k == 0; }));
  EXPECT_TRUE(std::isnan(off.score[725]));
}

// A customer growing 4x (`growth`) over two years with noise of constant size (`relative` = false) or in proportion to its
// level, on a mild weekly cycle.
std::vector<float> growing_customer(std::uint64_t seed, bool relative, double growth = 4.0) {
  Rng rng(seed);
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double level = 100.0 * std::exp(std::log(growth) * static_cast<double>(i) / 729.0) * (i % 7 >= 5 ? 0.9 : 1.0);
    y[i] = static_cast<float>(std::max(0.0, level + (relative ? 0.1 * level : 20.0) * rng.normal()));
  }
  return y;
}

bool same_outputs(const ShapeOutputs& a, const ShapeOutputs& b) {
  return a.expected == b.expected && a.lower == b.lower && a.upper == b.upper && a.kind == b.kind &&
         std::equal(a.score.begin(), a.score.end(), b.score.begin(), [](float x, float y) { return x == y || (std::isnan(x) && std::isnan(y)); });
}

// Contract (transform=auto, the default): a series whose spread stays the same while its level grows 4x is fitted
// as it is, one whose spread grows with its level in logs (log1p_relative), and one whose level spans less than
// 2x in logs too (no telling); a 3-day x1000 unit error on the first does not change its choice (values capped at
// 10x the usual one, medians of the blocks' thirds). Each output equals that of the explicit transform, bit for bit.
TEST(GamRealShapes, AutoTransformFitsAdditiveNoiseAsItIsAndProportionalNoiseInLogs) {
  const auto with = [](const char* transform, const std::vector<float>& y) {
    return detect_shape({std::string("transform=") + transform}, y);
  };
  std::vector<float> additive = growing_customer(27, false);
  EXPECT_TRUE(same_outputs(with("auto", additive), with("none", additive)));
  EXPECT_FALSE(same_outputs(with("auto", additive), with("log1p_relative", additive)));
  const std::vector<float> proportional = growing_customer(28, true);
  EXPECT_TRUE(same_outputs(with("auto", proportional), with("log1p_relative", proportional)));
  const std::vector<float> flat = steady_customer(29);
  EXPECT_TRUE(same_outputs(with("auto", flat), with("log1p_relative", flat)));
  for (std::size_t i = 400; i < 403; ++i) additive[i] *= 1000.0F;
  EXPECT_TRUE(same_outputs(with("auto", additive), with("none", additive)));
}

// Contract (shipped defaults): on a series that transform=auto fits as it is (a customer growing 4x with noise of
// one size), a 3-day x1000 unit error moves neither the expected value nor the band off the burst (robust_start=auto
// starts such a fit robustly), and is itself flagged. With robust_start=off the band widens by more than 15% all year.
TEST(GamRealShapes, GrossBurstOnASeriesFittedAsItIsMovesNeitherFitNorBandAtDefaults) {
  const std::vector<float> clean = growing_customer(31, false);
  std::vector<float> burst = clean;
  for (std::size_t i = 500; i < 503; ++i) burst[i] *= 1000.0F;
  ASSERT_TRUE(same_outputs(detect_shape({}, clean), detect_shape({"transform=none"}, clean)));  // fitted as it is
  const ShapeOutputs with_burst = detect_shape({}, burst);
  const BandChange change = band_change(detect_shape({}, clean), with_burst, 500, 502);
  EXPECT_LT(change.shift, 0.1);
  EXPECT_LT(change.width, 0.15);
  const auto det = make_gam_detector({}, kDaily730);
  for (std::size_t i = 500; i < 503; ++i) EXPECT_GT(with_burst.score[i], det->flag_threshold()) << i;
  const std::vector<std::string> off{"robust_start=off"};
  EXPECT_GT(band_change(detect_shape(off, clean), detect_shape(off, burst), 500, 502).width, 0.15);
}

// The weekly schedule (detect_rolling) of the last 52 weeks.
ShapeOutputs detect_weekly_shape(const std::vector<std::string>& set, const std::vector<float>& y) {
  const auto det = make_gam_detector(set, kDaily730);
  const auto ws = det->make_workspace();
  ShapeOutputs out(y.size());
  det->detect_rolling({y, 0}, testing::kWeeklyFirst, 7, *ws, out.view());
  return out;
}

// Contract (shipped defaults, weekly schedule): the same burst in the history before the first scored week moves
// neither the weekly fits nor their bands (the rolling fit starts robustly too); with robust_start=off it widens
// them by more than 15%. The customer grows 16x over two years, so that its first year alone is fitted as it is.
TEST(GamRealShapes, GrossBurstInTheHistoryMovesNeitherTheWeeklyFitsNorTheirBandsAtDefaults) {
  const std::vector<float> clean = growing_customer(31, false, 16.0);
  std::vector<float> burst = clean;
  for (std::size_t i = 200; i < 203; ++i) burst[i] *= 1000.0F;
  const auto scored_change = [&](const std::vector<std::string>& set) {
    ShapeOutputs a = detect_weekly_shape(set, clean), b = detect_weekly_shape(set, burst);
    for (ShapeOutputs* o : {&a, &b})  // only the scored weeks
      for (std::size_t i = 0; i < static_cast<std::size_t>(testing::kWeeklyFirst); ++i) o->expected[i] = o->upper[i] = 0.0F;
    return band_change(a, b, 0, static_cast<std::size_t>(testing::kWeeklyFirst) - 8);
  };
  const BandChange change = scored_change({});
  EXPECT_LT(change.shift, 0.1);
  EXPECT_LT(change.width, 0.15);
  EXPECT_GT(scored_change({"robust_start=off"}).width, 0.15);
}

// A count series at ~200 a day with a quiet season (days 300-419) at ~2, where equal neighbours come 10x as often.
std::vector<float> count_with_quiet_season(std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(rng.poisson(i >= 300 && i < 420 ? 2.0 : 200.0));
  return y;
}

std::vector<std::size_t> steps_of_kind(const ShapeOutputs& out, AnomalyKind kind) {
  std::vector<std::size_t> steps;
  for (std::size_t i = 0; i < out.kind.size(); ++i)
    if (static_cast<AnomalyKind>(out.kind[i]) == kind) steps.push_back(i);
  return steps;
}

// Contract (rules=on): a stuck meter is a run of equal values that the series' habit, or its habit over the 56
// days before the run if that repeats more, makes rarer than once in 100 series. In a quiet season at ~2 a day
// (equal non-zero neighbours on about one day in five) six 1s in a row are chance, fourteen 2s a stuck meter; the
// series' habit alone (equal neighbours on one day in fourteen, the busy days' one in fifty with the quiet season's)
// flags runs of 6, the six 1s too.
TEST(GamRealShapes, AStuckMeterIsJudgedAgainstTheRecentHabitToo) {
  std::vector<float> y = count_with_quiet_season(25);
  y[369] = 3.0F;
  for (std::size_t i = 370; i < 376; ++i) y[i] = 1.0F;   // chance in the quiet season
  y[376] = 3.0F;
  for (std::size_t i = 395; i < 409; ++i) y[i] = 2.0F;   // stuck
  y[394] = 4.0F, y[409] = 4.0F;
  const ShapeOutputs out = detect_shape(settings({"rules=on"}), y);
  std::vector<std::size_t> stuck_run(14);
  for (std::size_t i = 0; i < stuck_run.size(); ++i) stuck_run[i] = 395 + i;
  EXPECT_EQ(steps_of_kind(out, AnomalyKind::stuck_meter), stuck_run);
}

// Contract (rules=on): a run whose 56 days before are all equal neighbours (a meter stuck at 5 for 70 days, then at
// 7 for 10) is judged against a habit of always repeating: chance, not flagged, and no arithmetic overflows (the
// sanitizer build aborts on one). The first run, rare by the series' habit, is a stuck meter from its start.
TEST(GamRealShapes, ARunAfterDaysOfNothingButRepeatsIsJudgedWithoutOverflow) {
  std::vector<float> y = steady_customer(30);
  for (std::size_t i = 300; i < 370; ++i) y[i] = 5.0F;
  for (std::size_t i = 370; i < 380; ++i) y[i] = 7.0F;
  const ShapeOutputs out = detect_shape(settings({"rules=on"}), y);
  std::vector<std::size_t> first_run(70);
  for (std::size_t i = 0; i < first_run.size(); ++i) first_run[i] = 300 + i;
  EXPECT_EQ(steps_of_kind(out, AnomalyKind::stuck_meter), first_run);
}

// Contract (rules=on): a run of zeros after regular use is dropped reporting from the length that the share of
// zeros over the 56 days before it makes rarer than once in 100 series (at least 3 days): at ~3 a day (0 on one
// day in twenty) that is 4 days, so 3 zeros are chance and a week of them is flagged from its 4th day. Neither
// rule's lengths depend on how long before the series' first report its grid starts (1,095 steps here).
TEST(GamRealShapes, AZeroRunIsJudgedAgainstHowOftenTheSeriesIsZero) {
  Rng rng(26);
  std::vector<float> y(730);
  for (float& v : y) v = static_cast<float>(std::max<std::int64_t>(1, rng.poisson(3.0)));
  for (std::size_t i = 150; i < 730; i += 20) y[i] = 0.0F;  // one day in twenty, away from the runs
  y[200] = y[201] = y[202] = 0.0F;                           // chance
  for (std::size_t i = 500; i < 507; ++i) y[i] = 0.0F;       // dropped reporting
  for (std::size_t i = 400; i < 405; ++i) y[i] = 2.0F;       // stuck for 5 days: chance at ~3 a day
  const ShapeOutputs out = detect_shape(settings({"rules=on"}), y);
  EXPECT_EQ(steps_of_kind(out, AnomalyKind::dropped_reporting), (std::vector<std::size_t>{503, 504, 505, 506}));
  EXPECT_TRUE(steps_of_kind(out, AnomalyKind::stuck_meter).empty());

  constexpr std::size_t kLead = 1095;
  std::vector<float> late(kLead, kNaNf);
  late.insert(late.end(), y.begin(), y.end());
  const TimeGrid grid{kDaily730.start_unix_seconds, kSecondsPerDay, static_cast<std::int64_t>(late.size())};
  const auto det = make_gam_detector(settings({"rules=on"}), grid);
  const auto ws = det->make_workspace();
  ShapeOutputs padded(late.size());
  det->detect({late, 0}, DetectionWindow::retrospective(static_cast<std::int64_t>(late.size())), *ws, padded.view());
  EXPECT_EQ(std::vector<std::uint8_t>(padded.kind.begin() + kLead, padded.kind.end()), out.kind);
}

// Contract (rules=on): a silence longer than all the reporting before it has ended, not stopped (a source whose
// export ends years before the rest of the dataset's, a retired meter): no stopped-reporting alert. A silence as long
// as the reporting before it is one, counted from the first report, however late the series starts.
TEST(GamRealShapes, ASilenceLongerThanTheReportingBeforeItIsNoStop) {
  const auto stopped_steps = [](std::size_t first, std::size_t last) {
    std::vector<float> y = steady_customer(24);
    for (std::size_t i = 0; i < y.size(); ++i)
      if (i < first || i >= last) y[i] = kNaNf;
    const ShapeOutputs out = detect_shape(settings({"rules=on"}), y);
    return std::count(out.kind.begin(), out.kind.end(), static_cast<std::uint8_t>(AnomalyKind::stopped_reporting));
  };
  EXPECT_EQ(stopped_steps(0, 200), 0);             // 200 days of reports, 530 silent
  EXPECT_EQ(stopped_steps(0, 365), 365 - 6);       // as long as the reporting: a stop, flagged from its 7th day
  EXPECT_EQ(stopped_steps(400, 600), 130 - 6);     // 200 days of reports from day 400, 130 silent
  EXPECT_EQ(stopped_steps(400, 530), 0);           // 130 days of reports, 200 silent
}

// Contract (rules=on): on an intermittent series (0 on most days, bursts of ~500 on one day in twenty) the expected
// value sits near 0, yet an ordinary burst is no unit error: the x100 test is also against the usual positive
// value. A burst x1000 still is.
TEST(GamRealShapes, IntermittentBurstsAreNoUnitErrors) {
  Rng rng(22);
  std::vector<float> y(730);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = rng.uniform() < 0.05 ? static_cast<float>(500.0 * (1.0 + 0.3 * rng.normal())) : 0.0F;
  y[600] = 500000.0F;
  const ShapeOutputs out = detect_shape(settings({"rules=on"}), y);
  for (std::size_t i = 0; i < y.size(); ++i)
    if (i != 600) {
      EXPECT_NE(static_cast<AnomalyKind>(out.kind[i]), AnomalyKind::unit_error) << i;
    }
  EXPECT_EQ(static_cast<AnomalyKind>(out.kind[600]), AnomalyKind::unit_error);
}

// Contract (rules=on): a household meter in use at ~0.5 kWh a day for a year, then idle (0, or a standby reading of
// 0.001-0.01 kWh, on alternate days at random) gets no unit error on its tiny readings, which sit near its expected
// value there, while a reading /1000 on a day of use is one. The former rule (positive and <= max(expected, 1) / 100)
// read every reading under 0.01 as a /1000 unit error, whatever the meter's level (real London households: 30 of
// the 66 false alerts at the defaults).
TEST(GamRealShapes, TinyReadingsOfAnIdleMeterAreNoUnitErrors) {
  Rng rng(23);
  std::vector<float> y(730);
  std::size_t tiny = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (i < 365) {
      y[i] = static_cast<float>(0.5 * (1.0 + 0.2 * rng.normal()));
    } else {
      y[i] = rng.uniform() < 0.5 ? 0.0F : static_cast<float>(rng.uniform(0.001, 0.01));
      tiny += y[i] > 0.0F ? 1 : 0;
    }
  }
  ASSERT_GE(tiny, 100U);
  constexpr std::size_t kErrorDay = 200;
  y[kErrorDay] /= 1000.0F;
  const ShapeOutputs out = detect_shape(settings({"rules=on"}), y);
  for (std::size_t i = 0; i < y.size(); ++i)
    if (i != kErrorDay) {
      EXPECT_NE(static_cast<AnomalyKind>(out.kind[i]), AnomalyKind::unit_error) << i << " value " << y[i] << " expected " << out.expected[i];
    }
  EXPECT_EQ(static_cast<AnomalyKind>(out.kind[kErrorDay]), AnomalyKind::unit_error);
}

// Contract (run_score=on): a sustained deviation of 2 scales over 7 days scores sqrt(7) x 2 ~ 5.3 at its middle,
// above what any of its single steps scores; forward windows never read past the scored period (a step's score
// is the same whether the period ends right after it or a week later).
TEST(GamRealShapes, RunScoreCatchesSustainedDeviationsWithoutReadingTheFuture) {
  std::vector<float> y = steady_customer(21);
  const auto set = settings({"transform=log1p_relative", "run_score=off", "rules=off"});
  const ShapeOutputs plain = detect_shape(set, y);
  const auto det = make_gam_detector(settings({"transform=log1p_relative", "run_score=on", "rules=off"}), kDaily730);
  const auto ws = det->make_workspace();
  ShapeOutputs run(y.size());
  det->detect({y, 0}, DetectionWindow::retrospective(730), *ws, run.view());
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_GE(run.score[i], plain.score[i]) << i;
  // Forward: the first 3 steps of a 14-step period score the same as in a 3-step period.
  ShapeOutputs week(y.size()), fortnight(y.size());
  det->detect({y, 0}, DetectionWindow::forward(600, 603), *ws, week.view());
  det->detect({y, 0}, DetectionWindow::forward(600, 614), *ws, fortnight.view());
  for (std::size_t i = 600; i < 603; ++i) EXPECT_EQ(week.score[i], fortnight.score[i]) << i;
}

}  // namespace
}  // namespace meterbench
