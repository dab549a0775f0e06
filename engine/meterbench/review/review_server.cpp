#include "meterbench/review/review_server.hpp"

#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "meterbench/review/review_series.hpp"
#include "meterbench/review/review_state.hpp"

namespace meterbench {

namespace {

constexpr const char* kSessionCookie = "meterbench_review_session";
constexpr std::size_t kMaxSessions = 10'000;
constexpr std::size_t kMaxBodyBytes = 64 * 1024;
// The page loads only its own files: no inline script, nothing from elsewhere. uPlot sizes its elements
// through the style attribute, hence 'unsafe-inline' for styles only.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct StaticFile {
  std::string content_type;
  std::string body;
};

std::string read_whole_file(const std::filesystem::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read {} '{}'{}", what, path.string(),
                                                std::string(what) == "the charting library"
                                                    ? " (the build installs it with `npm ci`: rebuild with tools/setup.sh)"
                                                    : ""));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The only files served: a fixed map from URL path to file, so no request path ever reaches the file system.
std::map<std::string, StaticFile> load_static_files(const ReviewOptions& options) {
  const auto page = [&](const char* name, const char* type) { return StaticFile{type, read_whole_file(options.web_dir / name, "the page file")}; };
  const auto chart = [&](const char* name, const char* type) { return StaticFile{type, read_whole_file(options.chart_dir / name, "the charting library")}; };
  return {{"/", page("index.html", "text/html; charset=utf-8")},
          {"/static/review.js", page("review.js", "text/javascript; charset=utf-8")},
          {"/static/review.css", page("review.css", "text/css; charset=utf-8")},
          {"/static/uPlot.iife.min.js", chart("uPlot.iife.min.js", "text/javascript; charset=utf-8")},
          {"/static/uPlot.min.css", chart("uPlot.min.css", "text/css; charset=utf-8")}};
}

std::string login_name() {
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  return "reviewer";
}

std::string random_token() {
  std::random_device device;  // the kernel's random source
  std::string token;
  for (int i = 0; i < 4; ++i) token += fmt::format("{:08x}", device());
  return token;
}

// Sessions: a cookie names the session, whose token every POST must carry in the X-CSRF-Token header. Another
// site can make the browser send the cookie, but cannot read the token (no CORS), so it cannot forge a POST.
class Sessions {
 public:
  /// The session's token, creating the session (and setting its cookie) when the request has none.
  std::string token_for(const httplib::Request& request, httplib::Response& response) {
    const std::lock_guard lock(mutex_);
    const std::string id = session_id(request);
    if (const auto found = tokens_.find(id); !id.empty() && found != tokens_.end()) return found->second;
    if (tokens_.size() >= kMaxSessions) tokens_.clear();
    const std::string new_id = random_token();
    const std::string token = random_token();
    tokens_.emplace(new_id, token);
    response.set_header("Set-Cookie", fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", kSessionCookie, new_id));
    return token;
  }
  [[nodiscard]] bool valid(const httplib::Request& request) const {
    const std::lock_guard lock(mutex_);
    const auto found = tokens_.find(session_id(request));
    return found != tokens_.end() && request.get_header_value("X-CSRF-Token") == found->second;
  }

 private:
  static std::string session_id(const httplib::Request& request) {
    const std::string cookies = request.get_header_value("Cookie");
    const std::string prefix = std::string(kSessionCookie) + "=";
    for (std::size_t at = 0; at < cookies.size();) {
      while (at < cookies.size() && (cookies[at] == ' ' || cookies[at] == ';')) ++at;
      const std::size_t end = std::min(cookies.find(';', at), cookies.size());
      if (cookies.compare(at, prefix.size(), prefix) == 0) return cookies.substr(at + prefix.size(), end - at - prefix.size());
      at = end;
    }
    return {};
  }
  mutable std::mutex mutex_;
  std::map<std::string, std::string> tokens_;
};

void send_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json; charset=utf-8");
}

void send_error(httplib::Response& response, int status, const std::string& reason) { send_json(response, status, {{"error", reason}}); }

// Runs an API handler: a refused request is its status and reason, anything else a 500 that is also logged.
template <class Handler>
httplib::Server::Handler api(Handler handler) {
  return [handler](const httplib::Request& request, httplib::Response& response) {
    try {
      handler(request, response);
    } catch (const ReviewRequestError& e) {
      send_error(response, e.status(), e.what());
    } catch (const std::exception& e) {
      spdlog::error("review: {} {}: {}", request.method, request.path, e.what());
      send_error(response, 500, e.what());
    }
  };
}

