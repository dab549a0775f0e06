// Contract of ParameterTable (parameters.hpp): every row is bound to a member of its detector's config struct
// and every member has a row; defaults, ranges and rules live only in the rows; one generic mapping fills the
// struct; the rules are checked by one validation whose messages name the rule; the flag threshold is a role.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "meterbench/model/gam_parameters.hpp"
#include "meterbench/model/parameters.hpp"
#include "meterbench/model/random_detector.hpp"
#include "meterbench/model/seasonal_mad.hpp"
#include "meterbench/model/stl_esd.hpp"

namespace meterbench {
namespace {

// The number of members of an aggregate: the most initialisers T{...} accepts (every config struct is a flat
// aggregate of scalars and enums).
struct AnyMember {
  template <class T>
  operator T() const;  // NOLINT(google-explicit-constructor): only used in unevaluated braced initialisers
};
template <class T, class... Members>
constexpr std::size_t member_count() {
  if constexpr (requires { T{Members{}..., AnyMember{}}; })
    return member_count<T, Members..., AnyMember>();
  else
    return sizeof...(Members);
}

template <class Config>
void expect_rows_cover_every_member(const ParameterTable<Config>& table) {
  const Config config{};
  const auto* begin = reinterpret_cast<const unsigned char*>(&config);
  std::set<const void*> members;
  for (std::size_t i = 0; i < table.specs().size(); ++i) {
    const auto& binding = table.bindings()[i];
    ASSERT_TRUE(binding.bound()) << table.detector() << "." << table.specs()[i].name << " binds no member";
    const auto* member = static_cast<const unsigned char*>(binding.address(config));
    EXPECT_TRUE(member >= begin && member < begin + sizeof(Config)) << table.detector() << "." << table.specs()[i].name;
    members.insert(member);
  }
  EXPECT_EQ(members.size(), member_count<Config>()) << table.detector() << ": a member of its config struct has no row";
}

// Contract: each detector's rows bind every member of its config struct, and each row binds one.
TEST(ParameterTable, RowsCoverEveryConfigMember) {
  static_assert(member_count<GamConfig>() == 27);
  expect_rows_cover_every_member(gam_parameter_table());
  expect_rows_cover_every_member(seasonal_mad_parameter_table());
  expect_rows_cover_every_member(stl_esd_parameter_table());
  expect_rows_cover_every_member(random_parameter_table());
}

// Contract: every detector has exactly one flag-threshold row, and sweep can tell the rows that set it.
TEST(ParameterTable, EveryDetectorHasOneFlagThreshold) {
  for (const auto specs : {gam_parameter_specs(), seasonal_mad_parameter_specs(), stl_esd_parameter_specs(), random_parameter_specs()}) {
    const ParameterSpec* threshold = flag_threshold_spec(specs);
    ASSERT_NE(threshold, nullptr);
    EXPECT_EQ(threshold->type, ParameterSpec::Type::real);
  }
  const auto gam = gam_parameter_specs();
  EXPECT_TRUE(sets_flag_threshold(*find_parameter_spec(gam, "z"), gam));
  EXPECT_TRUE(sets_flag_threshold(*find_parameter_spec(gam, "width"), gam));
  EXPECT_FALSE(sets_flag_threshold(*find_parameter_spec(gam, "changepoints"), gam));
}

// A toy detector with one row of every kind and rule.
struct ToyConfig {
  enum class Speed { slow, fast };
  std::int64_t window;
  std::int64_t period;
  std::int64_t history;
  double z;
  Speed speed;
};
double toy_twice(double x) { return 2.0 * x; }
double toy_half(double x) { return 0.5 * x; }

const ParameterTable<ToyConfig>& toy_table() {
  using C = ToyConfig;
  using B = ParameterBinding<ToyConfig>;
  static const ParameterTable<ToyConfig> table(
      "toy", {
                 {.name = "window", .bind = &C::window, .default_value = "7", .min = 1, .max = 99, .rules = {.odd = true}, .help = "odd"},
                 {.name = "period", .bind = &C::period, .default_value = "0", .min = 2, .max = 50, .rules = {.zero_means = "auto"},
                  .help = "special 0"},
                 {.name = "history", .bind = &C::history, .default_value = "3", .min = 1, .max = 99, .rules = {.at_most = "window"},
                  .help = "bounded by window"},
                 {.name = "z", .bind = &C::z, .default_value = "3", .min = 0.1, .max = 10, .rules = {.exclusive_with = "half_z"},
                  .role = ParameterRole::flag_threshold, .help = "threshold"},
                 {.name = "half_z", .bind = B::converted(&C::z, &toy_twice, &toy_half), .default_value = "1.5", .min = 0.05, .max = 5,
                  .rules = {.exclusive_with = "z"}, .help = "z / 2"},
                 {.name = "speed", .bind = B::choice(&C::speed, {{"slow", C::Speed::slow}, {"fast", C::Speed::fast}}), .default_value = "slow",
                  .help = "a choice"},
             });
  return table;
}

std::string toy_error(std::vector<std::string> settings) {
  try {
    (void)toy_table().bind(settings);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument)";
}

// Contract: the defaults come from the rows; a row the user sets fills its member (through its conversion);
// two rows of one member fill it once (the one set, else the first); the pair reports the value in force.
TEST(ParameterTable, BindFillsTheConfigFromTheRows) {
  const auto defaults = toy_table().bind({});
  EXPECT_EQ(defaults.config.window, 7);
  EXPECT_EQ(defaults.config.period, 0);
  EXPECT_EQ(defaults.config.history, 3);
  EXPECT_EQ(defaults.config.z, 3.0);
  EXPECT_EQ(defaults.config.speed, ToyConfig::Speed::slow);
  EXPECT_EQ(defaults.flag_threshold, 3.0);
  EXPECT_EQ(defaults.effective, (std::vector<std::pair<std::string, std::string>>{
                                    {"window", "7"}, {"period", "0"}, {"history", "3"}, {"z", "3"}, {"half_z", "1.5"}, {"speed", "slow"}}));

  const std::vector<std::string> settings = {"half_z=2.5", "speed=fast", "period=12", "window=9", "history=9"};
  const auto set = toy_table().bind(settings);
  EXPECT_EQ(set.config.z, 5.0);
  EXPECT_EQ(set.flag_threshold, 5.0);
  EXPECT_EQ(set.config.speed, ToyConfig::Speed::fast);
  EXPECT_EQ(set.config.period, 12);
  EXPECT_EQ(set.effective[3], (std::pair<std::string, std::string>{"z", "5"}));
  EXPECT_EQ(set.effective[4], (std::pair<std::string, std::string>{"half_z", "2.5"}));
}

// Contract: each rule's violation throws std::invalid_argument with exactly this message.
TEST(ParameterTable, RulesThrowExactMessages) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"window=8"}, "toy: parameter 'window' has value '8', which is not odd (expected odd integer in [1, 99])"},
      {{"window=101"}, "toy: parameter 'window' has value '101', out of range (expected odd integer in [1, 99])"},
      {{"period=1"}, "toy: parameter 'period' has value '1', out of range (expected 0 = auto, or integer in [2, 50])"},
      {{"period=2.5"}, "toy: parameter 'period' has value '2.5', which is not an integer (expected 0 = auto, or integer in [2, 50])"},
      {{"history=9"}, "toy: parameter 'history' (9) must not exceed 'window' (7)"},
      {{"z=2", "half_z=1"}, "toy: set either 'z' or 'half_z', not both"},
      {{"half_z=1", "z=2"}, "toy: set either 'z' or 'half_z', not both"},
      {{"speed=medium"}, "toy: parameter 'speed' has value 'medium' (expected one of slow, fast)"},
      {{"z=abc"}, "toy: parameter 'z' has value 'abc', which is not a number (expected number in [0.1, 10])"},
  };
  for (const auto& [settings, message] : cases) EXPECT_EQ(toy_error(settings), message);
}

