// Contract: `inject` writes the same bits for any thread count and block size; every injected event has its
// labels and nothing else changed labels; the input's events and labels are kept; values outside the injected
// windows (and the effects of persistent kinds) are the input's, and NaN steps stay NaN; sizes are in units
// of the series' own local robust noise and impacts in currency from its price; no event starts in the warmup;
// bad scenarios, missing data and existing outputs are refused with a message naming them; and an ingested
// export goes through ingest -> inject -> backtest.
#include <cmath>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "meterbench/core/random.hpp"
#include "meterbench/inject/inject_dataset.hpp"
#include "meterbench/inject/series_injector.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "support/small_dataset.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::contains;
using testing::run_cli;
using testing::ScratchDir;

constexpr const char* kSpikesOnly = "[injections]\nwarmup_days = 42\n[injections.spike]\nrate = 6\nlength = 1\nsize = [6, 6]\n";

InjectSummary inject(const std::string& scenario_text, const std::filesystem::path& data, const std::filesystem::path& out, int threads,
                     std::int64_t block, std::uint64_t seed = 7) {
  const Scenario sc = parse_scenario(scenario_text, "inject.toml", ScenarioPurpose::inject);
  const ThreadLimit limit(threads);
  return inject_dataset(sc, {.data = data, .out = out, .seed = seed, .block_series = block});
}

