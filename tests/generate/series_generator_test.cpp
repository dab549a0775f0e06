// Contract: a series is a pure function of (scenario, seed, index); its event table matches its labels
// exactly; events never overlap (a guard band keeps them apart); gaps are NaN exactly where recorded; each
// injection kind leaves its documented trace; sizes are in noise-scale units.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "meterbench/generate/series_generator.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

struct GeneratedSeries {
  std::vector<float> values;
  std::vector<std::uint8_t> labels;
  SeriesRecord record;
  std::vector<EventRecord> events;
  std::int64_t unplaced = 0;
};

GeneratedSeries generate_one(const SeriesGenerator& gen, std::int64_t index, GeneratorWorkspace& ws) {
  GeneratedSeries s;
  const auto n = static_cast<std::size_t>(gen.scenario().grid.steps);
  s.values.resize(n);
  s.labels.resize(n);
  s.unplaced = gen.generate(index, ws, s.values, s.labels, s.record, s.events).unplaced_injections;
  return s;
}

class SeriesGeneratorTest : public ::testing::Test {
 protected:
  Scenario scenario = parse_scenario(testing::small_scenario(), "small.toml");
  SeriesGenerator generator{scenario, scenario.seed};
  GeneratorWorkspace ws;
};

TEST_F(SeriesGeneratorTest, EventTableMatchesLabelsExactly) {
  std::int64_t events = 0;
  for (std::int64_t i = 0; i < 300; ++i) {
    const GeneratedSeries s = generate_one(generator, i, ws);
    std::vector<std::uint8_t> rebuilt(s.labels.size(), 0);
    for (const EventRecord& ev : s.events) {
      ASSERT_EQ(ev.series, static_cast<std::uint64_t>(i));
      ASSERT_LE(0, ev.start);
      ASSERT_LE(ev.start, ev.end);
      ASSERT_LT(ev.end, scenario.grid.steps);
      for (std::int64_t t = ev.start; t <= ev.end; ++t) {
        ASSERT_EQ(rebuilt[static_cast<std::size_t>(t)], 0) << "events overlap in series " << i;
        rebuilt[static_cast<std::size_t>(t)] = ev.kind;
      }
    }
    EXPECT_EQ(rebuilt, s.labels) << "series " << i;
    events += static_cast<std::int64_t>(s.events.size());
  }
  EXPECT_GT(events, 300 * 5);  // the small scenario asks for about 15 per series-year: most must be placed
}

TEST_F(SeriesGeneratorTest, EventsAreSortedAndKeptApartByTheGuardBand) {
  for (std::int64_t i = 0; i < 200; ++i) {
    const GeneratedSeries s = generate_one(generator, i, ws);
    for (std::size_t e = 1; e < s.events.size(); ++e)
      EXPECT_GT(s.events[e].start, s.events[e - 1].end + generator.guard_steps()) << "series " << i;
  }
}

TEST_F(SeriesGeneratorTest, GapsAreNaNExactlyWhereRecordedAndValuesAreOtherwiseUsage) {
  for (std::int64_t i = 0; i < 200; ++i) {
    const GeneratedSeries s = generate_one(generator, i, ws);
    for (std::size_t t = 0; t < s.values.size(); ++t) {
      // Not reported: a gap, or a meter that stopped reporting.
      const bool gap = s.labels[t] == static_cast<std::uint8_t>(AnomalyKind::gap) ||
                       s.labels[t] == static_cast<std::uint8_t>(AnomalyKind::stopped_reporting);
      EXPECT_EQ(std::isnan(s.values[t]), gap) << "series " << i << " step " << t;
      if (!gap) {
        EXPECT_TRUE(std::isfinite(s.values[t]));
        EXPECT_GE(s.values[t], 0.0f);
      }
    }
  }
}

TEST_F(SeriesGeneratorTest, SameIndexGivesTheSameBitsWhateverCameBefore) {
  GeneratorWorkspace fresh;
  const GeneratedSeries first = generate_one(generator, 17, fresh);
  for (std::int64_t i = 0; i < 10; ++i) generate_one(generator, i, ws);
  const GeneratedSeries again = generate_one(generator, 17, ws);
  EXPECT_EQ(std::memcmp(first.values.data(), again.values.data(), first.values.size() * sizeof(float)), 0);
  EXPECT_EQ(first.labels, again.labels);
  EXPECT_EQ(first.events, again.events);
  EXPECT_EQ(first.record.customer(), again.record.customer());
  EXPECT_EQ(first.record.price_per_unit, again.record.price_per_unit);
}

