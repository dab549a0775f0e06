// Contract (label mpi, built with METERBENCH_MPI): `mpirun -np 2 meterbench backtest` gives the one-process
// run's metrics, fit statuses, fingerprint and alert files exactly (and `detect` its rows, `sweep` its
// sweep.csv and best.json); `mpirun -np 2 meterbench generate` writes a byte-identical file; a rank that
// fails makes the run fail naming the rank and its series, with no run directory and nothing left that
// cannot be resumed; `--resume` then reuses the completed rank's verified part, but not when the dataset's
// content changed at the same path; peak RSS is the largest of the ranks'; too large a sweep is refused by
// every rank; `--save-bands` gives the one-process bands.h5, and a resumed run reuses a pass only with its
// complete bands part.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include <gtest/gtest.h>
#include <hdf5.h>
#include <nlohmann/json.hpp>

#include "support/small_dataset.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

testing::CommandResult mpirun(int ranks, const std::string& arguments) {
  // As root in CI and containers, with more ranks than cores on small machines; shared memory only.
  return testing::run_command(std::string(METERBENCH_MPIEXEC) + " --allow-run-as-root --oversubscribe --mca btl self,vader -np " +
                              std::to_string(ranks) + " " + METERBENCH_CLI + " " + arguments);
}

nlohmann::json summary(const std::filesystem::path& run) { return nlohmann::json::parse(testing::read_file(run / "summary.json")); }

void expect_same_results(const std::filesystem::path& one, const std::filesystem::path& two) {
  const nlohmann::json a = summary(one), b = summary(two);
  ASSERT_FALSE(a["metrics"].is_null());
  EXPECT_EQ(a["metrics"].dump(), b["metrics"].dump());
  EXPECT_EQ(a["baseline_random"]["metrics"].dump(), b["baseline_random"]["metrics"].dump());
  EXPECT_EQ(a["baseline_random"]["flag_rate"], b["baseline_random"]["flag_rate"]);
  EXPECT_EQ(a["fit_status"], b["fit_status"]);
  EXPECT_EQ(a["alerts"], b["alerts"]);
  EXPECT_EQ(a["dataset"], b["dataset"]);
  EXPECT_EQ(b["processes"]["count"], 2);
  for (const char* file : {"alerts.csv", "per_kind.csv", "per_size_bucket.csv", "pr_curve.csv"})
    EXPECT_EQ(testing::read_file(one / file), testing::read_file(two / file)) << file;
}

class MpiRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::generate_small_dataset(dir / "data.h5", 120, 400, 1);
  }
  std::string data() const { return (dir / "data.h5").string(); }
  /// Runs `one_command` in one process, then `two_command` on two ranks; both must succeed. `two_output`
  /// receives the ranks' output.
  static void run_alone_then_on_two_ranks(const std::string& one_command, const std::string& two_command,
                                          std::string* two_output = nullptr) {
    const auto one = testing::run_cli(one_command);
    ASSERT_EQ(one.exit_code, 0) << one.output;
    const auto two = mpirun(2, two_command);
    ASSERT_EQ(two.exit_code, 0) << two.output;
    if (two_output != nullptr) *two_output = two.output;
  }
  /// z.h5: the same population in compressed chunks of 8 series, so one chunk can be corrupted.
  void write_chunked_dataset() const {
    testing::generate_small_dataset(dir / "z.h5", 120, 400, 1, {.chunk_series = 8, .compression_level = 1});
  }
  ScratchDir dir;
};

