// Contract: the README stays true. Its detector parameter tables are exactly what `meterbench models` prints
// from the parameter specs (the one source of truth), and it documents every subcommand the CLI has.
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

TEST(Readme, ParameterTablesMatchTheSpecs) {
  const auto models = testing::run_cli("models");
  ASSERT_EQ(models.exit_code, 0) << models.output;
  const std::string readme = testing::read_file(testing::source_path("README.md"));
  EXPECT_NE(readme.find(models.output), std::string::npos)
      << "README.md does not contain the output of `meterbench models`; paste it into the README's detector section:\n"
      << models.output;
}

TEST(Readme, DocumentsEverySubcommand) {
  const std::string readme = testing::read_file(testing::source_path("README.md"));
  for (const char* command : {"generate", "backtest", "models", "ingest", "detect", "report", "sweep", "capacity"})
    EXPECT_NE(readme.find(std::string("meterbench ") + command), std::string::npos) << command;
}

}  // namespace
}  // namespace meterbench