TEST_F(SeriesGeneratorTest, EachKindLeavesItsTrace) {
  std::array<int, kAnomalyKindCount> seen{};
  for (std::int64_t i = 0; i < 300; ++i) {
    const GeneratedSeries s = generate_one(generator, i, ws);
    for (const EventRecord& ev : s.events) {
      ++seen[ev.kind];
      const auto kind = static_cast<AnomalyKind>(ev.kind);
      const auto at = [&](std::int64_t t) { return s.values[static_cast<std::size_t>(t)]; };
      switch (kind) {
        case AnomalyKind::dropped_reporting:
          for (std::int64_t t = ev.start; t <= ev.end; ++t) EXPECT_EQ(at(t), 0.0f);
          break;
        case AnomalyKind::stuck_meter:
          for (std::int64_t t = ev.start; t <= ev.end; ++t) EXPECT_EQ(at(t), at(std::max<std::int64_t>(ev.start - 1, 0)));
          break;
        case AnomalyKind::stopped_reporting:
          EXPECT_EQ(ev.end, static_cast<std::int64_t>(s.values.size()) - 1);
          for (std::int64_t t = ev.start; t <= ev.end; ++t) EXPECT_TRUE(std::isnan(at(t)));
          break;
        case AnomalyKind::gap:
          EXPECT_EQ(ev.impact_usd, 0.0);
          EXPECT_EQ(ev.size_units, 0.0);
          break;
        case AnomalyKind::spike:
          // Peak size is the drawn size (4..10 sigma); the mean can only be raised, never clamped.
          EXPECT_GE(ev.size_sigma, 4.0 - 1e-9);
          EXPECT_LE(ev.size_sigma, 10.0 + 1e-9);
          EXPECT_NEAR(ev.impact_usd, ev.size_units * static_cast<double>(ev.end - ev.start + 1) * s.record.price_per_unit,
                      1e-6 * ev.impact_usd);
          break;
        case AnomalyKind::dip:
          EXPECT_LE(ev.size_sigma, 8.0 + 1e-9);  // clamped at zero usage: never more than drawn
          break;
        case AnomalyKind::normal:
        case AnomalyKind::level_shift:
        case AnomalyKind::trend_change:
        case AnomalyKind::seasonality_change:
        case AnomalyKind::unit_error:
        case AnomalyKind::double_counting:
        case AnomalyKind::fraud_ramp:
        case AnomalyKind::reported: break;  // their trace is checked by EveryInjectableKindChangesWhatItLabels
      }
      if (kind != AnomalyKind::gap) {
        EXPECT_GE(ev.impact_usd, 0.0);
        EXPECT_TRUE(std::isfinite(ev.size_sigma));
      }
      EXPECT_EQ(ev.effect_end, is_persistent(kind) ? scenario.grid.steps - 1 : ev.end);
    }
  }
  for (std::size_t k = 1; k < kAnomalyKindCount; ++k)
    if (is_injectable(static_cast<AnomalyKind>(k))) {
      EXPECT_GT(seen[k], 0) << to_string(static_cast<AnomalyKind>(k));
    }
}

// A scenario injecting only `kind` (or nothing) into steady Gaussian usage: with and without the injection the
// shape and noise streams draw the same numbers, so any difference is the injection's doing.
Scenario single_kind_scenario(const AnomalyKindTraits* kind) {
  std::string text =
      "[population]\nseries = 20\ndays = 365\nstart = \"2024-01-01\"\nstep = \"1d\"\nseed = 11\n"
      "[profiles]\nsteady = 1\n[noise]\ngaussian = 1\n[level]\nmin = 100.0\nmax = 100.0\n";
  if (kind != nullptr) {
    text += "[injections." + std::string(kind->scenario_key) + "]\nrate = 6\nlength = [3, 5]\n";
    if (kind->effect == InjectionEffect::mean) text += "size = [6, 6]\n";
  }
  return parse_scenario(text, "single_kind.toml");
}

