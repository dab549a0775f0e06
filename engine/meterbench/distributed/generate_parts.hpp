#pragma once
// `generate` across processes: each rank generates its contiguous range of series; ranks other
// than 0 stream their blocks to a raw part file (blocks as they are in memory: values, labels, series
// records, events), and rank 0, which writes its own range straight into the dataset, then appends the
// parts in rank order through the same DatasetWriter. The writer's bytes depend only on the data, so the
// file is byte-identical to the one-process file.
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "meterbench/io/dataset.hpp"
#include "meterbench/io/output_file.hpp"

namespace meterbench {

/// `.<name>.parts/` beside an output: where ranks put their parts.
std::filesystem::path parts_directory(const std::filesystem::path& output);

/// Writer of a distributed run: removes `.<output>.tmp-<owner>` beside `output` left by processes of this host
/// that no longer run (the staged output of a killed run, which could not clean up); returns how many.
int remove_stale_temporaries(const std::filesystem::path& output);

/// Removes the parts directory of `output` left by a generate that was killed (its owner no longer runs);
/// throws OutputError when a running generate owns it. Returns whether it removed one.
bool remove_stale_parts_directory(const std::filesystem::path& output);

/// Writer of a distributed generate, before any rank writes a part: removes a killed run's parts directory and
/// creates a fresh one owned by this process.
void claim_parts_directory(const std::filesystem::path& output);

/// Streams blocks of series to a part file (`unplaced`: the generator's count for the block, carried along).
class BlockPartWriter {
 public:
  explicit BlockPartWriter(const std::filesystem::path& path);
  void write(const SeriesBlock& block, std::int64_t unplaced);
  /// Flushes and closes; throws OutputError naming the file when a write failed.
  void finish();

 private:
  std::filesystem::path path_;
  OutputFile out_;
};

/// Reads the blocks of a part file back, in order.
class BlockPartReader {
 public:
  explicit BlockPartReader(const std::filesystem::path& path);
  /// The next block into `block` (reusing its capacity); false at the end. Throws DatasetError on a torn file.
  bool next(SeriesBlock& block, std::int64_t& unplaced);

 private:
  std::filesystem::path path_;
  std::ifstream in_;
};

}  // namespace meterbench
