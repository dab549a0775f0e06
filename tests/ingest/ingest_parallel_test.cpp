// Contract: chunks of the file are parsed in parallel, yet the dataset is the file a serial read writes,
// byte for byte, for any thread count, chunk size and memory budget: records that cross a chunk's end (quoted
// line breaks), blank lines and CRLF ends are read as one scanner reads them; duplicate rows are summed in
// file order; the latest price wins ties by file order; and the error reported is the file's first one,
// with its true line number, however many chunks fail.
#include <cmath>
#include <cstdint>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "meterbench/ingest/ingest.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

// A messy export of `rows` rows: 300 series in random order (some customers quoted with a comma and a doubled
// quote; some notes, a column not read, quoted with a line break inside, as ids may not hold one), many
// duplicate rows, date-times on a daily grid, prices that change and tie, blank lines and CRLF line ends.
// Deterministic (a fixed LCG).
std::string messy_export(int rows) {
  std::string csv = "customer,meter,date,quantity,price,note\n";
  std::uint64_t x = 42;
  const auto next = [&x](std::uint64_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (x >> 33) % n;
  };
  for (int r = 0; r < rows; ++r) {
    const auto s = next(300);
    const std::string customer = s % 7 == 0 ? fmt::format("\"c{}, \"\"inc\"\"\"", s / 3) : fmt::format("c{}", s / 3);
    const std::string note = s % 7 == 0 ? "\"first line\nsecond line\"" : "";
    const auto day = next(40);
    std::string date = day < 28 ? fmt::format("2024-02-{:02d}", day + 1) : fmt::format("2024-03-{:02d}", day - 27);
    if (s % 5 == 0) date += fmt::format("T{}:30:00Z", 10 + next(14));
    const std::string quantity = r % 11 == 0 ? fmt::format("{}.1234567890123", next(1000)) : fmt::format("{}", static_cast<double>(next(100000)) / 100.0);
    const std::string price = s % 4 == 0 ? "" : fmt::format("{}.5", 1 + next(3));
    csv += fmt::format("{},m{},{},{},{},{}{}", customer, s % 3, date, quantity, price, note, r % 17 == 0 ? "\r\n" : "\n");
    if (r % 101 == 0) csv += "\n\r\n";
  }
  return csv;
}

struct Ingested {
  IngestSummary summary;
  std::string bytes;
};

// Ingests dir/usage.csv into a fresh file with `threads` threads; returns the summary and the file's bytes.
Ingested ingest_with(const ScratchDir& dir, int threads, IngestOptions o) {
  const ThreadLimit limit(threads);
  o.csv = dir / "usage.csv";
  o.out = dir / "out.h5";
  o.overwrite = true;
  Ingested run{ingest_csv(o), ""};
  run.bytes = testing::read_file(o.out);
  return run;
}

TEST(IngestParallel, ManyChunksParseAsOneChunk) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", messy_export(6000));
  const Ingested one = ingest_with(dir, 1, {.chunk_bytes = std::size_t{1} << 30});
  EXPECT_EQ(one.summary.rows, 6000);
  EXPECT_GT(one.summary.summed_rows, 500);
  // 1 byte: every line is a chunk, so every quoted line break starts a chunk inside a record.
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{64}, std::size_t{4096}}) {
    for (const int threads : {1, 2, 3}) {
      const Ingested many = ingest_with(dir, threads, {.chunk_bytes = chunk});
      EXPECT_EQ(many.summary.rows, one.summary.rows);
      EXPECT_EQ(many.summary.summed_rows, one.summary.summed_rows);
      EXPECT_EQ(many.summary.observed_steps, one.summary.observed_steps);
      EXPECT_EQ(many.summary.series_without_price, one.summary.series_without_price);
      EXPECT_TRUE(many.bytes == one.bytes) << "chunk " << chunk << ", threads " << threads;
    }
  }
}

// Sums are made in file order in doubles, then rounded to float once, as a serial read does. The values are
// chosen so that order shows: 2^53 + 2^29 (a float rounding tie) + 1 + 1 rounds down to 2^53 in file order
// (each +1 is lost in the double), but 1 + 1 + (2^53 + 2^29) rounds up to 2^53 + 2^30.
TEST(IngestParallel, DuplicateSumsFollowFileOrderForAnyThreadsAndChunks) {
  ScratchDir dir;
  std::string csv = "customer,meter,date,quantity\n";
  for (int d = 1; d <= 9; ++d) {
    csv += fmt::format("c,m,2024-01-0{0},9007199791611904\nc,m,2024-01-0{0},1\nc,m,2024-01-0{0},1\n", d);  // big first: 2^53
    csv += fmt::format("c,n,2024-01-0{0},1\nc,n,2024-01-0{0},1\nc,n,2024-01-0{0},9007199791611904\n", d);  // big last: 2^53 + 2^30
  }
  testing::write_file(dir / "usage.csv", csv);
  const float big_first = 9007199254740992.0f, big_last = 9007200328482816.0f;
  ASSERT_NE(big_first, big_last);
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{40}, std::size_t{1} << 20}) {
    for (const int threads : {1, 2}) {
      const Ingested run = ingest_with(dir, threads, {.chunk_bytes = chunk});
      EXPECT_EQ(run.summary.summed_rows, 36);
      DatasetReader reader(dir / "out.h5");
      SeriesBlock b;
      reader.read(0, 2, b);
      for (std::size_t t = 0; t < 9; ++t) {
        EXPECT_EQ(b.row(0)[t], big_first) << "chunk " << chunk << ", threads " << threads << ", day " << t;
        EXPECT_EQ(b.row(1)[t], big_last) << "chunk " << chunk << ", threads " << threads << ", day " << t;
      }
    }
  }
}