// Contract of the kinds table: every injectable kind is injected where its label says, and changes the
// reported values there (a kind the generator forgot would leave the series as it was).
TEST(SeriesGenerator, EveryInjectableKindChangesWhatItLabels) {
  const Scenario clean = single_kind_scenario(nullptr);
  const SeriesGenerator clean_gen(clean, clean.seed);
  GeneratorWorkspace ws;
  for (const AnomalyKindTraits& kind : kAnomalyKinds) {
    if (kind.effect == InjectionEffect::none) continue;
    SCOPED_TRACE(std::string(kind.name));
    const Scenario injected = single_kind_scenario(&kind);
    const SeriesGenerator gen(injected, injected.seed);
    std::int64_t events = 0;
    for (std::int64_t i = 0; i < injected.series; ++i) {
      const GeneratedSeries s = generate_one(gen, i, ws);
      const GeneratedSeries before = generate_one(clean_gen, i, ws);
      for (const EventRecord& ev : s.events) {
        ASSERT_EQ(ev.kind, static_cast<std::uint8_t>(kind.kind));
        ++events;
        bool changed = false;
        for (std::int64_t t = ev.start; t <= ev.end; ++t) {
          const auto ti = static_cast<std::size_t>(t);
          EXPECT_EQ(s.labels[ti], ev.kind);
          const float now = s.values[ti], was = before.values[ti];
          changed = changed || std::isnan(now) != std::isnan(was) || (!std::isnan(now) && now != was);
        }
        // Only the first event meets the clean mean: a later persistent change may undo an earlier one, or
        // find the mean already clamped at zero.
        if (&ev == &s.events.front()) {
          EXPECT_TRUE(changed) << "series " << i << ": the " << kind.name << " at steps " << ev.start << ".." << ev.end
                               << " left the values unchanged";
          if (kind.anomaly) {
            EXPECT_GT(ev.size_sigma, 0.0) << "series " << i;
          }
        }
      }
    }
    EXPECT_GT(events, 0);
  }
}

TEST(SeriesGenerator, CleanScenarioHasNoEventsAndNoGaps) {
  const Scenario clean = load_scenario(testing::source_path("datasets/scenarios/clean.toml"));
  const SeriesGenerator gen(clean, 3);
  GeneratorWorkspace ws;
  for (std::int64_t i = 0; i < 100; ++i) {
    const GeneratedSeries s = generate_one(gen, i, ws);
    EXPECT_TRUE(s.events.empty());
    EXPECT_TRUE(std::all_of(s.labels.begin(), s.labels.end(), [](auto l) { return l == 0; }));
    EXPECT_TRUE(std::none_of(s.values.begin(), s.values.end(), [](float v) { return std::isnan(v); }));
  }
}

TEST(SeriesGenerator, HourlySeriesHaveADailyCycle) {
  const Scenario hourly = parse_scenario(
      "[population]\nseries = 50\ndays = 28\nstep = \"1h\"\n[level]\nmin = 2400\nmax = 2400\n[noise]\npoisson = 1\n", "h.toml");
  const SeriesGenerator gen(hourly, 1);
  GeneratorWorkspace ws;
  double afternoon = 0.0, night = 0.0;
  for (std::int64_t i = 0; i < 50; ++i) {
    const GeneratedSeries s = generate_one(gen, i, ws);
    for (std::size_t t = 0; t < s.values.size(); ++t) {
      if (t % 24 == 14) afternoon += s.values[t];
      if (t % 24 == 2) night += s.values[t];
    }
  }
  EXPECT_GT(afternoon, 1.3 * night);  // daily amplitude is 0.2..0.8 around a 14:00 UTC peak
}

TEST(SeriesGenerator, CustomerAndMeterIdentifySeriesUniquely) {
  const Scenario s = parse_scenario(testing::small_scenario(), "small.toml");
  const SeriesGenerator gen(s, 1);
  GeneratorWorkspace ws;
  std::set<std::pair<std::string, std::string>> ids;
  for (std::int64_t i = 0; i < 64; ++i) {
    const GeneratedSeries g = generate_one(gen, i, ws);
    ids.emplace(std::string(g.record.customer()), std::string(g.record.meter()));
  }
  EXPECT_EQ(ids.size(), 64u);
}

}  // namespace
}  // namespace meterbench
