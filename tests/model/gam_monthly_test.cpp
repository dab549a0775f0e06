// Contract: on a calendar-month grid gam's design has a yearly term of period 12 steps exactly (its Fourier
// order capped below 6, as 12 samples allow) and no weekly, billing-cycle or daily term, whatever the
// lengths of the months.
#include <gtest/gtest.h>

#include "meterbench/model/gam_design.hpp"
#include "meterbench/model/gam_parameters.hpp"

namespace meterbench {
namespace {

TEST(GamMonthly, TheYearlyTermRepeatsEvery12StepsAndShorterTermsDropOut) {
  const TimeGrid grid{parse_utc_timestamp("2019-01-01"), kSecondsPerMonth, 60};
  const GamConfig config = gam_config_from_settings({});
  const GamDesign design(grid, config, 0, grid.steps);
  const GamColumns& c = design.columns();
  EXPECT_EQ(c.weekly_order, 0);
  EXPECT_EQ(c.monthly_order, 0);
  EXPECT_EQ(c.daily_order, 0);
  EXPECT_EQ(c.yearly_order, 5);
  // 2020 is a leap year and months differ in length: the phase is the month of the year all the same.
  for (std::int64_t s = 0; s + 12 < grid.steps; ++s)
    for (int j = c.yearly_begin; j < c.yearly_begin + 2 * c.yearly_order; ++j)
      EXPECT_EQ(design.matrix()(s, j), design.matrix()(s + 12, j)) << "step " << s << " column " << j;
}

}  // namespace
}  // namespace meterbench
