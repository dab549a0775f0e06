#pragma once
// What the review server knows and answers, apart from HTTP: the incidents, the standing verdict of each
// (from the feedback file), the action log, and the JSON documents of the page's API. Thread-safe: the
// server's threads call it concurrently.
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "meterbench/feedback/feedback_log.hpp"
#include "meterbench/review/review_incidents.hpp"

namespace meterbench {

class ReviewSeries;

/// The service's window: an incident is to be acted on within this many days of being first reported.
inline constexpr std::int64_t kActionWindowDays = 30;

/// A request the API refuses: `status` is the HTTP status (400 bad input, 404 unknown incident, 409 a rule).
class ReviewRequestError : public std::runtime_error {
 public:
  ReviewRequestError(int status, const std::string& reason) : std::runtime_error(reason), status_(status) {}
  [[nodiscard]] int status() const { return status_; }

 private:
  int status_;
};

/// A verdict as the page submits it.
struct VerdictRequest {
  Verdict verdict = Verdict::anomaly;
  std::string reason;
  std::optional<double> corrected_usage;
};

/// Parses and checks the body of POST /api/incidents/<id>/verdict; throws ReviewRequestError(400) naming the
/// key and the problem.
VerdictRequest parse_verdict_request(const std::string& body);

class ReviewState {
 public:
  /// `as_of_seconds`: the data's last instant, from which "last N days" and the days left to act count.
  ReviewState(std::vector<ReviewIncident> incidents, std::filesystem::path feedback_file, std::string user, std::int64_t as_of_seconds);

  [[nodiscard]] const std::vector<ReviewIncident>& incidents() const { return incidents_; }
  [[nodiscard]] std::int64_t as_of_seconds() const { return as_of_seconds_; }
  [[nodiscard]] const std::filesystem::path& feedback_file() const { return feedback_file_; }
  /// The feedback file's damaged lines, as read at start and after each append (line and reason).
  [[nodiscard]] std::vector<FeedbackProblem> problems() const;

  /// GET /api/incidents: the page of the inventory a query asks for. `status` filters by standing verdict:
  /// "open" (none), "reviewed", or "" (all). Throws ReviewRequestError(400).
  nlohmann::json inventory(const IncidentQuery& query, const std::string& status) const;
  /// GET /api/incidents/<id>: the incident, its verdict, its neighbours in the same series and the series'
  /// expected range. Throws ReviewRequestError(404).
  nlohmann::json detail(std::int64_t id, ReviewSeries& series) const;
  /// POST /api/incidents/<id>/verdict: appends the verdict to the feedback file. Throws ReviewRequestError
  /// (404; 409 when the service's rules refuse it).
  nlohmann::json act(std::int64_t id, const VerdictRequest& request);
  /// GET /api/actions: every record of the feedback file, newest first, paged.
  nlohmann::json actions(std::int64_t page, std::int64_t page_size) const;

 private:
  void reload_feedback();  // under mutex_
  [[nodiscard]] nlohmann::json row_json(const ReviewIncident& f) const;  // under mutex_
  [[nodiscard]] const ReviewIncident& incident(std::int64_t id) const;

  std::vector<ReviewIncident> incidents_;
  std::filesystem::path feedback_file_;
  std::string user_;
  std::int64_t as_of_seconds_ = 0;

  mutable std::mutex mutex_;
  FeedbackLog log_;
  std::vector<std::int64_t> verdict_of_;  ///< per incident id: index in log_.records of its standing verdict, or -1
};

}  // namespace meterbench