TEST_F(MpiRunTest, BacktestOnTwoRanksEqualsOneProcess) {
  const auto one = testing::run_cli("backtest --threads 1 --data " + data() + " --out " + (dir / "one").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  // The staged output of a killed run (its process, above pid_max, cannot be running) is removed.
  std::filesystem::create_directories(dir / ".two.tmp-99999999");
  const auto two = mpirun(2, "backtest --threads 1 --data " + data() + " --out " + (dir / "two").string());
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("rank 1: series ["), std::string::npos) << "the plan is logged: " << two.output;
  expect_same_results(dir / "one", dir / "two");
  EXPECT_FALSE(std::filesystem::exists(dir / ".two.parts"));
  EXPECT_FALSE(std::filesystem::exists(dir / ".two.tmp-99999999")) << two.output;
  // Peak RSS: the largest of the ranks', each recorded.
  const nlohmann::json s = summary(dir / "two");
  ASSERT_EQ(s["processes"]["peak_rss_bytes"].size(), 2u);
  const std::int64_t rank0 = s["processes"]["peak_rss_bytes"][0], rank1 = s["processes"]["peak_rss_bytes"][1];
  EXPECT_GT(std::min(rank0, rank1), 0);
  EXPECT_EQ(s["peak_rss_bytes"], std::max(rank0, rank1));
}

// best.json without what differs between two runs by nature (timings, context, the output path in the command).
nlohmann::json best_without_run(const std::filesystem::path& sweep) {
  nlohmann::json b = nlohmann::json::parse(testing::read_file(sweep / "best.json"));
  for (const char* key : {"throughput", "context", "command", "processes"}) b.erase(key);
  return b;
}

TEST_F(MpiRunTest, SweepOnTwoRanksEqualsOneProcess) {
  const std::string args = "sweep --threads 1 --model seasonal-mad --grid weeks=4,8 --grid scale_floor=0.2,0.3 --schedule weekly --weeks 20 "
                           "--data " + data() + " --out ";
  std::string two_output;
  ASSERT_NO_FATAL_FAILURE(run_alone_then_on_two_ranks(args + (dir / "one").string(), args + (dir / "two").string(), &two_output));
  EXPECT_NE(two_output.find("sweep on MPI (2 processes): rank 0: series [0, "), std::string::npos) << two_output;
  const std::string csv = testing::read_file(dir / "one" / "sweep.csv");
  EXPECT_GT(std::count(csv.begin(), csv.end(), '\n'), 20);
  EXPECT_TRUE(csv == testing::read_file(dir / "two" / "sweep.csv")) << "sweep.csv differs";
  const nlohmann::json a = best_without_run(dir / "one"), b = best_without_run(dir / "two");
  ASSERT_FALSE(a["best"].is_null());
  ASSERT_FALSE(a["best"]["random_test"].is_null());
  EXPECT_EQ(a.dump(), b.dump());
  const nlohmann::json two_best = nlohmann::json::parse(testing::read_file(dir / "two" / "best.json"));
  EXPECT_EQ(two_best["processes"]["count"], 2);
  EXPECT_EQ(two_best["throughput"]["series"], 120);
  EXPECT_EQ(two_best["throughput"]["peak_rss_bytes"], std::max(two_best["processes"]["peak_rss_bytes"][0].get<std::int64_t>(),
                                                               two_best["processes"]["peak_rss_bytes"][1].get<std::int64_t>()));
}

TEST_F(MpiRunTest, TooLargeASweepIsRefusedByEveryRankAlike) {
  const auto two = mpirun(2, "sweep --threads 1 --model seasonal-mad --grid weeks=4,8 --max-minutes 0.0000001 --data " + data() + " --out " +
                                 (dir / "two").string());
  EXPECT_NE(two.exit_code, 0);
  EXPECT_NE(two.output.find("sweep too large for --max-minutes 1e-07: 2 grid points x 120 series"), std::string::npos) << two.output;
  EXPECT_EQ(two.output.find("MPI_ABORT"), std::string::npos) << "an agreed refusal, not an abort: " << two.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "two"));
}

TEST_F(MpiRunTest, WeeklyBaselineOnTwoRanksEqualsOneProcess) {
  const std::string args = " --threads 1 --model seasonal-mad --schedule weekly --weeks 8 --data " + data() + " --out ";
  ASSERT_NO_FATAL_FAILURE(run_alone_then_on_two_ranks("backtest" + args + (dir / "one").string(), "backtest" + args + (dir / "two").string()));
  expect_same_results(dir / "one", dir / "two");
}

