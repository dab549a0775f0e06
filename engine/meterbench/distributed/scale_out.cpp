#include "meterbench/distributed/scale_out.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "meterbench/core/random.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_path.hpp"

namespace meterbench {

namespace {

// Visits every integer of the counts in a fixed order. A new field of EvaluationCounts must be added here,
// or a distributed run silently drops it: the size check below fails the build until it is.
template <typename Counts, typename F>
void visit_integers(Counts& c, F&& f) {
  auto outcome = [&](auto& o) {
    f(o.events), f(o.caught), f(o.caught_filtered), f(o.impact_cents), f(o.caught_impact_cents), f(o.caught_filtered_impact_cents);
  };
  auto alerts = [&](auto& a) { f(a.total), f(a.true_alerts), f(a.false_alerts), f(a.dont_care), f(a.unlabelled); };
  auto each = [&](auto& v) {
    for (auto& x : v) f(x);
  };
  f(c.series), f(c.series_without_labels), f(c.scored_steps), f(c.observed_steps), f(c.flagged_steps), f(c.covered_steps),
      f(c.covered_steps_labelled), f(c.dont_care_steps), f(c.point_tp), f(c.point_fp), f(c.point_fn), f(c.point_tn);
  outcome(c.events);
  f(c.events_unknown_impact);
  for (auto& o : c.per_kind) outcome(o);
  for (auto& o : c.per_size_bucket) outcome(o);
  alerts(c.alerts);
  alerts(c.alerts_filtered);
  f(c.alert_impact_cents), f(c.alerts_unknown_impact), f(c.range_recall_e9), f(c.range_recall_filtered_e9), f(c.range_precision_e9),
      f(c.range_precision_filtered_e9);
  each(c.delay_histogram), each(c.delay_histogram_filtered), each(c.score_histogram_labelled), each(c.score_histogram_unlabelled);
  each(c.curve_tp_by_rank), each(c.curve_fp_by_rank), each(c.curve_caught_by_rank), each(c.curve_caught_impact_by_rank);
  each(c.curve_caught_filtered_by_rank), each(c.curve_caught_filtered_impact_by_rank);
  for (auto& a : c.curve_alerts_diff) alerts(a);
  for (auto& a : c.curve_alerts_filtered_diff) alerts(a);
}
// 12 + 6 + 1 + 6 x (13 + 5) + 2 x 5 + 6 scalars and 12 vectors (x86-64 libstdc++ layout).
static_assert(sizeof(OutcomeCounts) == 6 * 8 && sizeof(AlertCounts) == 5 * 8);
static_assert(sizeof(EvaluationCounts) == (12 + 6 + 1 + 6 * (kAnomalyKindCount + kSizeBucketCount) + 2 * 5 + 6) * 8 + 12 * sizeof(std::vector<std::int64_t>),
              "EvaluationCounts changed: add the new field to visit_integers()");

// A streaming 64-bit hash (FNV-style over 8-byte words): parts are checksummed without holding them in memory.
class Hasher {
 public:
  void add(const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      word_ |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[i])) << (8 * fill_);
      if (++fill_ == 8) {
        h_ = (h_ ^ mix64(word_)) * 0x9E3779B97F4A7C15ULL;
        word_ = 0;
        fill_ = 0;
      }
    }
    bytes_ += size;
  }
  [[nodiscard]] std::string hex() const { return fmt::format("{:016x}", mix64(h_ ^ mix64(word_ ^ bytes_))); }

 private:
  std::uint64_t h_ = 0x243F6A8885A308D3ULL, word_ = 0, bytes_ = 0;
  int fill_ = 0;
};

std::string hash_text(std::string_view text) {
  Hasher h;
  h.add(text.data(), text.size());
  return h.hex();
}

// The checksum of a file, read in 1 MiB pieces; "missing" when it cannot be opened.
std::string hash_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "missing";
  Hasher h;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    h.add(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  return h.hex();
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::int64_t> totals_to_integers(const PassTotals& t) {
  std::vector<std::int64_t> v = counts_to_integers(t.counts);
  v.insert(v.end(), t.status_counts.begin(), t.status_counts.end());
  for (std::int64_t x : {t.alerts, t.read_ns, t.detect_ns, t.evaluate_ns, t.write_ns, t.detect_cpu_ns, t.evaluate_cpu_ns}) v.push_back(x);
  return v;
}

void totals_from_integers(std::span<const std::int64_t> v, PassTotals& t) {
  constexpr std::size_t kTail = kFitStatusCount + 7;
  if (v.size() < kTail) throw std::invalid_argument("saved totals are too short");
  t.counts = counts_from_integers(v.first(v.size() - kTail), t.counts);
  std::size_t i = v.size() - kTail;
  for (auto& s : t.status_counts) s = v[i++];
  for (std::int64_t* x : {&t.alerts, &t.read_ns, &t.detect_ns, &t.evaluate_ns, &t.write_ns, &t.detect_cpu_ns, &t.evaluate_cpu_ns}) *x = v[i++];
}

}  // namespace

