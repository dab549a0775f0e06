// The feedback file's contract: records survive a round trip, concurrent writers and kill -9 lose nothing that
// was acknowledged and never interleave, damage is reported line by line, and the service's rule holds.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "meterbench/feedback/feedback_log.hpp"
#include "support/test_support.hpp"

namespace meterbench {
namespace {

using testing::contains;
using testing::read_file;
using testing::ScratchDir;
using testing::write_file;

FeedbackRecord verdict(Verdict v, const std::string& customer, const std::string& start, const std::string& end) {
  FeedbackRecord r;
  r.verdict = v;
  r.customer = customer;
  r.meter = "m1";
  r.start = start;
  r.end = end;
  r.user = "alice";
  r.reason = v == Verdict::anomaly ? "double billing" : "planned migration";
  return r;
}

std::string line_of(const std::string& text, int number) {
  std::size_t at = 0;
  for (int i = 1; i < number; ++i) at = text.find('\n', at) + 1;
  return text.substr(at, text.find('\n', at) - at);
}

TEST(FeedbackLog, MissingFileIsAnEmptyLog) {
  const ScratchDir dir;
  const FeedbackLog log = read_feedback(dir / "none.jsonl");
  EXPECT_TRUE(log.records.empty());
  EXPECT_TRUE(log.problems.empty());
}

TEST(FeedbackLog, RoundTripKeepsEveryFieldAndAssignsSeqAndTime) {
  const ScratchDir dir;
  const auto file = dir / "feedback.jsonl";
  FeedbackRecord first = verdict(Verdict::anomaly, "c\"1 <x>", "2024-03-01", "2024-03-04");
  first.corrected_usage = 1234.5;
  first.reason = "unit error, x1000 — ü";
  const FeedbackRecord written = append_feedback(file, first);
  EXPECT_EQ(written.seq, 1);
  EXPECT_EQ(written.time.size(), 24U) << written.time;  // 2026-12-06T20:30:00.123Z
  EXPECT_EQ(written.time.back(), 'Z');
  append_feedback(file, verdict(Verdict::not_anomaly, "c2", "2024-03-02T05:00:00Z", "2024-03-02T07:00:00Z"));

  const std::string text = read_file(file);
  EXPECT_EQ(line_of(text, 1), R"({"format":"meterbench-feedback","version":1})");
  EXPECT_TRUE(contains(line_of(text, 2), R"("crc32":")"));
  EXPECT_TRUE(contains(line_of(text, 3), R"("corrected_usage":null)"));

  const FeedbackLog log = read_feedback(file);
  ASSERT_TRUE(log.problems.empty());
  ASSERT_EQ(log.records.size(), 2U);
  const FeedbackRecord& r = log.records[0];
  EXPECT_EQ(r.seq, 1);
  EXPECT_EQ(r.time, written.time);
  EXPECT_EQ(r.verdict, Verdict::anomaly);
  EXPECT_EQ(r.customer, "c\"1 <x>");
  EXPECT_EQ(r.meter, "m1");
  EXPECT_EQ(r.start, "2024-03-01");
  EXPECT_EQ(r.end, "2024-03-04");
  EXPECT_EQ(r.reason, "unit error, x1000 — ü");
  ASSERT_TRUE(r.corrected_usage.has_value());
  EXPECT_EQ(*r.corrected_usage, 1234.5);
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(log.records[1].seq, 2);
  EXPECT_EQ(log.records[1].verdict, Verdict::not_anomaly);
  EXPECT_FALSE(log.records[1].corrected_usage.has_value());
}

TEST(FeedbackLog, WrongHeaderThrowsNamingFileAndLine) {
  const ScratchDir dir;
  const auto file = dir / "other.jsonl";
  write_file(file, "{\"format\":\"something-else\"}\n");
  try {
    read_feedback(file);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), file.string())) << e.what();
    EXPECT_TRUE(contains(e.what(), "line 1")) << e.what();
  }
  EXPECT_THROW(append_feedback(file, verdict(Verdict::anomaly, "c", "2024-01-01", "2024-01-02")), std::runtime_error);
  EXPECT_EQ(read_file(file), "{\"format\":\"something-else\"}\n");  // untouched
}

