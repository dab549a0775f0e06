// Contract: `detect --by DIMENSION` sums the series per value of the dimension before detection: a step is the
// sum of the members' observed values and missing only when every member is; a group whose members all have a
// price sums their cost (its price 1, so impacts are exact), otherwise quantities with an unknown price; its ids
// are the value under its dimension and `*` elsewhere; an unknown dimension is an error naming the known ones.
#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "meterbench/detect/rollup.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

constexpr float kNotReported = std::numeric_limits<float>::quiet_NaN();
constexpr std::int64_t kSteps = 4;

struct Member {
  const char* customer;
  const char* meter;
  double price;
  std::vector<float> values;
};

void write_members(const std::filesystem::path& path, const std::vector<Member>& members) {
  DatasetInfo info;
  info.grid = {parse_utc_timestamp("2024-01-01"), kSecondsPerDay, kSteps};
  info.series_count = static_cast<std::int64_t>(members.size());
  info.has_labels = false;
  info.source = "test";
  DatasetWriter writer(path, info);
  SeriesBlock b;
  b.reset(0, info.series_count, kSteps, false);
  for (std::size_t i = 0; i < members.size(); ++i) {
    std::copy(members[i].values.begin(), members[i].values.end(), b.row(static_cast<std::int64_t>(i)).begin());
    b.series[i].set_ids(members[i].customer, members[i].meter);
    b.series[i].price_per_unit = members[i].price;
  }
  writer.write(b);
  writer.finish();
}

TEST(DetectRollUp, SumsCostsPerCustomerAndStepsAreMissingOnlyWhenEveryMemberIs) {
  testing::ScratchDir dir;
  const double unknown = std::numeric_limits<double>::quiet_NaN();
  write_members(dir / "d.h5", {{"acme", "storage", 2.0, {1.0F, kNotReported, 3.0F, kNotReported}},
                               {"beta", "storage", unknown, {10.0F, 20.0F, kNotReported, kNotReported}},
                               {"acme", "compute", 0.5, {4.0F, 8.0F, kNotReported, kNotReported}},
                               {"beta", "egress", 1.0, {1.0F, 1.0F, 1.0F, kNotReported}}});
  const RollUpSummary by_customer = write_rolled_up_dataset(dir / "d.h5", "customer", dir / "c.h5");
  EXPECT_EQ(by_customer.groups, 2);
  EXPECT_EQ(by_customer.priced_groups, 1);
  DatasetReader reader(dir / "c.h5");
  EXPECT_FALSE(reader.info().has_labels);
  SeriesBlock b;
  reader.read(0, 2, b);
  EXPECT_EQ(b.series[0].customer(), "acme");
  EXPECT_EQ(b.series[0].meter(), "*");
  EXPECT_EQ(b.series[0].price_per_unit, 1.0);  // costs: 1 x 2 + 4 x 0.5, 8 x 0.5, 3 x 2, none
  EXPECT_EQ(b.row(0)[0], 4.0F);
  EXPECT_EQ(b.row(0)[1], 4.0F);
  EXPECT_EQ(b.row(0)[2], 6.0F);
  EXPECT_TRUE(std::isnan(b.row(0)[3]));
  EXPECT_EQ(b.series[1].customer(), "beta");
  EXPECT_TRUE(std::isnan(b.series[1].price_per_unit));  // a member without a price: quantities, impact unknown
  EXPECT_EQ(b.row(1)[0], 11.0F);
  EXPECT_EQ(b.row(1)[1], 21.0F);
  EXPECT_EQ(b.row(1)[2], 1.0F);
  EXPECT_TRUE(std::isnan(b.row(1)[3]));

  EXPECT_EQ(write_rolled_up_dataset(dir / "d.h5", "meter", dir / "m.h5").groups, 3);
  DatasetReader meters(dir / "m.h5");
  meters.read(0, 3, b);
  EXPECT_EQ(b.series[0].customer(), "*");
  EXPECT_EQ(b.series[0].meter(), "compute");
  EXPECT_EQ(b.series[2].meter(), "storage");
  EXPECT_TRUE(std::isnan(b.series[2].price_per_unit));
  EXPECT_EQ(b.row(2)[1], 20.0F);
}

TEST(DetectRollUp, AnUnknownDimensionNamesTheKnownOnes) {
  testing::ScratchDir dir;
  write_members(dir / "d.h5", {{"acme", "storage", 2.0, {1.0F, 2.0F, 3.0F, 4.0F}}});
  try {
    (void)write_rolled_up_dataset(dir / "d.h5", "region", dir / "r.h5");
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "--by 'region': not a dimension of the dataset (known: customer, meter)");
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "r.h5"));
}

}  // namespace
}  // namespace meterbench
