#pragma once
// The series behind the incidents `meterbench review` shows: found by customer and meter in the dataset, read
// one at a time on demand, and run through the detector to draw its expected range. Nothing is read of the
// values at start: the (customer, meter) -> series index lookup is built by a background thread from /series
// alone, so the server answers at once even for millions of series.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "meterbench/io/dataset.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/model/detector.hpp"

namespace meterbench {

/// One series' expected range as the detector sees it retrospectively (the whole grid fitted and scored).
struct SeriesRange {
  std::int64_t series_index = 0;
  std::vector<float> observed, expected, lower, upper, score;  ///< grid.steps each; NaN observed = missing
  FitStatus status = FitStatus::ok;
  double flag_threshold = 0.0;  ///< a step is flagged when its score is above this
};

class ReviewSeries {
 public:
  /// Opens the dataset and builds the detector (throws DatasetError / std::invalid_argument); the lookup
  /// of the series named by `wanted` (customer, meter pairs) starts on a background thread.
  ReviewSeries(const std::filesystem::path& data, const std::string& model, const std::vector<std::string>& settings,
               const std::vector<std::pair<std::string, std::string>>& wanted);
  ~ReviewSeries();
  ReviewSeries(const ReviewSeries&) = delete;
  ReviewSeries& operator=(const ReviewSeries&) = delete;

  [[nodiscard]] const DatasetInfo& info() const { return info_; }
  [[nodiscard]] const Detector& detector() const { return *detector_; }
  /// The series index of (customer, meter), waiting for the lookup when it is still being built; nothing when
  /// the dataset has no such series. Rethrows what stopped the lookup (a corrupt /series).
  std::optional<std::int64_t> find(const std::string& customer, const std::string& meter);
  /// Reads one series and runs the detector on it. Thread-safe (one detection at a time).
  SeriesRange expected_range(std::int64_t series_index);

 private:
  void build_lookup();

  DatasetReader reader_;
  DatasetInfo info_;
  std::unique_ptr<Detector> detector_;
  std::mutex detect_mutex_;
  std::unique_ptr<DetectorWorkspace> workspace_;

  std::unordered_set<std::string> wanted_;
  std::mutex lookup_mutex_;
  std::condition_variable lookup_ready_;
  bool lookup_done_ = false;
  std::string lookup_error_;
  std::unordered_map<std::string, std::int64_t> index_;
  std::atomic<bool> stopping_{false};  // set by the destructor: the lookup ends early
  std::thread lookup_thread_;
};

}  // namespace meterbench
