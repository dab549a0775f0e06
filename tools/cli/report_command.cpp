// `meterbench report DIR`: an HTML page with PNG figures for a backtest or sweep run directory. The figures
// are drawn by tools/report/report.py with matplotlib (a real plotting library); this command
// validates the directory, finds the script and the Python that runs it, stages both outputs under temporary
// names and renames them only when the script succeeded.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "meterbench/feedback/verdict_metrics.hpp"
#include "meterbench/io/bands_file.hpp"
#include "meterbench/io/output_file.hpp"
#include "meterbench/io/dataset_fingerprint.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/io/run_directory.hpp"

extern char** environ;

namespace meterbench::cli {
namespace {

namespace fs = std::filesystem;

// Debian's python3 has python3-matplotlib and friends; a pyenv or venv python3 earlier on PATH often does not.
constexpr const char* kDefaultPython = "/usr/bin/python3";

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// The script: $METERBENCH_REPORT_SCRIPT, else installed beside the binary, else the source tree it was built from.
fs::path find_script() {
  if (const char* v = std::getenv("METERBENCH_REPORT_SCRIPT"); v != nullptr && *v != '\0') {
    if (!fs::is_regular_file(v)) throw std::runtime_error(fmt::format("METERBENCH_REPORT_SCRIPT='{}' is not a file", v));
    return v;
  }
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / "report.py");
    candidates.push_back(exe.parent_path() / "report" / "report.py");
    candidates.push_back(exe.parent_path().parent_path() / "share" / "meterbench" / "report.py");
  }
  candidates.emplace_back(METERBENCH_REPORT_SCRIPT_SOURCE);
  for (const fs::path& p : candidates)
    if (fs::is_regular_file(p, ec)) return p;
  std::string tried;
  for (const fs::path& p : candidates) tried += fmt::format("\n  {}", p.string());
  throw std::runtime_error("cannot find the report script report.py; looked in:" + tried + "\n(set METERBENCH_REPORT_SCRIPT to its path)");
}

// The series pictures of a backtest draw the dataset's values against the run's bands: refuse a dataset whose
// content fingerprint differs from the one summary.json records (another file of the same shape would plot).
void check_dataset_matches_run(const fs::path& run_dir, const std::string& data_option) {
  std::ifstream in(run_dir / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in, nullptr, false);
  if (summary.is_discarded() || !summary.contains("dataset") || !summary["dataset"].contains("fingerprint")) return;
  const nlohmann::json& recorded = summary["dataset"];
  const std::string recorded_path = recorded.value("path", std::string("(not recorded)"));
  const fs::path dataset = data_option.empty() ? fs::path(recorded_path) : fs::path(data_option);
  if (data_option.empty() && !fs::is_regular_file(dataset)) return;  // the script notes the missing file and skips the pictures
  const std::string expected = recorded["fingerprint"].get<std::string>();
  const std::string actual = format_fingerprint(file_fingerprint(dataset));
  if (actual != expected)
    throw std::runtime_error(fmt::format("{}: not the dataset run {} was made from: its fingerprint is {}, but {} records {} (of {})",
                                         dataset.string(), run_dir.string(), actual, (run_dir / "summary.json").string(), expected,
                                         recorded_path));
}

// The run's alerts.csv scored against the verdicts of `feedback`, as summary.json's "reviewed" object.
void write_reviewed_json(const fs::path& run_dir, const fs::path& feedback, const fs::path& into) {
  if (!fs::is_regular_file(run_dir / "alerts.csv"))
    throw std::runtime_error(fmt::format("--feedback: {} has no alerts.csv (the backtest ran with --no-alerts)", run_dir.string()));
  std::ifstream in(run_dir / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in, nullptr, false);
  const nlohmann::json::json_pointer from("/schedule/scored_from"), threshold("/model/flag_threshold");
  if (summary.is_discarded() || !summary.contains(from) || !summary.at(from).is_string() || !summary.contains(threshold) ||
      !summary.at(threshold).is_number())
    throw std::runtime_error(fmt::format("{}: no schedule.scored_from or model.flag_threshold", (run_dir / "summary.json").string()));
  const std::int64_t scored_from = parse_utc_timestamp(summary.at(from).get<std::string>());
  const double z = summary.at(threshold).get<double>();
  const FeedbackLog log = read_feedback_logged(feedback, "report");
  const ReviewedMetrics reviewed = reviewed_metrics_of_alerts(run_dir / "alerts.csv", log, scored_from, z);
  for (const std::string& w : reviewed.warnings) spdlog::warn("report: {}", w);
  nlohmann::json j = to_json(reviewed, {"feedback file"});
  j["feedback"] = fs::absolute(feedback).lexically_normal().string();
  OutputFile file(into);
  file << j.dump(2) << '\n';
  file.close();
}

