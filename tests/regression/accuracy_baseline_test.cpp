// Contract: on the fixed, seeded CI scenario (datasets/scenarios/ci.toml) every detector's metrics equal
// those committed in results/baseline.json, exactly. Metrics are ratios of integer counts, so any change in
// what a detector flags shows here. An intended change updates the baseline in the same commit, with the
// reason in the commit message: tools/update_baseline.sh (see results/README.md).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "meterbench/backtest/backtest.hpp"
#include "meterbench/generate/generate_dataset.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

// Lists the leaves that differ, so the failure says what moved and by how much.
void diff(const nlohmann::json& want, const nlohmann::json& got, const std::string& path, std::vector<std::string>& out) {
  if (want.is_object() && got.is_object()) {
    for (const auto& [key, value] : want.items())
      diff(value, got.contains(key) ? got[key] : nlohmann::json(), path + "/" + key, out);
    for (const auto& [key, value] : got.items())
      if (!want.contains(key)) out.push_back(path + "/" + key + ": new, " + value.dump());
    return;
  }
  if (want != got) out.push_back(path + ": baseline " + want.dump() + ", now " + got.dump());
}

TEST(AccuracyBaseline, MetricsOfTheCiScenarioEqualTheCommittedBaseline) {
  const nlohmann::json baseline = nlohmann::json::parse(testing::read_file(testing::source_path("results/baseline.json")));
  testing::ScratchDir dir;
  const Scenario sc = load_scenario(testing::source_path(baseline["scenario"].get<std::string>()));
  {
    const ThreadLimit limit(2);
    generate_dataset(sc, {.out = dir / "ci.h5", .write = {}});
  }
  for (const auto& run : baseline["runs"]) {
    BacktestOptions o;
    o.data = dir / "ci.h5";
    o.model = run["model"].get<std::string>();
    o.settings = run["settings"].get<std::vector<std::string>>();
    o.schedule = schedule_from_string(run["schedule"].get<std::string>());
    o.weeks = run["weeks"].get<std::int64_t>();
    o.out_dir = dir / (o.model + "-" + run["schedule"].get<std::string>());
    o.write_alerts = false;
    const ThreadLimit limit(2);
    const BacktestSummary summary = run_backtest(o);
    ASSERT_TRUE(summary.metrics && summary.baseline_random);
    std::vector<std::string> changes;
    diff(run["metrics"], summary.metrics->to_json(), "metrics", changes);
    diff(run["baseline_random"], summary.baseline_random->report.to_json(), "baseline_random", changes);
    std::string report;
    for (std::size_t i = 0; i < changes.size() && i < 40; ++i) report += "  " + changes[i] + "\n";
    EXPECT_TRUE(changes.empty()) << o.model << " (" << run["schedule"].get<std::string>() << "): " << changes.size()
                                 << " metrics differ from results/baseline.json:\n"
                                 << report << "If the change is intended, run tools/update_baseline.sh and say why in the commit.";
  }
}

}  // namespace
}  // namespace meterbench
