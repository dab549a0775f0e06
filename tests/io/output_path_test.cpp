// Contract: outputs appear under their final name only when committed, and never over an output that appeared
// meanwhile; an existing output is refused unless overwrite was asked, and then the old one stays until the
// new one is in place; a failed, abandoned or interrupted output leaves nothing behind, and what a killed
// process staged is removed by the next run once that process is gone.
#include <sys/wait.h>
#include <unistd.h>

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

TEST(StagedOutput, ReplacesAnExistingMeterbenchDirectoryWhenAsked) {
  ScratchDir dir;
  {
    StagedOutput first(dir / "run", false, OutputKind::directory);
    std::filesystem::create_directories(first.temp_path() / "sub");
    first.commit();
  }
  EXPECT_TRUE(is_meterbench_output_directory(dir / "run")) << "a committed directory carries the marker";
  StagedOutput out(dir / "run", true, OutputKind::directory);
  std::filesystem::create_directories(out.temp_path());
  testing::write_file(out.temp_path() / "summary.json", "{}");
  out.commit();
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "summary.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "run" / "sub"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator{}), 1)
      << "the old output, exchanged to the temporary name, is removed";
}

// A run directory written before the marker existed is recognised by its summary.json or best.json.
TEST(StagedOutput, RecognisesRunDirectoriesByTheirResults) {
  ScratchDir dir;
  for (const char* name : {"backtest", "sweep", "other", "bad_sweep"}) std::filesystem::create_directories(dir / name);
  testing::write_file(dir / "backtest" / "summary.json", R"({"schema_version": 1, "model": {"name": "gam"}})");
  testing::write_file(dir / "sweep" / "best.json", R"({"kind": "sweep"})");
  testing::write_file(dir / "other" / "summary.json", R"({"total": 3})");
  testing::write_file(dir / "bad_sweep" / "best.json", "not json");
  EXPECT_TRUE(is_meterbench_output_directory(dir / "backtest"));
  EXPECT_TRUE(is_meterbench_output_directory(dir / "sweep"));
  EXPECT_FALSE(is_meterbench_output_directory(dir / "other"));
  EXPECT_FALSE(is_meterbench_output_directory(dir / "bad_sweep"));
  EXPECT_FALSE(is_meterbench_output_directory(dir / "missing"));
}

// Placement is exclusive: when another writer put the output in place after this one started, commit fails
// with "exists", the other writer's output stays, and the staged output is removed.
TEST(StagedOutput, CommitRefusesAnOutputThatAppearedMeanwhile) {
  ScratchDir dir;
  for (const bool overwrite : {false, true}) {
    std::filesystem::remove(dir / "flags.csv");
    StagedOutput out(dir / "flags.csv", overwrite);
    testing::write_file(out.temp_path(), "mine");
    testing::write_file(dir / "flags.csv", "the other writer's");
    try {
      out.commit();
      ADD_FAILURE() << "replaced a concurrent writer's output (overwrite " << overwrite << ")";
    } catch (const OutputError& e) {
      EXPECT_NE(std::string(e.what()).find("output '" + (dir / "flags.csv").string() + "' exists: another run wrote it while this one ran"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(testing::read_file(dir / "flags.csv"), "the other writer's");
    EXPECT_FALSE(std::filesystem::exists(out.temp_path()));
  }
}

TEST(StagedOutput, ATrailingSlashNamesTheDirectory) {
  ScratchDir dir;
  StagedOutput out(dir.path().string() + "/run/", false, OutputKind::directory);
  EXPECT_EQ(out.final_path(), dir / "run");
  EXPECT_EQ(out.temp_path().parent_path(), dir.path());
}

TEST(StagedOutput, TheTemporaryNameCarriesThePidAndItsStartTime) {
  ScratchDir dir;
  StagedOutput out(dir / "x.h5", false);
  const std::string tag = staging_owner_tag();
  EXPECT_EQ(out.temp_path().filename().string(), ".x.h5.tmp-" + tag);
  EXPECT_EQ(tag.substr(0, tag.find('-')), std::to_string(::getpid()));
  EXPECT_NE(tag.find('-'), std::string::npos);
  EXPECT_TRUE(staging_owner_alive(tag));
  const std::string recycled = std::to_string(::getpid()) + "-1";  // this pid, but a process started at another time
  EXPECT_FALSE(staging_owner_alive(recycled));
}

// A later run removes what processes that are gone staged (also under a recycled pid), never a live one's.
TEST(StagedOutput, ConstructionRemovesOnlyTheStagedOutputsOfProcessesThatAreGone) {
  ScratchDir dir;
  const auto live = dir / (".run.tmp-" + testing::parent_staging_tag());
  const auto recycled = dir / (".run.tmp-" + std::to_string(::getpid()) + "-1");
  const auto gone = dir / ".run.tmp-99999999-5";
  const auto other_output = dir / ".other.tmp-99999999-5";
  for (const auto& p : {live, recycled, gone, other_output}) std::filesystem::create_directories(p);
  StagedOutput out(dir / "run", false, OutputKind::directory);
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_FALSE(std::filesystem::exists(recycled));
  EXPECT_FALSE(std::filesystem::exists(gone));
  EXPECT_TRUE(std::filesystem::exists(other_output));
}

TEST(StagedOutput, InterruptRemovesRegisteredStagedOutputs) {
  // remove_staged_outputs_for_exit ends the process's ability to commit: run it in a child.
  ScratchDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    StagedOutput out(dir / "run", false, OutputKind::directory);
    std::filesystem::create_directories(out.temp_path() / "inner");
    testing::write_file(dir / "part.bin", "part");
    const RemovedOnInterrupt part(dir / "part.bin");
    const auto removed = remove_staged_outputs_for_exit();
    ::_exit(removed.size() == 2 && std::filesystem::is_empty(dir.path()) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
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
