#pragma once
// Splitting a dataset's series among processes so each gets a similar amount of work. Fit and evaluation
// cost grow with the observed (non-NaN) points of a series, not with its length, so ranges are balanced by
// observed points: a gappy or short series weighs less than a complete one.
#include <cstdint>
#include <span>
#include <vector>

#include "meterbench/distributed/process_group.hpp"

namespace meterbench {

class DatasetReader;

/// Observed points per bucket of `bucket_series` consecutive series (the last bucket may be shorter).
struct ObservedPoints {
  std::int64_t bucket_series = 1;
  std::vector<std::int64_t> points;  ///< one entry per bucket
};

/// Cuts series [0, n_series) into `parts` contiguous ranges (in order, some possibly empty) of about equal
/// weight. Cuts fall on bucket boundaries: cut k is the boundary whose prefix weight is nearest to
/// k x total / parts (the lower one on ties), so a range is off its share by at most one bucket.
std::vector<SeriesRange> balanced_ranges(const ObservedPoints& weights, std::int64_t n_series, int parts);

/// Collective: the observed points of every bucket of the dataset (at most `max_buckets` buckets). The
/// dataset stores no per-series counts, so they are counted in a first pass over /values, each process
/// reading an equal share of the buckets; an integer sum then gives every process the same table.
/// `value_hashes` (optional): this process's share of the per-series value hashes of the dataset fingerprint
/// (series_value_hash), in series order; the shares are contiguous in rank order.
ObservedPoints count_observed_points(DatasetReader& reader, ProcessGroup& group, std::int64_t max_buckets = 65536,
                                     std::vector<std::uint64_t>* value_hashes = nullptr);

}  // namespace meterbench
