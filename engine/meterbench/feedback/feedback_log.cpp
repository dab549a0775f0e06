#include "meterbench/feedback/feedback_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <string_view>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "meterbench/core/time_grid.hpp"

namespace meterbench {

namespace {

constexpr const char* kFormatName = "meterbench-feedback";
constexpr int kFormatVersion = 1;

std::runtime_error file_error(const std::filesystem::path& file, const char* what) {
  return std::runtime_error(fmt::format("feedback file '{}': {}: {}", file.string(), what, std::strerror(errno)));
}

/// Closes its descriptor on every path out (the flock goes with it).
struct Descriptor {
  int fd = -1;
  Descriptor() = default;
  explicit Descriptor(int value) : fd(value) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

std::string checksum_hex(std::string_view canonical) {
  const uLong crc = ::crc32(::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(canonical.data()),
                            static_cast<uInt>(canonical.size()));
  return fmt::format("{:08x}", static_cast<std::uint32_t>(crc));
}

std::string header_line() {
  return nlohmann::json{{"format", kFormatName}, {"version", kFormatVersion}}.dump() + "\n";
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::int64_t seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000;
  const CivilDate date = civil_from_days(seconds >= 0 ? seconds / kSecondsPerDay : (seconds - kSecondsPerDay + 1) / kSecondsPerDay);
  const std::int64_t of_day = seconds - days_from_civil(date) * kSecondsPerDay;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", date.year, date.month, date.day, of_day / 3600,
                     of_day / 60 % 60, of_day % 60, millis - seconds * 1000);
}

nlohmann::json record_object(const FeedbackRecord& r) {
  nlohmann::json object = {{"seq", r.seq},
                           {"time", r.time},
                           {"verdict", verdict_name(r.verdict)},
                           {"customer", r.customer},
                           {"meter", r.meter},
                           {"start", r.start},
                           {"end", r.end},
                           {"reason", r.reason},
                           {"corrected_usage", nullptr},
                           {"user", r.user}};
  if (r.corrected_usage) object["corrected_usage"] = *r.corrected_usage;
  return object;
}

/// The record's line: its canonical JSON (keys sorted, as nlohmann's std::map objects dump) with the CRC-32
/// of that canonical text added under "crc32".
std::string record_line(const FeedbackRecord& record) {
  nlohmann::json object = record_object(record);
  std::string canonical;
  try {
    canonical = object.dump();
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument("feedback record: a text field is not valid UTF-8");
  }
  object["crc32"] = checksum_hex(canonical);
  return object.dump() + "\n";
}

const std::string& string_field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) throw std::invalid_argument(fmt::format("key '{}' missing or not a string", key));
  return it->get_ref<const std::string&>();
}

/// The record of one line; throws std::invalid_argument saying what is wrong with it.
FeedbackRecord parse_record_line(std::string_view line) {
  nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
  if (object.is_discarded()) throw std::invalid_argument("not valid JSON");
  if (!object.is_object()) throw std::invalid_argument("not a JSON object");
  const std::string stored = string_field(object, "crc32");
  object.erase("crc32");
  if (const std::string computed = checksum_hex(object.dump()); computed != stored)
    throw std::invalid_argument(fmt::format("checksum mismatch (stored {}, computed {}): the line was altered", stored, computed));
  FeedbackRecord record;
  const auto seq = object.find("seq");
  if (seq == object.end() || !seq->is_number_integer()) throw std::invalid_argument("key 'seq' missing or not an integer");
  record.seq = seq->get<std::int64_t>();
  record.time = string_field(object, "time");
  const std::string& verdict = string_field(object, "verdict");
  if (verdict == "anomaly") record.verdict = Verdict::anomaly;
  else if (verdict == "not_anomaly") record.verdict = Verdict::not_anomaly;
  else throw std::invalid_argument(fmt::format("verdict '{}' is neither anomaly nor not_anomaly", verdict));
  record.customer = string_field(object, "customer");
  record.meter = string_field(object, "meter");
  record.start = string_field(object, "start");
  record.end = string_field(object, "end");
  record.reason = string_field(object, "reason");
  record.user = string_field(object, "user");
  const auto usage = object.find("corrected_usage");
  if (usage == object.end() || !(usage->is_null() || usage->is_number()))
    throw std::invalid_argument("key 'corrected_usage' missing or neither a number nor null");
  if (usage->is_number()) record.corrected_usage = usage->get<double>();
  (void)feedback_span(record);  // the dates must parse
  return record;
}

