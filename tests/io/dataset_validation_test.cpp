// Contract: every read of a dataset checks its contents (dataset_validation.hpp). A file edited with plain
// HDF5 calls to break one rule is refused with a DatasetError naming the file, the dataset, the row, the
// step or field and the value; commands on it exit 1 with that message (some used to exit 0 on nonsense,
// or crash in the evaluation).
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <hdf5.h>

#include "meterbench/io/dataset_file.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::contains;
using testing::ScratchDir;

constexpr std::int64_t kSeries = 20;
constexpr std::int64_t kSteps = 30;

// Series i: value i + t/10, one spike (kind 1) on steps 5..6 for every odd series, price 0.5 (NaN for series 3).
void write_valid(const std::filesystem::path& path) {
  DatasetInfo info;
  info.grid = {parse_utc_timestamp("2024-02-01"), kSecondsPerDay, kSteps};
  info.series_count = kSeries;
  info.source = "generated";
  info.tool_version = "test";
  DatasetWriter writer(path, info, {.chunk_series = 8});
  SeriesBlock b;
  b.reset(0, kSeries, kSteps, true);
  for (std::int64_t i = 0; i < kSeries; ++i) {
    for (std::int64_t t = 0; t < kSteps; ++t) b.row(i)[static_cast<std::size_t>(t)] = static_cast<float>(i) + 0.1f * static_cast<float>(t);
    SeriesRecord& r = b.series[static_cast<std::size_t>(i)];
    r.set_ids("c" + std::to_string(i / 2), "m" + std::to_string(i % 2));
    r.price_per_unit = i == 3 ? std::numeric_limits<double>::quiet_NaN() : 0.5;
    if (i % 2 == 1) {
      b.events.push_back({.series = static_cast<std::uint64_t>(i), .start = 5, .end = 6, .effect_end = 6, .size_sigma = 5, .size_units = 2,
                          .impact_usd = 1, .kind = 1});
      b.label_row(i)[5] = b.label_row(i)[6] = 1;
    }
  }
  writer.write(b);
  writer.finish();
}

// Every read a command does: open, all blocks (in pieces of 7 series), values alone, the whole event table.
std::string read_error(const std::filesystem::path& path) {
  try {
    DatasetReader reader(path);
    SeriesBlock block;
    std::vector<float> values;
    for (std::int64_t first = 0; first < kSeries; first += 7) {
      reader.read(first, std::min<std::int64_t>(7, kSeries - first), block);
      reader.read_values(first, std::min<std::int64_t>(7, kSeries - first), values);
    }
    (void)reader.read_all_events();
  } catch (const DatasetError& e) {
    return e.what();
  }
  return "read";
}

// Plain HDF5 edits of one element.
struct Edit {
  hid_t file;
  template <typename T>
  void element(const char* dataset, std::int64_t row, std::int64_t column, hid_t type, T value) const {
    const hid_t d = H5Dopen2(file, dataset, H5P_DEFAULT);
    const hid_t space = H5Dget_space(d);
    const int rank = H5Sget_simple_extent_ndims(space);
    const hsize_t start[2] = {static_cast<hsize_t>(row), static_cast<hsize_t>(column)};
    const hsize_t one[2] = {1, 1};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, one, nullptr);
    const hid_t memory = H5Screate_simple(rank, one, nullptr);
    EXPECT_GE(H5Dwrite(d, type, memory, space, H5P_DEFAULT, &value), 0) << dataset;
    H5Sclose(memory);
    H5Sclose(space);
    H5Dclose(d);
  }
  // One field of a compound row (a memory type with that field alone).
  template <typename T>
  void field(const char* dataset, std::int64_t row, const char* name, hid_t type, T value) const {
    const hid_t compound = H5Tcreate(H5T_COMPOUND, sizeof(T));
    H5Tinsert(compound, name, 0, type);
    element(dataset, row, 0, compound, value);
    H5Tclose(compound);
  }
  void string_attribute(const char* name, const std::string& value) const {
    H5Adelete(file, name);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, value.size() + 1);
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(H5Awrite(a, type, value.c_str()), 0);
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
  }
  void int_attribute(const char* name, std::int64_t value) const {
    const hid_t a = H5Aopen(file, name, H5P_DEFAULT);
    EXPECT_GE(H5Awrite(a, H5T_NATIVE_INT64, &value), 0);
    H5Aclose(a);
  }
};