std::int64_t integer_param(const httplib::Request& request, const char* name, std::int64_t fallback) {
  if (!request.has_param(name)) return fallback;
  const std::string text = request.get_param_value(name);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) throw ReviewRequestError(400, fmt::format("'{}' must be an integer, got '{}'", name, text));
  return value;
}

// min_impact: a number of USD, or "all" (0).
double impact_param(const httplib::Request& request) {
  if (!request.has_param("min_impact")) return 100.0;
  const std::string text = request.get_param_value("min_impact");
  if (text == "all") return 0.0;
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) throw ReviewRequestError(400, fmt::format("'min_impact' must be a number or all, got '{}'", text));
  return value;
}

std::int64_t id_of(const httplib::Request& request) {
  const std::string text = request.matches[1].str();
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size()) throw ReviewRequestError(404, fmt::format("no incident '{}'", text));
  return id;
}

struct ReviewApp {
  const ReviewOptions& options;
  ReviewState& state;
  ReviewSeries& series;
  Sessions sessions;
  std::map<std::string, StaticFile> files;
  std::set<std::string> allowed_hosts;  // empty: any (--bind given)

  // DNS rebinding: a page of another site whose name resolves to 127.0.0.1 reaches this server with its own name
  // in the Host header. Only this server's own names are answered.
  httplib::Server::HandlerResponse check_host(const httplib::Request& request, httplib::Response& response) const {
    if (allowed_hosts.empty() || allowed_hosts.contains(request.get_header_value("Host"))) return httplib::Server::HandlerResponse::Unhandled;
    response.status = 403;
    response.set_content(fmt::format("refused: Host '{}' is not this server (start with --bind to serve other names)\n", request.get_header_value("Host")),
                         "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  }

  void add_routes(httplib::Server& server) {
    for (const auto& [path, file] : files)
      server.Get(path, [&file = file](const httplib::Request&, httplib::Response& response) { response.set_content(file.body, file.content_type); });
    server.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& response) { response.status = 204; });  // none, quietly
    server.Get("/api/session", api([this](const httplib::Request& request, httplib::Response& response) { session(request, response); }));
    server.Get("/api/incidents", api([this](const httplib::Request& request, httplib::Response& response) { inventory(request, response); }));
    server.Get(R"(/api/incidents/(\d+))", api([this](const httplib::Request& request, httplib::Response& response) {
                 send_json(response, 200, state.detail(id_of(request), series));
               }));
    server.Post(R"(/api/incidents/(\d+)/verdict)", api([this](const httplib::Request& request, httplib::Response& response) { verdict(request, response); }));
    server.Get("/api/actions", api([this](const httplib::Request& request, httplib::Response& response) {
                 send_json(response, 200, state.actions(integer_param(request, "page", 0), integer_param(request, "page_size", 100)));
               }));
  }

  void session(const httplib::Request& request, httplib::Response& response) {
    const DatasetInfo& info = series.info();
    nlohmann::json problems = nlohmann::json::array();
    for (const FeedbackProblem& p : state.problems()) problems.push_back({{"line", p.line}, {"reason", p.reason}});
    std::set<std::string> kinds;
    bool has_offer = false;
    for (const ReviewIncident& f : state.incidents()) {
      kinds.insert(f.kind);
      has_offer = has_offer || !f.offer.empty();
    }
    nlohmann::json parameters = nlohmann::json::object();
    for (const auto& [name, value] : series.detector().parameters()) parameters[name] = value;
    send_json(response, 200,
              {{"csrf_token", sessions.token_for(request, response)},
               {"user", options.user},
               {"dataset", {{"path", options.data.string()}, {"series", info.series_count}, {"steps", info.grid.steps},
                            {"start", format_utc_timestamp(info.grid.start_unix_seconds)}, {"step", format_step(info.grid.step_seconds)},
                            {"as_of", format_utc_timestamp(state.as_of_seconds())}}},
               {"model", options.model},
               {"parameters", parameters},
               {"incidents_file", options.incidents.string()},
               {"incidents", state.incidents().size()},
               {"kinds", kinds},
               {"has_offer", has_offer},
               {"action_window_days", kActionWindowDays},
               {"feedback_file", state.feedback_file().string()},
               {"feedback_problems", problems}});
  }

