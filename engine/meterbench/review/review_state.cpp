#include "meterbench/review/review_state.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include <fmt/format.h>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/review/review_series.hpp"

namespace meterbench {

namespace {

constexpr std::size_t kMaxReasonBytes = 2000;

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// A float as the shortest decimal that reads back as the same float (12.3F is 12.3, not 12.300000190734863),
// which keeps the series' JSON small; NaN (a missing step) is null.
nlohmann::json short_number(float v) {
  if (!std::isfinite(v)) return nullptr;
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof(text), v);
  *end = '\0';
  return std::strtod(text, nullptr);
}

nlohmann::json float_array(const std::vector<float>& values) {
  nlohmann::json array = nlohmann::json::array();
  for (const float v : values) array.push_back(short_number(v));
  return array;
}

std::string series_key(const std::string& customer, const std::string& meter) { return customer + '\0' + meter; }

const nlohmann::json& required(const nlohmann::json& body, const char* key) {
  if (!body.contains(key)) throw ReviewRequestError(400, fmt::format("the request has no '{}'", key));
  return body[key];
}

}  // namespace

VerdictRequest parse_verdict_request(const std::string& body) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    throw ReviewRequestError(400, "the request body is not JSON");
  }
  if (!j.is_object()) throw ReviewRequestError(400, "the request body is not a JSON object");
  for (const auto& [key, value] : j.items())
    if (key != "verdict" && key != "reason" && key != "corrected_usage") throw ReviewRequestError(400, fmt::format("unknown key '{}'", key));
  VerdictRequest request;
  const nlohmann::json& verdict = required(j, "verdict");
  if (verdict == "anomaly") request.verdict = Verdict::anomaly;
  else if (verdict == "not_anomaly") request.verdict = Verdict::not_anomaly;
  else throw ReviewRequestError(400, fmt::format("'verdict' must be \"anomaly\" or \"not_anomaly\", got {}", verdict.dump()));
  if (j.contains("reason")) {
    if (!j["reason"].is_string()) throw ReviewRequestError(400, "'reason' must be a string");
    request.reason = j["reason"].get<std::string>();
    if (request.reason.size() > kMaxReasonBytes) throw ReviewRequestError(400, fmt::format("'reason' is longer than {} bytes", kMaxReasonBytes));
  }
  if (j.contains("corrected_usage") && !j["corrected_usage"].is_null()) {
    const nlohmann::json& usage = j["corrected_usage"];
    if (!usage.is_number() || !std::isfinite(usage.get<double>()) || usage.get<double>() < 0.0)
      throw ReviewRequestError(400, fmt::format("'corrected_usage' must be a number >= 0, got {}", usage.dump()));
    request.corrected_usage = usage.get<double>();
  }
  // The service's dialogs: "Not an anomaly" asks why, "Mark as anomaly" asks for the corrected usage.
  if (request.verdict == Verdict::not_anomaly && request.reason.find_first_not_of(" \t\r\n") == std::string::npos)
    throw ReviewRequestError(400, "'Not an anomaly' needs a reason");
  if (request.verdict == Verdict::anomaly && !request.corrected_usage) throw ReviewRequestError(400, "'Mark as anomaly' needs the corrected usage");
  if (request.verdict == Verdict::not_anomaly && request.corrected_usage)
    throw ReviewRequestError(400, "'corrected_usage' belongs to 'Mark as anomaly' only");
  return request;
}

ReviewState::ReviewState(std::vector<ReviewIncident> incidents, std::filesystem::path feedback_file, std::string user, std::int64_t as_of_seconds)
    : incidents_(std::move(incidents)), feedback_file_(std::move(feedback_file)), user_(std::move(user)), as_of_seconds_(as_of_seconds) {
  const std::lock_guard lock(mutex_);
  reload_feedback();
}

std::vector<FeedbackProblem> ReviewState::problems() const {
  const std::lock_guard lock(mutex_);
  return log_.problems;
}

