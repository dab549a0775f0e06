// Contract: the dataset is readable without meterbench. HDF5's own h5dump (Debian's hdf5-tools) sees the
// documented layout: root attributes, float32 /values and uint8 /labels of N x T, and the compound
// /series and /events tables with the documented fields; and it prints the stored numbers.
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
                                "step_seconds", "series_count", "steps", "has_labels", "source"})
    EXPECT_TRUE(contains(header.output, std::string("ATTRIBUTE \"") + attribute + "\"")) << attribute;
  EXPECT_TRUE(contains(header.output, "DATASET \"values\" {\n      DATATYPE  H5T_IEEE_F32LE\n      DATASPACE  SIMPLE { ( 12, 60 ) / ( 12, 60 ) }"))
      << header.output;
  EXPECT_TRUE(contains(header.output, "DATASET \"labels\" {\n      DATATYPE  H5T_STD_U8LE\n      DATASPACE  SIMPLE { ( 12, 60 ) / ( 12, 60 ) }"));
  for (const char* field : {"\"customer_id\"", "\"meter_id\"", "\"price_per_unit\"", "\"noise_scale\"", "\"first_event\"", "\"event_count\"",
                            "\"profile\"", "\"series\"", "\"kind\"", "\"start\"", "\"end\"", "\"effect_end\"", "\"size_sigma\"",
                            "\"size_units\"", "\"impact_usd\""})
    EXPECT_TRUE(contains(header.output, field)) << field;
  EXPECT_TRUE(contains(header.output, "DATASET \"anomaly_kinds\""));
  EXPECT_TRUE(contains(header.output, "DATASET \"usage_profiles\""));

  const auto format = testing::run_command("h5dump -a /format " + (dir / "d.h5").string());
  EXPECT_TRUE(contains(format.output, "\"meterbench-dataset\"")) << format.output;
  const auto kinds = testing::run_command("h5dump -d /anomaly_kinds " + (dir / "d.h5").string());
  EXPECT_TRUE(contains(kinds.output, "\"fraud_ramp\"")) << kinds.output;
  const auto customer = testing::run_command("h5dump -d /series -s 5 -c 1 " + (dir / "d.h5").string());
  EXPECT_TRUE(contains(customer.output, "\"cust-00000001\"")) << customer.output;  // series 5 = customer 1, meter 1
  EXPECT_TRUE(contains(customer.output, "\"storage-gb-month\"")) << customer.output;
}

}  // namespace
}  // namespace meterbench