/// Parses a whole file's text: header check (throws), then one record or one problem per non-empty line.
FeedbackLog parse_feedback_text(std::string_view text, const std::filesystem::path& file) {
  const std::size_t header_end = text.find('\n');
  const std::string_view header = text.substr(0, header_end);
  const nlohmann::json parsed = nlohmann::json::parse(header, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || parsed.value("format", std::string()) != kFormatName)
    throw std::runtime_error(fmt::format("feedback file '{}', line 1: not a meterbench feedback file (expected the header {})",
                                         file.string(), header_line().substr(0, header_line().size() - 1)));
  if (parsed.value("version", 0) != kFormatVersion)
    throw std::runtime_error(fmt::format("feedback file '{}', line 1: unsupported version {} (this build reads version {})",
                                         file.string(), parsed.contains("version") ? parsed["version"].dump() : "none", kFormatVersion));
  FeedbackLog log;
  std::int64_t line_number = 1;
  for (std::size_t at = header_end == std::string_view::npos ? text.size() : header_end + 1; at < text.size();) {
    ++line_number;
    const std::size_t newline = text.find('\n', at);
    const std::string_view line = text.substr(at, newline == std::string_view::npos ? std::string_view::npos : newline - at);
    at = newline == std::string_view::npos ? text.size() : newline + 1;
    if (line.empty()) continue;
    if (newline == std::string_view::npos) {
      log.problems.push_back({line_number, "torn last line (no newline at its end: an interrupted write); skipped"});
      break;
    }
    try {
      log.records.push_back(parse_record_line(line));
    } catch (const std::exception& error) {
      log.problems.push_back({line_number, fmt::format("{}; skipped", error.what())});
    }
  }
  return log;
}

std::string read_all(int fd, const std::filesystem::path& file) {
  std::string text;
  char buffer[1 << 16];
  for (off_t offset = 0;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw file_error(file, "cannot read");
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
}

void write_whole(int fd, std::string_view bytes, const std::filesystem::path& file) {
  for (;;) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw file_error(file, "cannot write");
    if (static_cast<std::size_t>(n) != bytes.size()) {
      errno = EIO;  // a short write of a regular file: the disk is full; the torn line is reported by readers
      throw file_error(file, "short write");
    }
    return;
  }
}

void sync_directory(const std::filesystem::path& file) {
  const std::filesystem::path directory = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const Descriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd < 0 || ::fsync(dir.fd) != 0) throw file_error(directory, "cannot sync the directory");
}

