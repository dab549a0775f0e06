// Contract: the evaluation refuses an event whose steps lie outside its series (std::invalid_argument naming
// the series, kind and steps) instead of overflowing its window arithmetic (a step of 2^63 - 1 used to wrap
// end + 1 and index outside the series).
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meterbench/evaluate/metrics.hpp"

namespace meterbench {
namespace {

std::string evaluation_error(std::int64_t start, std::int64_t end) {
  const std::size_t n = 20;
  const std::vector<float> values(n, 10.0f), expected(n, 10.0f), lower(n, 8.0f), upper(n, 12.0f), score(n, 0.0f);
  std::vector<std::uint8_t> labels(n, 0);
  const std::vector<EventRecord> events = {{.series = 4, .start = start, .end = end, .effect_end = end, .kind = 3}};
  SeriesEvaluationInput in;
  in.values = values;
  in.labels = labels;
  in.events = events;
  in.expected = expected;
  in.lower = lower;
  in.upper = upper;
  in.score = score;
  in.price_per_unit = 1.0;
  in.series_index = 4;
  in.score_begin = 0;
  in.score_end = static_cast<std::int64_t>(n);
  EvaluationConfig config;
  config.steps_per_week = 7;
  EvaluationAccumulator acc(config);
  try {
    acc.add_series(in, nullptr);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "evaluated";
}

TEST(EvaluationEventRange, EventsOutsideTheSeriesAreRefused) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(evaluation_error(2, 5), "evaluated");
  EXPECT_EQ(evaluation_error(2, kMax), "evaluation: event of series 4 (kind 3, steps 2..9223372036854775807) lies outside the series' 20 steps");
  EXPECT_EQ(evaluation_error(kMax - 1, kMax), "evaluation: event of series 4 (kind 3, steps 9223372036854775806..9223372036854775807) lies outside the series' 20 steps");
  EXPECT_EQ(evaluation_error(-3, 4), "evaluation: event of series 4 (kind 3, steps -3..4) lies outside the series' 20 steps");
}

}  // namespace
}  // namespace meterbench
