// Contract: the alert row formatters write exactly what the fmt/printf formatting they replace wrote:
// "%.6g" numbers byte for byte (ties, boundaries, tiny and huge values, negative zero), ISO dates and
// times, and RFC 4180 quoting of free text.
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>

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
}

}  // namespace
}  // namespace meterbench
