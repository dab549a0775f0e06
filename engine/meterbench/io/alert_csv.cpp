#include "meterbench/io/alert_csv.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <iterator>

#include <fmt/format.h>


namespace meterbench {

namespace {

constexpr std::array<double, 23> kPow10 = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                           1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

void append_g6_slow(std::string& out, double v) { fmt::format_to(std::back_inserter(out), "{:.6g}", v); }

// a x 10^(5 - e) with one correctly rounded operation (powers of ten up to 1e22 are exact doubles).
double scale_to_six_digits(double a, int e) { return 5 - e >= 0 ? a * kPow10[static_cast<std::size_t>(5 - e)] : a / kPow10[static_cast<std::size_t>(e - 5)]; }

}  // namespace

void append_g6(std::string& out, double v) {
  if (!std::isfinite(v)) return;
  const double a = std::fabs(v);
  if (!(a >= 1e-5 && a < 1e15)) {  // zero, -0, tiny and huge values: rare, leave them to fmt
    append_g6_slow(out, v);
    return;
  }
  // Decimal exponent e (a in [10^e, 10^(e+1))) from the binary one, corrected by the scaled value's range.
  const int binary_exponent = static_cast<int>((std::bit_cast<std::uint64_t>(a) >> 52) & 0x7FF) - 1023;
  int e = (binary_exponent * 78913) >> 18;  // floor(binary_exponent x log10(2)) for |binary_exponent| < 2^11, no libm call
  double p = scale_to_six_digits(a, e);
  if (p >= 1e6) p = scale_to_six_digits(a, ++e);
  if (p < 1e5) p = scale_to_six_digits(a, --e);
  // p carries at most half an ulp (< 2^-32 below 2^20) of error: when its fraction is this far from one half,
  // rounding to the nearest integer is what exact decimal rounding gives; otherwise let fmt decide.
  const auto whole = static_cast<std::int64_t>(p);
  const double fraction = p - static_cast<double>(whole);
  if (!(p >= 1e5 - 0.5 && p < 1e6) || std::fabs(fraction - 0.5) < 1e-8) {
    append_g6_slow(out, v);
    return;
  }
  auto digits = static_cast<std::uint32_t>(whole + (fraction > 0.5 ? 1 : 0));
  if (digits >= 1'000'000) {
    digits /= 10;
    ++e;
  } else if (digits < 100'000) {
    append_g6_slow(out, v);
    return;
  }
  char d[6];
  for (int i = 5; i >= 0; --i) {
    d[i] = static_cast<char>('0' + digits % 10);
    digits /= 10;
  }
  int last = 5;  // last significant digit after trimming trailing zeros (%g without '#')
  while (last > 0 && d[last] == '0') --last;
  char text[24];  // built locally and appended once
  char* o = text;
  if (v < 0) *o++ = '-';
  if (e < -4 || e >= 6) {
    *o++ = d[0];
    if (last > 0) {
      *o++ = '.';
      for (int i = 1; i <= last; ++i) *o++ = d[i];
    }
    *o++ = 'e';
    *o++ = e < 0 ? '-' : '+';
    const int x = e < 0 ? -e : e;
    *o++ = static_cast<char>('0' + x / 10);
    *o++ = static_cast<char>('0' + x % 10);
  } else if (e >= 0) {
    for (int i = 0; i <= e; ++i) *o++ = d[i];
    if (last > e) {
      *o++ = '.';
      for (int i = e + 1; i <= last; ++i) *o++ = d[i];
    }
  } else {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -e - 1; ++i) *o++ = '0';
    for (int i = 0; i <= last; ++i) *o++ = d[i];
  }
  out.append(text, static_cast<std::size_t>(o - text));
}

void append_utc_time(std::string& out, std::int64_t unix_seconds) {
  const std::int64_t days = unix_seconds >= 0 ? unix_seconds / kSecondsPerDay : -((-unix_seconds + kSecondsPerDay - 1) / kSecondsPerDay);
  const std::int64_t second_of_day = unix_seconds - days * kSecondsPerDay;
  const CivilDate date = civil_from_days(days);
  if (date.year < 0 || date.year > 9999) {
    fmt::format_to(std::back_inserter(out), "{:04d}-{:02d}-{:02d}", date.year, date.month, date.day);
  } else {
    const char text[10] = {static_cast<char>('0' + date.year / 1000),      static_cast<char>('0' + date.year / 100 % 10),
                           static_cast<char>('0' + date.year / 10 % 10),   static_cast<char>('0' + date.year % 10),
                           '-',
                           static_cast<char>('0' + date.month / 10),       static_cast<char>('0' + date.month % 10),
                           '-',
                           static_cast<char>('0' + date.day / 10),         static_cast<char>('0' + date.day % 10)};
    out.append(text, sizeof(text));
  }
  if (second_of_day != 0) {
    const auto h = static_cast<int>(second_of_day / 3600), m = static_cast<int>(second_of_day / 60 % 60), s = static_cast<int>(second_of_day % 60);
    const char text[10] = {'T', static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':', static_cast<char>('0' + m / 10),
                           static_cast<char>('0' + m % 10), ':', static_cast<char>('0' + s / 10), static_cast<char>('0' + s % 10), 'Z'};
    out.append(text, sizeof(text));
  }
}

StepTimes::StepTimes(const TimeGrid& grid) : grid_(grid) {
  offsets_.reserve(static_cast<std::size_t>(grid.steps) + 1);
  offsets_.push_back(0);
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    append_utc_time(text_, grid.time_at(t));
    offsets_.push_back(text_.size());
  }
}

void append_csv_text(std::string& out, std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) {
    out += text;
    return;
  }
  out += '"';
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace meterbench
