#pragma once
// Reading and writing meterbench datasets in HDF5. All HDF5 calls go through this file, under one lock:
// Debian's libhdf5 is built without thread safety, and the pipelines' serial read and write stages may
// run at the same time on different threads.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include "meterbench/io/dataset.hpp"

namespace meterbench {

/// A file that cannot be read or written as a meterbench dataset; the message names the file and why.
class DatasetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DatasetWriteOptions {
  std::int64_t chunk_series = 0;  ///< series per chunk; 0 = about 1 MiB of values per chunk
  int compression_level = 0;      ///< gzip level 0 (off) .. 9
};

/// Rows per chunk for a series length: about 1 MiB of float32 values, between 1 and 4096 rows.
std::int64_t default_chunk_series(std::int64_t steps);

/// Streams blocks of series, in order, into a new dataset file.
/// The file's bytes depend only on the data, never on how it was cut into blocks: blocks are re-cut into
/// whole chunks and written in a fixed order, and HDF5 object timestamps are off.
class DatasetWriter {
 public:
  DatasetWriter(const std::filesystem::path& path, const DatasetInfo& info, DatasetWriteOptions options = {});
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  /// Appends the next block (its first_series must follow the previous block). Fills series[i].first_event.
  void write(SeriesBlock& block);
  /// Writes what is staged and closes the file; throws unless exactly info.series_count series were written.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Reads blocks of series from a dataset file, validating that it is a meterbench dataset of a supported version.
class DatasetReader {
 public:
  explicit DatasetReader(const std::filesystem::path& path);
  ~DatasetReader();
  DatasetReader(const DatasetReader&) = delete;
  DatasetReader& operator=(const DatasetReader&) = delete;

  [[nodiscard]] const DatasetInfo& info() const;
  [[nodiscard]] const std::filesystem::path& path() const;
  /// Reads series [first, first + count) into `block` (values, labels, series records and their events).
  void read(std::int64_t first, std::int64_t count, SeriesBlock& block);
  /// Reads only /values of series [first, first + count) (count x steps, row-major) into `values`.
  void read_values(std::int64_t first, std::int64_t count, std::vector<float>& values);
  /// Reads only /series of series [first, first + count) into `records` (finding a series by its ids).
  void read_series_records(std::int64_t first, std::int64_t count, std::vector<SeriesRecord>& records);
  /// Every event row of the file (small datasets and tests; streaming code uses read()).
  [[nodiscard]] std::vector<EventRecord> read_all_events();
  [[nodiscard]] std::int64_t event_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meterbench