/// Creates the file with its header, complete or not at all: the header is written and synced under a
/// temporary name, then linked to the final name (link fails harmlessly when another writer created it first).
void create_with_header(const std::filesystem::path& file) {
  const std::filesystem::path staged = file.string() + fmt::format(".creating.{}", ::getpid());
  {
    const Descriptor out(::open(staged.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (out.fd < 0) throw file_error(staged, "cannot create");
    write_whole(out.fd, header_line(), staged);
    if (::fsync(out.fd) != 0) throw file_error(staged, "cannot sync");
  }
  const int linked = ::link(staged.c_str(), file.c_str());
  const int link_errno = errno;
  ::unlink(staged.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    errno = link_errno;
    throw file_error(file, "cannot create");
  }
  sync_directory(file);
}

void check_record(const FeedbackRecord& record) {
  if (record.customer.empty()) throw std::invalid_argument("feedback record: customer is empty");
  if (record.meter.empty()) throw std::invalid_argument("feedback record: meter is empty");
  const FeedbackSpan span = feedback_span(record);
  if (span.end < span.start)
    throw std::invalid_argument(fmt::format("feedback record: end '{}' is before start '{}'", record.end, record.start));
  if (record.corrected_usage && !std::isfinite(*record.corrected_usage))
    throw std::invalid_argument("feedback record: corrected_usage is not a finite number");
}

/// The service's rule: once an incident is marked as an anomaly it cannot become "not an anomaly". An incident
/// is matched as verdicts are matched to alerts: same customer and meter, overlapping [start, end].
void check_rule(const FeedbackLog& log, const FeedbackRecord& record) {
  if (record.verdict != Verdict::not_anomaly) return;
  const FeedbackSpan span = feedback_span(record);
  for (const FeedbackRecord& standing : standing_verdicts(log)) {
    if (standing.verdict != Verdict::anomaly || standing.customer != record.customer || standing.meter != record.meter) continue;
    if (!spans_overlap(feedback_span(standing), span)) continue;
    throw FeedbackRuleError(fmt::format(
        "customer '{}' meter '{}' [{}, {}] was marked as an anomaly (record {}, [{}, {}], by '{}'): an incident marked as an "
        "anomaly cannot be changed to not an anomaly",
        record.customer, record.meter, record.start, record.end, standing.seq, standing.start, standing.end, standing.user));
  }
}

}  // namespace

const char* verdict_name(Verdict verdict) { return verdict == Verdict::anomaly ? "anomaly" : "not_anomaly"; }

nlohmann::json feedback_record_json(const FeedbackRecord& record) { return record_object(record); }

FeedbackSpan feedback_span(const FeedbackRecord& record) {
  return {parse_utc_timestamp(record.start), parse_utc_timestamp(record.end)};
}

FeedbackLog read_feedback(const std::filesystem::path& file) {
  const Descriptor in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0 && errno == ENOENT) return {};
  if (in.fd < 0) throw file_error(file, "cannot open");
  return parse_feedback_text(read_all(in.fd, file), file);
}

FeedbackRecord append_feedback(const std::filesystem::path& file, FeedbackRecord record) {
  check_record(record);
  if (::access(file.c_str(), F_OK) != 0) create_with_header(file);
  const Descriptor out(::open(file.c_str(), O_RDWR | O_APPEND | O_CLOEXEC));
  if (out.fd < 0) throw file_error(file, "cannot open for appending");
  while (::flock(out.fd, LOCK_EX) != 0) {
    if (errno != EINTR) throw file_error(file, "cannot lock");
  }
  const std::string text = read_all(out.fd, file);
  const FeedbackLog log = parse_feedback_text(text, file);
  check_rule(log, record);
  std::int64_t last_seq = 0;
  for (const FeedbackRecord& r : log.records) last_seq = std::max(last_seq, r.seq);
  record.seq = last_seq + 1;
  record.time = utc_now();
  std::string line = record_line(record);
  // A torn last line (a writer killed mid-line) is closed first, so that this record starts on a line of its own.
  if (!text.empty() && text.back() != '\n') line.insert(line.begin(), '\n');
  write_whole(out.fd, line, file);
  if (::fsync(out.fd) != 0) throw file_error(file, "cannot sync");
  return record;
}

std::vector<FeedbackRecord> standing_verdicts(const FeedbackLog& log) {
  std::map<std::tuple<std::string_view, std::string_view, std::string_view, std::string_view>, std::size_t> last;
  for (std::size_t i = 0; i < log.records.size(); ++i) {
    const FeedbackRecord& r = log.records[i];
    last[{r.customer, r.meter, r.start, r.end}] = i;
  }
  std::vector<std::size_t> order;
  order.reserve(last.size());
  for (const auto& entry : last) order.push_back(entry.second);
  std::sort(order.begin(), order.end());
  std::vector<FeedbackRecord> standing;
  standing.reserve(order.size());
  for (const std::size_t i : order) standing.push_back(log.records[i]);
  return standing;
}

}  // namespace meterbench
