// Contract: the generated file is bit-identical for any thread count and block size; what it holds is
// consistent (labels match the event table, per-series event offsets are right); the summary counts what
// was written; an existing output is refused and left untouched.
#include <oneapi/tbb/global_control.h>

#include <gtest/gtest.h>

#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

GenerateSummary generate(const Scenario& sc, const std::filesystem::path& out, int threads, std::int64_t block, int compression = 0) {
  const ThreadLimit limit(threads);
  return generate_dataset(sc, {.out = out, .block_series = block, .write = {.chunk_series = 0, .compression_level = compression}});
}

TEST(GenerateDataset, FileIsBitIdenticalForAnyThreadCountAndBlockSize) {
  ScratchDir dir;
  const Scenario sc = parse_scenario(testing::small_scenario(300, 400), "small.toml");
  generate(sc, dir / "t1_b7.h5", 1, 7);
  generate(sc, dir / "t2_b64.h5", 2, 64);
  generate(sc, dir / "t2_b1000.h5", 2, 1000);
  const std::string reference = testing::read_file(dir / "t1_b7.h5");
  ASSERT_GT(reference.size(), 300u * 400u * 4u);
  EXPECT_EQ(reference, testing::read_file(dir / "t2_b64.h5"));
  EXPECT_EQ(reference, testing::read_file(dir / "t2_b1000.h5"));
  // Compressed files too.
  generate(sc, dir / "z1.h5", 1, 5, 4);
  generate(sc, dir / "z2.h5", 2, 77, 4);
  EXPECT_EQ(testing::read_file(dir / "z1.h5"), testing::read_file(dir / "z2.h5"));
}

TEST(GenerateDataset, FileContentIsConsistentAndMatchesTheSummary) {
  ScratchDir dir;
  const Scenario sc = parse_scenario(testing::small_scenario(150, 365), "small.toml");
  const GenerateSummary summary = generate(sc, dir / "d.h5", 2, 16);
  DatasetReader reader(dir / "d.h5");
  EXPECT_EQ(reader.info().series_count, 150);
  EXPECT_EQ(reader.info().grid.steps, 365);
  EXPECT_EQ(reader.info().seed, sc.seed);
  EXPECT_EQ(reader.info().scenario, sc.text);
  EXPECT_EQ(reader.info().source, "generated");
  EXPECT_EQ(reader.event_count(), summary.events);
  SeriesBlock block;
  reader.read(0, 150, block);
  std::array<std::int64_t, kAnomalyKindCount> by_kind{};
  for (std::int64_t i = 0; i < block.count; ++i) {
    std::vector<std::uint8_t> rebuilt(static_cast<std::size_t>(block.steps), 0);
    const SeriesRecord& r = block.series[static_cast<std::size_t>(i)];
    for (std::uint32_t e = 0; e < r.event_count; ++e) {
      const EventRecord& ev = block.events[r.first_event + e];
      ASSERT_EQ(ev.series, static_cast<std::uint64_t>(i));
      std::fill(rebuilt.begin() + ev.start, rebuilt.begin() + ev.end + 1, ev.kind);
      ++by_kind[ev.kind];
    }
    const auto labels = block.label_row(i);
    EXPECT_TRUE(std::equal(rebuilt.begin(), rebuilt.end(), labels.begin())) << "series " << i;
    EXPECT_GT(r.price_per_unit, 0.0);
  }
  EXPECT_EQ(by_kind, summary.events_by_kind);
}

TEST(GenerateDataset, RefusesAnExistingOutputAndLeavesItUntouched) {
  ScratchDir dir;
  testing::write_file(dir / "d.h5", "keep me");
  const Scenario sc = parse_scenario(testing::small_scenario(10, 30), "small.toml");
  EXPECT_THROW(generate(sc, dir / "d.h5", 1, 0), OutputError);
  EXPECT_EQ(testing::read_file(dir / "d.h5"), "keep me");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator{}), 1);
}

TEST(GenerateDataset, HourlyGridIsStoredWithItsStep) {
  ScratchDir dir;
  const Scenario sc = load_scenario(testing::source_path("datasets/scenarios/hourly.toml"));
  Scenario small = sc;
  small.override_size(20, 14, std::nullopt);
  generate(small, dir / "h.h5", 2, 0);
  DatasetReader reader(dir / "h.h5");
  EXPECT_EQ(reader.info().grid.step_seconds, kSecondsPerHour);
  EXPECT_EQ(reader.info().grid.steps, 14 * 24);
  EXPECT_EQ(reader.info().grid.start_unix_seconds, parse_utc_timestamp("2025-01-06"));
}

}  // namespace
}  // namespace meterbench