TEST(FeedbackLog, InvalidRecordsAreRefused) {
  const ScratchDir dir;
  const auto file = dir / "feedback.jsonl";
  EXPECT_THROW(append_feedback(file, verdict(Verdict::anomaly, "", "2024-01-01", "2024-01-02")), std::invalid_argument);
  EXPECT_THROW(append_feedback(file, verdict(Verdict::anomaly, "c", "2024-13-01", "2024-01-02")), std::invalid_argument);
  EXPECT_THROW(append_feedback(file, verdict(Verdict::anomaly, "c", "2024-01-03", "2024-01-02")), std::invalid_argument);
  FeedbackRecord bad_text = verdict(Verdict::anomaly, "c", "2024-01-01", "2024-01-02");
  bad_text.reason = "\xff\xfe";
  EXPECT_THROW(append_feedback(file, bad_text), std::invalid_argument);
}

// A writer killed mid-line leaves a line without its newline: reported with its line number, and the next
// append starts on a line of its own.
TEST(FeedbackLog, TornTailIsReportedAndTheNextAppendStillWorks) {
  const ScratchDir dir;
  const auto file = dir / "feedback.jsonl";
  append_feedback(file, verdict(Verdict::anomaly, "a", "2024-01-01", "2024-01-02"));
  append_feedback(file, verdict(Verdict::anomaly, "b", "2024-01-01", "2024-01-02"));
  const std::string text = read_file(file);
  std::filesystem::resize_file(file, text.size() - 20);

  FeedbackLog log = read_feedback(file);
  ASSERT_EQ(log.records.size(), 1U);
  ASSERT_EQ(log.problems.size(), 1U);
  EXPECT_EQ(log.problems[0].line, 3);
  EXPECT_TRUE(contains(log.problems[0].reason, "torn")) << log.problems[0].reason;

  const FeedbackRecord next = append_feedback(file, verdict(Verdict::anomaly, "c", "2024-01-01", "2024-01-02"));
  EXPECT_EQ(next.seq, 2);
  log = read_feedback(file);
  ASSERT_EQ(log.records.size(), 2U);
  EXPECT_EQ(log.records[1].customer, "c");
  ASSERT_EQ(log.problems.size(), 1U);  // the torn line stays reported, now as a damaged line of its own
  EXPECT_EQ(log.problems[0].line, 3);
}

TEST(FeedbackLog, FlippedByteIsReportedAsAChecksumMismatch) {
  const ScratchDir dir;
  const auto file = dir / "feedback.jsonl";
  append_feedback(file, verdict(Verdict::anomaly, "alpha", "2024-01-01", "2024-01-02"));
  append_feedback(file, verdict(Verdict::anomaly, "beta", "2024-01-01", "2024-01-02"));
  std::string text = read_file(file);
  const std::size_t at = text.find("alpha");
  text[at] = 'A';  // still valid JSON: only the checksum can tell
  write_file(file, text);
  const FeedbackLog log = read_feedback(file);
  ASSERT_EQ(log.records.size(), 1U);
  EXPECT_EQ(log.records[0].customer, "beta");
  ASSERT_EQ(log.problems.size(), 1U);
  EXPECT_EQ(log.problems[0].line, 2);
  EXPECT_TRUE(contains(log.problems[0].reason, "checksum mismatch")) << log.problems[0].reason;

  text = read_file(file);
  text[text.find("beta") - 3] = '#';  // breaks the JSON
  write_file(file, text);
  const FeedbackLog broken = read_feedback(file);
  EXPECT_TRUE(broken.records.empty());
  ASSERT_EQ(broken.problems.size(), 2U);
  EXPECT_EQ(broken.problems[1].line, 3);
  EXPECT_TRUE(contains(broken.problems[1].reason, "not valid JSON")) << broken.problems[1].reason;
}

