// `meterbench capacity` through the CLI: a tiny real measurement writes a complete document; --from reuses
// measurements without running; the figure is drawn; bad questions and existing outputs are refused.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "meterbench/capacity/capacity_run.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::run_cli;
using testing::ScratchDir;

// A capacity.json holding synthetic measurements (wall = 0.5 + series x 40 us / (threads x 0.9)).
std::filesystem::path write_fixture(const ScratchDir& dir) {
  CapacityMeasurement m;
  m.scenario = "datasets/scenarios/default.toml";
  m.model = "gam";
  for (const std::int64_t series : {10'000, 100'000})
    for (const int threads : {1, 2}) {
      CapacityPoint p;
      p.series = series;
      p.threads = threads;
      p.wall_seconds = 0.5 + static_cast<double>(series) * 40e-6 / (threads == 1 ? 1.0 : 1.8);
      p.read_seconds = 0.01 * static_cast<double>(series) / 10'000;
      p.file_bytes = static_cast<std::uint64_t>(series) * 4000;
      p.peak_rss_bytes = 200u << 20;
      m.runs.push_back(p);
    }
  m.merge = {73'000, 1e-6, 2e-6};
  const auto path = dir / "fixture.json";
  std::ofstream(path) << nlohmann::json{{"measurement", to_json(m)}}.dump();
  return path;
}

nlohmann::json read_json(const std::filesystem::path& p) { return nlohmann::json::parse(testing::read_file(p)); }

TEST(CapacityCli, ReusesMeasurementsAndAnswers) {
  const ScratchDir dir;
  const auto fixture = write_fixture(dir);
  const auto out = dir / "capacity.json";
  const auto r = run_cli("capacity --from " + fixture.string() + " --series 50000000 --window 2h --cores-per-machine 2 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // 50M x 40 us = 2000 core-seconds: one core fits in 7200 - 0.5 s.
  EXPECT_NE(r.output.find("one machine would need 1 cores"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("assumptions:"), std::string::npos);
  const auto doc = read_json(out);
  EXPECT_EQ(doc["format"], "meterbench-capacity");
  EXPECT_NEAR(doc["model"]["seconds_per_series_per_core"].get<double>(), 40e-6, 1e-12);
  EXPECT_NEAR(doc["model"]["parallel_efficiency"].get<double>(), 0.9, 1e-9);
  EXPECT_EQ(doc["answer"]["machines"], 1);
  EXPECT_FALSE(doc["assumptions"].empty());
  EXPECT_FALSE(doc["curve"].empty());

  // A tighter window and given machines: 2000 core-s in 10 min on 4 machines of 2 cores at E = 0.9.
  const auto out2 = dir / "k.json";
  const auto r2 = run_cli("capacity --from " + fixture.string() + " --series 50000000 --window 10m --machines 4 --cores-per-machine 2 --out " + out2.string());
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  const auto a = read_json(out2)["answer"];
  EXPECT_EQ(a["machines"], 4);
  EXPECT_TRUE(a["feasible"].get<bool>());
  EXPECT_NEAR(a["compute_seconds"].get<double>(), 2000.0 / (4 * 2 * 0.9), 1e-6);
  EXPECT_GT(a["communication_seconds"].get<double>(), 0.0);

  // An existing output is not replaced without --force.
  const auto again = run_cli("capacity --from " + fixture.string() + " --series 100 --window 1h --out " + out.string());
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find(out.string()), std::string::npos) << again.output;
  EXPECT_EQ(run_cli("capacity --from " + fixture.string() + " --series 100 --window 1h --force --out " + out.string()).exit_code, 0);
}

TEST(CapacityCli, DrawsTheFigure) {
  const ScratchDir dir;
  const auto fixture = write_fixture(dir);
  const auto png = dir / "capacity.png";
  const auto r = run_cli("capacity --from " + fixture.string() + " --series 1e8 --window 2h --out " + (dir / "c.json").string() + " --figure " + png.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string bytes = testing::read_file(png);
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  const auto be32 = [&](std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) | (static_cast<unsigned char>(bytes[at + 1]) << 16) |
           (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
  };
  EXPECT_EQ(be32(16), 1100u);  // width, 11 in x 100 dpi
  EXPECT_EQ(be32(20), 450u);   // height
}

TEST(CapacityCli, MeasuresATinyPopulationEndToEnd) {
  const ScratchDir dir;
  const auto scenario = dir / "s.toml";
  testing::write_file(scenario, testing::small_scenario(64, 400));
  const auto out = dir / "capacity.json";
  const auto r = run_cli("capacity --scenario " + scenario.string() + " --days 400 --sizes 100,300 --thread-counts 1,2 --series 1e6 --window 1h --work " +
                         (dir / "work").string() + " --out " + out.string() + " --log-level warn");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto doc = read_json(out);
  const auto& runs = doc["measurement"]["runs"];
  ASSERT_EQ(runs.size(), 4u);
  for (const auto& run : runs) {
    EXPECT_GT(run["wall_seconds"].get<double>(), 0.0);
    EXPECT_GT(run["file_bytes"].get<double>(), 0.0);
    EXPECT_GT(run["peak_rss_bytes"].get<double>(), 0.0);
  }
  EXPECT_GT(doc["measurement"]["merge"]["bytes"].get<double>(), 0.0);
  EXPECT_TRUE(doc["measurement"]["context"].contains("tool_version"));
  EXPECT_TRUE(doc["measurement"]["context"].contains("libraries"));
  EXPECT_TRUE(doc.contains("answer"));
}

TEST(CapacityCli, RefusesBadInput) {
  const ScratchDir dir;
  const auto fixture = write_fixture(dir);
  const std::string base = "capacity --from " + fixture.string() + " --out " + (dir / "o.json").string() + " ";
  struct Case {
    std::string args, expected;
  };
  for (const Case& c : {Case{"--series 0 --window 2h", "--series must be positive"},
                        Case{"--series 1000 --window 2x", "bad --window '2x'"},
                        Case{"--series 1000 --window soon", "bad --window 'soon'"},
                        Case{"--series 1000 --window 2h --schedule monthly", "unknown schedule 'monthly'"},
                        Case{"--series 1000 --window 2h --schedule weekly", "differs from the schedule measured"},
                        Case{"--series 1000 --window 2h --cores-per-machine -1", "--cores-per-machine must be >= 1"},
                        Case{"--series 1000 --window 2h --machines -2", "--machines must be >= 0"},
                        Case{"--series 1000 --window 2h --threads 0", "threads"}}) {
    const auto r = run_cli(base + c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.args << "\n" << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "o.json"));
  const auto missing = run_cli("capacity --from " + (dir / "nope.json").string() + " --series 10 --window 1h --out " + (dir / "p.json").string());
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("nope.json"), std::string::npos) << missing.output;
  const auto bad_sizes = run_cli("capacity --sizes 0,10 --series 10 --window 1h --out " + (dir / "q.json").string());
  EXPECT_NE(bad_sizes.exit_code, 0);
  EXPECT_NE(bad_sizes.output.find("--sizes"), std::string::npos) << bad_sizes.output;
}

// The default output lies outside the committed tree: run from the repository root, `meterbench capacity`
// neither fails on nor overwrites the recorded results/capacity.json.
TEST(CapacityCli, DefaultOutputIsOutsideTheCommittedResults) {
  const ScratchDir dir;
  const auto fixture = write_fixture(dir);
  std::filesystem::create_directories(dir / "results");
  testing::write_file(dir / "results" / "capacity.json", "recorded");
  const auto r = testing::run_command("cd '" + dir.path().string() + "' && " + METERBENCH_CLI + " capacity --from " + fixture.string() +
                                      " --series 1000000 --window 2h --cores-per-machine 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_json(dir / "out" / "capacity" / "capacity.json")["format"], "meterbench-capacity");
  EXPECT_EQ(testing::read_file(dir / "results" / "capacity.json"), "recorded");
  EXPECT_TRUE(testing::contains(testing::read_file(testing::source_path(".gitignore")), "\n/out/\n")) << "git must ignore out/";
}

}  // namespace
}  // namespace meterbench
