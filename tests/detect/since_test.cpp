// Contract: `detect --since DATE` is the weekly production run: one forward fit on the history before DATE,
// every step from DATE on scored. For the week starting at DATE its expected value, band and score are
// bit-identical to the weekly-refit schedule's (backtest --schedule weekly-refit) for every detector, and to the
// weekly schedule's for the detectors without a rolling schedule. When the data goes on past that week the
// same holds except for stl-esd, whose ESD test takes every scored step after DATE as one sample. DATE must be
// a step of the grid after its first, and an error names the value and the grid's range.
#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meterbench/detect/detect.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/model/detector.hpp"
#include "meterbench/pass/series_work.hpp"
#include "support/small_dataset.hpp"

namespace meterbench {
namespace {

constexpr std::int64_t kSeries = 24, kDays = 400, kWeeks = 3;

class DetectSince : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScratchDir("detect-since");
    testing::generate_small_dataset(dir_->path() / "d.h5", kSeries, kDays, 2);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::filesystem::path data() { return dir_->path() / "d.h5"; }
  static testing::ScratchDir* dir_;
};
testing::ScratchDir* DetectSince::dir_ = nullptr;

struct Outputs {
  BlockOutputs block;
  std::vector<FitStatus> status;
};

Outputs run(const Detector& detector, const SeriesBlock& block, ScoredWindow window) {
  Outputs o;
  o.block.resize(block.count, block.steps);
  o.status.resize(static_cast<std::size_t>(block.count));
  const auto ws = detector.make_workspace();
  detect_block(detector, *ws, block, window, o.block, o.status);
  return o;
}

// Compares the bits of steps [from, to) of every series.
void expect_same_bits(const Outputs& a, const Outputs& b, std::int64_t steps, std::int64_t from, std::int64_t to, const std::string& what) {
  const auto same = [&](const std::vector<float>& x, const std::vector<float>& y, const char* name) {
    std::int64_t differ = 0;
    for (std::size_t s = 0; s < x.size() / static_cast<std::size_t>(steps); ++s)
      for (std::int64_t t = from; t < to; ++t) {
        const std::size_t k = s * static_cast<std::size_t>(steps) + static_cast<std::size_t>(t);
        differ += std::bit_cast<std::uint32_t>(x[k]) != std::bit_cast<std::uint32_t>(y[k]);
      }
    EXPECT_EQ(differ, 0) << what << ": " << name;
  };
  same(a.block.expected, b.block.expected, "expected");
  same(a.block.lower, b.block.lower, "lower");
  same(a.block.upper, b.block.upper, "upper");
  same(a.block.score, b.block.score, "score");
  EXPECT_EQ(a.status, b.status) << what;
}

TEST_F(DetectSince, TheWeekFromDateIsTheWeeklyRefitSchedulesWeekBitForBit) {
  DatasetReader reader(data());
  SeriesBlock block;
  reader.read(0, kSeries, block);
  const TimeGrid& grid = reader.info().grid;
  const std::int64_t first = kDays - kWeeks * 7;
  for (const char* model : {"gam", "seasonal-mad", "stl-esd"}) {
    const auto detector = make_detector(model, {}, grid);
    for (const std::int64_t week_start : {first, first + 7, first + 14}) {
      if (std::string(model) == "stl-esd" && week_start + 7 != kDays) continue;  // its ESD sample is every scored step
      const ScoredWindow since = since_window(format_utc_timestamp(grid.time_at(week_start)), grid);
      ASSERT_EQ(since.first_scored, week_start);
      const Outputs monitoring = run(*detector, block, since);
      // The weekly-refit backtest over the last weeks: its week starting at `week_start` is the same fit.
      const std::int64_t weeks = (kDays - week_start) / 7;
      const Outputs refit = run(*detector, block, scored_window(Schedule::weekly_refit, weeks, grid));
      expect_same_bits(monitoring, refit, kDays, week_start, week_start + 7, std::string(model) + " weekly-refit");
      const Outputs longer = run(*detector, block, scored_window(Schedule::weekly_refit, kWeeks, grid));
      expect_same_bits(monitoring, longer, kDays, week_start, week_start + 7, std::string(model) + " weekly-refit, more weeks");
      if (!detector->reuses_work_across_periods()) {
        const Outputs weekly = run(*detector, block, scored_window(Schedule::weekly, kWeeks, grid));
        expect_same_bits(monitoring, weekly, kDays, week_start, week_start + 7, std::string(model) + " weekly");
      }
    }
  }
}

// gam's weekly schedule reuses last week's work (sliding updates, warm starts, a band scale held between
// full refits): close to the independent fits but not their bits. weekly-refit is the schedule a weekly
// production run reproduces.
TEST_F(DetectSince, GamsRollingWeeklyScheduleIsNotTheProductionRunsBits) {
  DatasetReader reader(data());
  SeriesBlock block;
  reader.read(0, kSeries, block);
  const TimeGrid& grid = reader.info().grid;
  const auto detector = make_detector("gam", {}, grid);
  ASSERT_TRUE(detector->reuses_work_across_periods());
  const std::int64_t last = kDays - 7;
  const Outputs monitoring = run(*detector, block, since_window(format_utc_timestamp(grid.time_at(last)), grid));
  const Outputs weekly = run(*detector, block, scored_window(Schedule::weekly, kWeeks, grid));
  std::int64_t differ = 0;
  for (std::int64_t s = 0; s < kSeries; ++s)
    for (std::int64_t t = last; t < kDays; ++t) {
      const auto k = static_cast<std::size_t>(s * kDays + t);
      differ += std::bit_cast<std::uint32_t>(monitoring.block.expected[k]) != std::bit_cast<std::uint32_t>(weekly.block.expected[k]);
    }
  EXPECT_GT(differ, 0);
}

TEST_F(DetectSince, ADateOffTheGridIsRefusedWithTheGridsRange) {
  DatasetReader reader(data());
  const TimeGrid& grid = reader.info().grid;
  EXPECT_EQ(since_window("", grid).period, 0);
  for (const std::string& bad : std::vector<std::string>{"2023-01-01", format_utc_timestamp(grid.time_at(0)), format_utc_timestamp(grid.time_at(kDays)),
                                format_utc_timestamp(grid.time_at(10) + 3600), std::string("yesterday")}) {
    try {
      (void)since_window(bad, grid);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("--since '" + bad + "'"), std::string::npos) << message;
      if (bad != "yesterday") {
        EXPECT_NE(message.find(format_utc_timestamp(grid.time_at(0))), std::string::npos) << message;
        EXPECT_NE(message.find(format_utc_timestamp(grid.time_at(kDays - 1))), std::string::npos) << message;
      }
    }
  }
}

}  // namespace
}  // namespace meterbench
