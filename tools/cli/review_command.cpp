#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "meterbench/review/review_server.hpp"

namespace meterbench::cli {
namespace {

struct ReviewCommand {
  PassOptions pass;
  meterbench::ReviewOptions options;

  CLI::App* add_to(CLI::App& app, CommonOptions& common) {
    CLI::App* cmd = app.add_subcommand("review", "Review detect's incidents in the browser: a local web page to mark each as an anomaly or not");
    add_model_options(*cmd, pass);
    cmd->add_option("--incidents", options.incidents, "The incidents file `meterbench detect` wrote (CSV or JSON)")->required();
    cmd->add_option("--feedback", options.feedback, "Feedback file the verdicts are appended to (default: INCIDENTS with .feedback.jsonl)");
    cmd->add_option("--port", options.port, "TCP port (0: any free port; the URL printed says which)")
        ->transform(integer_in<int>(0, 65535))
        ->capture_default_str();
    cmd->add_option("--bind", options.bind,
                    "Address to listen on (default 127.0.0.1, answering only requests for this server's own name; "
                    "with --bind any Host is answered)");
    cmd->add_option("--user", options.user, "Who the verdicts are by (default: the login name)");
    add_common_options(*cmd, common);
    return cmd;
  }

  void run(const CommonOptions&) {
    options.data = pass.data;
    options.model = pass.model;
    options.settings = pass.settings;
    options.web_dir = METERBENCH_REVIEW_WEB_DIR;
    options.chart_dir = METERBENCH_REVIEW_CHART_DIR;
    meterbench::run_review_server(options, [](const std::string& url) {
      std::printf("review: serving %s (Ctrl-C stops)\n", url.c_str());
      std::fflush(stdout);
    });
  }
};

}  // namespace

void add_review_command(CLI::App& app, CommonOptions& common) { register_command<ReviewCommand>(app, common); }

}  // namespace meterbench::cli
