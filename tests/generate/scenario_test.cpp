// Contract: every shipped scenario parses; bad scenarios are refused with a message naming the file, the
// line and the key (unknown keys, wrong types, out-of-range values, min > max, absurd sizes).
#include <filesystem>

#include <gtest/gtest.h>

#include "meterbench/generate/scenario.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

std::string parse_error(const std::string& text) {
  try {
    parse_scenario(text, "s.toml");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "parsed";
}

TEST(Scenario, EveryShippedScenarioParses) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::source_path("datasets/scenarios"))) {
    if (entry.path().extension() != ".toml") continue;
    // A scenario for `inject` only (real_injections.toml) has no [population]: the dataset gives it.
    const std::string text = "\n" + testing::read_file(entry.path());
    const bool inject_only = !testing::contains(text, "\n[population]");
    EXPECT_NO_THROW(load_scenario(entry.path(), inject_only ? ScenarioPurpose::inject : ScenarioPurpose::generate)) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 3);
}

TEST(Scenario, DefaultScenarioHasEveryInjectionKind) {
  const Scenario s = load_scenario(testing::source_path("datasets/scenarios/default.toml"));
  EXPECT_EQ(s.grid.step_seconds, kSecondsPerDay);
  EXPECT_EQ(s.grid.steps, 730);
  for (std::size_t k = 1; k < kAnomalyKindCount; ++k)
    if (is_injectable(static_cast<AnomalyKind>(k))) {
      EXPECT_GT(s.injections[k].rate, 0.0) << to_string(static_cast<AnomalyKind>(k));
    }
  EXPECT_DOUBLE_EQ(s.injections[static_cast<std::size_t>(AnomalyKind::unit_error)].factor, 1000.0);
}

TEST(Scenario, HourlyStepMultipliesTheSteps) {
  const Scenario s = parse_scenario("[population]\nseries = 3\ndays = 90\nstep = \"1h\"\n", "h.toml");
  EXPECT_EQ(s.grid.steps, 90 * 24);
  EXPECT_EQ(s.grid.step_seconds, kSecondsPerHour);
}

TEST(Scenario, InjectReadsOnlyInjectionsAndAWarmup) {
  EXPECT_EQ(parse_error("[injections.spike]\nrate = 1\n"), "s.toml: the [population] table is missing");
  const Scenario sc = parse_scenario("[injections]\nwarmup_days = 10\n[injections.spike]\nrate = 2\n", "s.toml", ScenarioPurpose::inject);
  EXPECT_EQ(sc.warmup_days, 10);
  EXPECT_EQ(sc.injections[static_cast<std::size_t>(AnomalyKind::spike)].rate, 2.0);
  EXPECT_FALSE(parse_scenario("[injections.spike]\nrate = 2\n", "s.toml", ScenarioPurpose::inject).warmup_days.has_value());
  EXPECT_THROW(parse_scenario("[injections]\nwarmup_days = -1\n", "s.toml", ScenarioPurpose::inject), ScenarioError);
}

TEST(Scenario, UnknownKeyIsNamedWithItsLine) {
  EXPECT_EQ(parse_error("[population]\nseries = 3\nseriez = 4\n"),
            "s.toml:3: unknown key 'population.seriez' (known keys here: series, days, start, step, seed)");
  EXPECT_EQ(parse_error("[population]\n[injections.spik]\nrate = 1\n"),
            "s.toml:2: unknown key 'injections.spik' (known keys here: spike, dip, level_shift, trend_change, seasonality_change, "
            "unit_error, double_counting, dropped_reporting, stuck_meter, fraud_ramp, gap, stopped_reporting, warmup_days)");
  EXPECT_EQ(parse_error("[population]\n[injections.gap]\nrate = 1\nsize = 3\n"),
            "s.toml:4: unknown key 'injections.gap.size' (known keys here: rate, length)");
  EXPECT_EQ(parse_error("[population]\n[extra]\n"),
            "s.toml:2: unknown key 'extra' (known keys here: population, profiles, level, noise, price, injections)");
}

