// Contract: meterbench computes the same bits on every x86-64 machine. The CLI runs the CI scenario
// (datasets/scenarios/ci.toml): generate, then a backtest of every detector, retrospective and weekly, with
// --save-bands; once in the default environment and once as a machine without FMA and AVX2 would
// (GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,-AVX2 hides them from glibc's libm, METERBENCH_KERNELS=baseline selects
// the baseline kernels). Every dataset of both HDF5 files and every CSV are compared byte for byte, and
// summary.json's content exactly, less its timing and context fields.
//
// And: the CI scenario's datasets have the content digests committed in results/ci_digests.json (re-recorded by
// tools/update_ci_digests.sh), so that a machine or compiler computing other bits fails with both digests named.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>

#include "regression/hdf5_datasets.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::ScratchDir;

constexpr const char* kPortableEnv = "GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,-AVX2 METERBENCH_KERNELS=baseline ";
const char* const kModels[] = {"gam", "seasonal-mad", "stl-esd", "random"};
const char* const kSchedules[] = {"retrospective", "weekly"};

void run_or_fail(const std::string& env, const std::string& args) {
  const auto r = testing::run_command(env + std::string(METERBENCH_CLI) + " " + args + " --threads 2 --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << env << args << "\n" << r.output;
}

void expect_same_datasets(const std::filesystem::path& a, const std::filesystem::path& b) {
  const auto da = testing::read_datasets(a), db = testing::read_datasets(b);
  ASSERT_FALSE(da.empty()) << a;
  ASSERT_EQ(da.size(), db.size()) << a << " vs " << b;
  for (const auto& [name, bytes] : da) {
    ASSERT_TRUE(db.contains(name)) << name << " missing in " << b;
    EXPECT_TRUE(bytes == db.at(name)) << name << " of " << a.filename() << " differs without FMA/AVX2: digest "
                                      << testing::fnv1a_hex(bytes) << " vs " << testing::fnv1a_hex(db.at(name));
  }
}

nlohmann::json without_timing(nlohmann::json s) {
  for (const char* key : {"context", "peak_rss_bytes", "throughput", "total_wall_seconds"}) s.erase(key);
  s["baseline_random"].erase("cpu_seconds");
  s["baseline_random"].erase("wall_seconds");
  s["dataset"].erase("path");
  return s;
}

TEST(CrossEnvironment, SameBitsWithoutFmaAndAvx2) {
  ScratchDir dir;
  const std::string scenario = testing::source_path("datasets/scenarios/ci.toml").string();
  for (const auto& [tag, env] : {std::pair<std::string, std::string>{"default", ""}, {"portable", kPortableEnv}}) {
    std::filesystem::create_directories(dir / tag);
    run_or_fail(env, "generate --scenario " + scenario + " --out " + (dir / tag / "ci.h5").string());
    for (const char* model : kModels)
      for (const char* schedule : kSchedules)
        run_or_fail(env, "backtest --data " + (dir / tag / "ci.h5").string() + " --model " + model + " --schedule " + schedule +
                             " --weeks 8 --save-bands --out " + (dir / tag / (std::string(model) + "-" + schedule)).string());
  }
  expect_same_datasets(dir / "default" / "ci.h5", dir / "portable" / "ci.h5");
  for (const char* model : kModels)
    for (const char* schedule : kSchedules) {
      const std::string run = std::string(model) + "-" + schedule;
      SCOPED_TRACE(run);
      expect_same_datasets(dir / "default" / run / "bands.h5", dir / "portable" / run / "bands.h5");
      for (const char* csv : {"alerts.csv", "per_kind.csv", "per_size_bucket.csv", "pr_curve.csv"}) {
        if (std::filesystem::exists(dir / "default" / run / csv)) {
          EXPECT_TRUE(testing::read_file(dir / "default" / run / csv) == testing::read_file(dir / "portable" / run / csv)) << csv;
        }
      }
      const auto a = without_timing(nlohmann::json::parse(testing::read_file(dir / "default" / run / "summary.json")));
      const auto b = without_timing(nlohmann::json::parse(testing::read_file(dir / "portable" / run / "summary.json")));
      EXPECT_EQ(a, b) << "summary.json differs without FMA/AVX2";
    }
}

// METERBENCH_UPDATE_DIGESTS=1 (tools/update_ci_digests.sh) rewrites results/ci_digests.json instead of comparing.
TEST(CiDigests, CiScenarioDatasetsMatchCommittedDigests) {
  ScratchDir dir;
  const auto file = testing::source_path("results/ci_digests.json");
  const std::string scenario = "datasets/scenarios/ci.toml";
  run_or_fail("", "generate --scenario " + testing::source_path(scenario).string() + " --out " + (dir / "ci.h5").string());
  nlohmann::json now = nlohmann::json::object();
  for (const auto& [name, bytes] : testing::read_datasets(dir / "ci.h5")) now[name] = testing::fnv1a_hex(bytes);
  const char* update = std::getenv("METERBENCH_UPDATE_DIGESTS");
  if (update != nullptr && std::string(update) == "1") {
    const nlohmann::json out = {{"scenario", scenario},
                                {"digest", "FNV-1a 64 of each dataset's raw bytes in its stored type (attributes excluded)"},
                                {"datasets", now}};
    testing::write_file(file, out.dump(1) + "\n");
    GTEST_SKIP() << "rewrote " << file;
  }
  const auto committed = nlohmann::json::parse(testing::read_file(file));
  ASSERT_EQ(committed["scenario"], scenario);
  for (const auto& [name, digest] : committed["datasets"].items()) {
    ASSERT_TRUE(now.contains(name)) << scenario << ": dataset " << name << " is no longer written";
    EXPECT_EQ(now[name], digest) << scenario << ": dataset " << name << " has digest " << now[name].get<std::string>()
                                 << ", results/ci_digests.json says " << digest.get<std::string>()
                                 << ". This machine computes other bits (or the generator changed: then re-record with "
                                    "tools/update_ci_digests.sh and say why in the commit).";
  }
  for (const auto& [name, digest] : now.items())
    EXPECT_TRUE(committed["datasets"].contains(name)) << "dataset " << name << " (digest " << digest << ") is not in " << file;
}

}  // namespace
}  // namespace meterbench
