#pragma once
// Appending formatters for alert rows (alerts.csv of `backtest`, the output of `detect`). alerts.csv can
// hold tens of millions of rows, so fields are appended to one buffer without temporaries, and numbers take
// an exact fast path instead of fmt's general %g (which was a third of the evaluation stage's CPU time).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "meterbench/core/time_grid.hpp"

namespace meterbench {

/// Appends v as printf("%.6g") / fmt "{:.6g}" would, byte for byte; nothing when v is not finite (an empty
/// CSV cell). Exact: values whose 6-digit rounding the fast path cannot decide with certainty (near a tie,
/// or outside [1e-5, 1e15)) go through fmt.
void append_g6(std::string& out, double v);

/// Appends a Unix time as "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM:SSZ" when it is not at midnight UTC.
void append_utc_time(std::string& out, std::int64_t unix_seconds);

/// The append_utc_time text of every step of a grid, formatted once: alert rows then copy bytes.
class StepTimes {
 public:
  explicit StepTimes(const TimeGrid& grid);
  /// Appends the time of grid step `step` (steps outside the grid are formatted on the spot).
  void append(std::string& out, std::int64_t step) const {
    if (step >= 0 && static_cast<std::size_t>(step) + 1 < offsets_.size()) {
      const auto k = static_cast<std::size_t>(step);
      out.append(text_.data() + offsets_[k], offsets_[k + 1] - offsets_[k]);
    } else {
      append_utc_time(out, grid_.time_at(step));
    }
  }

 private:
  TimeGrid grid_;
  std::string text_;
  std::vector<std::size_t> offsets_;
};

/// Appends a free-text field, quoted as RFC 4180 asks when it holds a comma, quote or line break.
void append_csv_text(std::string& out, std::string_view text);

}  // namespace meterbench