// A dataset without labels (as ingested): `series` series of `days` days around level 100 with Gaussian noise
// of sd `noise_sd` (x10 from day 200 on for odd series), the first `late_start` days and every 37th day NaN, at
// 0.5 USD per unit (NaN for series 0).
void write_plain_dataset(const std::filesystem::path& path, std::int64_t series, std::int64_t days, double noise_sd,
                         std::int64_t late_start = 0) {
  DatasetInfo info;
  info.grid = {.start_unix_seconds = 1'704'067'200, .step_seconds = kSecondsPerDay, .steps = days};
  info.series_count = series;
  info.has_labels = false;
  info.scenario = "test";
  info.source = "ingested";
  DatasetWriter writer(path, info);
  SeriesBlock block;
  block.reset(0, series, days, false);
  for (std::int64_t i = 0; i < series; ++i) {
    Rng rng(stream_key(99, static_cast<std::uint64_t>(i)));
    const double sd_late = i % 2 == 1 ? 10.0 * noise_sd : noise_sd;
    for (std::int64_t t = 0; t < days; ++t)
      block.row(i)[static_cast<std::size_t>(t)] =
          t < late_start || t % 37 == 36 ? NAN : static_cast<float>(100.0 + (t < 200 ? noise_sd : sd_late) * rng.normal());
    SeriesRecord& r = block.series[static_cast<std::size_t>(i)];
    r.set_ids("cust-" + std::to_string(i), "meter");
    r.price_per_unit = i == 0 ? NAN : 0.5;
    r.noise_scale = NAN;
  }
  writer.write(block);
  writer.finish();
}

SeriesBlock read_all(const std::filesystem::path& path) {
  DatasetReader reader(path);
  SeriesBlock block;
  reader.read(0, reader.info().series_count, block);
  return block;
}

TEST(Inject, FileIsBitIdenticalForAnyThreadCountAndBlockSize) {
  ScratchDir dir;
  testing::generate_small_dataset(dir / "in.h5", 120, 400, 2);
  const std::string scenario = testing::small_scenario() + "[injections]\nwarmup_days = 10\n";
  inject(scenario, dir / "in.h5", dir / "t1_b7.h5", 1, 7);
  inject(scenario, dir / "in.h5", dir / "t2_b64.h5", 2, 64);
  inject(scenario, dir / "in.h5", dir / "t2_b0.h5", 2, 0);
  const std::string reference = testing::read_file(dir / "t1_b7.h5");
  ASSERT_GT(reference.size(), 120u * 400u * 4u);
  EXPECT_EQ(reference, testing::read_file(dir / "t2_b64.h5"));
  EXPECT_EQ(reference, testing::read_file(dir / "t2_b0.h5"));
  // Another seed injects elsewhere.
  inject(scenario, dir / "in.h5", dir / "seed8.h5", 2, 0, 8);
  EXPECT_NE(reference, testing::read_file(dir / "seed8.h5"));
}

// Every event's window carries its kind, other steps keep the input's labels; the input's events are all kept;
// values change only inside injected windows or after a persistent injection; NaN stays NaN.
TEST(Inject, LabelsEventsAndValuesAgreeAndTheInputIsKept) {
  ScratchDir dir;
  testing::generate_small_dataset(dir / "in.h5", 60, 400, 2);
  const InjectSummary summary = inject(testing::small_scenario() + "[injections]\nwarmup_days = 10\n", dir / "in.h5", dir / "out.h5", 2, 9);
  const SeriesBlock in = read_all(dir / "in.h5");
  const SeriesBlock out = read_all(dir / "out.h5");
  EXPECT_EQ(summary.kept_events, static_cast<std::int64_t>(in.events.size()));
  ASSERT_GT(summary.events, 60);
  ASSERT_EQ(out.events.size(), in.events.size() + static_cast<std::size_t>(summary.events));
  std::int64_t injected = 0;
  for (std::int64_t i = 0; i < out.count; ++i) {
    const SeriesRecord& ri = in.series[static_cast<std::size_t>(i)];
    const SeriesRecord& ro = out.series[static_cast<std::size_t>(i)];
    EXPECT_EQ(ro.customer(), ri.customer());
    EXPECT_EQ(ro.price_per_unit, ri.price_per_unit);
    std::vector<EventRecord> own(in.events.begin() + static_cast<std::ptrdiff_t>(ri.first_event),
                                 in.events.begin() + static_cast<std::ptrdiff_t>(ri.first_event + ri.event_count));
    std::vector<std::uint8_t> labels(in.label_row(i).begin(), in.label_row(i).end());
    std::vector<std::uint8_t> changed(static_cast<std::size_t>(out.steps), 0);
    std::int64_t previous_start = -1;
    for (std::uint32_t e = 0; e < ro.event_count; ++e) {
      const EventRecord& ev = out.events[ro.first_event + e];
      ASSERT_EQ(ev.series, static_cast<std::uint64_t>(i));
      ASSERT_GE(ev.start, previous_start);
      previous_start = ev.start;
      const auto kept = std::find(own.begin(), own.end(), ev);
      if (kept != own.end()) {
        own.erase(kept);
        continue;
      }
      ++injected;
      EXPECT_GE(ev.start, 10);
      for (std::int64_t t = ev.start; t <= ev.end; ++t) {
        EXPECT_EQ(in.label_row(i)[static_cast<std::size_t>(t)], 0) << "an injection over the input's labels";
        labels[static_cast<std::size_t>(t)] = ev.kind;
      }
      std::fill(changed.begin() + ev.start, changed.begin() + ev.effect_end + 1, std::uint8_t{1});
    }
    EXPECT_TRUE(own.empty()) << "series " << i << " lost " << own.size() << " of its events";
    EXPECT_EQ(labels, std::vector<std::uint8_t>(out.label_row(i).begin(), out.label_row(i).end())) << "series " << i;
    for (std::int64_t t = 0; t < out.steps; ++t) {
      const float a = in.row(i)[static_cast<std::size_t>(t)], b = out.row(i)[static_cast<std::size_t>(t)];
      if (std::isnan(a)) {
        EXPECT_TRUE(std::isnan(b)) << "series " << i << " step " << t << ": a gap was filled";
      } else if (changed[static_cast<std::size_t>(t)] == 0) {
        EXPECT_EQ(a, b) << "series " << i << " step " << t;
      }
    }
  }
  EXPECT_EQ(injected, summary.events);
}

TEST(Inject, SizesAreInUnitsOfTheLocalNoiseAndImpactsInCurrency) {
  ScratchDir dir;
  write_plain_dataset(dir / "in.h5", 40, 400, 2.0);
  const InjectSummary summary = inject(kSpikesOnly, dir / "in.h5", dir / "out.h5", 2, 0);
  const SeriesBlock in = read_all(dir / "in.h5");
  const SeriesBlock out = read_all(dir / "out.h5");
  ASSERT_GT(summary.events, 100);
  EXPECT_EQ(summary.events_by_kind[static_cast<std::size_t>(AnomalyKind::spike)], summary.events);
  int early = 0, late = 0;
  double early_sum = 0.0, late_sum = 0.0;
  for (const EventRecord& ev : out.events) {
    const auto i = static_cast<std::int64_t>(ev.series);
    const auto t = static_cast<std::size_t>(ev.start);
    EXPECT_EQ(ev.kind, static_cast<std::uint8_t>(AnomalyKind::spike));
    EXPECT_NEAR(ev.size_sigma, 6.0, 1e-9);
    if (!std::isnan(in.row(i)[t])) {
      EXPECT_NEAR(out.row(i)[t] - in.row(i)[t], ev.size_units, 1e-3 * ev.size_units);
    }
    // The noise around the event: sd 2 everywhere for even series; sd 20 from day 200 on for odd ones.
    const bool noisy = i % 2 == 1 && ev.start >= 200 + 28;
    const bool quiet = ev.end + 28 < 200;
    if (quiet) {
      ++early;
      early_sum += ev.size_units / 6.0;
      // Within a factor of 2 each (a MAD of ~56 differences), within 12% on average.
      EXPECT_TRUE(ev.size_units / 6.0 > 1.0 && ev.size_units / 6.0 < 4.0) << "series " << i << " step " << ev.start;
    }
    if (noisy) {
      ++late;
      late_sum += ev.size_units / 6.0;
      EXPECT_TRUE(ev.size_units / 6.0 > 10.0 && ev.size_units / 6.0 < 40.0) << "series " << i << " step " << ev.start;
    }
    if (i == 0) EXPECT_TRUE(std::isnan(ev.impact_usd));  // no price
    else EXPECT_NEAR(ev.impact_usd, ev.size_units * 0.5, 1e-9 * ev.size_units);
  }
  ASSERT_GT(early, 20);
  ASSERT_GT(late, 10);
  EXPECT_NEAR(early_sum / early, 2.0, 0.25);
  EXPECT_NEAR(late_sum / late, 20.0, 2.5);
}

TEST(Inject, LocalNoiseScaleFollowsTheNoiseAroundTheWindow) {
  std::vector<double> series(400);
  Rng rng(3);
  for (std::size_t t = 0; t < series.size(); ++t) series[t] = 50.0 + (t < 200 ? 1.0 : 30.0) * rng.normal();
  std::vector<double> scratch;
  EXPECT_NEAR(local_noise_scale(series, 100, 102, 28, scratch), 1.0, 0.3);
  EXPECT_NEAR(local_noise_scale(series, 300, 302, 28, scratch), 30.0, 9.0);
  // A flat series: 1% of its mean absolute value; a series of zeros: 1.
  std::vector<double> flat(100, 40.0);
  EXPECT_DOUBLE_EQ(local_noise_scale(flat, 50, 50, 28, scratch), 0.4);
  std::vector<double> zeros(100, 0.0);
  EXPECT_DOUBLE_EQ(local_noise_scale(zeros, 50, 50, 28, scratch), 1.0);
}

TEST(Inject, NoEventStartsInTheWarmupOfTheReportedSpan) {
  ScratchDir dir;
  write_plain_dataset(dir / "in.h5", 30, 400, 2.0, 100);  // reporting starts on day 100
  inject(kSpikesOnly, dir / "in.h5", dir / "out.h5", 2, 0);
  const SeriesBlock out = read_all(dir / "out.h5");
  ASSERT_GT(out.events.size(), 50u);
  std::int64_t earliest = 400;
  for (const EventRecord& ev : out.events) earliest = std::min(earliest, ev.start);
  EXPECT_GE(earliest, 142);
  EXPECT_LT(earliest, 160);
}

// Stuck meters, stops and zero runs on a gappy series: placed where it reports, NaN kept, a stop runs to its end.
TEST(Inject, BillingFaultsRespectTheSeriesReporting) {
  ScratchDir dir;
  write_plain_dataset(dir / "in.h5", 40, 400, 2.0);
  inject("[injections.stuck_meter]\nrate = 2\nlength = [5, 10]\n[injections.stopped_reporting]\nrate = 1\nlength = [14, 30]\n"
         "[injections.dropped_reporting]\nrate = 2\nlength = [3, 9]\n",
         dir / "in.h5", dir / "out.h5", 2, 0);
  const SeriesBlock in = read_all(dir / "in.h5");
  const SeriesBlock out = read_all(dir / "out.h5");
  std::set<std::uint8_t> kinds;
  for (const EventRecord& ev : out.events) {
    kinds.insert(ev.kind);
    const auto i = static_cast<std::int64_t>(ev.series);
    const auto kind = static_cast<AnomalyKind>(ev.kind);
    for (std::int64_t t = ev.start; t <= ev.end; ++t) {
      const float before = in.row(i)[static_cast<std::size_t>(t)], after = out.row(i)[static_cast<std::size_t>(t)];
      if (kind == AnomalyKind::stopped_reporting) EXPECT_TRUE(std::isnan(after));
      else if (std::isnan(before)) EXPECT_TRUE(std::isnan(after));
      else if (kind == AnomalyKind::dropped_reporting) EXPECT_EQ(after, 0.0f);
      else EXPECT_EQ(after, in.row(i)[static_cast<std::size_t>(ev.start - 1)]);  // the reading before, repeated
    }
    if (kind == AnomalyKind::stopped_reporting) {
      EXPECT_EQ(ev.end, 399) << "a stop runs to the series' last day";
    }
  }
  EXPECT_EQ(kinds.size(), 3u);
}

TEST(Inject, ExistingOutputIsRefusedWithoutForce) {
  ScratchDir dir;
  write_plain_dataset(dir / "in.h5", 4, 200, 2.0);
  testing::write_file(dir / "out.h5", "keep me");
  EXPECT_THROW(inject(kSpikesOnly, dir / "in.h5", dir / "out.h5", 1, 0), OutputError);
  EXPECT_EQ(testing::read_file(dir / "out.h5"), "keep me");
}

// --- the command line ---

TEST(InjectCli, RefusesABadScenarioKeyWithItsLineAMissingDataFileAndAnExistingOutput) {
  ScratchDir dir;
  write_plain_dataset(dir / "in.h5", 4, 200, 2.0);
  testing::write_file(dir / "bad.toml", "[injections.spike]\nrate = 1\nsizes = [4, 8]\n");
  const std::string data = " --data " + (dir / "in.h5").string();
  auto r = run_cli("inject" + data + " --scenario " + (dir / "bad.toml").string() + " --seed 1 --out " + (dir / "o.h5").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "bad.toml:3: unknown key 'injections.spike.sizes'")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.h5"));

  testing::write_file(dir / "good.toml", kSpikesOnly);
  r = run_cli("inject --data " + (dir / "missing.h5").string() + " --scenario " + (dir / "good.toml").string() + " --seed 1 --out " +
              (dir / "o.h5").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "missing.h5")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.h5"));

  testing::write_file(dir / "o.h5", "keep me");
  r = run_cli("inject" + data + " --scenario " + (dir / "good.toml").string() + " --seed 1 --out " + (dir / "o.h5").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "--force")) << r.output;
  EXPECT_EQ(testing::read_file(dir / "o.h5"), "keep me");
  r = run_cli("inject" + data + " --scenario " + (dir / "good.toml").string() + " --seed 1 --out " + (dir / "o.h5").string() + " --force");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // --force never replaces an input.
  r = run_cli("inject" + data + " --scenario " + (dir / "good.toml").string() + " --seed 1 --force --out " + (dir / "in.h5").string());
  EXPECT_NE(r.exit_code, 0);
}

