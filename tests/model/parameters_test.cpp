// Contract of ParameterValues / describe_parameters (parameters.cpp): typed access to validated
// name=value settings, and the exact error text for each kind of bad setting.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "meterbench/model/parameters.hpp"

namespace meterbench {
namespace {

const std::vector<ParameterSpec>& specs() {
  using Type = ParameterSpec::Type;
  static const std::vector<ParameterSpec> s = {
      {"n", Type::integer, "3", 1, 10, {}, "a count"},
      {"x", Type::real, "0.5", 0, 1, {}, "a share"},
      {"loss", Type::choice, "huber", 0, 0, {"huber", "bisquare"}, "the loss"},
  };
  return s;
}

std::string error_of(std::vector<std::string> settings, std::span<const ParameterSpec> spec_list = specs()) {
  try {
    const ParameterValues values("det", spec_list, settings);
    (void)values;
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument)";
}

TEST(Parameters, DefaultsAndTypedAccess) {
  const ParameterValues defaults("det", specs(), std::vector<std::string>{});
  EXPECT_EQ(defaults.integer("n"), 3);
  EXPECT_EQ(defaults.real("x"), 0.5);
  EXPECT_EQ(defaults.choice("loss"), "huber");
  EXPECT_FALSE(defaults.is_set("n"));

  const ParameterValues set("det", specs(), std::vector<std::string>{"loss=bisquare", "n=10", "x=0"});
  EXPECT_EQ(set.integer("n"), 10);
  EXPECT_EQ(set.real("x"), 0.0);
  EXPECT_EQ(set.real("n"), 10.0);
  EXPECT_EQ(set.choice("loss"), "bisquare");
  EXPECT_TRUE(set.is_set("n"));
  // effective() lists every parameter in spec order, whatever the order of the settings.
  const std::vector<std::pair<std::string, std::string>> expected = {{"n", "10"}, {"x", "0"}, {"loss", "bisquare"}};
  EXPECT_EQ(set.effective(), expected);
}

TEST(Parameters, MissingEqualsSign) {
  EXPECT_EQ(error_of({"n"}), "det: setting 'n' is not of the form name=value");
  EXPECT_EQ(error_of({"=3"}), "det: setting '=3' is not of the form name=value");
}

TEST(Parameters, UnknownNameListsKnownOnes) {
  EXPECT_EQ(error_of({"m=1"}), "det: unknown parameter 'm' (known: n, x, loss)");
  EXPECT_EQ(error_of({"m=1"}, {}), "det: unknown parameter 'm' (known: none)");
}

TEST(Parameters, RepeatedName) { EXPECT_EQ(error_of({"n=2", "n=3"}), "det: parameter 'n' is set twice"); }

TEST(Parameters, NotANumber) {
  EXPECT_EQ(error_of({"x=abc"}), "det: parameter 'x' has value 'abc', which is not a number (expected number in [0, 1])");
  EXPECT_EQ(error_of({"x=0.5e"}), "det: parameter 'x' has value '0.5e', which is not a number (expected number in [0, 1])");
  EXPECT_EQ(error_of({"x=inf"}), "det: parameter 'x' has value 'inf', which is not a number (expected number in [0, 1])");
  EXPECT_EQ(error_of({"x="}), "det: parameter 'x' has value '', which is not a number (expected number in [0, 1])");
  EXPECT_EQ(error_of({"n=2.5"}), "det: parameter 'n' has value '2.5', which is not an integer (expected integer in [1, 10])");
}

TEST(Parameters, OutOfRange) {
  EXPECT_EQ(error_of({"n=11"}), "det: parameter 'n' has value '11', out of range (expected integer in [1, 10])");
  EXPECT_EQ(error_of({"x=-0.1"}), "det: parameter 'x' has value '-0.1', out of range (expected number in [0, 1])");
}

TEST(Parameters, BadChoice) {
  EXPECT_EQ(error_of({"loss=l1"}), "det: parameter 'loss' has value 'l1' (expected one of huber, bisquare)");
}

TEST(Parameters, DescribeIsAMarkdownTable) {
  EXPECT_EQ(describe_parameters("det", specs()),
            "### `det`\n\n"
            "| parameter | default | range | meaning |\n"
            "| --- | --- | --- | --- |\n"
            "| `n` | `3` | integer in [1, 10] | a count |\n"
            "| `x` | `0.5` | number in [0, 1] | a share |\n"
            "| `loss` | `huber` | one of huber, bisquare | the loss |\n");
}

}  // namespace
}  // namespace meterbench
