#pragma once
// The feedback file: reviewers' verdicts on incidents ("anomaly" or "not an anomaly"), kept in an append-only
// JSON Lines file (docs/feedback.md). Every append is one write(2) of a whole line on an O_APPEND descriptor
// under an exclusive flock, followed by fsync: a killed writer loses at most the line in flight, two writers
// never interleave, and every line carries a CRC-32 so that a damaged line is found and reported, never
// silently taken for a verdict.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace meterbench {

enum class Verdict : std::uint8_t { anomaly, not_anomaly };

/// "anomaly" or "not_anomaly".
const char* verdict_name(Verdict verdict);

/// One reviewer's verdict on one incident of one series.
struct FeedbackRecord {
  std::int64_t seq = 0;               ///< 1, 2, ... in file order; assigned by append_feedback
  std::string time;                   ///< UTC ISO-8601 instant of the append; assigned by append_feedback
  Verdict verdict = Verdict::anomaly;
  std::string customer, meter;        ///< the series
  std::string start, end;             ///< first and last date (or instant) of the incident, ISO-8601, UTC
  std::string reason;                 ///< why (free text; the service asks it for "not an anomaly")
  std::optional<double> corrected_usage;  ///< the usage that should have been billed (for "anomaly")
  std::string user;                   ///< who decided
};

/// The record as a JSON object with the file's keys (without its crc32): what the review page's API returns.
nlohmann::json feedback_record_json(const FeedbackRecord& record);

/// A line of the file that holds no usable record.
struct FeedbackProblem {
  std::int64_t line = 0;  ///< 1-based line number in the file
  std::string reason;
};

struct FeedbackLog {
  std::vector<FeedbackRecord> records;    ///< the valid records, in file order
  std::vector<FeedbackProblem> problems;  ///< damaged lines: callers report them as warnings
};

/// A verdict that the service's rules refuse (an incident marked as an anomaly cannot become "not an anomaly").
class FeedbackRuleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads a feedback file. A missing file is an empty log. Throws std::runtime_error naming the file (and line)
/// when it cannot be read or does not start with the feedback header. Damaged lines (bad JSON, a checksum
/// mismatch, missing or wrong fields, a torn last line without its newline) are returned as problems.
FeedbackLog read_feedback(const std::filesystem::path& file);

/// Appends `record` durably and returns it as written (seq and time assigned). Creates the file with its header
/// when missing. Under an exclusive lock it re-reads the standing verdicts and throws FeedbackRuleError when the
/// record would turn an incident marked "anomaly" into "not an anomaly"; std::invalid_argument for a record
/// with missing or invalid fields; std::runtime_error naming the file when it cannot be written.
FeedbackRecord append_feedback(const std::filesystem::path& file, FeedbackRecord record);

/// The standing verdict per incident: the last record for each (customer, meter, start, end), in seq order.
std::vector<FeedbackRecord> standing_verdicts(const FeedbackLog& log);

/// The incident's [start, end] in Unix seconds (UTC); throws std::invalid_argument on a bad date.
struct FeedbackSpan {
  std::int64_t start = 0, end = 0;
};
FeedbackSpan feedback_span(const FeedbackRecord& record);

/// True when the closed intervals [a.start, a.end] and [b.start, b.end] share an instant.
inline bool spans_overlap(FeedbackSpan a, FeedbackSpan b) { return a.start <= b.end && b.start <= a.end; }

}  // namespace meterbench