TEST_F(MpiRunTest, DetectOnTwoRanksWritesTheSameRows) {
  const std::string args = "detect --threads 1 --min-impact 0 --data " + data() + " --out ";
  ASSERT_NO_FATAL_FAILURE(run_alone_then_on_two_ranks(args + (dir / "one.csv").string(), args + (dir / "two.csv").string()));
  const std::string rows = testing::read_file(dir / "one.csv");
  EXPECT_GT(std::count(rows.begin(), rows.end(), '\n'), 100);
  EXPECT_TRUE(rows == testing::read_file(dir / "two.csv")) << "rows differ";
}

TEST_F(MpiRunTest, GenerateOnTwoRanksIsByteIdentical) {
  const std::string args = "generate --threads 1 --scenario " + testing::source_path("datasets/scenarios/ci.toml").string() + " --series 157 --out ";
  const auto one = testing::run_cli(args + (dir / "g1.h5").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  testing::write_file(dir / ".g2.h5.tmp-99999999", "a killed run's staged file");
  const auto two = mpirun(2, args + (dir / "g2.h5").string() + " --block 10");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_FALSE(std::filesystem::exists(dir / ".g2.h5.tmp-99999999"));
  const std::string a = testing::read_file(dir / "g1.h5");
  EXPECT_GT(a.size(), 100000u);
  EXPECT_TRUE(a == testing::read_file(dir / "g2.h5")) << "files differ";
  EXPECT_FALSE(std::filesystem::exists(dir / ".g2.h5.parts"));
}

// Every value of a float32 2-D dataset, as bit patterns (NaN equals NaN), with its dimensions first.
std::vector<std::uint32_t> dataset_bits(const std::filesystem::path& file, const char* dataset) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return {};
  const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
  const hid_t space = H5Dget_space(d);
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space, dims, nullptr);
  std::vector<float> values(dims[0] * dims[1]);
  EXPECT_GE(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  H5Sclose(space), H5Dclose(d), H5Fclose(f);
  std::vector<std::uint32_t> bits = {static_cast<std::uint32_t>(dims[0]), static_cast<std::uint32_t>(dims[1])};
  bits.resize(2 + values.size());
  std::memcpy(bits.data() + 2, values.data(), values.size() * sizeof(float));
  return bits;
}

// bands.h5 of `two` holds the values and attributes of `one`'s.
void expect_same_bands(const std::filesystem::path& one, const std::filesystem::path& two) {
  for (const char* band : {"/expected", "/lower", "/upper", "/score"}) {
    const std::vector<std::uint32_t> a = dataset_bits(one / "bands.h5", band);
    ASSERT_GT(a.size(), 2u) << band;
    EXPECT_EQ(a[0], 120u) << band;
    EXPECT_TRUE(a == dataset_bits(two / "bands.h5", band)) << band << " differs";
  }
  const auto header = [](const std::filesystem::path& run) {
    std::string h = testing::run_command("h5dump -A " + (run / "bands.h5").string()).output;
    return h.substr(h.find('\n'));  // the first line names the file
  };
  EXPECT_EQ(header(one), header(two));
}

TEST_F(MpiRunTest, BandsOnTwoRanksEqualOneProcess) {
  const std::string args = " --threads 1 --save-bands --model seasonal-mad --schedule weekly --weeks 8 --data " + data() + " --out ";
  // Small blocks on the ranks: a rank's blocks and the merge's pieces do not align with the file's chunks.
  ASSERT_NO_FATAL_FAILURE(
      run_alone_then_on_two_ranks("backtest" + args + (dir / "one").string(), "backtest --block 7" + args + (dir / "two").string()));
  expect_same_results(dir / "one", dir / "two");
  expect_same_bands(dir / "one", dir / "two");
  EXPECT_FALSE(std::filesystem::exists(dir / ".two.parts"));
  for (const auto& entry : std::filesystem::directory_iterator(dir / "two")) EXPECT_NE(entry.path().extension(), ".partial") << entry.path();
}

void write_at(const std::filesystem::path& file, haddr_t address, const std::string& bytes) {
  std::FILE* out = std::fopen(file.c_str(), "r+b");
  std::fseek(out, static_cast<long>(address), SEEK_SET);
  std::fwrite(bytes.data(), 1, bytes.size(), out);
  std::fclose(out);
}

