#include "meterbench/distributed/scale_out.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "meterbench/core/random.hpp"
#include "meterbench/distributed/generate_parts.hpp"
#include "meterbench/io/bands_file.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/dataset_fingerprint.hpp"
#include "meterbench/io/output_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/run_context.hpp"

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

// The pass's own integers, then its stage times (wall time apart: it is reduced by a maximum).
constexpr std::size_t kTimeIntegers = 6;

std::vector<std::int64_t> totals_to_integers(const PassTotals& t) {
  std::vector<std::int64_t> v = t.integers;
  for (std::int64_t x : {t.read_ns, t.detect_ns, t.evaluate_ns, t.write_ns, t.detect_cpu_ns, t.evaluate_cpu_ns}) v.push_back(x);
  return v;
}

/// Throws std::invalid_argument unless `v` holds `integers` of the pass and the stage times.
void totals_from_integers(std::span<const std::int64_t> v, std::size_t integers, PassTotals& t) {
  if (v.size() != integers + kTimeIntegers)
    throw std::invalid_argument(fmt::format("{} integers do not fit pass totals of {} integers", v.size(), integers + kTimeIntegers));
  t.integers.assign(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(integers));
  std::size_t i = integers;
  for (std::int64_t* x : {&t.read_ns, &t.detect_ns, &t.evaluate_ns, &t.write_ns, &t.detect_cpu_ns, &t.evaluate_cpu_ns}) *x = v[i++];
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

void ScaleOut::partition(DatasetReader& reader, const std::filesystem::path& output, std::string_view what, bool fingerprint) {
  const std::int64_t n = reader.info().series_count;
  std::vector<std::uint64_t> hashes;
  const ObservedPoints points = count_observed_points(reader, group_, 65536, fingerprint ? &hashes : nullptr);
  ranges_ = balanced_ranges(points, n, group_.size());
  range_ = ranges_[static_cast<std::size_t>(group_.rank())];
  if (writer()) {
    std::string plan;
    for (std::size_t r = 0; r < ranges_.size(); ++r) {
      std::int64_t observed = 0;
      for (std::int64_t b = ranges_[r].first / points.bucket_series; b * points.bucket_series < ranges_[r].end(); ++b)
        observed += points.points[static_cast<std::size_t>(b)];
      plan += fmt::format("{}rank {}: series [{}, {}) ({} observed points)", r == 0 ? "" : "; ", r, ranges_[r].first, ranges_[r].end(), observed);
    }
    spdlog::info("{} on {}: {}", what, group_.describe(), plan);
    remove_stale_temporaries(output);
  }
  if (fingerprint) {
    const std::vector<std::uint64_t> all = gather_hashes(hashes);
    // The writer's fingerprint to every process: a sum with zeros elsewhere is exact.
    std::int64_t shared = 0;
    if (writer()) {
      const std::uint64_t f = chain_fingerprint(n, reader.info().grid.steps, all);
      std::memcpy(&shared, &f, sizeof(f));
    }
    group_.allreduce_sum({&shared, 1});
    std::memcpy(&fingerprint_, &shared, sizeof(shared));
  }
}

void ScaleOut::check(const std::string& error, std::string_view what) const {
  try {
    agree_on_failure(group_, error, range_, what);
  } catch (const DistributedError&) {
    clean_up_after_failure();  // every process got the agreed failure: all are here
    throw;
  }
}

std::vector<std::uint64_t> ScaleOut::gather_hashes(std::span<const std::uint64_t> mine) const {
  const std::string bytes(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(std::uint64_t));
  const std::vector<std::string> all = group_.gather(bytes, 0);
  std::vector<std::uint64_t> out;
  for (const std::string& part : all) {
    const std::size_t at = out.size();
    out.resize(at + part.size() / sizeof(std::uint64_t));
    std::memcpy(out.data() + at, part.data(), part.size());
  }
  return out;
}

std::int64_t ProcessesRecord::largest_peak_rss_bytes() const {
  return peak_rss_bytes.empty() ? 0 : *std::max_element(peak_rss_bytes.begin(), peak_rss_bytes.end());
}

nlohmann::json to_json(const ProcessesRecord& record) {
  return {{"count", record.count}, {"group", record.group}, {"peak_rss_bytes", record.peak_rss_bytes}};
}

ProcessesRecord ScaleOut::record_processes() const {
  std::vector<std::int64_t> rss(static_cast<std::size_t>(group_.size()), 0);
  rss[static_cast<std::size_t>(group_.rank())] = static_cast<std::int64_t>(peak_rss_bytes());
  group_.allreduce_sum(rss);
  return {group_.size(), group_.describe(), std::move(rss)};
}

void ScaleOut::combine(PassTotals& totals) const {
  std::vector<std::int64_t> sums = totals_to_integers(totals);
  std::int64_t length[2] = {static_cast<std::int64_t>(sums.size()), -static_cast<std::int64_t>(sums.size())};
  group_.allreduce_max(length);
  if (length[0] != -length[1]) throw DistributedError("processes disagree on the shape of the evaluation counts (different settings?)");
  group_.allreduce_sum(sums);
  totals_from_integers(sums, totals.integers.size(), totals);
  group_.allreduce_max({&totals.wall_ns, 1});
  totals.value_hashes = gather_hashes(totals.value_hashes);
}

void BacktestScaleOut::plan(DatasetReader& reader, const std::filesystem::path& out_dir, std::string run_key, bool bands) {
  partition(reader, out_dir, "backtest", true);
  run_key_ = std::move(run_key);
  bands_ = bands;
  parts_dir_ = parts_directory(out_dir);
  if (writer()) {
    std::error_code ec;
    if (!resume_) std::filesystem::remove_all(parts_dir_, ec);
    std::filesystem::create_directories(parts_dir_, ec);
    if (ec) throw OutputError(fmt::format("cannot create the parts directory '{}': {}", parts_dir_.string(), ec.message()));
  }
  group_.barrier();
}

std::filesystem::path BacktestScaleOut::alerts_part() const { return completed_alerts_part(group_.rank()).string() + ".partial"; }

std::filesystem::path BacktestScaleOut::bands_part() const {
  std::filesystem::path part = completed_bands_part(group_.rank()).string() + ".partial";
  std::error_code ec;
  std::filesystem::remove(part, ec);  // never reused: a killed run's, or an unused one of a resumed pass
  return part;
}

std::filesystem::path BacktestScaleOut::completed_bands_part(int rank) const {
  return parts_dir_ / fmt::format("bands.rank-{}-of-{}.h5", rank, group_.size());
}

std::filesystem::path BacktestScaleOut::completed_alerts_part(int rank) const {
  return parts_dir_ / fmt::format("alerts.rank-{}-of-{}.csv", rank, group_.size());
}

std::filesystem::path BacktestScaleOut::state_path() const {
  return parts_dir_ / fmt::format("main-pass.rank-{}-of-{}.json", group_.rank(), group_.size());
}

void BacktestScaleOut::save(const PassTotals& totals) const {
  // The alerts part first, under its completed name: a state file always names a complete part.
  const std::filesystem::path alerts = completed_alerts_part(group_.rank());
  std::error_code ec;
  if (std::filesystem::exists(alerts_part(), ec)) std::filesystem::rename(alerts_part(), alerts);
  const std::filesystem::path bands = completed_bands_part(group_.rank()), bands_partial = bands.string() + ".partial";
  if (bands_ && std::filesystem::exists(bands_partial, ec)) std::filesystem::rename(bands_partial, bands);
  nlohmann::json body = {{"dataset", fmt::format("{:016x}", fingerprint_)},
                         {"key", run_key_},
                         {"range", {range_.first, range_.count}},
                         {"integers", totals_to_integers(totals)},
                         {"value_hashes", totals.value_hashes},
                         {"alerts_part", hash_file(alerts)},
                         {"bands_part", bands_ ? hash_file(bands) : std::string("none")}};
  const std::string text = body.dump();
  const nlohmann::json state = {{"body", text}, {"checksum", hash_text(text)}};
  const std::filesystem::path tmp = state_path().string() + ".partial";
  {
    OutputFile out(tmp);
    out << state.dump();
    out.close();
  }
  std::filesystem::rename(tmp, state_path());  // complete or absent
}

std::optional<PassTotals> BacktestScaleOut::load_saved(std::size_t integers) const {
  std::optional<PassTotals> saved = verified_part(integers);
  if (!saved) {
    // Run anew: empty the rows a failed run left (the stream appends), and drop a saved part that was not
    // reused, so that a failure of this run cannot leave it looking resumable.
    std::error_code ec;
    if (std::filesystem::exists(alerts_part(), ec)) std::filesystem::resize_file(alerts_part(), 0, ec);
    std::filesystem::remove(state_path(), ec);
    std::filesystem::remove(completed_alerts_part(group_.rank()), ec);
    std::filesystem::remove(completed_bands_part(group_.rank()), ec);
  }
  return saved;
}

std::optional<PassTotals> BacktestScaleOut::verified_part(std::size_t integers) const {
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
    const std::string saved_dataset = body.value("dataset", std::string("none"));
    const std::string dataset = fmt::format("{:016x}", fingerprint_);
    if (saved_dataset != dataset)
      throw std::runtime_error(fmt::format("the dataset's content changed since it was saved: fingerprint {} then, {} now", saved_dataset, dataset));
    if (body.at("key").get<std::string>() != run_key_) throw std::runtime_error("saved by a run with other settings");
    if (body.at("range") != nlohmann::json{range_.first, range_.count}) throw std::runtime_error("saved for another series range");
    if (body.at("alerts_part").get<std::string>() != hash_file(completed_alerts_part(group_.rank())))
      throw std::runtime_error("alerts part does not match its checksum");
    // A run with --save-bands reuses the pass only with its complete bands part (one saved without bands: "none").
    if (bands_ && body.value("bands_part", std::string("none")) != hash_file(completed_bands_part(group_.rank())))
      throw std::runtime_error("no complete bands part, or it does not match its checksum");
    PassTotals totals;
    totals_from_integers(body.at("integers").get<std::vector<std::int64_t>>(), integers, totals);
    totals.value_hashes = body.at("value_hashes").get<std::vector<std::uint64_t>>();
    if (static_cast<std::int64_t>(totals.value_hashes.size()) != range_.count) throw std::runtime_error("wrong number of series hashes");
    spdlog::info("{}: main pass reused from its verified part", label);
    return totals;
  } catch (const std::exception& e) {
    spdlog::warn("{}: saved part not used ({}), running it", label, e.what());
    return std::nullopt;
  }
}

