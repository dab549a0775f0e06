#pragma once
// Appending formatters for alert rows (alerts.csv of `backtest`, the output of `detect`). alerts.csv can
// hold tens of millions of rows, so fields are appended to one buffer without temporaries, and numbers take
// an exact fast path instead of fmt's general %g (which was a third of the evaluation stage's CPU time).
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "meterbench/core/time_grid.hpp"

namespace meterbench {

/// Room write_g6 needs at `out` (it may store scratch bytes past the text it returns the end of).
inline constexpr std::size_t kG6Room = 16;

/// Writes v as printf("%.6g") / fmt "{:.6g}" would, byte for byte, and returns the end of the text; nothing
/// when v is not finite (an empty CSV cell). Exact: values whose 6-digit rounding the fast path cannot decide
/// with certainty (near a tie, or outside [1e-5, 1e15)) go through fmt. `out` has room for kG6Room bytes.
char* write_g6(char* out, double v);

/// Appends what write_g6 writes.
void append_g6(std::string& out, double v);

/// Appends a Unix time as "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM:SSZ" when it is not at midnight UTC.
void append_utc_time(std::string& out, std::int64_t unix_seconds);

/// The append_utc_time text of every step of a grid, formatted once: alert rows then copy bytes.
class StepTimes {
 public:
  /// Room write() needs at `out` (the longest time text outside the grid, and the fixed-size copy inside).
  static constexpr std::size_t kRoom = 40;

  explicit StepTimes(const TimeGrid& grid);
  /// Writes the time of grid step `step` at `out` and returns the end (steps outside the grid are formatted on
  /// the spot). Inside the grid one fixed-size copy, whatever the text's length: no branch on it.
  char* write(char* out, std::int64_t step) const {
    if (step >= 0 && step < slotted_steps_) {
      const char* slot = text_.data() + static_cast<std::size_t>(step) * kSlot;
      std::memcpy(out, slot, kSlot);
      return out + static_cast<unsigned char>(slot[kSlot - 1]);
    }
    return write_outside(out, step);
  }
  [[nodiscard]] const TimeGrid& grid() const { return grid_; }
  /// Appends what write() writes.
  void append(std::string& out, std::int64_t step) const {
    char text[kRoom];
    out.append(text, static_cast<std::size_t>(write(text, step) - text));
  }

 private:
  static constexpr std::size_t kSlot = 24;  // "YYYY-MM-DDTHH:MM:SSZ" (20) and, in the last byte, its length
  char* write_outside(char* out, std::int64_t step) const;
  TimeGrid grid_;
  std::int64_t slotted_steps_ = 0;  // grid.steps, or 0 when some time does not fit a slot (years past 9999)
  std::vector<char> text_;          // kSlot bytes per step
};

/// Writes a free-text field at `out`, quoted as RFC 4180 asks when it holds a comma, quote or line break, and
/// returns the end. `out` has room for 2 x text.size() + 2 bytes.
char* write_csv_text(char* out, std::string_view text);

/// Appends what write_csv_text writes.
void append_csv_text(std::string& out, std::string_view text);

}  // namespace meterbench
