#pragma once
// `ingest --date-format`: dates written the way an export writes them, e.g. "%m/%d/%Y" or "%d.%m.%Y %H:%M".
// The format is compiled once into a list of steps; parsing a date then walks that list with no locale,
// allocation or exception, since ingest reads millions of rows per second.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace meterbench::usage_csv {

class DateFormat {
 public:
  /// The strftime-style format: %Y (4-digit year), %m (month 1-12), %b (English month abbreviation, any
  /// case), %d (day), %H (hour 0-23), %M (minute), %S (second), %% (a percent sign); other characters match
  /// themselves. %m %d %H %M %S take one or two digits ("1/5/2024" and "01/05/2024"). It must hold a year
  /// and a month, each once, and at most one day (without one, a date is the first of its month: "%Y-%m"). Throws std::invalid_argument naming the format otherwise.
  explicit DateFormat(std::string_view format);

  /// Unix seconds (UTC) of `text`, or false (out untouched) when the text does not match.
  bool parse(std::string_view text, std::int64_t& unix_seconds) const;
  /// Why `text` does not match, for the error message (call only after parse failed).
  std::string mismatch(std::string_view text) const;

  const std::string& format() const { return format_; }

 private:
  enum class Kind : std::uint8_t { literal, year, month, month_name, day, hour, minute, second };
  struct Step {
    Kind kind;
    char literal;
  };
  // Walks the steps; on failure returns the reason and the character position (0-based), else "".
  const char* match(std::string_view text, std::int64_t& unix_seconds, std::size_t& position) const;

  std::string format_;
  std::vector<Step> steps_;
};

}  // namespace meterbench::usage_csv