// An export goes through ingest -> inject -> backtest: the injected events are scored.
TEST(InjectCli, IngestInjectBacktest) {
  ScratchDir dir;
  std::ostringstream csv;
  csv << "customer,meter,date,quantity,price\n";
  Rng rng(11);
  for (int s = 0; s < 12; ++s)
    for (int day = 0; day < 365; ++day) {
      if (day % 41 == 40) continue;  // a missing day now and then
      const int year_day = day + 1;
      // 2023 is not a leap year: day of year -> month and day.
      static constexpr int kMonthDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      int month = 0, rest = year_day;
      while (rest > kMonthDays[month]) rest -= kMonthDays[month++];
      const double q = (200.0 + 20.0 * s) * (1.0 + 0.05 * rng.normal()) * (day % 7 >= 5 ? 0.7 : 1.0);
      csv << "c" << s << ",m,2023-" << (month < 9 ? "0" : "") << month + 1 << "-" << (rest < 10 ? "0" : "") << rest << "," << q << ",0.1\n";
    }
  testing::write_file(dir / "usage.csv", csv.str());
  auto r = run_cli("ingest --csv " + (dir / "usage.csv").string() + " --out " + (dir / "usage.h5").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("inject --data " + (dir / "usage.h5").string() + " --scenario " +
              testing::source_path("datasets/scenarios/real_injections.toml").string() + " --seed 3 --out " + (dir / "labelled.h5").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(contains(r.output, "injected ")) << r.output;
  r = run_cli("backtest --data " + (dir / "labelled.h5").string() + " --model stl-esd --no-baseline --out " + (dir / "run").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto summary = nlohmann::json::parse(testing::read_file(dir / "run" / "summary.json"));
  EXPECT_EQ(summary["dataset"]["source"], "injected");
  EXPECT_EQ(summary["dataset"]["has_labels"], true);
  EXPECT_GT(summary["metrics"]["event"]["events"].get<int>(), 5);
  EXPECT_GT(summary["metrics"]["event"]["caught"].get<int>(), 0);
}

}  // namespace
}  // namespace meterbench