// The budget decides only how the work is done: the rows kept in memory and one fill pass, kept rows and
// several passes over them, or the rows dropped and the file read again per block of series.
TEST(IngestParallel, MemoryBudgetFallbacksWriteTheSameFile) {
  ScratchDir dir;
  testing::write_file(dir / "usage.csv", messy_export(6000));
  const Ingested all = ingest_with(dir, 2, {.chunk_bytes = 1024});
  EXPECT_EQ(all.summary.passes, 1);
  EXPECT_EQ(all.summary.file_reads, 1);
  // Records (16 bytes a row) fit in half of it, but the matrix (13 bytes a cell) does not fit beside them.
  const std::size_t records = 16 * 6000, row_bytes = 13 * static_cast<std::size_t>(all.summary.steps);
  const auto block = static_cast<std::int64_t>(records / row_bytes);
  ASSERT_LT(block, all.summary.series);
  const Ingested passes = ingest_with(dir, 2, {.memory_budget_bytes = 2 * records, .chunk_bytes = 1024});
  EXPECT_EQ(passes.summary.file_reads, 1);
  EXPECT_EQ(passes.summary.passes, (all.summary.series + block - 1) / block);
  EXPECT_TRUE(passes.bytes == all.bytes);
  // Too small to keep the rows: discovery, then one read of the file per block of series.
  const Ingested reread = ingest_with(dir, 2, {.memory_budget_bytes = records, .chunk_bytes = 512});
  EXPECT_GT(reread.summary.passes, 1);
  EXPECT_EQ(reread.summary.file_reads, 1 + reread.summary.passes);
  EXPECT_EQ(reread.summary.summed_rows, all.summary.summed_rows);
  EXPECT_TRUE(reread.bytes == all.bytes);
  const Ingested reread_serial = ingest_with(dir, 1, {.memory_budget_bytes = records, .chunk_bytes = 1});
  EXPECT_TRUE(reread_serial.bytes == all.bytes);
}

std::string error_of(const ScratchDir& dir, const std::string& csv, int threads, std::size_t chunk) {
  testing::write_file(dir / "usage.csv", csv);
  try {
    ingest_with(dir, threads, {.chunk_bytes = chunk});
  } catch (const std::exception& e) {
    std::string message = e.what();
    return message.substr(message.rfind('/') + 1);
  }
  return "ingested";
}

// A file of `rows` good rows (line n + 1 holds row n) with `bad` put in place of some lines.
std::string with_bad_lines(int rows, const std::vector<std::pair<int, std::string>>& bad) {
  std::string csv = "customer,meter,date,quantity,note\n";
  for (int line = 2; line <= rows + 1; ++line) {
    std::string row = fmt::format("c{},m,2024-01-{},{},\n", line % 13, 10 + line % 20, line);
    for (const auto& [at, text] : bad)
      if (at == line) row = text;
    csv += row;
  }
  return csv;
}

TEST(IngestParallel, TheFirstErrorOfTheFileIsReportedWithItsLine) {
  ScratchDir dir;
  // A quoted line break early on: line numbers count it, as a serial read does.
  const std::string quoted = "\"c,d\",m,2024-01-01,1,\"a\nb\"\n";
  const std::string late = with_bad_lines(2000, {{5, quoted}, {1900, "c,m,2024-01-01,x1,\n"}});
  const std::string two = with_bad_lines(2000, {{5, quoted}, {700, "c,m,2024-13-01,1,\n"}, {1900, "c,m,2024-01-01,-1,\n"}});
  const std::string unterminated = with_bad_lines(2000, {{1200, "\"c,m,2024-01-01,1,\n"}, {1500, "c,m,2024-01-01,x,\n"}});
  const std::string nul_id = with_bad_lines(2000, {{5, quoted}, {300, std::string("c\0x,m,2024-01-01,1,\n", 20)}, {1900, "c,m,2024-01-01,x,\n"}});
  const std::string extra_field = with_bad_lines(2000, {{5, quoted}, {400, "c,m,2024-01-01,1,,\n"}, {1900, "c,m,2024-01-01,x,\n"}});
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{100}, std::size_t{5000}, std::size_t{1} << 20}) {
    for (const int threads : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << "chunk " << chunk << ", threads " << threads);
      EXPECT_EQ(error_of(dir, late, threads, chunk), "usage.csv:1901: column 'quantity': 'x1' is not a number (--skip-bad skips such rows)");
      EXPECT_EQ(error_of(dir, two, threads, chunk),
                "usage.csv:701: column 'date': invalid date '2024-13-01': month out of range (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]) (--skip-bad skips such rows)");
      EXPECT_EQ(error_of(dir, unterminated, threads, chunk), "usage.csv:1200: unterminated quoted field");
      EXPECT_EQ(error_of(dir, nul_id, threads, chunk),
                "usage.csv:301: column 'customer': the id 'c\\x00x' holds the control character \\x00 at byte 2; ids must be printable text (--skip-bad skips such rows)");
      EXPECT_EQ(error_of(dir, extra_field, threads, chunk), "usage.csv:401: has 6 fields, the header has 5 (--skip-bad skips such rows)");
    }
  }
}

}  // namespace
}  // namespace meterbench
