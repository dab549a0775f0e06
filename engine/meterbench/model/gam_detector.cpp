#include "meterbench/model/gam_detector.hpp"

#include <algorithm>
#include <limits>

#include "meterbench/core/check.hpp"
#include "meterbench/model/gam_band.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/model/robust_stats.hpp"

namespace meterbench {

namespace {

constexpr int kChunk = 64;  // rows gathered per rank-k update
constexpr std::int64_t kMaxPrefixBytes = std::int64_t{64} << 20;  // bound of the running X'X sums of the retrospective design

}  // namespace

std::unique_ptr<Detector> make_gam_detector(std::span<const std::string> settings, const TimeGrid& grid) {
  grid.validate();
  return std::make_unique<GamDetector>(gam_parameter_table().bind(settings), grid);
}

// ---------------------------------------------------------------------------------------------------------
// Workspace

GamWorkspace::GamWorkspace(const GamDesign& design) { ensure(design); }

void GamWorkspace::ensure(const GamDesign& design) {
  const std::int64_t rows = design.rows();
  const int cols = design.cols();
  if (static_cast<std::int64_t>(predict_scratch_.size()) < design.predict_scratch_size())
    predict_scratch_.resize(static_cast<std::size_t>(design.predict_scratch_size()));
  if (static_cast<std::int64_t>(cross_scratch_.size()) < design.cross_scratch_size())
    cross_scratch_.resize(static_cast<std::size_t>(design.cross_scratch_size()));
  if (y_.size() < rows) {
    y_.resize(rows);
    yhatf_.resize(rows);
    observed_.resize(static_cast<std::size_t>(rows));
    residuals_.resize(static_cast<std::size_t>(rows));
    select_.resize(static_cast<std::size_t>(rows));
    pick_weight_.resize(static_cast<std::size_t>(rows));
    runs_.resize(static_cast<std::size_t>(rows + 1));
    pick_rows_.resize(static_cast<std::size_t>(rows + 8));
    pick_flags_.resize(static_cast<std::size_t>(rows + 8));
  }
  if (static_cast<std::int64_t>(packed_.size()) < design.packed_size()) {
    packed_.resize(static_cast<std::size_t>(design.packed_size()));
    lower_.resize(static_cast<std::size_t>(design.packed_size()));
  }
  if (b_.size() != cols) {
    gram_.resize(cols, cols);
    inv_diag_.resize(static_cast<std::size_t>(cols));
    chunk_.resize(cols, kChunk);
    for (auto* v : {&b_, &rhs_, &rhs_prev_, &beta_, &beta_next_, &delta_, &tmp_, &row_, &gbeta_, &g_prev_, &rhs_last_, &f_prev_, &gf_prev_})
      v->resize(cols);
    active_.assign(static_cast<std::size_t>(cols), 1);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Detector

GamDetector::GamDetector(const BoundParameters<GamConfig>& parameters, const TimeGrid& grid)
    : Detector(parameters.flag_threshold), config_(parameters.config), grid_(grid), effective_(parameters.effective),
      retrospective_(std::make_unique<GamDesign>(grid, config_, 0, grid.steps)) {
  retrospective_->build_prefix_cross_products(kMaxPrefixBytes);
}

std::unique_ptr<DetectorWorkspace> GamDetector::make_workspace() const {
  auto ws = std::make_unique<GamWorkspace>(*retrospective_);
  ws->observed_before_.resize(static_cast<std::size_t>(grid_.steps + 1));
  ws->changepoint_scratch_.resize(static_cast<std::size_t>(std::max(0, config_.changepoints)));
  return ws;
}

const GamDesign& GamDetector::design_for(const DetectionWindow& window, GamWorkspace& ws) const {
  if (window.fit_begin == 0 && window.fit_end == grid_.steps) return *retrospective_;
  if (!ws.window_design_ || ws.window_design_->fit_begin() != window.fit_begin || ws.window_design_->fit_end() != window.fit_end)
    ws.window_design_ = std::make_unique<GamDesign>(grid_, config_, window.fit_begin, window.fit_end);
  return *ws.window_design_;
}

FitStatus GamDetector::detect(const SeriesInput& series, const DetectionWindow& window, DetectorWorkspace& workspace,
                              const DetectionOutput& out) const {
  auto& ws = static_cast<GamWorkspace&>(workspace);
  const auto steps = static_cast<std::size_t>(grid_.steps);
  METERBENCH_CHECK(series.values.size() == steps);
  METERBENCH_CHECK(out.expected.size() == steps && out.lower.size() == steps && out.upper.size() == steps && out.score.size() == steps);
  METERBENCH_CHECK(0 <= window.fit_begin && window.fit_begin <= window.fit_end && window.fit_end <= grid_.steps);
  METERBENCH_CHECK(0 <= window.score_begin && window.score_begin <= window.score_end && window.score_end <= grid_.steps);

  FitStatus status = FitStatus::all_missing;
  const GamDesign* design = nullptr;
  if (window.fit_end > window.fit_begin) {
    design = &design_for(window, ws);
    status = fit(*design, series.values, ws);
  }

  const double s = ws.scale_;
  // Usage cannot go below what the fit window shows: on a non-negative series (every transformed series)
  // expected and lower stop at 0 and the score is taken from the clamped expected, so that it stays
  // |y - expected| / scale and a point inside the band scores <= z (see the header, "Band").
  const double least = ws.nonnegative_ ? 0.0 : -std::numeric_limits<double>::infinity();
  std::int64_t step = window.score_begin;
  if (status != FitStatus::all_missing && !ws.level_only_ && !config_.log1p && s > 0.0) {
    // Common case, untransformed regression fit: the score steps inside the fit window in one tight loop.
    const std::int64_t end = std::min(window.score_end, design->fit_end());
    if (step < end && step >= design->fit_begin()) {
      const auto k = static_cast<std::size_t>(step);
      gam_score_fitted(ws.yhatf_.data() + (step - design->fit_begin()), series.values.data() + k, end - step, ws.offset_,
                       least, config_.z * s, 1.0 / s, out.expected.data() + k, out.lower.data() + k, out.upper.data() + k,
                       out.score.data() + k);
      step = end;
    }
  }
  const GamBandWriter band(out, config_.z, s, least, config_.log1p);
  const auto transformed = [&](float v) { return transform(v); };
  for (; step < window.score_end; ++step) {
    const auto k = static_cast<std::size_t>(step);
    if (status == FitStatus::all_missing) {
      band.write_missing(k);
      continue;
    }
    double mu = ws.level_;
    if (!ws.level_only_) {
      if (step >= design->fit_begin() && step < design->fit_end()) {
        mu = ws.offset_ + ws.yhatf_[step - design->fit_begin()];
      } else {
        const int p = design->cols();
        design->fill_row(step, std::span<double>(ws.row_.data(), static_cast<std::size_t>(p)));
        mu = ws.offset_ + ws.row_.head(p).dot(ws.beta_.head(p));
      }
    }
    band.write(k, mu, series.values[k], transformed);
  }
  return status;
}

// The median of the observed values of ws.y_[0, rows) and their robust scale about it, floored.
double GamDetector::level_fallback(GamWorkspace& ws, std::int64_t rows, double lo, double& scale) const {
  std::int64_t m = 0;
  for (std::int64_t i = 0; i < rows; ++i)
    if (ws.observed_[static_cast<std::size_t>(i)]) ws.residuals_[static_cast<std::size_t>(m++)] = static_cast<float>(ws.y_[i]);
  const double med = radix_median(ws.residuals_.data(), m, ws.select_.data());
  m = 0;
  for (std::int64_t i = 0; i < rows; ++i)
    if (ws.observed_[static_cast<std::size_t>(i)]) ws.residuals_[static_cast<std::size_t>(m++)] = static_cast<float>(ws.y_[i] - med);
  scale = floored_scale(ws, rows, lo, robust_scale(ws, m, true));
  return med;
}

}  // namespace meterbench