// An incident's standing verdict: among the series' standing verdicts whose period overlaps it, an "anomaly"
// if there is one (it cannot be overturned), else the newest.
void ReviewState::reload_feedback() {
  log_ = read_feedback(feedback_file_);
  std::unordered_map<std::int64_t, std::size_t> index_of_seq;
  for (std::size_t i = 0; i < log_.records.size(); ++i) index_of_seq[log_.records[i].seq] = i;
  std::unordered_map<std::string, std::vector<std::size_t>> standing;  // per series: its standing verdicts
  for (const FeedbackRecord& r : standing_verdicts(log_)) standing[series_key(r.customer, r.meter)].push_back(index_of_seq.at(r.seq));
  verdict_of_.assign(incidents_.size(), -1);
  for (const ReviewIncident& f : incidents_) {
    const auto found = standing.find(series_key(f.customer, f.meter));
    if (found == standing.end()) continue;
    const FeedbackSpan span{f.start_seconds, f.end_seconds};
    std::int64_t& chosen = verdict_of_[static_cast<std::size_t>(f.id)];
    for (const std::size_t i : found->second) {
      const FeedbackRecord& r = log_.records[i];
      if (!spans_overlap(span, feedback_span(r))) continue;
      const FeedbackRecord* current = chosen < 0 ? nullptr : &log_.records[static_cast<std::size_t>(chosen)];
      if (current == nullptr || (r.verdict == Verdict::anomaly && current->verdict != Verdict::anomaly) ||
          (r.verdict == current->verdict && r.seq > current->seq))
        chosen = static_cast<std::int64_t>(i);
    }
  }
}

const ReviewIncident& ReviewState::incident(std::int64_t id) const {
  if (id < 0 || id >= static_cast<std::int64_t>(incidents_.size()))
    throw ReviewRequestError(404, fmt::format("no incident {} (there are {})", id, incidents_.size()));
  return incidents_[static_cast<std::size_t>(id)];
}

nlohmann::json ReviewState::row_json(const ReviewIncident& f) const {
  const std::int64_t act_by = f.first_reported_seconds + kActionWindowDays * kSecondsPerDay;
  const std::int64_t verdict = verdict_of_[static_cast<std::size_t>(f.id)];
  return {{"id", f.id},
          {"customer", f.customer},
          {"meter", f.meter},
          {"offer", f.offer},
          {"kind", f.kind},
          {"start", f.start},
          {"end", f.end},
          {"start_seconds", f.start_seconds},
          {"end_seconds", f.end_seconds},
          {"days", f.days},
          {"direction", f.direction},
          {"observed_total", f.observed_total},
          {"expected_total", f.expected_total},
          {"impact", number_or_null(f.impact)},
          {"currency", f.currency},
          {"peak_score", f.peak_score},
          {"first_reported", f.first_reported},
          {"act_by", format_utc_date(act_by)},
          {"days_left", (act_by - as_of_seconds_) / kSecondsPerDay},
          {"verdict", verdict < 0 ? nlohmann::json(nullptr) : feedback_record_json(log_.records[static_cast<std::size_t>(verdict)])}};
}

nlohmann::json ReviewState::inventory(const IncidentQuery& query, const std::string& status) const {
  if (const auto reason = invalid_query_reason(query)) throw ReviewRequestError(400, *reason);
  if (status != "" && status != "open" && status != "reviewed") throw ReviewRequestError(400, fmt::format("status must be open, reviewed or empty, got '{}'", status));
  const std::lock_guard lock(mutex_);
  IncidentQuery unpaged = query;
  IncidentPage page;
  if (status.empty()) {
    page = query_incidents(incidents_, query);
  } else {
    // The verdict filter applies before paging: page through every match, keep this page's.
    unpaged.page = 0;
    unpaged.page_size = static_cast<std::int64_t>(incidents_.size()) + 1;
    const IncidentPage all = query_incidents(incidents_, unpaged);
    const std::int64_t skip = query.page * query.page_size;
    for (const ReviewIncident* f : all.rows) {
      if ((verdict_of_[static_cast<std::size_t>(f->id)] >= 0) != (status == "reviewed")) continue;
      if (page.total >= skip && page.total < skip + query.page_size) page.rows.push_back(f);
      ++page.total;
    }
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const ReviewIncident* f : page.rows) rows.push_back(row_json(*f));
  return {{"total", page.total}, {"page", query.page}, {"page_size", query.page_size}, {"rows", std::move(rows)}};
}