// Overwrites the last chunk of a compressed dataset in the file (its bytes no longer inflate); returns
// the original bytes and their offset so the test can repair it.
std::pair<haddr_t, std::string> corrupt_last_chunk(const std::filesystem::path& file, const char* dataset) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
  const hid_t space = H5Dget_space(d);
  hsize_t chunks = 0;
  H5Dget_num_chunks(d, space, &chunks);
  hsize_t offset[2] = {0, 0};
  unsigned mask = 0;
  haddr_t address = 0;
  hsize_t size = 0;
  H5Dget_chunk_info(d, space, chunks - 1, offset, &mask, &address, &size);
  H5Sclose(space), H5Dclose(d), H5Fclose(f);
  std::string original = testing::read_file(file).substr(address, size);
  write_at(file, address, std::string(size, '\xA5'));
  return {address, original};
}

TEST_F(MpiRunTest, FailingRankFailsTheRunAndResumeReusesTheCompletedPart) {
  write_chunked_dataset();
  const std::string z = (dir / "z.h5").string();
  const auto one = testing::run_cli("backtest --threads 1 --data " + z + " --out " + (dir / "one").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  // A bad block in rank 1's series (the labels: the observed-point count reads only the values).
  const auto [address, original] = corrupt_last_chunk(dir / "z.h5", "/labels");
  const std::string run = "backtest --threads 1 --data " + z + " --out " + (dir / "two").string();
  const auto failed = mpirun(2, run);
  EXPECT_NE(failed.exit_code, 0) << failed.output;
  EXPECT_NE(failed.output.find("backtest failed on 1 of 2 processes; rank 1 (series ["), std::string::npos) << failed.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "two")) << "no partial run directory";
  EXPECT_TRUE(std::filesystem::exists(dir / ".two.parts" / "main-pass.rank-0-of-2.json")) << "rank 0's part is kept for --resume";
  EXPECT_TRUE(std::filesystem::exists(dir / ".two.parts" / "alerts.rank-0-of-2.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir / ".two.parts" / "alerts.rank-1-of-2.csv.partial")) << "the failed rank's rows cannot be resumed";
  EXPECT_FALSE(std::filesystem::exists(dir / ".two.parts" / "alerts.rank-1-of-2.csv"));
  // A part that does not verify is not reused: rank 0 runs again (and saves a good part); rank 1 fails again.
  {
    std::FILE* part = std::fopen((dir / ".two.parts" / "alerts.rank-0-of-2.csv").c_str(), "ab");
    std::fputs("tampered\n", part);
    std::fclose(part);
  }
  const auto tampered = mpirun(2, run + " --resume");
  EXPECT_NE(tampered.exit_code, 0) << tampered.output;
  EXPECT_NE(tampered.output.find("saved part not used (alerts part does not match its checksum)"), std::string::npos) << tampered.output;
  // Repaired, the run resumes: rank 0 reuses its verified part, rank 1 runs.
  write_at(z, address, original);
  const auto resumed = mpirun(2, run + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("rank 0 (series [0, "), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("main pass reused from its verified part"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("no saved part, running it"), std::string::npos) << resumed.output;
  expect_same_results(dir / "one", dir / "two");
}

TEST_F(MpiRunTest, ResumeReusesAPassOnlyWithItsCompleteBandsPart) {
  write_chunked_dataset();
  const std::string z = (dir / "z.h5").string();
  const auto one = testing::run_cli("backtest --threads 1 --save-bands --data " + z + " --out " + (dir / "one").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto [address, original] = corrupt_last_chunk(dir / "z.h5", "/labels");  // rank 1 fails
  const std::string run = "backtest --threads 1 --save-bands --data " + z + " --out " + (dir / "two").string();
  const auto failed = mpirun(2, run);
  ASSERT_NE(failed.exit_code, 0) << failed.output;
  const std::filesystem::path parts = dir / ".two.parts";
  EXPECT_TRUE(std::filesystem::exists(parts / "main-pass.rank-0-of-2.json")) << failed.output;
  EXPECT_TRUE(std::filesystem::exists(parts / "bands.rank-0-of-2.h5")) << "rank 0's complete bands part is kept";
  EXPECT_FALSE(std::filesystem::exists(parts / "bands.rank-1-of-2.h5.partial")) << "the failed rank's bands cannot be resumed";
  EXPECT_FALSE(std::filesystem::exists(parts / "bands.rank-1-of-2.h5"));
  // Without its bands part, rank 0's saved pass is not reused: it runs again (rank 1 fails again).
  std::filesystem::remove(parts / "bands.rank-0-of-2.h5");
  const auto without = mpirun(2, run + " --resume");
  EXPECT_NE(without.exit_code, 0) << without.output;
  EXPECT_NE(without.output.find("saved part not used (no complete bands part, or it does not match its checksum)"), std::string::npos)
      << without.output;
  ASSERT_TRUE(std::filesystem::exists(parts / "bands.rank-0-of-2.h5")) << without.output;
  write_at(z, address, original);
  const auto resumed = mpirun(2, run + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("main pass reused from its verified part"), std::string::npos) << resumed.output;
  expect_same_results(dir / "one", dir / "two");
  expect_same_bands(dir / "one", dir / "two");
  EXPECT_FALSE(std::filesystem::exists(parts));
}

// Sets one value of /values (series, step) in place.
void set_value(const std::filesystem::path& file, hsize_t series, hsize_t step, float value) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t d = H5Dopen2(f, "/values", H5P_DEFAULT);
  const hid_t space = H5Dget_space(d);
  const hsize_t start[2] = {series, step}, count[2] = {1, 1};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  const hid_t one = H5Screate_simple(2, count, nullptr);
  EXPECT_GE(H5Dwrite(d, H5T_NATIVE_FLOAT, one, space, H5P_DEFAULT, &value), 0);
  H5Sclose(one), H5Sclose(space), H5Dclose(d), H5Fclose(f);
}

TEST_F(MpiRunTest, ResumeDoesNotReuseAPartOfADatasetThatChangedAtTheSamePath) {
  write_chunked_dataset();
  const std::string z = (dir / "z.h5").string();
  // Rank 1 fails (a bad labels block); rank 0 saves its part.
  const auto [address, original] = corrupt_last_chunk(dir / "z.h5", "/labels");
  const std::string run = "backtest --threads 1 --data " + z + " --out " + (dir / "two").string();
  const auto failed = mpirun(2, run);
  ASSERT_NE(failed.exit_code, 0) << failed.output;
  ASSERT_TRUE(std::filesystem::exists(dir / ".two.parts" / "main-pass.rank-0-of-2.json")) << failed.output;
  write_at(z, address, original);
  // The file at the same path now holds other data: a spike in series 0, which rank 0 covers.
  set_value(dir / "z.h5", 0, 300, 1e6F);
  const auto resumed = mpirun(2, run + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("rank 0 (series [0, "), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("saved part not used (the dataset's content changed since it was saved: fingerprint "), std::string::npos)
      << resumed.output;
  EXPECT_EQ(resumed.output.find("main pass reused"), std::string::npos) << resumed.output;
  const auto one = testing::run_cli("backtest --threads 1 --data " + z + " --out " + (dir / "one").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  expect_same_results(dir / "one", dir / "two");
}

TEST_F(MpiRunTest, FailedDetectLeavesNoParts) {
  write_chunked_dataset();
  corrupt_last_chunk(dir / "z.h5", "/labels");
  const auto failed = mpirun(2, "detect --threads 1 --data " + (dir / "z.h5").string() + " --out " + (dir / "flags.csv").string());
  EXPECT_NE(failed.exit_code, 0) << failed.output;
  EXPECT_NE(failed.output.find("rank 1 (series ["), std::string::npos) << failed.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "flags.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir / ".flags.csv.parts")) << "detect has nothing to resume";
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find(".flags.csv.tmp-"), std::string::npos) << entry.path();
}

}  // namespace
}  // namespace meterbench