TEST(Scenario, OutOfRangeValuesAreRefused) {
  struct Case {
    const char* toml;
    const char* message;
  };
  const Case cases[] = {
      {"[population]\n[injections.spike]\nrate = -1\n", "s.toml:3: key 'injections.spike.rate': value -1 is out of range [0, 8766]"},
      {"[population]\n[injections.spike]\nrate = 1\nlength = [5, 2]\n", "s.toml:4: key 'injections.spike.length': min 5 is greater than max 2"},
      {"[population]\n[injections.spike]\nrate = 1\nlength = [1.5, 2]\n", "s.toml:4: key 'injections.spike.length': lengths are whole steps"},
      {"[population]\nseries = 0\n", "s.toml:2: key 'population.series': value 0 is out of range [1, 1000000000]"},
      {"[population]\ndays = \"many\"\n", "s.toml:2: key 'population.days': must be an integer"},
      {"[population]\nstart = \"2024-02-30\"\n",
       "s.toml:2: key 'population.start': invalid date '2024-02-30': day out of range (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z])"},
      {"[population]\nstep = \"7h\"\n", "s.toml:2: key 'population.step': '7h' does not divide a day (use e.g. 1d, 1h, 30min)"},
      {"[population]\n[profiles]\nsteady = 0\n", "s.toml:2: table 'profiles': at least one weight must be positive"},
      {"[population]\n[level]\nmin = 10\nmax = 1\n", "s.toml:2: key 'level.min': min 10 is greater than max 1"},
      {"[population]\ndays = 36600\nstep = \"1min\"\n",
       "s.toml: 36600 days at step 1min make 52704000 steps per series, more than the 10000000 supported"},
  };
  for (const Case& c : cases) EXPECT_EQ(parse_error(c.toml), c.message) << c.toml;
}

TEST(Scenario, SyntaxErrorsAndMissingTablesAreNamed) {
  EXPECT_EQ(parse_error("[population]\nseries = = 3\n").rfind("s.toml:2: TOML syntax error:", 0), 0u);
  EXPECT_EQ(parse_error("[profiles]\nsteady = 1\n"), "s.toml: the [population] table is missing");
  EXPECT_THROW(load_scenario("/nonexistent/scenario.toml"), ScenarioError);
}

TEST(Scenario, CommandLineOverridesAreValidated) {
  Scenario s = parse_scenario("[population]\nseries = 3\n", "s.toml");
  s.override_size(1000, 365, 77);
  EXPECT_EQ(s.series, 1000);
  EXPECT_EQ(s.grid.steps, 365);
  EXPECT_EQ(s.seed, 77u);
  try {
    s.override_size(0, std::nullopt, std::nullopt);
    ADD_FAILURE();
  } catch (const ScenarioError& e) {
    EXPECT_EQ(std::string(e.what()), "s.toml: series must be between 1 and 1000000000, got 0");
  }
}

// Non-ASCII text is valid TOML only inside strings and comments, but toml++'s error path on a malformed value
// scans on across quotes into its Unicode tables (undefined behaviour; a fuzzer found one): scenario files take
// non-ASCII text in comments only, refused elsewhere with its line before toml++ parses.
TEST(Scenario, NonAsciiOutsideCommentsIsRefusedWithItsLine) {
  const std::string refused = "a non-ASCII character outside a comment (scenario files take them only in comments)";
  EXPECT_EQ(parse_error("[population]\nseries = 3\ndays = \xC3\xA9\n"), "s.toml:3: " + refused);
  EXPECT_EQ(parse_error("# caf\xC3\xA9\n[population]\nseries = 3\n\xC3\xA9 = 1\n"), "s.toml:4: " + refused);
  // In strings of every kind too (the fuzzer's input: a malformed value, then ''' and non-ASCII bytes).
  for (const std::string value : {"\"caf\xC3\xA9 \\\" \xC3\xA9\"", "'caf\xC3\xA9'", "\"\"\"a\n\xC3\xA9\"\"\"\"", "'''\xC3\xA9\n'''",
                                  "-lllll.lly'''a\xEF\xAB\xBF" "a"}) {
    const std::string message = parse_error("[population]\nseries = 3\nname = " + value + "\n");
    EXPECT_NE(message.find(refused), std::string::npos) << value << ": " << message;
  }
  // Comments keep any text; strings without it parse on to the scenario's own checks.
  const std::string message = parse_error("# \xE2\x82\xAC caf\xC3\xA9\n[population]\nseries = 3 # \xC3\xA9\nname = 'plain'\n");
  EXPECT_EQ(message.find("non-ASCII"), std::string::npos) << message;
}

}  // namespace
}  // namespace meterbench
