// Contract: the documentation stays true and self-contained.
// - docs/cli.md has a section for every subcommand `meterbench --help` lists; each section's synopsis names
//   exactly the options that subcommand's --help lists; its detector parameter tables are exactly what
//   `meterbench models` prints from the parameter specs (the one source of truth).
// - Every relative link of README.md and docs/*.md points to a file of the repository (and to a heading of
//   it, for a #fragment), and no user-facing document (nor the HTML report's script) refers to ../shared,
//   which is not part of the repository.
// - README.md stays a user's manual: the two commands at its top, at most 250 lines.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace meterbench {
namespace {

namespace fs = std::filesystem;

std::string cli_doc() { return testing::read_file(testing::source_path("docs/cli.md")); }

// ---------------------------------------------------------------------------------------------------------
// Markdown helpers: lines outside fenced code blocks, headings' anchors, links.

// The lines of a Markdown text that are not inside ``` fences (code is not prose: no links, no headings).
std::vector<std::string> prose_lines(const std::string& markdown) {
  std::vector<std::string> out;
  std::istringstream lines(markdown);
  std::string line;
  bool in_code = false;
  while (std::getline(lines, line)) {
    const auto first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, 3, "```") == 0) {
      in_code = !in_code;
      continue;
    }
    if (!in_code) out.push_back(line);
  }
  return out;
}

// GitHub's anchor of a heading: lower case, characters other than letters, digits, spaces, '-' and '_'
// dropped, spaces turned into '-'; a repeated anchor gets -1, -2, ...
std::set<std::string> heading_anchors(const std::string& markdown) {
  static const std::regex heading(R"(^#{1,6}\s+(.*?)\s*$)");
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  std::smatch m;
  for (const std::string& line : prose_lines(markdown)) {
    if (!std::regex_match(line, m, heading)) continue;
    std::string slug;
    for (const char c : m[1].str()) {
      const auto u = static_cast<unsigned char>(c);
      if (std::isalnum(u) != 0 || c == '-' || c == '_') slug += static_cast<char>(std::tolower(u));
      else if (c == ' ') slug += '-';
      else if (u >= 0x80) slug += c;  // keep non-ASCII letters as GitHub does
    }
    const int n = seen[slug]++;
    anchors.insert(n == 0 ? slug : slug + "-" + std::to_string(n));
  }
  return anchors;
}

// The targets of the inline links [text](target) and reference definitions [name]: target of a text.
std::vector<std::string> link_targets(const std::string& markdown) {
  static const std::regex inline_link(R"(\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\))");
  static const std::regex reference(R"(^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?)");
  std::vector<std::string> targets;
  std::smatch m;
  for (const std::string& line : prose_lines(markdown)) {
    for (std::sregex_iterator it(line.begin(), line.end(), inline_link), end; it != end; ++it) targets.push_back((*it)[1].str());
    if (std::regex_search(line, m, reference)) targets.push_back(m[1].str());
  }
  return targets;
}

// The problems of the links of `doc` (a path relative to `root`): each one a message naming the link.
std::vector<std::string> link_problems(const fs::path& root, const fs::path& doc, const std::string& markdown) {
  static const std::regex scheme("^[A-Za-z][A-Za-z0-9+.-]*:");
  std::vector<std::string> problems;
  const std::string where = doc.generic_string() + ": link '";
  for (const std::string& target : link_targets(markdown)) {
    if (std::regex_search(target, scheme)) continue;  // https:, mailto: ...: not a file of the repository
    const auto hash = target.find('#');
    const std::string path_part = target.substr(0, hash);
    const std::string fragment = hash == std::string::npos ? std::string() : target.substr(hash + 1);
    if (!path_part.empty() && path_part.front() == '/') {
      problems.push_back(where + target + "' is absolute: use a path relative to the document");
      continue;
    }
    if (path_part.empty()) {  // #fragment: a heading of this document
      if (heading_anchors(markdown).count(fragment) == 0)
        problems.push_back(where + target + "': " + doc.generic_string() + " has no heading with the anchor #" + fragment);
      continue;
    }
    const fs::path relative = (doc.parent_path() / path_part).lexically_normal();
    const std::string rel = relative.generic_string();
    if (relative.empty() || rel == ".." || rel.rfind("../", 0) == 0) {
      problems.push_back(where + target + "' leaves the repository (" + rel + ")");
      continue;
    }
    const fs::path file = root / relative;
    if (!fs::exists(file)) {
      problems.push_back(where + target + "' points to " + rel + ", which does not exist");
      continue;
    }
    if (!fragment.empty() && relative.extension() == ".md" && fs::is_regular_file(file)) {
      if (heading_anchors(testing::read_file(file)).count(fragment) == 0)
        problems.push_back(where + target + "': " + rel + " has no heading with the anchor #" + fragment);
    }
  }
  return problems;
}

