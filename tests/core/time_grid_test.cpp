// Contract: calendar conversions are exact for every Gregorian date, parsing accepts the documented forms
// and rejects everything else with a message naming the text.
#include <gtest/gtest.h>

#include "meterbench/core/time_grid.hpp"

namespace meterbench {
namespace {

TEST(TimeGrid, CivilDaysRoundTripOverFourCenturies) {
  for (std::int64_t d = -146097; d <= 2 * 146097; d += 17) {
    const CivilDate c = civil_from_days(d);
    EXPECT_EQ(days_from_civil(c), d);
  }
  EXPECT_EQ(days_from_civil({1970, 1, 1}), 0);
  EXPECT_EQ(days_from_civil({2000, 3, 1}), 11017);
  EXPECT_EQ(days_from_civil({2024, 2, 29}), 19782);
}

TEST(TimeGrid, ParsesDatesAndDateTimesAsUtc) {
  EXPECT_EQ(parse_utc_timestamp("1970-01-02"), 86400);
  EXPECT_EQ(parse_utc_timestamp("2024-01-01"), 1704067200);
  EXPECT_EQ(parse_utc_timestamp("2024-01-01T13:30"), 1704067200 + 13 * 3600 + 30 * 60);
  EXPECT_EQ(parse_utc_timestamp("2024-01-01 13:30:15Z"), 1704067200 + 13 * 3600 + 30 * 60 + 15);
}

TEST(TimeGrid, RejectsMalformedDatesNamingTheText) {
  for (const char* bad : {"2024-13-01", "2024-02-30", "2023-02-29", "24-01-01", "2024/01/01", "2024-01-01T25:00", "2024-01-01+02:00", ""}) {
    try {
      parse_utc_timestamp(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(TimeGrid, FormatsDatesAndTimes) {
  EXPECT_EQ(format_utc_timestamp(1704067200), "2024-01-01");
  EXPECT_EQ(format_utc_timestamp(1704067200 + 3600), "2024-01-01T01:00:00Z");
  EXPECT_EQ(format_utc_date(-1), "1969-12-31");
}

TEST(TimeGrid, ParsesAndFormatsSteps) {
  EXPECT_EQ(parse_step("1d"), 86400);
  EXPECT_EQ(parse_step("1h"), 3600);
  EXPECT_EQ(parse_step("30min"), 1800);
  EXPECT_EQ(format_step(86400), "1d");
  EXPECT_EQ(format_step(3600), "1h");
  EXPECT_EQ(format_step(1800), "30min");
  EXPECT_THROW(parse_step("0d"), std::invalid_argument);
  EXPECT_THROW(parse_step("1w"), std::invalid_argument);
  EXPECT_THROW(parse_step("d"), std::invalid_argument);
}

TEST(TimeGrid, CalendarOfKnownDays) {
  const CalendarPoint monday = calendar_at(parse_utc_timestamp("2024-01-01"));  // a Monday
  EXPECT_EQ(monday.day_of_week, 0);
  EXPECT_EQ(monday.day_of_month, 1);
  EXPECT_EQ(monday.day_of_year, 0);
  const CalendarPoint leap = calendar_at(parse_utc_timestamp("2024-02-29T18:00"));
  EXPECT_EQ(leap.day_of_week, 3);  // Thursday
  EXPECT_EQ(leap.days_in_month, 29);
  EXPECT_EQ(leap.day_of_year, 59);
  EXPECT_DOUBLE_EQ(leap.hour_of_day, 18.0);
}

TEST(TimeGrid, HourlyGridHas24StepsPerDay) {
  const TimeGrid hourly{parse_utc_timestamp("2025-01-01"), kSecondsPerHour, 24 * 90};
  EXPECT_EQ(hourly.steps_per_day(), 24);
  EXPECT_DOUBLE_EQ(hourly.span_days(), 90.0);
  EXPECT_NO_THROW(hourly.validate());
  EXPECT_THROW((TimeGrid{0, 0, 10}.validate()), std::invalid_argument);
  EXPECT_THROW((TimeGrid{0, 60, 0}.validate()), std::invalid_argument);
}

}  // namespace
}  // namespace meterbench

namespace meterbench {
namespace {

// A calendar-month grid: "1mo" steps land on the first of each month, across year ends, leap years and 1970.
TEST(TimeGridMonths, MonthStepsAreCalendarMonths) {
  EXPECT_EQ(parse_step("1mo"), kSecondsPerMonth);
  EXPECT_EQ(format_step(kSecondsPerMonth), "1mo");
  EXPECT_THROW(parse_step("2mo"), std::invalid_argument);
  const TimeGrid grid{parse_utc_timestamp("1969-11-01"), kSecondsPerMonth, 30};
  EXPECT_TRUE(grid.monthly());
  EXPECT_EQ(format_utc_timestamp(grid.time_at(0)), "1969-11-01");
  EXPECT_EQ(format_utc_timestamp(grid.time_at(2)), "1970-01-01");
  EXPECT_EQ(format_utc_timestamp(grid.time_at(29)), "1972-04-01");
  for (std::int64_t s = 0; s < grid.steps; ++s) EXPECT_EQ(step_number(grid.time_at(s) + 86'399, kSecondsPerMonth), step_number(grid.time_at(0), kSecondsPerMonth) + s);
  EXPECT_EQ(step_start(step_number(parse_utc_timestamp("2024-02-29T23:00:00Z"), kSecondsPerMonth), kSecondsPerMonth), parse_utc_timestamp("2024-02-01"));
  EXPECT_THROW((TimeGrid{parse_utc_timestamp("2024-02-02"), kSecondsPerMonth, 3}.validate()), std::invalid_argument);
}

}  // namespace
}  // namespace meterbench
