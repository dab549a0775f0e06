// Fuzz target: the input is a labels file (customer,meter,start,end[,kind][,verdict]) given to `meterbench
// ingest --labels` beside a small fixed usage export; the dataset is read back with its events. CsvError,
// std::invalid_argument and DatasetError are the expected answers to bad input; anything else is a finding.
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "fuzz_support.hpp"
#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/csv.hpp"
#include "meterbench/io/dataset_file.hpp"

namespace {

// Three series over ten days, with a gap and a quoted id, so that labels can name each of them.
constexpr std::string_view kUsage =
    "customer,meter,date,quantity,price\n"
    "acme,storage,2024-01-01,10,0.5\n"
    "acme,storage,2024-01-02,11,0.5\n"
    "acme,storage,2024-01-10,12,0.5\n"
    "acme,compute,2024-01-03,7,\n"
    "\"beta, inc\",storage,2024-01-05,1,2\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meterbench;
  fuzzing::prepare_process();
  static const std::filesystem::path usage =
      fuzzing::write_input("labels-usage.csv", reinterpret_cast<const std::uint8_t*>(kUsage.data()), kUsage.size());
  IngestOptions options;
  options.csv = usage;
  options.labels = fuzzing::write_input("labels.csv", data, size);
  options.out = fuzzing::scratch_dir() / "labelled.h5";
  options.overwrite = true;
  try {
    const IngestSummary summary = ingest_csv(options);
    DatasetReader reader(options.out);
    SeriesBlock block;
    reader.read(0, summary.series, block);
    (void)reader.read_all_events();
  } catch (const CsvError&) {
  } catch (const DatasetError&) {
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
