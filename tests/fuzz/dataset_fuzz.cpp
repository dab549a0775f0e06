// Fuzz target: the input is a dataset file (the corpus holds small valid ones; libFuzzer mutates their bytes).
// It is opened with DatasetReader and everything is read: every block of series (values, labels, series records
// and their events), /values alone, and the whole event table. DatasetError is the expected answer to a file
// that is not a valid dataset; anything else is a finding.
#include <algorithm>
#include <cstdint>

#include "fuzz_support.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace {

// A mutated header may announce far more data than the file holds (HDF5 then reads fill values). Reading all of
// it would only measure memory, so large files are read at their first and last blocks: every code path, bounded.
constexpr std::int64_t kBlockCells = std::int64_t{1} << 16;
constexpr std::int64_t kMaxBlocksRead = 16;
constexpr std::int64_t kMaxEventsRead = std::int64_t{1} << 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meterbench;
  fuzzing::prepare_process();
  const std::filesystem::path path = fuzzing::write_input("dataset.h5", data, size);
  try {
    DatasetReader reader(path);
    const DatasetInfo& info = reader.info();
    const std::int64_t block_series = std::max<std::int64_t>(1, kBlockCells / std::max<std::int64_t>(1, info.grid.steps));
    const std::int64_t blocks = (info.series_count + block_series - 1) / block_series;
    SeriesBlock block;
    std::vector<float> values;
    for (std::int64_t b = 0; b < blocks; ++b) {
      if (b == kMaxBlocksRead / 2 && blocks > kMaxBlocksRead) b = blocks - kMaxBlocksRead / 2;
      const std::int64_t first = b * block_series;
      const std::int64_t count = std::min(block_series, info.series_count - first);
      reader.read(first, count, block);
      reader.read_values(first, count, values);
    }
    if (reader.event_count() <= kMaxEventsRead) (void)reader.read_all_events();
  } catch (const DatasetError&) {
  }
  return 0;
}
