#include "meterbench/ingest/usage_columns.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace meterbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The row checks of usage_row.cpp, on numbers instead of text.
void check_row(const UsageColumns& rows, std::size_t r) {
  const double q = rows.quantity[r];
  if (!std::isfinite(q)) throw std::invalid_argument(fmt::format("row {}, column 'quantity': {} is not a finite quantity", r, q));
  if (q < 0.0) throw std::invalid_argument(fmt::format("row {}, column 'quantity': {} is a negative quantity", r, q));
  if (std::isinf(static_cast<float>(q)))
    throw std::invalid_argument(fmt::format("row {}, column 'quantity': {} exceeds the largest quantity a dataset stores ({:g}, float32)", r, q,
                                            std::numeric_limits<float>::max()));
  if (!rows.price.empty() && (std::isinf(rows.price[r]) || rows.price[r] < 0.0))
    throw std::invalid_argument(fmt::format("row {}, column 'price': {} is not a price (a non-negative number of USD per unit)", r, rows.price[r]));
  if (rows.customer[r] < 0 || rows.meter[r] < 0) throw std::invalid_argument(fmt::format("row {}: a negative id rank", r));
}

// Series index of every pair code present, in ascending order of the codes: a table over the codes when they are
// dense, else the sorted distinct codes searched.
struct SeriesOfPair {
  std::vector<std::int64_t> pairs;
  std::vector<std::int32_t> dense;  // code -> series, -1 absent; empty when the codes are sparse
  SeriesOfPair(const UsageColumns& rows, std::int64_t meters, std::int64_t customers) {
    const std::size_t n = rows.time.size();
    const std::int64_t codes = customers * meters;
    if (codes <= std::max<std::int64_t>(4 * static_cast<std::int64_t>(n), std::int64_t{1} << 24)) {
      dense.assign(static_cast<std::size_t>(codes), -1);
      for (std::size_t r = 0; r < n; ++r) dense[static_cast<std::size_t>(code(rows, r, meters))] = 0;
      for (std::int64_t c = 0; c < codes; ++c)
        if (dense[static_cast<std::size_t>(c)] == 0) {
          dense[static_cast<std::size_t>(c)] = static_cast<std::int32_t>(pairs.size());
          pairs.push_back(c);
        }
      return;
    }
    pairs.resize(n);
    for (std::size_t r = 0; r < n; ++r) pairs[r] = code(rows, r, meters);
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  }
  static std::int64_t code(const UsageColumns& rows, std::size_t r, std::int64_t meters) { return rows.customer[r] * meters + rows.meter[r]; }
  [[nodiscard]] std::int64_t series(std::int64_t code) const {
    if (!dense.empty()) return dense[static_cast<std::size_t>(code)];
    return std::lower_bound(pairs.begin(), pairs.end(), code) - pairs.begin();
  }
};

// Floor division: a time before 1970 belongs to the step that starts before it, as a date does.
std::int64_t step_of(std::int64_t time, std::int64_t step_seconds) {
  return time / step_seconds - (time % step_seconds < 0 ? 1 : 0);
}

}  // namespace

UsageMatrix usage_matrix(const UsageColumns& rows, std::int64_t step_seconds, std::int64_t max_steps) {
  const std::size_t n = rows.time.size();
  if (rows.customer.size() != n || rows.meter.size() != n || rows.quantity.size() != n || (!rows.price.empty() && rows.price.size() != n))
    throw std::invalid_argument("usage columns of different lengths");
  if (n == 0) throw std::invalid_argument("no usage rows");
  if (step_seconds <= 0) throw std::invalid_argument(fmt::format("the step must be positive, got {} s", step_seconds));
  std::int64_t first = std::numeric_limits<std::int64_t>::max(), last = std::numeric_limits<std::int64_t>::min();
  std::int32_t customers = 0, meters = 0;
  for (std::size_t r = 0; r < n; ++r) {
    check_row(rows, r);
    const std::int64_t s = step_of(rows.time[r], step_seconds);
    first = std::min(first, s);
    last = std::max(last, s);
    customers = std::max(customers, rows.customer[r]);
    meters = std::max(meters, rows.meter[r]);
  }
  UsageMatrix m;
  m.meters = std::int64_t{meters} + 1;
  m.grid = {first * step_seconds, step_seconds, last - first + 1};
  if (m.grid.steps > max_steps)
    throw std::invalid_argument(fmt::format("the rows span {} steps of {} ({} to {}), more than {}", m.grid.steps, format_step(step_seconds),
                                            format_utc_timestamp(first * step_seconds), format_utc_timestamp(last * step_seconds), max_steps));
  SeriesOfPair index(rows, m.meters, std::int64_t{customers} + 1);
  const auto series = static_cast<std::int64_t>(index.pairs.size());
  std::vector<double> sums(static_cast<std::size_t>(series * m.grid.steps), kNaN);
  std::vector<std::int64_t> price_time(static_cast<std::size_t>(series), std::numeric_limits<std::int64_t>::min());
  m.price.assign(static_cast<std::size_t>(series), kNaN);
  for (std::size_t r = 0; r < n; ++r) {
    const std::int64_t s = index.series(SeriesOfPair::code(rows, r, m.meters));
    double& cell = sums[static_cast<std::size_t>(s * m.grid.steps + step_of(rows.time[r], step_seconds) - first)];
    if (std::isnan(cell)) {
      cell = rows.quantity[r] + 0.0;  // "-0" becomes +0, as in ingest
    } else {
      cell += rows.quantity[r];
      ++m.summed_rows;
    }
    // Rows come in order: on a tie of time the later row wins.
    if (!rows.price.empty() && !std::isnan(rows.price[r]) && rows.time[r] >= price_time[static_cast<std::size_t>(s)]) {
      price_time[static_cast<std::size_t>(s)] = rows.time[r];
      m.price[static_cast<std::size_t>(s)] = rows.price[r] + 0.0;
    }
  }
  m.values.resize(sums.size());
  for (std::size_t i = 0; i < sums.size(); ++i) {
    m.values[i] = static_cast<float>(sums[i]);
    if (std::isinf(m.values[i]))
      throw std::invalid_argument(fmt::format("the rows of series {} on {} sum to {:g}, more than the largest quantity a dataset stores ({:g}, float32)",
                                              i / static_cast<std::size_t>(m.grid.steps),
                                              format_utc_timestamp(m.grid.time_at(static_cast<std::int64_t>(i % static_cast<std::size_t>(m.grid.steps)))),
                                              sums[i], std::numeric_limits<float>::max()));
  }
  m.pairs = std::move(index.pairs);
  return m;
}

}  // namespace meterbench