nlohmann::json ReviewState::detail(std::int64_t id, ReviewSeries& series) const {
  const ReviewIncident& f = incident(id);
  nlohmann::json document;
  {
    const std::lock_guard lock(mutex_);
    document = {{"incident", row_json(f)}, {"neighbours", nlohmann::json::array()}};
    for (const ReviewIncident* n : incidents_of_series(incidents_, f.customer, f.meter))
      if (n->id != f.id) document["neighbours"].push_back(row_json(*n));
  }
  const std::optional<std::int64_t> index = series.find(f.customer, f.meter);
  if (!index) {
    document["range"] = nullptr;
    document["range_problem"] = fmt::format("the dataset has no series of customer '{}' and meter '{}'", f.customer, f.meter);
    return document;
  }
  const SeriesRange range = series.expected_range(*index);
  const TimeGrid& grid = series.info().grid;
  document["range"] = {{"series_index", range.series_index},
                       {"start_seconds", grid.start_unix_seconds},
                       {"step_seconds", grid.step_seconds},
                       {"fit_status", std::string(to_string(range.status))},
                       {"observed", float_array(range.observed)},
                       {"expected", float_array(range.expected)},
                       {"lower", float_array(range.lower)},
                       {"upper", float_array(range.upper)}};
  return document;
}

nlohmann::json ReviewState::act(std::int64_t id, const VerdictRequest& request) {
  const ReviewIncident& f = incident(id);
  FeedbackRecord record;
  record.verdict = request.verdict;
  record.customer = f.customer;
  record.meter = f.meter;
  record.start = f.start;
  record.end = f.end;
  record.reason = request.reason;
  record.corrected_usage = request.corrected_usage;
  record.user = user_;
  const std::lock_guard lock(mutex_);
  FeedbackRecord written;
  try {
    written = append_feedback(feedback_file_, std::move(record));
  } catch (const FeedbackRuleError& e) {
    reload_feedback();  // another tab or server may have marked it meanwhile
    throw ReviewRequestError(409, e.what());
  } catch (const std::invalid_argument& e) {
    throw ReviewRequestError(400, e.what());
  }
  reload_feedback();
  return {{"record", feedback_record_json(written)}, {"incident", row_json(f)}};
}

nlohmann::json ReviewState::actions(std::int64_t page, std::int64_t page_size) const {
  if (page < 0) throw ReviewRequestError(400, fmt::format("page must be >= 0, got {}", page));
  if (page_size < 1 || page_size > 1000) throw ReviewRequestError(400, fmt::format("page_size must be in [1, 1000], got {}", page_size));
  const std::lock_guard lock(mutex_);
  const auto total = static_cast<std::int64_t>(log_.records.size());
  nlohmann::json rows = nlohmann::json::array();
  for (std::int64_t k = page * page_size; k < std::min(total, (page + 1) * page_size); ++k)
    rows.push_back(feedback_record_json(log_.records[static_cast<std::size_t>(total - 1 - k)]));
  nlohmann::json problems = nlohmann::json::array();
  for (const FeedbackProblem& p : log_.problems) problems.push_back({{"line", p.line}, {"reason", p.reason}});
  return {{"total", total}, {"page", page}, {"page_size", page_size}, {"rows", std::move(rows)}, {"problems", std::move(problems)}};
}

}  // namespace meterbench