std::vector<std::int64_t> counts_to_integers(const EvaluationCounts& counts) {
  std::vector<std::int64_t> out;
  visit_integers(counts, [&](const std::int64_t& x) { out.push_back(x); });
  return out;
}

EvaluationCounts counts_from_integers(std::span<const std::int64_t> integers, const EvaluationCounts& shape) {
  EvaluationCounts out = shape;
  std::size_t i = 0;
  bool overrun = false;
  visit_integers(out, [&](std::int64_t& x) {
    if (i < integers.size()) x = integers[i];
    else overrun = true;
    ++i;
  });
  if (overrun || i != integers.size())
    throw std::invalid_argument(fmt::format("{} integers do not fit evaluation counts of {} integers", integers.size(), i));
  return out;
}

void BacktestScaleOut::plan(DatasetReader& reader, const std::filesystem::path& out_dir, std::string run_key) {
  const std::int64_t n = reader.info().series_count;
  const ObservedPoints points = count_observed_points(reader, group_);
  ranges_ = balanced_ranges(points, n, group_.size());
  range_ = ranges_[static_cast<std::size_t>(group_.rank())];
  run_key_ = std::move(run_key);
  parts_dir_ = (out_dir.parent_path().empty() ? std::filesystem::path(".") : out_dir.parent_path()) / fmt::format(".{}.parts", out_dir.filename().string());
  if (writer()) {
    std::string plan;
    for (std::size_t r = 0; r < ranges_.size(); ++r) {
      std::int64_t observed = 0;
      for (std::int64_t b = ranges_[r].first / points.bucket_series; b * points.bucket_series < ranges_[r].end(); ++b)
        observed += points.points[static_cast<std::size_t>(b)];
      plan += fmt::format("{}rank {}: series [{}, {}) ({} observed points)", r == 0 ? "" : "; ", r, ranges_[r].first, ranges_[r].end(), observed);
    }
    spdlog::info("backtest on {}: {}", group_.describe(), plan);
    std::error_code ec;
    if (!resume_) std::filesystem::remove_all(parts_dir_, ec);
    std::filesystem::create_directories(parts_dir_, ec);
    if (ec) throw OutputError(fmt::format("cannot create the parts directory '{}': {}", parts_dir_.string(), ec.message()));
  }
  group_.barrier();
}

std::filesystem::path BacktestScaleOut::alerts_part() const {
  return parts_dir_ / fmt::format("alerts.rank-{}-of-{}.csv", group_.rank(), group_.size());
}

std::filesystem::path BacktestScaleOut::state_path() const {
  return parts_dir_ / fmt::format("main-pass.rank-{}-of-{}.json", group_.rank(), group_.size());
}

void BacktestScaleOut::save(const PassTotals& totals) const {
  nlohmann::json body = {{"key", run_key_},
                         {"range", {range_.first, range_.count}},
                         {"integers", totals_to_integers(totals)},
                         {"value_hashes", totals.value_hashes},
                         {"alerts_part", hash_file(alerts_part())}};
  const std::string text = body.dump();
  const nlohmann::json state = {{"body", text}, {"checksum", hash_text(text)}};
  const std::filesystem::path tmp = state_path().string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << state.dump();
    out.close();
    if (!out) throw OutputError(fmt::format("cannot write {}", tmp.string()));
  }
  std::filesystem::rename(tmp, state_path());  // complete or absent
}

std::optional<PassTotals> BacktestScaleOut::load_saved(const EvaluationCounts& shape) const {
  std::optional<PassTotals> saved = verified_part(shape);
  // A part that is not reused is run anew: empty the rows a failed run left (the stream appends).
  std::error_code ec;
  if (!saved && std::filesystem::exists(alerts_part(), ec)) std::filesystem::resize_file(alerts_part(), 0, ec);
  return saved;
}

