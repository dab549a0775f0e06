// Contract: the dataset is readable without meterbench. HDF5's own h5dump (Debian's hdf5-tools) sees the
// documented layout: root attributes, float32 /values and uint8 /labels of N x T, the compound /series and
// /events tables with the documented fields, the per-series text table (ids and kept dimensions); and it
// prints the stored numbers and text.
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

using testing::contains;

TEST(H5dumpLayout, ForeignToolReadsTheDocumentedLayout) {
  ASSERT_EQ(testing::run_command("command -v h5dump").exit_code, 0) << "h5dump (Debian package hdf5-tools) is required";
  ScratchDir dir;
  testing::write_file(dir / "s.toml", testing::small_scenario(12, 60));
  ASSERT_EQ(testing::run_cli("generate --scenario " + (dir / "s.toml").string() + " --out " + (dir / "d.h5").string()).exit_code, 0);

  const auto header = testing::run_command("h5dump -H " + (dir / "d.h5").string());
  ASSERT_EQ(header.exit_code, 0) << header.output;
  for (const char* attribute : {"format", "format_version", "tool_version", "scenario", "seed", "start", "start_unix_seconds", "step",
                                "step_seconds", "series_count", "steps", "has_labels", "source", "currency", "series_text_columns"})
    EXPECT_TRUE(contains(header.output, std::string("ATTRIBUTE \"") + attribute + "\"")) << attribute;
  EXPECT_TRUE(contains(header.output, "DATASET \"values\" {\n      DATATYPE  H5T_IEEE_F32LE\n      DATASPACE  SIMPLE { ( 12, 60 ) / ( 12, 60 ) }"))
      << header.output;
  EXPECT_TRUE(contains(header.output, "DATASET \"labels\" {\n      DATATYPE  H5T_STD_U8LE\n      DATASPACE  SIMPLE { ( 12, 60 ) / ( 12, 60 ) }"));
  EXPECT_TRUE(contains(header.output, "DATASET \"series_text_offsets\" {\n      DATATYPE  H5T_STD_U64LE\n      DATASPACE  SIMPLE { ( 24 ) / ( 24 ) }"))
      << header.output;  // 12 series x (customer, meter)
  EXPECT_TRUE(contains(header.output, "DATASET \"series_text\" {\n      DATATYPE  H5T_STD_U8LE")) << header.output;
  for (const char* field : {"\"price_per_unit\"", "\"noise_scale\"", "\"first_event\"", "\"event_count\"",
                            "\"profile\"", "\"series\"", "\"kind\"", "\"start\"", "\"end\"", "\"effect_end\"", "\"size_sigma\"",
                            "\"size_units\"", "\"impact_usd\""})
    EXPECT_TRUE(contains(header.output, field)) << field;
  EXPECT_TRUE(contains(header.output, "DATASET \"anomaly_kinds\""));
  EXPECT_TRUE(contains(header.output, "DATASET \"usage_profiles\""));

  const auto format = testing::run_command("h5dump -a /format " + (dir / "d.h5").string());
  EXPECT_TRUE(contains(format.output, "\"meterbench-dataset\"")) << format.output;
  const auto kinds = testing::run_command("h5dump -d /anomaly_kinds " + (dir / "d.h5").string());
  EXPECT_TRUE(contains(kinds.output, "\"fraud_ramp\"")) << kinds.output;
  EXPECT_FALSE(contains(header.output, "\"customer_id\"")) << "ids live in /series_text";
  const auto currency = testing::run_command("h5dump -a /currency " + (dir / "d.h5").string());
  EXPECT_TRUE(contains(currency.output, "\"USD\"")) << currency.output;
  const auto columns = testing::run_command("h5dump -a /series_text_columns " + (dir / "d.h5").string());
  EXPECT_TRUE(contains(columns.output, "(0): \"customer\", \"meter\"")) << columns.output;
  // Series 5 = customer 1, meter 1: cells 10 and 11. Before them, 5 customer ids of 13 bytes and the meters
  // compute-hours, storage-gb-month, api-calls-1k, egress-gb, compute-hours (63 bytes): cell 10 starts at 128.
  const auto offsets = testing::run_command("h5dump -d /series_text_offsets -s 10 -c 3 " + (dir / "d.h5").string());
  EXPECT_TRUE(contains(offsets.output, "(10): 128, 141, 157")) << offsets.output;
  const auto text = testing::run_command("h5dump -d /series_text -s 128 -c 14 " + (dir / "d.h5").string());
  // "cust-00000001" then the "s" of storage-gb-month
  EXPECT_TRUE(contains(text.output, "(128): 99, 117, 115, 116, 45, 48, 48, 48, 48, 48, 48, 48, 49,")) << text.output;
  EXPECT_TRUE(contains(text.output, "115")) << text.output;
}

}  // namespace
}  // namespace meterbench
