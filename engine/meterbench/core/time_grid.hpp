#pragma once
// The regular time grid shared by every series of a population: start instant, step, length.
// All calendar arithmetic is in UTC, in whole seconds since the Unix epoch.
#include <cstdint>
#include <string>
#include <string_view>

namespace meterbench {

inline constexpr std::int64_t kSecondsPerDay = 86'400;
inline constexpr std::int64_t kSecondsPerHour = 3'600;
/// The step_seconds of a calendar-month grid ("1mo"): a month's mean length (365.2425 days / 12). Its
/// instants are the first of each month at midnight (see TimeGrid::time_at), not multiples of this length.
inline constexpr std::int64_t kSecondsPerMonth = 2'629'746;

/// A civil (proleptic Gregorian, UTC) date.
struct CivilDate {
  std::int32_t year = 1970;
  std::int32_t month = 1;  ///< 1..12
  std::int32_t day = 1;    ///< 1..31
};

/// Days since 1970-01-01 for a civil date (exact for every Gregorian date).
std::int64_t days_from_civil(CivilDate date);
/// The civil date of a day count since 1970-01-01.
CivilDate civil_from_days(std::int64_t days);

/// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]][Z]" or with a space for the T (UTC) into Unix seconds;
/// fractions of a second are ignored.
/// Throws std::invalid_argument naming the text when it is not such a date or time.
std::int64_t parse_utc_timestamp(std::string_view text);
/// Formats Unix seconds as "YYYY-MM-DD" when at midnight, else "YYYY-MM-DDTHH:MM:SSZ".
std::string format_utc_timestamp(std::int64_t unix_seconds);
/// Formats Unix seconds as "YYYY-MM-DD".
std::string format_utc_date(std::int64_t unix_seconds);

/// Parses a step such as "1d", "1h", "30min", "15m" into seconds, or "1mo" (a calendar month) into
/// kSecondsPerMonth. Throws std::invalid_argument.
std::int64_t parse_step(std::string_view text);
/// Formats a step in seconds as "1mo" for kSecondsPerMonth, else the shortest of "Nd", "Nh", "Nmin", "Ns".
std::string format_step(std::int64_t step_seconds);

/// The number of the step holding `unix_seconds` on a grid of this step anchored at the epoch: floor(t / step),
/// or for a month step the months since 1970-01.
std::int64_t step_number(std::int64_t unix_seconds, std::int64_t step_seconds);
/// The first instant of step `number` (the inverse of step_number on step starts).
std::int64_t step_start(std::int64_t number, std::int64_t step_seconds);

/// A regular grid of `steps` instants: start + i * step, i in [0, steps).
struct TimeGrid {
  std::int64_t start_unix_seconds = 0;         ///< first instant, UTC
  std::int64_t step_seconds = kSecondsPerDay;  ///< spacing; daily by default
  std::int64_t steps = 0;                      ///< number of instants

  [[nodiscard]] bool monthly() const { return step_seconds == kSecondsPerMonth; }
  [[nodiscard]] std::int64_t time_at(std::int64_t step) const {
    return monthly() ? step_start(step_number(start_unix_seconds, step_seconds) + step, step_seconds) : start_unix_seconds + step * step_seconds;
  }
  /// Fractional days since the Unix epoch at a step: the time axis of seasonal terms.
  [[nodiscard]] double days_at(std::int64_t step) const {
    return static_cast<double>(time_at(step)) / static_cast<double>(kSecondsPerDay);
  }
  /// Steps per day (1 for daily data, 24 for hourly); 0 when a step is longer than a day.
  [[nodiscard]] std::int64_t steps_per_day() const {
    return step_seconds <= kSecondsPerDay && kSecondsPerDay % step_seconds == 0 ? kSecondsPerDay / step_seconds : 0;
  }
  /// Calendar span covered by the grid, in days.
  [[nodiscard]] double span_days() const {
    return static_cast<double>(steps * step_seconds) / static_cast<double>(kSecondsPerDay);
  }
  /// Throws std::invalid_argument when the grid is empty, its step is not positive, or a monthly grid does not
  /// start on the first of a month at midnight.
  void validate() const;
};

/// Calendar coordinates of one instant, as the seasonal terms of models and generators need them.
struct CalendarPoint {
  std::int32_t day_of_week = 0;   ///< 0 = Monday .. 6 = Sunday
  std::int32_t day_of_month = 1;  ///< 1..31
  std::int32_t days_in_month = 31;
  std::int32_t day_of_year = 0;   ///< 0..365
  double hour_of_day = 0.0;       ///< 0 <= h < 24
};
CalendarPoint calendar_at(std::int64_t unix_seconds);

}  // namespace meterbench
