#include "meterbench/review/review_series.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace meterbench {

namespace {

// Ids hold no NUL (fixed-length, NUL-terminated fields), so it separates customer from meter unambiguously.
std::string series_key(std::string_view customer, std::string_view meter) {
  std::string key(customer);
  key += '\0';
  key += meter;
  return key;
}

}  // namespace

ReviewSeries::ReviewSeries(const std::filesystem::path& data, const std::string& model, const std::vector<std::string>& settings,
                           const std::vector<std::pair<std::string, std::string>>& wanted)
    : reader_(data), info_(reader_.info()), detector_(make_detector(model, settings, info_.grid)), workspace_(detector_->make_workspace()) {
  for (const auto& [customer, meter] : wanted) wanted_.insert(series_key(customer, meter));
  lookup_thread_ = std::thread([this] { build_lookup(); });
}

ReviewSeries::~ReviewSeries() {
  stopping_ = true;
  if (lookup_thread_.joinable()) lookup_thread_.join();
}

void ReviewSeries::build_lookup() {
  std::unordered_map<std::string, std::int64_t> index;
  std::string error;
  try {
    constexpr std::int64_t kPiece = 65'536;
    std::vector<SeriesRecord> records;
    for (std::int64_t first = 0; first < info_.series_count && index.size() < wanted_.size() && !stopping_; first += kPiece) {
      const std::int64_t n = std::min(kPiece, info_.series_count - first);
      reader_.read_series_records(first, n, records);
      for (std::int64_t i = 0; i < n; ++i) {
        const SeriesRecord& r = records[static_cast<std::size_t>(i)];
        std::string key = series_key(r.customer(), r.meter());
        if (wanted_.contains(key)) index.try_emplace(std::move(key), first + i);
      }
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  const std::lock_guard lock(lookup_mutex_);
  index_ = std::move(index);
  lookup_error_ = std::move(error);
  lookup_done_ = true;
  lookup_ready_.notify_all();
}

std::optional<std::int64_t> ReviewSeries::find(const std::string& customer, const std::string& meter) {
  std::unique_lock lock(lookup_mutex_);
  lookup_ready_.wait(lock, [this] { return lookup_done_; });
  if (!lookup_error_.empty()) throw std::runtime_error(fmt::format("cannot look up the dataset's series: {}", lookup_error_));
  const auto found = index_.find(series_key(customer, meter));
  if (found == index_.end()) return std::nullopt;
  return found->second;
}

SeriesRange ReviewSeries::expected_range(std::int64_t series_index) {
  const auto steps = static_cast<std::size_t>(info_.grid.steps);
  SeriesRange range;
  range.series_index = series_index;
  reader_.read_values(series_index, 1, range.observed);
  range.expected.assign(steps, 0.0F);
  range.lower.assign(steps, 0.0F);
  range.upper.assign(steps, 0.0F);
  range.score.assign(steps, 0.0F);
  range.flag_threshold = detector_->flag_threshold();
  const std::lock_guard lock(detect_mutex_);
  range.status = detector_->detect({.values = range.observed, .series_index = static_cast<std::uint64_t>(series_index)},
                                   DetectionWindow::retrospective(info_.grid.steps), *workspace_,
                                   {.expected = range.expected, .lower = range.lower, .upper = range.upper, .score = range.score});
  return range;
}

}  // namespace meterbench