void BacktestScaleOut::clean_up_after_failure() const {
  // What cannot be resumed: this rank's rows of an unfinished pass and a state file not yet renamed.
  std::error_code ec;
  std::filesystem::remove(alerts_part(), ec);
  std::filesystem::remove(completed_bands_part(group_.rank()).string() + ".partial", ec);
  std::filesystem::remove(state_path().string() + ".partial", ec);
  group_.barrier();
  if (!writer()) return;
  // No rank saved a part (detect, or every rank failed): nothing to resume, so no directory.
  bool resumable = false;
  for (const auto& entry : std::filesystem::directory_iterator(parts_dir_, ec))
    resumable = resumable || entry.path().filename().string().rfind("main-pass.", 0) == 0;
  if (!resumable) std::filesystem::remove_all(parts_dir_, ec);
}

std::vector<std::filesystem::path> BacktestScaleOut::alert_parts() const {
  std::vector<std::filesystem::path> parts;
  for (int r = 0; r < group_.size(); ++r) {
    parts.push_back(completed_alerts_part(r));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(parts.back(), ec))
      throw OutputError(fmt::format("alerts part of rank {} is missing: {}", r, parts.back().string()));
  }
  return parts;
}

void BacktestScaleOut::merge_bands(const std::filesystem::path& path, const DatasetInfo& dataset, const std::string& dataset_path,
                                   const std::string& run) const {
  std::vector<BandsPart> parts;
  for (int r = 0; r < group_.size(); ++r) {
    const SeriesRange& range = ranges_[static_cast<std::size_t>(r)];
    parts.push_back({completed_bands_part(r), range.first, range.count});
  }
  const auto start = std::chrono::steady_clock::now();
  merge_bands_parts(path, parts, dataset, dataset_path, run);
  spdlog::info("bands: {} parts merged into {} in {:.2f} s", parts.size(), path.filename().string(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void BacktestScaleOut::remove_parts() const {
  std::error_code ec;
  std::filesystem::remove_all(parts_dir_, ec);
}

}  // namespace meterbench