  void inventory(const httplib::Request& request, httplib::Response& response) const {
    IncidentQuery query;
    query.min_abs_impact = impact_param(request);
    query.last_days = integer_param(request, "days", 0);
    query.as_of_seconds = state.as_of_seconds();
    query.offer = request.get_param_value("offer");
    query.meter = request.get_param_value("meter");
    query.customer = request.get_param_value("customer");
    query.kind = request.get_param_value("kind");
    query.direction = request.get_param_value("direction");
    query.page = integer_param(request, "page", 0);
    query.page_size = integer_param(request, "page_size", 50);
    send_json(response, 200, state.inventory(query, request.get_param_value("status")));
  }

  void verdict(const httplib::Request& request, httplib::Response& response) {
    if (!sessions.valid(request)) throw ReviewRequestError(403, "missing or wrong CSRF token (reload the page)");
    // A form of another site can post text/plain or form data without a preflight, never application/json.
    if (request.get_header_value("Content-Type").rfind("application/json", 0) != 0)
      throw ReviewRequestError(415, "the body must be application/json");
    const nlohmann::json result = state.act(id_of(request), parse_verdict_request(request.body));
    spdlog::info("review: {} marked incident {} ({}, {}, {}..{}) as {}", options.user, id_of(request), result["record"]["customer"].get<std::string>(),
                 result["record"]["meter"].get<std::string>(), result["record"]["start"].get<std::string>(), result["record"]["end"].get<std::string>(),
                 result["record"]["verdict"].get<std::string>());
    send_json(response, 200, result);
  }
};

void set_security_headers(httplib::Server& server) {
  server.set_default_headers({{"Content-Security-Policy", kContentSecurityPolicy},
                              {"X-Content-Type-Options", "nosniff"},
                              {"X-Frame-Options", "DENY"},
                              {"Referrer-Policy", "no-referrer"},
                              {"Cache-Control", "no-store"}});
}

}  // namespace

std::filesystem::path default_feedback_file(const std::filesystem::path& incidents) {
  std::filesystem::path file = incidents;
  file.replace_extension(".feedback.jsonl");
  return file;
}

void run_review_server(const ReviewOptions& given, const std::function<void(const std::string& url)>& on_ready) {
  ReviewOptions options = given;
  if (options.feedback.empty()) options.feedback = default_feedback_file(options.incidents);
  if (options.user.empty()) options.user = login_name();
  if (options.port < 0 || options.port > 65535) throw std::invalid_argument(fmt::format("--port must be in [0, 65535], got {}", options.port));
  std::vector<ReviewIncident> incidents = read_review_incidents(options.incidents);
  std::vector<std::pair<std::string, std::string>> wanted;
  wanted.reserve(incidents.size());
  for (const ReviewIncident& f : incidents) wanted.emplace_back(f.customer, f.meter);
  ReviewSeries series(options.data, options.model, options.settings, wanted);
  const TimeGrid& grid = series.info().grid;
  ReviewState state(std::move(incidents), options.feedback, options.user, grid.time_at(grid.steps - 1));
  for (const FeedbackProblem& p : state.problems())
    spdlog::warn("review: feedback file '{}' line {}: {} (skipped)", options.feedback.string(), p.line, p.reason);

  ReviewApp app{options, state, series, {}, load_static_files(options), {}};
  httplib::Server server;
  server.set_payload_max_length(kMaxBodyBytes);
  set_security_headers(server);
  const std::string host = options.bind.empty() ? "127.0.0.1" : options.bind;
  const int port = options.port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, options.port) ? options.port : -1);
  if (port < 0) throw std::runtime_error(fmt::format("cannot listen on {}:{} (in use? try another --port)", host, options.port));
  if (options.bind.empty()) app.allowed_hosts = {fmt::format("127.0.0.1:{}", port), fmt::format("localhost:{}", port)};
  server.set_pre_routing_handler([&app](const httplib::Request& request, httplib::Response& response) { return app.check_host(request, response); });
  app.add_routes(server);
  on_ready(fmt::format("http://{}:{}/", host.find(':') != std::string::npos ? "[" + host + "]" : host, port));
  if (!server.listen_after_bind()) throw std::runtime_error(fmt::format("the server on {}:{} stopped", host, port));
}

}  // namespace meterbench
