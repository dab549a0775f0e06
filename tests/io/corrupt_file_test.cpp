// Contract: a dataset file with corrupt bytes anywhere is either read (the bytes did not matter, or held data
// that passes validation) or refused with a DatasetError; opening and reading it never kills the process.
// Each case runs in a forked child, so that a crash is observed as a signal rather than ending the test.
// (Files of format version 1 fail this: their variable-length string attributes live in the unchecksummed
// global heap, and a damaged heap reference crashes libhdf5.)
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meterbench/io/dataset_file.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

// A small generated dataset, every anomaly kind on.
std::filesystem::path small_dataset(const ScratchDir& dir, const std::string& extra_arguments) {
  testing::write_file(dir / "s.toml", testing::small_scenario(12, 60));
  const auto path = dir / "d.h5";
  const auto r = testing::run_cli("generate --scenario " + (dir / "s.toml").string() + " --out " + path.string() + " " + extra_arguments);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return path;
}

// Opens and reads every part of the file in a child: exit 0 read, 1 refused with a message, 2 refused
// without one; a signal is returned as 128 + its number.
int read_in_child(const std::filesystem::path& path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 0;
    try {
      DatasetReader reader(path);
      SeriesBlock block;
      const std::int64_t n = reader.info().series_count;
      for (std::int64_t first = 0; first < n; first += 5) reader.read(first, std::min<std::int64_t>(5, n - first), block);
      (void)reader.read_all_events();
    } catch (const DatasetError& e) {
      code = std::string(e.what()).find(path.string()) == 0 ? 1 : 2;
    }
    std::exit(code);  // through exit(), so that any library shutdown runs too
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void flip_bytes_everywhere(const std::filesystem::path& path) {
  const std::string original = testing::read_file(path);
  ASSERT_EQ(read_in_child(path), 0);
  const auto damaged = path.parent_path() / "damaged.h5";
  // Every 13th byte of the first 8 KiB (superblock, object headers, attributes, chunk indexes), then about
  // 200 offsets spread over the rest (chunks): each case flips one byte, every third a run of eight.
  std::vector<std::size_t> offsets;
  const std::size_t tail_stride = std::max<std::size_t>(61, original.size() / 200);
  for (std::size_t at = 0; at < original.size(); at += at < 8192 ? 13 : tail_stride) offsets.push_back(at);
  int read = 0, refused = 0;
  for (const std::size_t at : offsets) {
    for (const std::size_t run : {std::size_t{1}, std::size_t{8}}) {
      if (run == 8 && at % 3 != 0) continue;
      std::string bytes = original;
      for (std::size_t k = at; k < std::min(at + run, bytes.size()); ++k) bytes[k] = static_cast<char>(bytes[k] ^ 0x5A);
      testing::write_file(damaged, bytes);
      const int code = read_in_child(damaged);
      ASSERT_TRUE(code == 0 || code == 1) << "flipping " << run << " byte(s) at offset " << at << " of " << path.filename()
                                          << ": child ended with " << code << " (128 + n: signal n)";
      (code == 0 ? read : refused)++;
    }
  }
  EXPECT_GT(refused, 0);
  std::printf("%s: %d damaged copies read, %d refused\n", path.filename().c_str(), read, refused);
}

TEST(CorruptDatasetFile, FlippedBytesAreReadOrRefusedNeverACrash) {
  ScratchDir dir;
  flip_bytes_everywhere(small_dataset(dir, ""));
}

TEST(CorruptDatasetFile, FlippedBytesOfACompressedFileAreReadOrRefusedNeverACrash) {
  ScratchDir dir;
  flip_bytes_everywhere(small_dataset(dir, "--compress 6"));
}

}  // namespace
}  // namespace meterbench
