// Contract: ranks get contiguous series ranges that cover the dataset in order and carry about equal
// observed (non-NaN) points, not equal series counts; the observed-point table counts every non-NaN value.
#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "meterbench/distributed/partition.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

std::int64_t weight_of(const ObservedPoints& w, SeriesRange r) {
  std::int64_t sum = 0;
  for (std::int64_t s = r.first; s < r.end(); s += w.bucket_series) sum += w.points[static_cast<std::size_t>(s / w.bucket_series)];
  return sum;
}

void expect_cover(const std::vector<SeriesRange>& ranges, std::int64_t n) {
  std::int64_t next = 0;
  for (const SeriesRange& r : ranges) {
    EXPECT_EQ(r.first, next);
    EXPECT_GE(r.count, 0);
    next = r.end();
  }
  EXPECT_EQ(next, n);
}

TEST(Partition, GappyHalfGetsMoreSeriesSoObservedPointsBalance) {
  // Series 0..599 are 90% gaps (73 observed points), series 600..999 complete (730): an even split by series
  // count would give rank 0 a tenth of rank 1's work.
  ObservedPoints w{1, {}};
  for (int s = 0; s < 1000; ++s) w.points.push_back(s < 600 ? 73 : 730);
  const std::int64_t total = std::accumulate(w.points.begin(), w.points.end(), std::int64_t{0});
  for (int parts : {2, 3, 4, 7}) {
    const std::vector<SeriesRange> ranges = balanced_ranges(w, 1000, parts);
    ASSERT_EQ(ranges.size(), static_cast<std::size_t>(parts));
    expect_cover(ranges, 1000);
    for (const SeriesRange& r : ranges)  // each cut is within half a bucket: a range is off by at most one (the largest) bucket
      EXPECT_LE(std::llabs(weight_of(w, r) * parts - total), 730 * parts) << parts << " parts, range at " << r.first;
  }
  const std::vector<SeriesRange> two = balanced_ranges(w, 1000, 2);
  EXPECT_GT(two[0].count, 700);  // 600 gappy series + about 100 complete ones
}

TEST(Partition, BucketsOfSeveralSeriesAndMorePartsThanBuckets) {
  ObservedPoints w{10, {100, 100, 100, 5}};  // 35 series: the last bucket has 5
  const std::vector<SeriesRange> ranges = balanced_ranges(w, 35, 3);
  expect_cover(ranges, 35);
  for (const SeriesRange& r : ranges) EXPECT_EQ(r.first % 10, 0);
  const std::vector<SeriesRange> many = balanced_ranges(w, 35, 9);
  expect_cover(many, 35);
  EXPECT_EQ(std::count_if(many.begin(), many.end(), [](const SeriesRange& r) { return r.count > 0; }), 4);
  EXPECT_THROW(balanced_ranges(w, 50, 2), std::invalid_argument);  // buckets do not cover the series
  EXPECT_THROW(balanced_ranges(w, 35, 0), std::invalid_argument);
}

TEST(Partition, AllGapsStillSplitsEverySeries) {
  ObservedPoints w{1, std::vector<std::int64_t>(10, 0)};
  const std::vector<SeriesRange> ranges = balanced_ranges(w, 10, 2);
  expect_cover(ranges, 10);
}

TEST(Partition, ObservedPointsCountEveryNonNaNValue) {
  testing::ScratchDir dir;
  DatasetInfo info;
  info.grid = {parse_utc_timestamp("2024-01-01"), kSecondsPerDay, 50};
  info.series_count = 23;
  info.has_labels = false;
  info.source = "test";
  std::vector<std::int64_t> expected;
  {
    DatasetWriter writer(dir / "g.h5", info);
    SeriesBlock b;
    b.reset(0, 23, 50, false);
    for (std::int64_t i = 0; i < 23; ++i) {
      std::int64_t observed = 0;
      for (std::int64_t t = 0; t < 50; ++t) {
        const bool gap = (t * 7 + i * 3) % (i % 5 + 2) == 0;
        b.row(i)[static_cast<std::size_t>(t)] = gap ? std::nanf("") : 1.0F;
        observed += gap ? 0 : 1;
      }
      expected.push_back(observed);
    }
    writer.write(b);
    writer.finish();
  }
  DatasetReader reader(dir / "g.h5");
  SingleProcessGroup group;
  const ObservedPoints per_series = count_observed_points(reader, group);
  EXPECT_EQ(per_series.bucket_series, 1);
  EXPECT_EQ(per_series.points, expected);
  const ObservedPoints bucketed = count_observed_points(reader, group, 4);  // 4 buckets of 6 series
  EXPECT_EQ(bucketed.bucket_series, 6);
  ASSERT_EQ(bucketed.points.size(), 4u);
  EXPECT_EQ(bucketed.points[3], std::accumulate(expected.begin() + 18, expected.end(), std::int64_t{0}));
}

}  // namespace
}  // namespace meterbench
