// Contract: the parts directory of a distributed generate is claimed by its writer (an owner file naming the
// process and its start time); a later generate removes one whose owner no longer runs, and refuses one whose
// owner still runs.
#include <gtest/gtest.h>

#include "meterbench/distributed/generate_parts.hpp"
#include "meterbench/io/output_path.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

TEST(GenerateParts, AKilledRunsPartsAreRemovedAndALiveRunsAreRefused) {
  ScratchDir dir;
  const auto output = dir / "g.h5";
  const auto parts = parts_directory(output);
  EXPECT_FALSE(remove_stale_parts_directory(output));

  std::filesystem::create_directories(parts);
  testing::write_file(parts / "owner", "99999999-3\n");
  testing::write_file(parts / "generate.rank-1-of-2.bin", "stale");
  EXPECT_TRUE(remove_stale_parts_directory(output));
  EXPECT_FALSE(std::filesystem::exists(parts));

  std::filesystem::create_directories(parts);
  testing::write_file(parts / "owner", testing::parent_staging_tag() + "\n");
  EXPECT_THROW((void)remove_stale_parts_directory(output), OutputError);
  EXPECT_THROW(claim_parts_directory(output), OutputError);
  EXPECT_TRUE(std::filesystem::exists(parts / "owner"));

  std::filesystem::remove_all(parts);
  claim_parts_directory(output);
  EXPECT_EQ(testing::read_file(parts / "owner"), staging_owner_tag() + "\n");
  claim_parts_directory(output);  // this process's own, left by a failed earlier generate: claimed afresh
  EXPECT_EQ(testing::read_file(parts / "owner"), staging_owner_tag() + "\n");
}

}  // namespace
}  // namespace meterbench