std::optional<PassTotals> BacktestScaleOut::verified_part(const EvaluationCounts& shape) const {
  if (!resume_) return std::nullopt;
  const std::string label = fmt::format("resume: rank {} (series [{}, {}))", group_.rank(), range_.first, range_.end());
  const std::string text = read_all(state_path());
  if (text.empty()) {
    spdlog::info("{}: no saved part, running it", label);
    return std::nullopt;
  }
  try {
    const nlohmann::json state = nlohmann::json::parse(text);
    const std::string body_text = state.at("body").get<std::string>();
    if (state.at("checksum").get<std::string>() != hash_text(body_text)) throw std::runtime_error("checksum mismatch");
    const nlohmann::json body = nlohmann::json::parse(body_text);
    if (body.at("key").get<std::string>() != run_key_) throw std::runtime_error("saved by a run with other settings");
    if (body.at("range") != nlohmann::json{range_.first, range_.count}) throw std::runtime_error("saved for another series range");
    if (body.at("alerts_part").get<std::string>() != hash_file(alerts_part()))
      throw std::runtime_error("alerts part does not match its checksum");
    PassTotals totals;
    totals.counts = shape;
    totals_from_integers(body.at("integers").get<std::vector<std::int64_t>>(), totals);
    totals.value_hashes = body.at("value_hashes").get<std::vector<std::uint64_t>>();
    if (static_cast<std::int64_t>(totals.value_hashes.size()) != range_.count) throw std::runtime_error("wrong number of series hashes");
    spdlog::info("{}: main pass reused from its verified part", label);
    return totals;
  } catch (const std::exception& e) {
    spdlog::warn("{}: saved part not used ({}), running it", label, e.what());
    return std::nullopt;
  }
}

void BacktestScaleOut::combine(PassTotals& totals) const {
  std::vector<std::int64_t> sums = totals_to_integers(totals);
  std::int64_t length[2] = {static_cast<std::int64_t>(sums.size()), -static_cast<std::int64_t>(sums.size())};
  group_.allreduce_max(length);
  if (length[0] != -length[1]) throw DistributedError("processes disagree on the shape of the evaluation counts (different settings?)");
  group_.allreduce_sum(sums);
  totals_from_integers(sums, totals);
  group_.allreduce_max({&totals.wall_ns, 1});
  const std::string mine(reinterpret_cast<const char*>(totals.value_hashes.data()), totals.value_hashes.size() * sizeof(std::uint64_t));
  const std::vector<std::string> all = group_.gather(mine, 0);
  totals.value_hashes.clear();
  for (const std::string& part : all) {
    const std::size_t at = totals.value_hashes.size();
    totals.value_hashes.resize(at + part.size() / sizeof(std::uint64_t));
    std::memcpy(totals.value_hashes.data() + at, part.data(), part.size());
  }
}

void BacktestScaleOut::gather_flags(FlagCollector& flags) const {
  // Plain records: the rows, then (index, record) for each flagged series.
  std::string bytes;
  const auto rows = static_cast<std::uint64_t>(flags.rows.size());
  bytes.append(reinterpret_cast<const char*>(&rows), sizeof(rows));
  bytes.append(reinterpret_cast<const char*>(flags.rows.data()), flags.rows.size() * sizeof(FlaggedStep));
  for (const auto& [index, record] : flags.series) {
    bytes.append(reinterpret_cast<const char*>(&index), sizeof(index));
    bytes.append(reinterpret_cast<const char*>(&record), sizeof(record));
  }
  const std::vector<std::string> all = group_.gather(bytes, 0);
  flags.rows.clear();
  flags.series.clear();
  for (const std::string& part : all) {
    std::uint64_t n = 0;
    std::memcpy(&n, part.data(), sizeof(n));
    std::size_t at = sizeof(n);
    const std::size_t first = flags.rows.size();
    flags.rows.resize(first + n);
    std::memcpy(static_cast<void*>(flags.rows.data() + first), part.data() + at, n * sizeof(FlaggedStep));
    at += n * sizeof(FlaggedStep);
    for (; at + sizeof(std::uint64_t) + sizeof(SeriesRecord) <= part.size(); at += sizeof(std::uint64_t) + sizeof(SeriesRecord)) {
      std::uint64_t index = 0;
      SeriesRecord record;
      std::memcpy(&index, part.data() + at, sizeof(index));
      std::memcpy(static_cast<void*>(&record), part.data() + at + sizeof(index), sizeof(record));
      flags.series.emplace(index, record);
    }
  }
}

void BacktestScaleOut::append_alert_parts(std::ostream& out) const {
  for (int r = 0; r < group_.size(); ++r) {
    const std::filesystem::path part = parts_dir_ / fmt::format("alerts.rank-{}-of-{}.csv", r, group_.size());
    std::ifstream in(part, std::ios::binary);
    if (!in) throw OutputError(fmt::format("alerts part of rank {} is missing: {}", r, part.string()));
    if (in.peek() != std::ifstream::traits_type::eof()) out << in.rdbuf();  // an empty part would set failbit
  }
}

void BacktestScaleOut::remove_parts() const {
  std::error_code ec;
  std::filesystem::remove_all(parts_dir_, ec);
}

}  // namespace meterbench