// The user-facing documents: README.md and docs/*.md, relative to the repository root.
std::vector<fs::path> user_docs() {
  std::vector<fs::path> docs{"README.md"};
  for (const auto& entry : fs::directory_iterator(testing::source_path("docs")))
    if (entry.path().extension() == ".md") docs.push_back(fs::path("docs") / entry.path().filename());
  std::sort(docs.begin() + 1, docs.end());
  return docs;
}

// ---------------------------------------------------------------------------------------------------------
// The CLI's own word: subcommands, options, parameter tables.

// The subcommands `meterbench --help` lists.
std::vector<std::string> cli_subcommands() {
  const auto help = testing::run_cli("--help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  std::vector<std::string> commands;
  std::istringstream lines(help.output);
  std::string line;
  bool in_list = false;
  static const std::regex entry(R"(^\s+([a-z][a-z0-9-]*)\s)");
  std::smatch m;
  while (std::getline(lines, line)) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in_list = true;
      continue;
    }
    if (in_list && std::regex_search(line, m, entry)) commands.push_back(m[1].str());
  }
  return commands;
}

// The --options of the synopsis of `command` in a document: its lines starting
// `build/release/tools/meterbench command`, with their continuation lines (ending in a backslash).
std::set<std::string> synopsis_options(const std::string& doc, const std::string& command) {
  static const std::regex option("--[a-z][a-z0-9-]*");
  std::set<std::string> options;
  std::istringstream lines(doc);
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

// ---------------------------------------------------------------------------------------------------------

TEST(Docs, ParameterTablesMatchTheSpecs) {
  const auto models = testing::run_cli("models");
  ASSERT_EQ(models.exit_code, 0) << models.output;
  EXPECT_NE(cli_doc().find(models.output), std::string::npos)
      << "docs/cli.md does not contain the output of `meterbench models`; paste it into its section on `meterbench models`:\n"
      << models.output;
}

TEST(Docs, CliReferenceHasASectionPerSubcommand) {
  const std::vector<std::string> commands = cli_subcommands();
  ASSERT_GE(commands.size(), 8u) << "subcommands read from `meterbench --help`";
  const std::string doc = cli_doc();
  const std::string readme = testing::read_file(testing::source_path("README.md"));
  for (const std::string& command : commands) {
    EXPECT_TRUE(testing::contains(doc, "\n## `meterbench " + command + "`")) << "docs/cli.md has no section '## `meterbench " << command << "`'";
    EXPECT_TRUE(testing::contains(readme, "meterbench " + command) || testing::contains(readme, "**`" + command + "`**"))
        << "README.md does not mention `meterbench " << command << "`";
  }
}

TEST(Docs, SynopsesNameTheOptionsOfHelp) {
  const std::string doc = cli_doc();
  for (const std::string& command : cli_subcommands()) {
    if (command == "models") continue;  // no options but --help
    const auto help = testing::run_cli(command + " --help");
    ASSERT_EQ(help.exit_code, 0) << help.output;
    const std::set<std::string> listed = help_listed_options(help.output);
    ASSERT_FALSE(listed.empty()) << command << ": no options read from --help:\n" << help.output;
    const std::set<std::string> documented = synopsis_options(doc, command);
    for (const std::string& o : listed) EXPECT_TRUE(documented.count(o) != 0) << "docs/cli.md's synopsis of " << command << " lacks " << o;
    for (const std::string& o : documented)
      EXPECT_TRUE(listed.count(o) != 0) << "docs/cli.md's synopsis of " << command << " names " << o << ", which --help does not list";
  }
}

TEST(Docs, RelativeLinksPointToFilesOfTheRepository) {
  const fs::path root = testing::source_path("");
  const std::vector<fs::path> docs = user_docs();
  ASSERT_GE(docs.size(), 5u);
  for (const fs::path& doc : docs) {
    const std::string text = testing::read_file(root / doc);
    EXPECT_FALSE(link_targets(text).empty() && doc == "README.md") << "README.md links to nothing";
    for (const std::string& problem : link_problems(root, doc, text)) ADD_FAILURE() << problem;
  }
}

TEST(Docs, NothingUserFacingRefersToSharedOutsideTheRepository) {
  std::vector<fs::path> files = user_docs();
  files.emplace_back("tools/report/report.py");  // the HTML report is a user-facing page too
  for (const fs::path& file : files) {
    const std::string text = testing::read_file(testing::source_path(file.generic_string()));
    for (const char* outside : {"../shared", "shared/guides"})
      EXPECT_FALSE(testing::contains(text, outside)) << file.generic_string() << " refers to '" << outside
                                                    << "', which is not in the repository: point to docs/ instead";
  }
}

TEST(Docs, ReadmeIsAShortManualThatStartsWithTheTwoCommands) {
  const std::string readme = testing::read_file(testing::source_path("README.md"));
  const auto lines = std::count(readme.begin(), readme.end(), '\n');
  EXPECT_LE(lines, 250) << "README.md is a user's manual: move reference material to docs/";
  const auto run_default = readme.find("bash tools/run_default.sh\nbash tools/run_tests.sh\n");
  ASSERT_NE(run_default, std::string::npos) << "README.md lost its two commands";
  const auto first_section = readme.find("\n## ");
  EXPECT_LT(run_default, readme.find("\n## ", first_section + 1)) << "the two commands belong in README.md's first section";
}

// The checks above can fail: they find each kind of broken link in a document made to hold them.
TEST(Docs, TheLinkCheckFindsBrokenLinks) {
  const fs::path root = testing::source_path("");
  const std::string bad =
      "# Title\n\n## A `code` section: with (punctuation)\n\n"
      "[fine](../README.md) [fine anchor](#a-code-section-with-punctuation) [web](https://example.org/x)\n"
      "[fine, other file](cli.md#meterbench-generate)\n"
      "[missing](no-such-file.md) [outside](../../shared/guides/METRICS.md) [absolute](/etc/passwd)\n"
      "[bad anchor](#no-such-heading) [bad anchor elsewhere](metrics.md#no-such-heading)\n"
      "[ref]: ../nothing-here.txt\n"
      "```\n[in code](not-checked.md)\n```\n";
  const std::vector<std::string> problems = link_problems(root, "docs/probe.md", bad);
  std::string all;
  for (const std::string& p : problems) all += p + "\n";
  EXPECT_EQ(problems.size(), 6u) << all;
  for (const char* expected : {"'no-such-file.md' points to docs/no-such-file.md, which does not exist",
                               "'../../shared/guides/METRICS.md' leaves the repository", "'/etc/passwd' is absolute",
                               "'#no-such-heading': docs/probe.md has no heading", "'metrics.md#no-such-heading': docs/metrics.md has no heading",
                               "'../nothing-here.txt' points to nothing-here.txt, which does not exist"})
    EXPECT_TRUE(testing::contains(all, expected)) << expected << "\nin:\n" << all;
}

}  // namespace
}  // namespace meterbench
