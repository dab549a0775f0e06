// Contract: --skip-bad lists every skipped row in OUT.rejects.csv (file, line, column, reason, the raw
// record), in file order whatever the chunking, naming each input's own file and line; the list is an
// output like the dataset: refused when it exists without --force, and never left behind by a failure.
#include "meterbench/ingest/rejects.hpp"

#include <gtest/gtest.h>

#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/output_path.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

const std::string kBadRows =
    "customer,meter,date,Qty\n"
    "a,m,2024-01-01,1\n"
    "a,m,2024-01-02,-4\n"
    "\"b\nx\",m,2024-01-02,\r\n"
    "a,m,2024-01-03,2\n"
    "\"c, inc\",m,2024-01-03,-1\n"
    "c,m,2024-01-04,1e999\n";

IngestOptions skip_bad_options(const ScratchDir& dir, std::size_t chunk_bytes = std::size_t{8} << 20) {
  return {.csv = dir / "usage.csv", .column_map = {"quantity=Qty"}, .out = dir / "usage.h5", .skip_bad = true, .chunk_bytes = chunk_bytes};
}

TEST(IngestRejects, SkippedRowsAreListedBesideTheOutputWithTheirReasons) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", kBadRows);
  const IngestSummary s = ingest_csv(skip_bad_options(dir));
  EXPECT_EQ(s.skipped_rows, 4);
  const std::string f = (dir / "usage.csv").string();
  const std::string expected = "file,line,column,reason,raw_line\n" + f + ",3,Qty,negative quantity,\"a,m,2024-01-02,-4\"\n" + f +
                               ",4,Qty,empty quantity,\"\"\"b\nx\"\",m,2024-01-02,\"\n" + f + ",7,Qty,negative quantity,\"\"\"c, inc\"\",m,2024-01-03,-1\"\n" +
                               f + ",8,Qty,quantity out of range,\"c,m,2024-01-04,1e999\"\n";
  EXPECT_EQ(testing::read_file(dir / "usage.h5.rejects.csv"), expected);

  // Chunks of a few bytes (rows parsed by many tasks, a quoted line break across a chunk start): the same list.
  ScratchDir small("IngestRejectsSmallChunks");
  testing::write_file(small / "usage.csv", kBadRows);
  ingest_csv(skip_bad_options(small, 7));
  std::string again = testing::read_file(small / "usage.h5.rejects.csv");
  for (auto pos = again.find((small / "").string()); pos != std::string::npos; pos = again.find((small / "").string()))
    again.replace(pos, (small / "").string().size(), (dir / "").string());
  EXPECT_EQ(again, expected);
}

TEST(IngestRejects, RejectsOfMergedInputsNameTheirFileAndLine) {
  ScratchDir dir;
  testing::write_file(dir / "d1.csv", "customer,meter,date,quantity\na,m,2024-01-01,1\n");
  testing::write_file(dir / "d2.csv", "customer,meter,date,quantity\na,m,2024-01-02,1\nb,m,2024-01-02,-1\n");
  ingest_csv({.csv = dir / "d2.csv", .more_csv = {dir / "d1.csv"}, .out = dir / "usage.h5", .skip_bad = true});
  EXPECT_EQ(testing::read_file(dir / "usage.h5.rejects.csv"),
            "file,line,column,reason,raw_line\n" + (dir / "d2.csv").string() + ",3,quantity,negative quantity,\"b,m,2024-01-02,-1\"\n");
}

TEST(IngestRejects, TheRejectsFileIsAnOutputLikeTheDataset) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", kBadRows);
  testing::write_file(dir / "usage.h5.rejects.csv", "kept");
  EXPECT_THROW(ingest_csv(skip_bad_options(dir)), OutputError);
  EXPECT_EQ(testing::read_file(dir / "usage.h5.rejects.csv"), "kept");
  EXPECT_FALSE(fs::exists(dir / "usage.h5"));
  IngestOptions forced = skip_bad_options(dir);
  forced.overwrite = true;
  ingest_csv(forced);
  EXPECT_NE(testing::read_file(dir / "usage.h5.rejects.csv").find("negative quantity"), std::string::npos);

  // Text that cannot be read as CSV rows (an unterminated quote) fails the ingest: neither output remains.
  ScratchDir failing;
  testing::write_file(failing / "usage.csv", kBadRows + "d,\"m,2024-01-01,1\n");
  EXPECT_THROW(ingest_csv(skip_bad_options(failing)), CsvError);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(failing.path())) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"usage.csv"});
}

TEST(IngestRejects, ReasonsAreCountedMostFrequentFirst) {
  const std::vector<usage_csv::RejectedRow> rows = {{"f", 2, "negative quantity", "x", "q"}, {"f", 3, "empty quantity", "y", "q"}, {"f", 4, "negative quantity", "z", "q"}};
  EXPECT_EQ(usage_csv::count_by_reason(rows), "2 negative quantity, 1 empty quantity");
}

}  // namespace
}  // namespace meterbench
