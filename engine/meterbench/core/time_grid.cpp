#include "meterbench/core/time_grid.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace meterbench {

// Howard Hinnant's algorithms (public domain): exact civil <-> serial day conversions.
std::int64_t days_from_civil(CivilDate date) {
  const std::int64_t y = date.year - (date.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t m = date.month;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + date.day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return {static_cast<std::int32_t>(y), static_cast<std::int32_t>(m), static_cast<std::int32_t>(d)};
}

namespace {

bool is_leap(std::int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

std::int32_t days_in_month(std::int32_t year, std::int32_t month) {
  static constexpr std::int32_t kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// Reads exactly `width` digits at text[pos]; false when they are not all digits.
bool read_digits(std::string_view text, std::size_t pos, std::size_t width, std::int32_t& out) {
  if (pos + width > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::int64_t parse_utc_timestamp(std::string_view text) {
  const auto fail = [&](const char* why) {
    return std::invalid_argument(fmt::format("invalid date '{}': {} (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z])", text, why));
  };
  CivilDate date;
  if (!read_digits(text, 0, 4, date.year) || text.size() < 10 || text[4] != '-' || !read_digits(text, 5, 2, date.month) ||
      text[7] != '-' || !read_digits(text, 8, 2, date.day))
    throw fail("not a date");
  if (date.month < 1 || date.month > 12) throw fail("month out of range");
  if (date.day < 1 || date.day > days_in_month(date.year, date.month)) throw fail("day out of range");
  std::int32_t hour = 0, minute = 0, second = 0;
  std::size_t pos = 10;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') throw fail("unexpected text after the date");
    if (!read_digits(text, pos + 1, 2, hour) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !read_digits(text, pos + 4, 2, minute))
      throw fail("not a time of day");
    pos += 6;
    if (pos < text.size() && text[pos] == ':') {
      if (!read_digits(text, pos + 1, 2, second)) throw fail("not a time of day");
      pos += 3;
      if (pos < text.size() && text[pos] == '.') {  // fractional seconds, as exports often write: ignored
        ++pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
      }
    }
    if (pos < text.size() && text[pos] == 'Z') ++pos;
    if (pos != text.size()) throw fail("unexpected text after the time (only UTC is supported)");
    if (hour > 23 || minute > 59 || second > 59) throw fail("time of day out of range");
  }
  return days_from_civil(date) * kSecondsPerDay + hour * kSecondsPerHour + minute * 60 + second;
}

std::string format_utc_date(std::int64_t unix_seconds) {
  const CivilDate d = civil_from_days(floor_div(unix_seconds, kSecondsPerDay));
  return fmt::format("{:04d}-{:02d}-{:02d}", d.year, d.month, d.day);
}

std::string format_utc_timestamp(std::int64_t unix_seconds) {
  const std::int64_t days = floor_div(unix_seconds, kSecondsPerDay);
  const std::int64_t sod = unix_seconds - days * kSecondsPerDay;
  if (sod == 0) return format_utc_date(unix_seconds);
  return fmt::format("{}T{:02d}:{:02d}:{:02d}Z", format_utc_date(unix_seconds), sod / 3600, (sod / 60) % 60, sod % 60);
}

std::int64_t parse_step(std::string_view text) {
  std::int64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  if (unit == "mo" && ec == std::errc() && count == 1) return kSecondsPerMonth;
  std::int64_t scale = 0;
  if (unit == "d") scale = kSecondsPerDay;
  else if (unit == "h") scale = kSecondsPerHour;
  else if (unit == "min" || unit == "m") scale = 60;
  else if (unit == "s") scale = 1;
  if (ec != std::errc() || scale == 0 || count <= 0 || count > 366 * kSecondsPerDay / scale)
    throw std::invalid_argument(fmt::format("invalid step '{}' (expected a positive count and a unit: d, h, min or s, e.g. 1d or 1h; or 1mo)", text));
  return count * scale;
}

std::string format_step(std::int64_t step_seconds) {
  if (step_seconds == kSecondsPerMonth) return "1mo";
  if (step_seconds % kSecondsPerDay == 0) return fmt::format("{}d", step_seconds / kSecondsPerDay);
  if (step_seconds % kSecondsPerHour == 0) return fmt::format("{}h", step_seconds / kSecondsPerHour);
  if (step_seconds % 60 == 0) return fmt::format("{}min", step_seconds / 60);
  return fmt::format("{}s", step_seconds);
}

void TimeGrid::validate() const {
  if (step_seconds <= 0) throw std::invalid_argument(fmt::format("time grid step must be positive, got {} s", step_seconds));
  if (steps <= 0) throw std::invalid_argument(fmt::format("time grid must have at least one step, got {}", steps));
  if (monthly() && step_start(step_number(start_unix_seconds, step_seconds), step_seconds) != start_unix_seconds)
    throw std::invalid_argument(fmt::format("a monthly grid starts on the first of a month at midnight, not at {}", format_utc_timestamp(start_unix_seconds)));
}

std::int64_t step_number(std::int64_t unix_seconds, std::int64_t step_seconds) {
  if (step_seconds != kSecondsPerMonth) return floor_div(unix_seconds, step_seconds);
  const CivilDate d = civil_from_days(floor_div(unix_seconds, kSecondsPerDay));
  return (static_cast<std::int64_t>(d.year) - 1970) * 12 + d.month - 1;
}

std::int64_t step_start(std::int64_t number, std::int64_t step_seconds) {
  if (step_seconds != kSecondsPerMonth) return number * step_seconds;
  const std::int64_t year = 1970 + floor_div(number, 12);
  const auto month = static_cast<std::int32_t>(number - floor_div(number, 12) * 12 + 1);
  return days_from_civil({static_cast<std::int32_t>(year), month, 1}) * kSecondsPerDay;
}

CalendarPoint calendar_at(std::int64_t unix_seconds) {
  const std::int64_t days = floor_div(unix_seconds, kSecondsPerDay);
  const CivilDate d = civil_from_days(days);
  CalendarPoint p;
  p.day_of_week = static_cast<std::int32_t>((days % 7 + 7 + 3) % 7);  // 1970-01-01 was a Thursday (3)
  p.day_of_month = d.day;
  p.days_in_month = days_in_month(d.year, d.month);
  p.day_of_year = static_cast<std::int32_t>(days - days_from_civil({d.year, 1, 1}));
  p.hour_of_day = static_cast<double>(unix_seconds - days * kSecondsPerDay) / static_cast<double>(kSecondsPerHour);
  return p;
}

}  // namespace meterbench