struct ReportCommand {
  std::string dir, out, data, feedback;
  int series = 6;
  bool overwrite = false;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("report", "Write an HTML report with figures (PNG, readable offline) for a backtest or sweep run directory");
    cmd->add_option("DIR", dir, "Run directory written by `meterbench backtest` or `meterbench sweep`")->required();
    cmd->add_option("--out", out, "HTML file to create (default DIR/report.html); figures go to the folder <name>_files beside it");
    cmd->add_option("--series", series, "Backtest: how many series to draw with their expected range")
        ->transform(integer_in<int>(0, 1000))
        ->capture_default_str();
    cmd->add_option("--data", data, "Backtest: the dataset (.h5) for the series pictures (default: the path in summary.json)");
    cmd->add_option("--feedback", feedback, "Backtest: reviewers' verdicts (docs/feedback.md) to score the run's alerts.csv against");
    cmd->add_flag("--force", overwrite, "Replace the HTML file and its figures folder if they exist");
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions& /*common*/) {
    const fs::path run_dir(dir);
    const RunKind kind = identify_run_directory(run_dir);
    if (!data.empty() && !fs::is_regular_file(data)) throw std::runtime_error(fmt::format("--data '{}': no such file", data));
    if (kind == RunKind::backtest && series > 0) {
      check_dataset_matches_run(run_dir, data);
      if (fs::exists(run_dir / "bands.h5")) check_bands_file(run_dir / "bands.h5");  // the script's own error names no file
    }
    if (!feedback.empty() && kind != RunKind::backtest)
      throw std::runtime_error(fmt::format("--feedback: {} is a sweep directory; run `meterbench sweep --feedback` (best.json then holds "
                                           "the reviewed metrics)", run_dir.string()));
    const fs::path html = out.empty() ? run_dir / "report.html" : fs::path(out);
    if (html.filename().empty() || html.extension() != ".html")
      throw std::runtime_error(fmt::format("--out '{}': the report is an .html file", html.string()));
    const fs::path figures = html.parent_path() / (html.stem().string() + "_files");
    std::vector<fs::path> inputs{run_dir};
    if (!data.empty()) inputs.emplace_back(data);
    StagedOutput staged_html(html, overwrite, OutputKind::file, inputs);
    StagedOutput staged_figures(figures, overwrite, OutputKind::directory, inputs);
    fs::create_directory(staged_figures.temp_path());

    const std::string python = env_or("METERBENCH_PYTHON", fs::exists(kDefaultPython) ? kDefaultPython : "python3");
    std::vector<std::string> args = {python,
                                     find_script().string(),
                                     "--run",
                                     run_dir.string(),
                                     "--kind",
                                     std::string(to_string(kind)),
                                     "--html",
                                     staged_html.temp_path().string(),
                                     "--figures-dir",
                                     staged_figures.temp_path().string(),
                                     "--figures-href",
                                     figures.filename().string(),
                                     "--series",
                                     std::to_string(series)};
    if (!data.empty()) args.insert(args.end(), {"--data", data});
    if (!feedback.empty()) {  // beside the figures: the page shows it, and it stays with the report
      const fs::path reviewed = staged_figures.temp_path() / "reviewed.json";
      write_reviewed_json(run_dir, feedback, reviewed);
      args.insert(args.end(), {"--reviewed", reviewed.string()});
    }
    spdlog::debug("report: {}", fmt::join(args, " "));
    const int code = run_process(args, "install python3 with python3-matplotlib, python3-h5py, python3-pandas, python3-numpy, or set METERBENCH_PYTHON");
    if (code != 0)
      throw std::runtime_error(fmt::format("the report script {} failed (exit {}); nothing was written", args[1], code));
    if (!fs::is_regular_file(staged_html.temp_path()))
      throw std::runtime_error(fmt::format("the report script {} wrote no HTML; nothing was written", args[1]));
    // Figures first: once the HTML is in place, everything it references is too.
    staged_figures.commit();
    staged_html.commit();
    std::printf("report (%s run %s): %s\n", std::string(to_string(kind)).c_str(), run_dir.string().c_str(), html.string().c_str());
  }
};

}  // namespace

void add_report_command(CLI::App& app, CommonOptions& common) { register_command<ReportCommand>(app, common); }

}  // namespace meterbench::cli
