#include "meterbench/ingest/date_format.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "meterbench/core/time_grid.hpp"

namespace meterbench::usage_csv {

namespace {

constexpr const char* kMonthNames[12] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_leap(std::int32_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }
std::int32_t days_in_month(std::int32_t year, std::int32_t month) {
  constexpr std::int32_t kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Reads between min_width and max_width digits at text[pos] (as many as there are); false when fewer.
bool read_number(std::string_view text, std::size_t& pos, std::size_t min_width, std::size_t max_width, std::int32_t& out) {
  std::size_t n = 0;
  out = 0;
  while (n < max_width && pos + n < text.size() && is_digit(text[pos + n])) {
    out = out * 10 + (text[pos + n] - '0');
    ++n;
  }
  if (n < min_width) return false;
  pos += n;
  return true;
}

}  // namespace

DateFormat::DateFormat(std::string_view format) : format_(format) {
  const auto fail = [&](const std::string& why) {
    return std::invalid_argument(fmt::format("--date-format '{}': {} (use %Y %m %b %d %H %M %S %% and literal characters, e.g. %m/%d/%Y)", format, why));
  };
  int counts[8] = {};
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      steps_.push_back({Kind::literal, format[i]});
      continue;
    }
    if (++i == format.size()) throw fail("it ends with a lone '%'");
    Kind kind = Kind::literal;
    switch (format[i]) {
      case 'Y': kind = Kind::year; break;
      case 'm': kind = Kind::month; break;
      case 'b': kind = Kind::month_name; break;
      case 'd': kind = Kind::day; break;
      case 'H': kind = Kind::hour; break;
      case 'M': kind = Kind::minute; break;
      case 'S': kind = Kind::second; break;
      case '%': break;
      default: throw fail(fmt::format("'%{}' is not supported", format[i]));
    }
    if (kind != Kind::literal) {
      // %m and %b both give the month: count them together.
      const Kind counted = kind == Kind::month_name ? Kind::month : kind;
      if (++counts[static_cast<int>(counted)] > 1) throw fail(fmt::format("'%{}' gives a field given before", format[i]));
    }
    steps_.push_back({kind, '%'});
  }
  if (counts[static_cast<int>(Kind::year)] == 0 || counts[static_cast<int>(Kind::month)] == 0)
    throw fail("it needs a year (%Y) and a month (%m or %b); without a day (%d) a date is the first of its month");
}

const char* DateFormat::match(std::string_view text, std::int64_t& unix_seconds, std::size_t& pos) const {
  CivilDate date;
  std::int32_t hour = 0, minute = 0, second = 0;
  pos = 0;
  for (const Step& step : steps_) {
    const std::size_t start = pos;  // a failing field is reported where it starts
    const char* why = "";
    switch (step.kind) {
      case Kind::literal:
        if (pos >= text.size() || text[pos] != step.literal) why = "expected a literal character of the format";
        ++pos;
        break;
      case Kind::year:
        if (!read_number(text, pos, 4, 4, date.year)) why = "expected a 4-digit year for %Y";
        break;
      case Kind::month:
        if (!read_number(text, pos, 1, 2, date.month)) why = "expected a month number for %m";
        else if (date.month < 1 || date.month > 12) why = "month out of range";
        break;
      case Kind::month_name: {
        int found = -1;
        if (pos + 3 <= text.size())
          for (int m = 0; m < 12 && found < 0; ++m)
            if (lower(text[pos]) == kMonthNames[m][0] && lower(text[pos + 1]) == kMonthNames[m][1] && lower(text[pos + 2]) == kMonthNames[m][2])
              found = m;
        if (found < 0) why = "expected an English month abbreviation (Jan..Dec) for %b";
        date.month = found + 1;
        pos += 3;
        break;
      }
      case Kind::day:
        if (!read_number(text, pos, 1, 2, date.day)) why = "expected a day number for %d";
        break;
      case Kind::hour:
        if (!read_number(text, pos, 1, 2, hour) || hour > 23) why = "expected an hour 0-23 for %H";
        break;
      case Kind::minute:
        if (!read_number(text, pos, 1, 2, minute) || minute > 59) why = "expected a minute 0-59 for %M";
        break;
      case Kind::second:
        if (!read_number(text, pos, 1, 2, second) || second > 59) why = "expected a second 0-59 for %S";
        break;
    }
    if (*why != '\0') {
      pos = start;
      return why;
    }
  }
  if (pos != text.size()) return "unexpected text after the date";
  // The day is checked last: %d may come before the month and year that bound it.
  pos = std::string_view::npos;
  if (date.day < 1 || date.day > days_in_month(date.year, date.month)) return "day out of range";
  unix_seconds = days_from_civil(date) * kSecondsPerDay + hour * kSecondsPerHour + minute * 60 + second;
  return "";
}

bool DateFormat::parse(std::string_view text, std::int64_t& unix_seconds) const {
  std::size_t position = 0;
  return *match(text, unix_seconds, position) == '\0';
}

std::string DateFormat::mismatch(std::string_view text) const {
  std::int64_t ignored = 0;
  std::size_t position = 0;
  const char* why = match(text, ignored, position);
  if (*why == '\0') return {};
  if (position == std::string_view::npos) return fmt::format("does not match --date-format '{}': {}", format_, why);
  return fmt::format("does not match --date-format '{}' at character {}: {}", format_, position + 1, why);
}

}  // namespace meterbench::usage_csv
