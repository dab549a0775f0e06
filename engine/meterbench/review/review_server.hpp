#pragma once
// `meterbench review`: a local web server for reviewing `detect`'s incidents in the browser (docs/review.md).
// It serves the page (static files and the vendored charting library), a JSON API over the incidents, each
// incident's series with its expected range computed on demand, and the two verdicts, appended to the
// feedback file (engine/meterbench/feedback/).
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace meterbench {

struct ReviewOptions {
  std::filesystem::path data;                 ///< the dataset the incidents were detected on (.h5)
  std::filesystem::path incidents;            ///< what `meterbench detect` wrote (CSV or JSON)
  std::filesystem::path feedback;             ///< the feedback file; empty: beside the incidents file
  std::string model = "gam";
  std::vector<std::string> settings;          ///< the detector's name=value settings, as detect took them
  int port = 8765;                            ///< 0: any free port
  std::string bind;                           ///< empty: 127.0.0.1, and requests for another Host are refused
  std::string user;                           ///< who the verdicts are by; empty: the login name
  std::filesystem::path web_dir;              ///< index.html, review.js, review.css
  std::filesystem::path chart_dir;            ///< uPlot.iife.min.js and uPlot.min.css (npm ci at build time)
};

/// The feedback file used when --feedback is not given: the incidents file's name with its extension
/// replaced by ".feedback.jsonl" (incidents.csv -> incidents.feedback.jsonl).
std::filesystem::path default_feedback_file(const std::filesystem::path& incidents);

/// Loads the incidents, opens the dataset, binds the port and calls `on_ready(url)`; then serves until the
/// process is stopped. Throws std::runtime_error (a missing file, a port in use) before serving.
void run_review_server(const ReviewOptions& options, const std::function<void(const std::string& url)>& on_ready);

}  // namespace meterbench