// Contract: the documentation table shows each row's range with its rules and role.
TEST(ParameterTable, DescribeShowsRangesRulesAndRole) {
  EXPECT_EQ(describe_parameters("toy", toy_table().specs()),
            "### `toy`\n\n"
            "| parameter | default | range | meaning |\n"
            "| --- | --- | --- | --- |\n"
            "| `window` | `7` | odd integer in [1, 99] | odd |\n"
            "| `period` | `0` | 0 = auto, or integer in [2, 50] | special 0 |\n"
            "| `history` | `3` | integer in [1, 99]; at most `window` | bounded by window |\n"
            "| `z` | `3` | number in [0.1, 10]; not with `half_z`; the flag threshold | threshold |\n"
            "| `half_z` | `1.5` | number in [0.05, 5]; not with `z` | z / 2 |\n"
            "| `speed` | `slow` | one of slow, fast | a choice |\n");
}

// Contract: a row bound to no member is a programming error caught when the table is built.
TEST(ParameterTableDeathTest, RowBindingNothingAborts) {
  const auto build = [] {
    const ParameterTable<ToyConfig> table("toy", {{.name = "window", .bind = static_cast<std::int64_t ToyConfig::*>(nullptr), .default_value = "7", .min = 1, .max = 99,
                                                    .help = "unbound"}});
    (void)table;
  };
  EXPECT_DEATH(build(), "binds a member");
}

}  // namespace
}  // namespace meterbench