struct Case {
  const char* name;
  std::function<void(const Edit&)> edit;
  std::string message;  // after "<file>: "
};

std::string edited_error(const ScratchDir& dir, const Case& c) {
  const auto path = dir / (std::string(c.name) + ".h5");
  write_valid(path);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  EXPECT_GE(file, 0);
  c.edit(Edit{file});
  H5Fclose(file);
  return read_error(path);
}

TEST(DatasetValidation, TheValidFileReads) {
  ScratchDir dir;
  write_valid(dir / "valid.h5");
  EXPECT_EQ(read_error(dir / "valid.h5"), "read");  // NaN price (unpriced) is valid
}

TEST(DatasetValidation, EachBrokenRuleIsRefusedNamingTheDatasetRowAndValue) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<Case> cases = {
      {"negative_value", [](const Edit& e) { e.element("values", 9, 4, H5T_NATIVE_FLOAT, -1.18e29f); },
       "/values row 9 step 4: value -1.18e+29 is negative (values are finite and >= 0, NaN for a gap)"},
      {"infinite_value", [&](const Edit& e) { e.element("values", 19, 29, H5T_NATIVE_FLOAT, inf); },
       "/values row 19 step 29: value inf is infinite (values are finite and >= 0, NaN for a gap)"},
      {"label_code", [](const Edit& e) { e.element("labels", 2, 7, H5T_NATIVE_UINT8, std::uint8_t{200}); },
       "/labels row 2 step 7: code 200 is not an anomaly kind (0..13)"},
      {"nan_price_is_fine_negative_is_not", [](const Edit& e) { e.field("series", 4, "price_per_unit", H5T_NATIVE_DOUBLE, -0.5); },
       "/series row 4 field price_per_unit: -0.5 (prices are finite and >= 0, NaN when unknown)"},
      {"duplicate_ids",
       // Every id is 2 bytes (c0..c9, m0, m1): series 12's customer "c6" starts at byte 48 of /series_text.
       [](const Edit& e) { e.element("series_text", 49, 0, H5T_NATIVE_UINT8, static_cast<std::uint8_t>('0')); },
       "series 0 and 12 have the same customer id 'c0' and meter id 'm0' (each pair names one series)"},
      {"empty_id", [](const Edit& e) { e.element("series_text_offsets", 9, 0, H5T_NATIVE_UINT64, std::uint64_t{20}); },
       "/series_text: series 4 has an empty meter id"},
      {"first_event_far_away", [](const Edit& e) { e.field("series", 5, "first_event", H5T_NATIVE_UINT64, std::uint64_t{1'000'000'000'000}); },
       "/series row 5 fields first_event, event_count: rows 1000000000000+1 are outside /events (10 rows)"},
      {"event_count_huge", [](const Edit& e) { e.field("series", 1, "event_count", H5T_NATIVE_UINT32, std::uint32_t{4'000'000'000}); },
       "/series row 1 fields first_event, event_count: rows 0+4000000000 are outside /events (10 rows)"},
      {"first_event_not_contiguous", [](const Edit& e) { e.field("series", 3, "first_event", H5T_NATIVE_UINT64, std::uint64_t{0}); },
       "/series row 3 field first_event: 0, expected 1 (each series' events follow the previous series')"},
      {"event_of_another_series", [](const Edit& e) { e.field("events", 2, "series", H5T_NATIVE_UINT64, std::uint64_t{7}); },
       "/events row 2 field series: 7, but /series row 5 points at it"},
      {"event_past_the_grid", [](const Edit& e) { e.field("events", 0, "effect_end", H5T_NATIVE_INT64, std::int64_t{30}); },
       "/events row 0 (series 1): steps start 5, end 6, effect_end 30 are not 0 <= start <= end <= effect_end < 30"},
      {"event_kind", [](const Edit& e) { e.field("events", 0, "kind", H5T_NATIVE_UINT8, std::uint8_t{14}); },
       "/events row 0 (series 1) field kind: 14 is not an anomaly kind (0..13)"},
      {"event_impact", [](const Edit& e) { e.field("events", 3, "impact_usd", H5T_NATIVE_DOUBLE, -2.0); },
       "/events row 3 (series 7) field impact_usd: -2 (finite and >= 0, NaN when unknown)"},
      {"step", [](const Edit& e) { e.string_attribute("step", "banana"); }, "attribute 'step' is 'banana', not a step such as 1d or 1h"},
      {"start", [](const Edit& e) { e.string_attribute("start", "2024-02-30"); },
       "attribute 'start' is '2024-02-30', not a date: "},
      {"start_unix_seconds", [](const Edit& e) { e.int_attribute("start_unix_seconds", 1706745600 + 3600); },
       "attribute 'start' is '2024-02-01' (1706745600 s) but 'start_unix_seconds' is 1706749200"},
  };
  ScratchDir dir;
  for (const Case& c : cases) {
    const std::string error = edited_error(dir, c);
    const std::string prefix = (dir / (std::string(c.name) + ".h5")).string() + ": ";
    EXPECT_TRUE(error.rfind(prefix + c.message, 0) == 0) << c.name << "\n  got:      " << error << "\n  expected: " << prefix << c.message;
  }
}

// A writer that never finished leaves chunks unwritten. The reader reads unfiltered chunks without a chunk
// cache, where a chunk never written (no fill value) leaves the caller's buffer as it was: a recycled block
// kept the previous block's values and passed for the next series. The file is refused when opened.
TEST(DatasetValidation, AFileWithChunksNeverWrittenIsRefused) {
  ScratchDir dir;
  const auto path = dir / "unfinished.h5";
  {
    DatasetInfo info;
    info.grid = {parse_utc_timestamp("2024-02-01"), kSecondsPerDay, kSteps};
    info.series_count = kSeries;
    info.has_labels = false;
    info.source = "ingested";
    info.tool_version = "test";
    DatasetWriter writer(path, info, {.chunk_series = 8});
    SeriesBlock b;
    b.reset(0, 8, kSteps, false);
    for (std::int64_t i = 0; i < 8; ++i) {
      std::fill(b.row(i).begin(), b.row(i).end(), static_cast<float>(i + 1));
      b.series[static_cast<std::size_t>(i)].set_ids("c" + std::to_string(i), "m");
    }
    writer.write(b);  // the first chunk of 8 series; the writer is then destroyed without finish()
  }
  std::string error = "opened";
  try {
    DatasetReader reader(path);
    SeriesBlock block;
    reader.read(0, 8, block);
    reader.read(8, 8, block);  // the second chunk was never written
    error = block.values[0] == 1.0f ? "series 8 read as series 0's values" : "read";
  } catch (const DatasetError& e) {
    error = e.what();
  }
  EXPECT_EQ(error, path.string() + ": dataset /values has 1 of its 3 chunks written (the file was not finished?)");
}

// The evaluation used to index past its events (SIGSEGV) on these: the commands now exit 1 naming the row.
TEST(DatasetValidation, CommandsExitWithTheMessageOnAnInconsistentFile) {
  ScratchDir dir;
  const Case far{"far", [](const Edit& e) { e.field("series", 5, "first_event", H5T_NATIVE_UINT64, std::uint64_t{1'000'000'000'000}); },
                 ""};
  (void)edited_error(dir, far);
  for (const std::string& command : {"backtest --no-baseline --out " + (dir / "run").string(), "sweep --grid weekly_order=2,3 --out " + (dir / "sweep").string()}) {
    const auto r = testing::run_cli(command + " --data " + (dir / "far.h5").string());
    EXPECT_EQ(r.exit_code, 1) << command << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "far.h5: /series row 5 fields first_event, event_count: rows 1000000000000+1 are outside /events"))
        << r.output;
  }
}

}  // namespace
}  // namespace meterbench
