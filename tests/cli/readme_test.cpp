// Contract: the README stays true. Its detector parameter tables are exactly what `meterbench models` prints
// from the parameter specs (the one source of truth), it documents every subcommand the CLI has, and each
// subcommand's synopsis names exactly the options its --help lists.
#include <regex>
#include <set>
#include <sstream>
#include <string>

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

// The --options of the README's synopsis of `command`: its lines starting `build/release/tools/meterbench
// command`, with their continuation lines (ending in a backslash).
std::set<std::string> readme_synopsis_options(const std::string& readme, const std::string& command) {
  static const std::regex option("--[a-z][a-z0-9-]*");
  std::set<std::string> options;
  std::istringstream lines(readme);
  std::string line;
  bool in_synopsis = false;
  while (std::getline(lines, line)) {
    if (line.rfind("build/release/tools/meterbench " + command + " ", 0) == 0) in_synopsis = true;
    if (!in_synopsis) continue;
    for (std::sregex_iterator it(line.begin(), line.end(), option), end; it != end; ++it) options.insert(it->str());
    in_synopsis = !line.empty() && line.back() == '\\';
  }
  return options;
}

// The options `meterbench command --help` lists, without those every subcommand takes.
std::set<std::string> help_listed_options(const std::string& help) {
  static const std::regex option(R"(^\s+(?:-\w,)?(--[a-z][a-z0-9-]*))");
  std::set<std::string> options;
  std::istringstream lines(help);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line))
    if (std::regex_search(line, m, option)) options.insert(m[1].str());
  for (const char* common : {"--help", "--threads", "--log-level"}) options.erase(common);
  return options;
}

TEST(Readme, SynopsesNameTheOptionsOfHelp) {
  const std::string readme = testing::read_file(testing::source_path("README.md"));
  for (const char* command : {"generate", "backtest", "ingest", "detect", "report", "sweep", "capacity"}) {
    const auto help = testing::run_cli(std::string(command) + " --help");
    ASSERT_EQ(help.exit_code, 0) << help.output;
    const std::set<std::string> listed = help_listed_options(help.output);
    ASSERT_FALSE(listed.empty()) << command << ": no options read from --help:\n" << help.output;
    const std::set<std::string> documented = readme_synopsis_options(readme, command);
    for (const std::string& o : listed) EXPECT_TRUE(documented.count(o) != 0) << "README's synopsis of " << command << " lacks " << o;
    for (const std::string& o : documented) EXPECT_TRUE(listed.count(o) != 0) << "README's synopsis of " << command << " names " << o << ", which --help does not list";
  }
}

}  // namespace
}  // namespace meterbench
