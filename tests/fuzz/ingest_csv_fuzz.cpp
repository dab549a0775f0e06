// Fuzz target: the input is a usage export; `meterbench ingest` turns it into a dataset, which is then read back
// and checked against the ingest contract (values are gaps or finite non-negative sums, prices likewise, series
// ids are non-empty, distinct and in the engine's order). CsvError, std::invalid_argument (bad options or ids)
// and DatasetError are the expected answers to bad input; anything else, or a broken contract, is a finding.
// The options are fixed, but two of them follow the input's length so that one corpus reaches all of them:
// --skip-bad, and a memory budget so small that the matrix is filled in several passes that read the file
// again. Chunks are tiny, so that rows, quoted line breaks and chunk borders meet often.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz_support.hpp"
#include "meterbench/core/check.hpp"
#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/csv.hpp"
#include "meterbench/io/dataset_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meterbench;
  fuzzing::prepare_process();
  IngestOptions options;
  options.csv = fuzzing::write_input("usage.csv", data, size);
  options.out = fuzzing::scratch_dir() / "usage.h5";
  options.overwrite = true;
  options.chunk_bytes = 64;
  options.skip_bad = (size & 1) != 0;
  options.memory_budget_bytes = (size & 2) != 0 ? std::size_t{4} << 10 : std::size_t{64} << 20;
  try {
    const IngestSummary summary = ingest_csv(options);
    DatasetReader reader(options.out);
    SeriesBlock block;
    reader.read(0, summary.series, block);
    METERBENCH_CHECK(block.count == summary.series && summary.series > 0);
    for (const float v : block.values) METERBENCH_CHECK(std::isnan(v) || (std::isfinite(v) && v >= 0.0f));
    for (std::size_t i = 0; i < block.series.size(); ++i) {
      const SeriesRecord& r = block.series[i];
      METERBENCH_CHECK(!r.customer().empty() && !r.meter().empty());
      METERBENCH_CHECK(std::isnan(r.price_per_unit) || (std::isfinite(r.price_per_unit) && r.price_per_unit >= 0.0));
      if (i > 0) {
        const SeriesRecord& p = block.series[i - 1];
        // In the engine's own order: by the key customer \x1f meter, bytewise.
        const auto key = [](const SeriesRecord& s) { return std::string(s.customer()) + '\x1f' + std::string(s.meter()); };
        METERBENCH_CHECK(key(p) < key(r));
      }
    }
  } catch (const CsvError&) {
  } catch (const DatasetError&) {
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
