#include "meterbench/io/run_directory.hpp"

#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace meterbench {

namespace fs = std::filesystem;

std::string_view to_string(RunKind kind) { return kind == RunKind::backtest ? "backtest" : "sweep"; }

namespace {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw RunDirectoryError(fmt::format("cannot read '{}'", path.string()));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw RunDirectoryError(fmt::format("'{}' is not valid JSON: {}", path.string(), e.what()));
  }
}

void require_files(const fs::path& dir, std::string_view what, std::initializer_list<const char*> names) {
  std::string missing;
  for (const char* name : names)
    if (!fs::is_regular_file(dir / name)) missing += (missing.empty() ? "" : ", ") + std::string(name);
  if (!missing.empty()) throw RunDirectoryError(fmt::format("'{}' looks like a {} run but has no {}", dir.string(), what, missing));
}

}  // namespace

RunKind identify_run_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw RunDirectoryError(fmt::format("run directory '{}' does not exist", dir.string()));
  if (!fs::is_directory(dir, ec)) throw RunDirectoryError(fmt::format("'{}' is not a directory (expected a meterbench run directory)", dir.string()));
  if (fs::exists(dir / "best.json") || fs::exists(dir / "sweep.csv")) {
    require_files(dir, "sweep", {"sweep.csv", "best.json"});
    const nlohmann::json best = read_json(dir / "best.json");
    if (!best.is_object() || best.value("kind", std::string()) != "sweep")
      throw RunDirectoryError(fmt::format("'{}' has no \"kind\": \"sweep\" (not written by `meterbench sweep`)", (dir / "best.json").string()));
    return RunKind::sweep;
  }
  if (fs::exists(dir / "summary.json")) {
    const nlohmann::json summary = read_json(dir / "summary.json");
    for (const char* key : {"schema_version", "model", "dataset", "throughput"})
      if (!summary.is_object() || !summary.contains(key))
        throw RunDirectoryError(fmt::format("'{}' has no key '{}' (not written by `meterbench backtest`)", (dir / "summary.json").string(), key));
    // The metric tables exist only when the dataset has labels.
    if (!summary["metrics"].is_null()) require_files(dir, "backtest", {"pr_curve.csv", "per_kind.csv"});
    return RunKind::backtest;
  }
  throw RunDirectoryError(fmt::format(
      "'{}' is not a meterbench run directory: it has neither summary.json (a `meterbench backtest` run) nor sweep.csv and "
      "best.json (a `meterbench sweep`)",
      dir.string()));
}

}  // namespace meterbench