// Once an incident is marked as an anomaly it cannot become "not an anomaly" (the same incident, or one of the
// same series overlapping it); the other way round is allowed.
TEST(FeedbackLog, AnomalyCannotBecomeNotAnomaly) {
  const ScratchDir dir;
  const auto file = dir / "feedback.jsonl";
  append_feedback(file, verdict(Verdict::anomaly, "c", "2024-02-01", "2024-02-05"));
  try {
    append_feedback(file, verdict(Verdict::not_anomaly, "c", "2024-02-01", "2024-02-05"));
    FAIL() << "no exception";
  } catch (const FeedbackRuleError& e) {
    EXPECT_TRUE(contains(e.what(), "cannot be changed to not an anomaly")) << e.what();
  }
  EXPECT_THROW(append_feedback(file, verdict(Verdict::not_anomaly, "c", "2024-02-05", "2024-02-09")), FeedbackRuleError);
  // Another series, or a period that does not overlap: allowed.
  append_feedback(file, verdict(Verdict::not_anomaly, "d", "2024-02-01", "2024-02-05"));
  append_feedback(file, verdict(Verdict::not_anomaly, "c", "2024-02-06", "2024-02-09"));
  // not_anomaly -> anomaly: allowed, and it then stands.
  append_feedback(file, verdict(Verdict::anomaly, "d", "2024-02-01", "2024-02-05"));
  const FeedbackLog log = read_feedback(file);
  EXPECT_EQ(log.records.size(), 4U);
  const auto standing = standing_verdicts(log);
  ASSERT_EQ(standing.size(), 3U);
  EXPECT_EQ(standing[0].customer, "c");
  EXPECT_EQ(standing[1].customer, "c");
  EXPECT_EQ(standing[1].verdict, Verdict::not_anomaly);
  EXPECT_EQ(standing[2].customer, "d");
  EXPECT_EQ(standing[2].verdict, Verdict::anomaly);
  EXPECT_EQ(standing[2].seq, 4);
}

// Two processes appending at once: every record arrives whole, each seq once.
TEST(FeedbackLog, ConcurrentWritersLoseNothing) {
  const ScratchDir dir;
  const auto file = dir / "feedback.jsonl";
  constexpr int kPerWriter = 200;
  pid_t children[2];
  for (int w = 0; w < 2; ++w) {
    children[w] = ::fork();
    ASSERT_GE(children[w], 0);
    if (children[w] == 0) {
      int status = 0;
      try {
        for (int i = 0; i < kPerWriter; ++i)
          append_feedback(file, verdict(Verdict::anomaly, "w" + std::to_string(w) + "-" + std::to_string(i), "2024-01-01", "2024-01-01"));
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
  }
  for (const pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const FeedbackLog log = read_feedback(file);
  EXPECT_TRUE(log.problems.empty());
  ASSERT_EQ(log.records.size(), 2U * kPerWriter);
  std::set<std::string> customers;
  for (std::size_t i = 0; i < log.records.size(); ++i) {
    EXPECT_EQ(log.records[i].seq, static_cast<std::int64_t>(i) + 1);
    customers.insert(log.records[i].customer);
  }
  EXPECT_EQ(customers.size(), 2U * kPerWriter);
}

// kill -9 during a loop of appends: every append the writer saw complete is in the file, intact; at most the
// one in flight is missing or torn; appends go on afterwards.
TEST(FeedbackLog, KillDuringAppendsLosesAtMostTheRecordInFlight) {
  const ScratchDir dir;
  const auto file = dir / "feedback.jsonl";
  int acknowledged[2];
  ASSERT_EQ(::pipe(acknowledged), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(acknowledged[0]);
    for (int i = 0;; ++i) {
      const FeedbackRecord r = append_feedback(file, verdict(Verdict::anomaly, "k" + std::to_string(i), "2024-01-01", "2024-01-01"));
      if (::write(acknowledged[1], &r.seq, sizeof r.seq) != sizeof r.seq) ::_exit(1);
    }
  }
  ::close(acknowledged[1]);
  std::int64_t last_acknowledged = 0;
  for (std::int64_t seq = 0; last_acknowledged < 50 && ::read(acknowledged[0], &seq, sizeof seq) == sizeof seq;) last_acknowledged = seq;
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  for (std::int64_t seq = 0; ::read(acknowledged[0], &seq, sizeof seq) == sizeof seq;) last_acknowledged = seq;
  ::close(acknowledged[0]);

  const FeedbackLog log = read_feedback(file);
  EXPECT_LE(log.problems.size(), 1U);
  ASSERT_GE(static_cast<std::int64_t>(log.records.size()), last_acknowledged);
  EXPECT_LE(static_cast<std::int64_t>(log.records.size()), last_acknowledged + 1);
  for (std::size_t i = 0; i < log.records.size(); ++i) {
    EXPECT_EQ(log.records[i].seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(log.records[i].customer, "k" + std::to_string(i));
  }
  const FeedbackRecord after = append_feedback(file, verdict(Verdict::anomaly, "after", "2024-01-01", "2024-01-01"));
  EXPECT_EQ(after.seq, static_cast<std::int64_t>(log.records.size()) + 1);
}

}  // namespace
}  // namespace meterbench
