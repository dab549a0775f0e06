#include "meterbench/io/alert_csv.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <iterator>

#include <fmt/format.h>

#include "meterbench/core/check.hpp"


namespace meterbench {

namespace {

constexpr std::array<double, 23> kPow10 = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                           1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// 10^(i - 7): the decimal exponent of a in [1e-5, 1e15) is floor(binary exponent x log10(2)) or one more.
constexpr std::array<double, 24> kPow10From7 = {1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0,  1e1,  1e2,  1e3,  1e4,
                                                1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};

char* write_g6_slow(char* out, double v) { return fmt::format_to(out, "{:.6g}", v); }

// a x 10^(5 - e) with one correctly rounded operation (powers of ten up to 1e22 are exact doubles).
double scale_to_six_digits(double a, int e) { return 5 - e >= 0 ? a * kPow10[static_cast<std::size_t>(5 - e)] : a / kPow10[static_cast<std::size_t>(e - 5)]; }

// The six decimal digits of n in [100000, 999999] as byte values 0-9, the first digit in the lowest byte.
std::uint64_t digit_bytes(std::uint32_t n) {
  const std::uint32_t hi = n / 1000, lo = n % 1000;  // two independent three-digit halves
  const auto three = [](std::uint32_t x) {
    const std::uint32_t h = x / 100, t = x / 10 % 10, u = x % 10;
    return static_cast<std::uint64_t>(h) | static_cast<std::uint64_t>(t) << 8 | static_cast<std::uint64_t>(u) << 16;
  };
  return three(hi) | three(lo) << 24;
}

}  // namespace

char* write_g6(char* out, double v) {
  if (!std::isfinite(v)) return out;
  const double a = std::fabs(v);
  if (a == 0.0) {  // about a fifth of the lower bounds (clamped at zero)
    if (std::signbit(v)) *out++ = '-';
    *out++ = '0';
    return out;
  }
  if (!(a >= 1e-5 && a < 1e15)) return write_g6_slow(out, v);  // tiny and huge values: rare, leave them to fmt
  // Decimal exponent e (a in [10^e, 10^(e+1))) from the binary one, corrected by the scaled value's range.
  const int binary_exponent = static_cast<int>((std::bit_cast<std::uint64_t>(a) >> 52) & 0x7FF) - 1023;
  int e = (binary_exponent * 78913) >> 18;  // floor(binary_exponent x log10(2)) for |binary_exponent| < 2^11, no libm call
  e += a >= kPow10From7[static_cast<std::size_t>(e + 8)] ? 1 : 0;  // e or e + 1: decided without a branch (the checks below stay)
  double p = scale_to_six_digits(a, e);
  if (p >= 1e6) p = scale_to_six_digits(a, ++e);
  if (p < 1e5) p = scale_to_six_digits(a, --e);
  // p carries at most half an ulp (< 2^-32 below 2^20) of error: when its fraction is this far from one half,
  // rounding to the nearest integer is what exact decimal rounding gives; otherwise let fmt decide.
  const auto whole = static_cast<std::int64_t>(p);
  const double fraction = p - static_cast<double>(whole);
  if (!(p >= 1e5 - 0.5 && p < 1e6) || std::fabs(fraction - 0.5) < 1e-8) return write_g6_slow(out, v);
  auto digits = static_cast<std::uint32_t>(whole + (fraction > 0.5 ? 1 : 0));
  if (digits >= 1'000'000) {
    digits /= 10;
    ++e;
  } else if (digits < 100'000) {
    return write_g6_slow(out, v);
  }
  *out = '-';
  out += v < 0 ? 1 : 0;
  const std::uint64_t values = digit_bytes(digits);
  const int last = (63 - std::countl_zero(values)) >> 3;  // last significant digit (%g without '#' drops trailing zeros)
  const std::uint64_t ascii = values + 0x0000303030303030ULL;  // little-endian: the first digit is stored first
  if (e >= 0 && e < 6) {  // d.ddddd to ddddd.d and dddddd: the point after digit e, dropped when nothing follows
    const int shift = 8 * (e + 1);
    const std::uint64_t low = (std::uint64_t{1} << shift) - 1;
    const std::uint64_t word = (ascii & low) | std::uint64_t{'.'} << shift | (ascii & ~low) << 8;
    std::memcpy(out, &word, sizeof(word));
    return out + (last > e ? last + 2 : e + 1);
  }
  if (e < 0 && e >= -4) {  // 0.000dddddd: leading zeros, then the digits
    std::memcpy(out, "0.000000", 8);
    std::memcpy(out + 1 - e, &ascii, sizeof(ascii));
    return out + 2 - e + last;
  }
  char d[8];
  std::memcpy(d, &ascii, sizeof(d));
  *out++ = d[0];
  if (last > 0) {
    *out++ = '.';
    for (int i = 1; i <= last; ++i) *out++ = d[i];
  }
  *out++ = 'e';
  *out++ = e < 0 ? '-' : '+';
  const int x = e < 0 ? -e : e;
  *out++ = static_cast<char>('0' + x / 10);
  *out++ = static_cast<char>('0' + x % 10);
  return out;
}

void append_g6(std::string& out, double v) {
  char text[kG6Room];
  out.append(text, static_cast<std::size_t>(write_g6(text, v) - text));
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

StepTimes::StepTimes(const TimeGrid& grid) : grid_(grid), text_(static_cast<std::size_t>(std::max<std::int64_t>(grid.steps, 0)) * kSlot) {
  std::string time;
  for (std::int64_t t = 0; t < grid.steps; ++t) {
    time.clear();
    append_utc_time(time, grid.time_at(t));
    if (time.size() >= kSlot) {  // years 0 to 9999 take 20 bytes at most; others are formatted on the spot
      text_.clear();
      return;
    }
    char* slot = text_.data() + static_cast<std::size_t>(t) * kSlot;
    std::memcpy(slot, time.data(), time.size());
    slot[kSlot - 1] = static_cast<char>(time.size());
  }
  slotted_steps_ = grid.steps;
}

char* StepTimes::write_outside(char* out, std::int64_t step) const {
  std::string time;
  append_utc_time(time, grid_.time_at(step));
  METERBENCH_CHECK(time.size() <= kRoom);
  std::memcpy(out, time.data(), time.size());
  return out + time.size();
}

char* write_csv_text(char* out, std::string_view text) {
  unsigned special = 0;  // without early exit or memchr calls: ids are short
  for (const char c : text) special |= static_cast<unsigned>((c == ',') | (c == '"') | (c == '\n') | (c == '\r'));
  if (special == 0) {
    if (!text.empty()) std::memcpy(out, text.data(), text.size());  // an empty view may hold a null pointer
    return out + text.size();
  }
  *out++ = '"';
  for (const char c : text) {
    if (c == '"') *out++ = '"';
    *out++ = c;
  }
  *out++ = '"';
  return out;
}

void append_csv_text(std::string& out, std::string_view text) {
  if (text.size() <= 256) {
    char buffer[2 * 256 + 2];
    out.append(buffer, static_cast<std::size_t>(write_csv_text(buffer, text) - buffer));
    return;
  }
  std::string buffer(2 * text.size() + 2, '\0');
  out.append(buffer.data(), static_cast<std::size_t>(write_csv_text(buffer.data(), text) - buffer.data()));
}

}  // namespace meterbench
