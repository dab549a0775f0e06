// Contract: the alert row formatters write exactly what the fmt/printf formatting they replace wrote:
// "%.6g" numbers byte for byte (ties, boundaries, tiny and huge values, negative zero), ISO dates and
// times, and RFC 4180 quoting of free text.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/io/alert_csv.hpp"

namespace meterbench {
namespace {

std::string g6(double v) {
  std::string out;
  append_g6(out, v);
  return out;
}

std::string reference(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : std::string(); }

TEST(AlertCsv, NumbersMatchPrintfG6OnEdgeCases) {
  for (const double v : {0.0, -0.0, 0.5, 1.0, 2.5, 1234565.0, 123456.5, 999999.5, 9999995.0, 99999.95, 1e-5, 9.999995e-5, 1e-4,
                         0.000123456, 1e15, 1e16, 1e-300, 5e-324, 1e6, 999999.0, 100000.0, 9.99999e5, 123456789.0, 0.1, 1.0 / 3.0,
                         std::numeric_limits<double>::max(), std::numeric_limits<double>::min()}) {
    EXPECT_EQ(g6(v), reference(v)) << v;
    EXPECT_EQ(g6(-v), reference(-v)) << -v;
  }
  EXPECT_EQ(g6(std::numeric_limits<double>::quiet_NaN()), "");
  EXPECT_EQ(g6(std::numeric_limits<double>::infinity()), "");
}

std::string printf_g(double v) {
  char text[64];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

// Pinned texts (what printf("%g") prints, checked here too) of the values where a hand-written formatter goes
// wrong: zeros, signs, the ends of the fixed range, rounding up to the next power of ten, ties, denormals.
TEST(AlertCsv, NumbersMatchPinnedPrintfTexts) {
  const std::pair<double, const char*> pinned[] = {
      {0.0, "0"},                 {-0.0, "-0"},             {1.0, "1"},                  {-2.5, "-2.5"},
      {0.1, "0.1"},               {1e-5, "1e-05"},          {-1e-5, "-1e-05"},           {0.0001, "0.0001"},
      {0.000123456789, "0.000123457"}, {123456.0, "123456"}, {-123456.0, "-123456"},    {1234567.0, "1.23457e+06"},
      {999999.5, "1e+06"},        {999999.4, "999999"},     {99999.95, "99999.9"},       {9.9999951, "10"},
      {0.99999951, "1"},          {9.9999949e-5, "9.99999e-05"}, {9.9999951e-5, "0.0001"}, {100000.0, "100000"},
      {120000.0, "120000"},       {1e6, "1e+06"},           {1e15, "1e+15"},             {123456789012.0, "1.23457e+11"},
      {0.5, "0.5"},               {12.5, "12.5"},           {2.675, "2.675"},            {1.0000005, "1"},
      {5e-324, "4.94066e-324"},   {-2.2250738585072009e-308, "-2.22507e-308"},          {1.7976931348623157e308, "1.79769e+308"},
      {static_cast<double>(3.14159274F), "3.14159"}, {static_cast<double>(-0.1F), "-0.1"}, {static_cast<double>(1e-5F), "1e-05"},
  };
  for (const auto& [v, text] : pinned) {
    EXPECT_EQ(printf_g(v), text) << "printf itself, " << fmt::format("{:.17g}", v);
    EXPECT_EQ(g6(v), text) << fmt::format("{:.17g}", v);
    char buffer[kG6Room];
    EXPECT_EQ(std::string(buffer, write_g6(buffer, v)), text);
  }
  // Not finite: an empty cell (printf would print nan / inf).
  for (const double v : {std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::quiet_NaN(),
                         std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()})
    EXPECT_EQ(g6(v), "");
  // Every fixed-notation exponent and number of significant digits, both signs, against printf.
  for (int e = -5; e <= 7; ++e)
    for (const double m : {1.0, 1.2, 1.23, 1.234, 1.2345, 1.23456, 9.99999, 9.999995, 1.000005}) {
      const double v = m * std::pow(10.0, e);
      EXPECT_EQ(g6(v), printf_g(v)) << fmt::format("{:.17g}", v);
      EXPECT_EQ(g6(-v), printf_g(-v)) << fmt::format("{:.17g}", -v);
    }
}

TEST(AlertCsv, NumbersMatchPrintfG6OnRandomValues) {
  std::uint64_t state = 42;
  for (int i = 0; i < 300'000; ++i) {
    const std::uint64_t r = mix64(state++);
    const std::uint64_t r2 = mix64(state++);
    // Floats widened to double (what alerts hold), arbitrary doubles, and scaled decimals (prices x units).
    float f = 0.0F;
    const auto bits = static_cast<std::uint32_t>(r);
    std::memcpy(&f, &bits, sizeof(f));
    double d = 0.0;
    std::memcpy(&d, &r2, sizeof(d));
    const double m = std::ldexp(static_cast<double>(r2 >> 11) * 0x1p-53, static_cast<int>(r % 80) - 40);
    const double decimal = static_cast<double>(r2 % 100'000'000) / std::pow(10.0, static_cast<double>(r % 9));
    for (const double v : {static_cast<double>(f), d, m, -m, static_cast<double>(static_cast<float>(m)), decimal})
      ASSERT_EQ(g6(v), reference(v)) << fmt::format("{:.17g}", v);
  }
}

TEST(AlertCsv, TimesAndText) {
  std::string out;
  append_utc_time(out, parse_utc_timestamp("2024-02-29"));
  out += ' ';
  append_utc_time(out, parse_utc_timestamp("1969-12-31T23:05:09Z"));
  EXPECT_EQ(out, "2024-02-29 1969-12-31T23:05:09Z");
  out.clear();
  append_csv_text(out, "plain");
  out += ',';
  append_csv_text(out, "a,\"b\"");
  EXPECT_EQ(out, "plain,\"a,\"\"b\"\"\"");
}

TEST(AlertCsv, StepTimesMatchTheFormatterInsideAndOutsideTheGrid) {
  const TimeGrid hourly{parse_utc_timestamp("2024-02-28T22:00:00Z"), 3600, 30};
  const StepTimes times(hourly);
  for (const std::int64_t step : {std::int64_t{-2}, std::int64_t{0}, std::int64_t{1}, std::int64_t{2}, std::int64_t{29}, std::int64_t{30}, std::int64_t{500}}) {
    std::string expected, got;
    append_utc_time(expected, hourly.time_at(step));
    times.append(got, step);
    EXPECT_EQ(got, expected) << step;
  }
  std::string midnight;
  times.append(midnight, 2);
  EXPECT_EQ(midnight, "2024-02-29");
  // Times too long for the precomputed slots (years of 12 digits) are formatted on the spot, inside the grid too.
  const TimeGrid far{-9'000'000'000'000'000'000 + 1800, 3600, 3};
  const StepTimes far_times(far);
  for (std::int64_t step = 0; step < 3; ++step) {
    std::string expected, got;
    append_utc_time(expected, far.time_at(step));
    far_times.append(got, step);
    EXPECT_GT(expected.size(), 24U);
    EXPECT_EQ(got, expected) << step;
  }
}

}  // namespace
}  // namespace meterbench
