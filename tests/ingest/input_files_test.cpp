// Contract: several inputs (repeated --csv, a directory, a glob pattern, .gz files) ingest into the same
// dataset bytes as one file holding their rows, whatever order the inputs are given in; inputs must share
// the header; errors name the input file and its own line; nothing is left behind on failure.
#include "meterbench/ingest/input_files.hpp"

#include <zlib.h>

#include <cstring>
#include <stdexcept>

#include <gtest/gtest.h>

#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/csv.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

const std::string kHead = "customer,meter,date,quantity,price\n";
// Three days; series (a, m) has two rows on 01-02 whose sum depends on the order they are added in.
const std::string kDay1 = "a,m,2024-01-01,0.1,1\nb,m,2024-01-01,2,\n";
const std::string kDay2 = "a,m,2024-01-02,0.7,2\nb,m,2024-01-02,3,\na,m,2024-01-02,1e-9,2\n";
const std::string kDay3 = "a,m,2024-01-03,0.3,3\n\"c, inc\",m,2024-01-03,5,\n";

void write_gzip(const fs::path& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
}

// The dataset's ids, values, labels and prices as bytes (provenance such as the input names differs).
std::string dataset_bytes(const fs::path& path) {
  DatasetReader reader(path);
  SeriesBlock b;
  reader.read(0, reader.info().series_count, b);
  std::string bytes(reinterpret_cast<const char*>(b.values.data()), b.values.size() * sizeof(float));
  for (std::int64_t i = 0; i < b.count; ++i) {
    bytes += std::string(b.series[static_cast<std::size_t>(i)].customer()) + "/" + std::string(b.series[static_cast<std::size_t>(i)].meter());
    bytes += std::to_string(b.series[static_cast<std::size_t>(i)].price_per_unit);
  }
  return bytes + std::to_string(reader.info().grid.start_unix_seconds) + "/" + std::to_string(reader.info().grid.steps);
}

IngestSummary ingest_inputs(const fs::path& first, std::vector<fs::path> more, const fs::path& out) {
  return ingest_csv({.csv = first, .more_csv = std::move(more), .out = out});
}

TEST(IngestInputs, AFolderOfDailyFilesGivesTheBytesOfOneFileInAnyOrder) {
  ScratchDir dir;
  testing::write_file(dir / "all.csv", kHead + kDay1 + kDay2 + kDay3);
  fs::create_directories(dir / "days");
  testing::write_file(dir / "days" / "2024-01-01.csv", kHead + kDay1);
  write_gzip(dir / "days" / "2024-01-02.csv.gz", kHead + kDay2);
  testing::write_file(dir / "days" / "2024-01-03.csv", kHead + kDay3.substr(0, kDay3.size() - 1));  // no final line break
  testing::write_file(dir / "days" / "notes.txt", "not an input");
  ingest_inputs(dir / "all.csv", {}, dir / "one.h5");
  const std::string expected = dataset_bytes(dir / "one.h5");

  const IngestSummary folder = ingest_inputs(dir / "days", {}, dir / "folder.h5");
  EXPECT_EQ(folder.rows, 7);
  EXPECT_EQ(folder.summed_rows, 1);
  EXPECT_EQ(dataset_bytes(dir / "folder.h5"), expected);

  ingest_inputs(dir / "days" / "2024-01-03.csv", {dir / "days" / "2024-01-01.csv", dir / "days" / "2024-01-02.csv.gz"}, dir / "reversed.h5");
  EXPECT_EQ(dataset_bytes(dir / "reversed.h5"), expected);
  ingest_inputs((dir / "days" / "2024-01-0*").string(), {}, dir / "glob.h5");
  EXPECT_EQ(dataset_bytes(dir / "glob.h5"), expected);

  // Only the outputs and the inputs remain: the merge of the inputs is temporary.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"all.csv", "days", "folder.h5", "glob.h5", "one.h5", "reversed.h5"}));
}

std::string ingest_error(const ScratchDir& dir, const fs::path& first, std::vector<fs::path> more) {
  try {
    ingest_inputs(first, std::move(more), dir / "out.h5");
  } catch (const std::exception& e) {
    for (const auto& entry : fs::directory_iterator(dir.path()))
      EXPECT_EQ(entry.path().filename().string().find(".inputs.csv.tmp-"), std::string::npos) << entry.path();
    return testing::refusal_message(e, dir, dir / "out.h5");
  }
  return "ingested";
}

TEST(IngestInputs, ErrorsNameTheInputFileAndItsOwnLine) {
  ScratchDir dir;
  testing::write_file(dir / "d1.csv", kHead + kDay1);
  testing::write_file(dir / "d2.csv", kHead + "a,m,2024-01-02,1,\n\"b\nb\",m,2024-01-02,-1,\n");
  write_gzip(dir / "d3.csv.gz", kHead + "a,m,2024-01-03,1,\nc,m,2024-01-03,x,\n");
  testing::write_file(dir / "swapped.csv", "meter,customer,date,quantity,price\nm,a,2024-01-04,1,\n");
  EXPECT_EQ(ingest_error(dir, dir / "d2.csv", {dir / "d1.csv"}),
            "d2.csv:3: column 'quantity': '-1' is a negative quantity (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error(dir, dir / "d3.csv.gz", {dir / "d1.csv"}), "d3.csv.gz:3: column 'quantity': 'x' is not a number (--skip-bad skips such rows)");
  EXPECT_EQ(ingest_error(dir, dir / "d1.csv", {dir / "swapped.csv"}),
            "swapped.csv: its header 'meter,customer,date,quantity,price' differs from the header 'customer,meter,date,quantity,price' of d1.csv "
            "(every input must have the same columns in the same order)");
  EXPECT_NE(ingest_error(dir, dir / "d1.csv", {dir / "." / "d1.csv"}).find("d1.csv: the input is named more than once"), std::string::npos);
  EXPECT_EQ(ingest_error(dir, dir / "none*.csv", {}), "none*.csv: no file matches the pattern");
  fs::create_directories(dir / "empty");
  EXPECT_EQ(ingest_error(dir, dir / "empty", {}), "empty: the directory holds no *.csv or *.csv.gz file");
  testing::write_file(dir / "broken.csv.gz", "not gzip at all");
  EXPECT_EQ(ingest_error(dir, dir / "broken.csv.gz", {dir / "d1.csv"}), "broken.csv.gz: not a readable gzip file (no gzip header)");
  const std::string whole = testing::read_file(dir / "d3.csv.gz");
  testing::write_file(dir / "truncated.csv.gz", whole.substr(0, whole.size() / 2));
  EXPECT_NE(ingest_error(dir, dir / "truncated.csv.gz", {}).find("truncated.csv.gz: not a readable gzip file ("), std::string::npos);
}

}  // namespace
}  // namespace meterbench
