#pragma once
// Usage rows held in memory as columns (a pandas DataFrame's, through the Python module) into the usage matrix
// `ingest` builds from the same rows in a CSV file: the grid runs from the first to the last row's step, a step
// without a row is a gap (NaN), rows of the same series and step are summed in row order (in double, then
// stored as float), and a series' price is the one of its latest priced row by (time, row). Each row's series
// is given by the ranks of its customer and meter ids in sorted order, so series come sorted by customer, then meter.
#include <cstdint>
#include <span>
#include <vector>

#include "meterbench/core/time_grid.hpp"

namespace meterbench {

struct UsageColumns {
  std::span<const std::int32_t> customer;  ///< per row: the rank of its customer id among the sorted distinct ids
  std::span<const std::int32_t> meter;     ///< per row: the rank of its meter id among the sorted distinct ids
  std::span<const std::int64_t> time;      ///< per row: Unix seconds, UTC
  std::span<const double> quantity;
  std::span<const double> price;           ///< per row, NaN = none; empty: no price column
};

struct UsageMatrix {
  /// Per series, ascending: customer rank x meters + meter rank, where meters is 1 + the largest meter rank.
  std::vector<std::int64_t> pairs;
  std::int64_t meters = 0;
  TimeGrid grid;
  std::vector<float> values;   ///< series x steps, row-major; NaN = no row
  std::vector<double> price;   ///< per series; NaN when none of its rows has one
  std::int64_t summed_rows = 0;  ///< rows added to an earlier row of the same series and step
};

/// Throws std::invalid_argument naming the row (0-based) and column for what ingest refuses in a row: a quantity
/// that is not finite, negative or beyond float32; a negative or infinite price; a negative rank; columns of
/// different lengths; no rows; a grid of more than `max_steps` steps; cells whose rows sum beyond float32.
UsageMatrix usage_matrix(const UsageColumns& rows, std::int64_t step_seconds, std::int64_t max_steps);

}  // namespace meterbench
