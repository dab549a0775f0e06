// Contract: outputs appear under their final name only when committed; an existing output is refused unless
// overwrite was asked; a failed or abandoned output leaves nothing behind.
#include <gtest/gtest.h>

#include "meterbench/io/output_path.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

TEST(StagedOutput, CommitRenamesTheTemporaryFileIntoPlace) {
  ScratchDir dir;
  {
    StagedOutput out(dir / "result.txt", false);
    EXPECT_EQ(out.temp_path().parent_path(), dir.path());
    testing::write_file(out.temp_path(), "done");
    EXPECT_FALSE(std::filesystem::exists(dir / "result.txt"));
    out.commit();
  }
  EXPECT_EQ(testing::read_file(dir / "result.txt"), "done");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator{}), 1);
}

TEST(StagedOutput, AbandonedOutputLeavesNothingBehind) {
  ScratchDir dir;
  {
    StagedOutput out(dir / "result.h5", false);
    testing::write_file(out.temp_path(), "partial");
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(StagedOutput, RefusesAnExistingOutputUnlessOverwriteIsAsked) {
  ScratchDir dir;
  testing::write_file(dir / "old.txt", "precious");
  try {
    StagedOutput out(dir / "old.txt", false);
    ADD_FAILURE() << "accepted an existing output";
  } catch (const OutputError& e) {
    EXPECT_EQ(std::string(e.what()), "output '" + (dir / "old.txt").string() + "' already exists (use --force to replace it)");
  }
  EXPECT_EQ(testing::read_file(dir / "old.txt"), "precious");
  StagedOutput out(dir / "old.txt", true);
  testing::write_file(out.temp_path(), "new");
  out.commit();
  EXPECT_EQ(testing::read_file(dir / "old.txt"), "new");
}

TEST(StagedOutput, ReplacesAnExistingDirectoryWhenAsked) {
  ScratchDir dir;
  std::filesystem::create_directories(dir / "run" / "sub");
  StagedOutput out(dir / "run", true);
  std::filesystem::create_directories(out.temp_path());
  testing::write_file(out.temp_path() / "summary.json", "{}");
  out.commit();
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "summary.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "run" / "sub"));
}

TEST(StagedOutput, RefusesAMissingDirectory) {
  ScratchDir dir;
  try {
    StagedOutput out(dir / "nowhere" / "x.h5", false);
    ADD_FAILURE();
  } catch (const OutputError& e) {
    EXPECT_EQ(std::string(e.what()), "output directory '" + (dir / "nowhere").string() + "' does not exist");
  }
}

TEST(StagedOutput, RefusesWhenTheDiskCannotHoldIt) {
  ScratchDir dir;
  StagedOutput out(dir / "huge.h5", false);
  EXPECT_THROW(out.require_free_space(std::uintmax_t{1} << 62), OutputError);
  EXPECT_NO_THROW(out.require_free_space(1));
}

}  // namespace
}  // namespace meterbench
