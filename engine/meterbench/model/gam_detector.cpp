#include "meterbench/model/gam_detector.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <tuple>

#include "meterbench/core/check.hpp"
#include "meterbench/model/gam_band.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/model/robust_stats.hpp"

namespace meterbench {

namespace {

constexpr int kChunk = 64;  // rows gathered per rank-k update
constexpr std::int64_t kMaxPrefixBytes = std::int64_t{64} << 20;  // bound of the running X'X sums of the retrospective design
constexpr double kRelativeLogShare = 0.05;  // transform=log1p_relative: c = this x the median positive value
constexpr std::int64_t kWeekdayFewestDays = 8;  // observed days of a weekday its factor needs
constexpr double kWeekdayFactorLow = 0.5, kWeekdayFactorHigh = 2.0;
constexpr double kWeekdayWinsor = 3.0;  // absolute residuals enter the weekday factors capped at this many scales
constexpr std::int64_t kEpisodeDays = 42;  // tail_scale: the longest episode that does not widen its own band (6 weeks)
// transform=auto: blocks of 4 weeks (whole weeks: the weekly cycle is inside every block), values capped at
// kGamGrossMultiple times the usual positive value (a x1000 unit error is one block's outlier, not its level), at
// most this many blocks (longer windows get longer blocks), levels at least 2x apart, and the slope that splits
// log from as-is.
constexpr std::int64_t kSpreadBlockDays = 28;
constexpr std::size_t kSpreadMaxBlocks = 128;
constexpr std::size_t kSpreadFewestBlocks = 6;
constexpr double kSpreadLevelRange = 2.0;
constexpr double kSpreadSlopeForLog = 0.5;

// How the spread of a series grows with its level: the slope of log(mean |difference between neighbours|) on
// log(mean value) across blocks of [begin, end), each with half its steps and a quarter of its pairs observed, from
// the medians of the lowest and the highest third of the blocks by level (robust to a block made odd by an
// anomaly); NaN when fewer than kSpreadFewestBlocks blocks qualify or their levels span less than
// kSpreadLevelRange (the usual case, and then the levels' pass is the only one made).
double spread_level_slope(std::span<const float> values, std::int64_t begin, std::int64_t end, std::int64_t block, double cap) {
  block = std::max(block, (end - begin + static_cast<std::int64_t>(kSpreadMaxBlocks) - 1) / static_cast<std::int64_t>(kSpreadMaxBlocks));
  const auto capf = static_cast<float>(std::min(cap, static_cast<double>(std::numeric_limits<float>::max())));
  const float half = 0.5F * static_cast<float>(block), quarter = 0.25F * static_cast<float>(block);
  std::array<std::pair<float, float>, kSpreadMaxBlocks> blocks;  // (level, spread), or (level, block number) in the first pass
  std::size_t n = 0;
  const auto spans_the_range = [&] {
    float lowest = std::numeric_limits<float>::infinity(), highest = 0.0F;
    for (std::size_t i = 0; i < n; ++i) lowest = std::min(lowest, blocks[i].first), highest = std::max(highest, blocks[i].first);
    return n >= kSpreadFewestBlocks && static_cast<double>(highest) >= kSpreadLevelRange * static_cast<double>(lowest);
  };
  // The levels first: most series span less than the range, and need no second pass.
  for (std::int64_t a = begin; a + block <= end && n < blocks.size(); a += block) {
    const GamSpreadSums b = gam_spread_sums(values.data() + a, block, capf, false);
    if (b.seen >= half && b.sum > 0.0F) blocks[n++] = {b.sum / b.seen, static_cast<float>((a - begin) / block)};
  }
  if (!spans_the_range()) return std::numeric_limits<double>::quiet_NaN();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const GamSpreadSums b = gam_spread_sums(values.data() + begin + static_cast<std::int64_t>(blocks[i].second) * block, block, capf, true);
    if (b.pairs >= quarter && b.moves > 0.0F) blocks[kept++] = {blocks[i].first, b.moves / b.pairs};
  }
  n = kept;
  if (!spans_the_range()) return std::numeric_limits<double>::quiet_NaN();
  const std::size_t third = n / 3;
  const auto by_level = [](const auto& x, const auto& y) { return x.first < y.first || (x.first == y.first && x.second < y.second); };
  const auto first = blocks.begin(), last = blocks.begin() + static_cast<std::ptrdiff_t>(n);
  std::nth_element(first, first + static_cast<std::ptrdiff_t>(third), last, by_level);
  std::nth_element(first + static_cast<std::ptrdiff_t>(third), last - static_cast<std::ptrdiff_t>(third), last, by_level);
  // The (lower) median level and spread of a third: the log of a median is the median of the logs.
  const auto medians = [&](std::ptrdiff_t from) {
    std::array<float, kSpreadMaxBlocks> level, spread;  // the first `third` are written
    for (std::size_t i = 0; i < third; ++i) {
      level[i] = blocks[static_cast<std::size_t>(from) + i].first;
      spread[i] = blocks[static_cast<std::size_t>(from) + i].second;
    }
    const auto mid = static_cast<std::ptrdiff_t>((third - 1) / 2);
    std::nth_element(level.begin(), level.begin() + mid, level.begin() + static_cast<std::ptrdiff_t>(third));
    std::nth_element(spread.begin(), spread.begin() + mid, spread.begin() + static_cast<std::ptrdiff_t>(third));
    return std::pair{pmath::log(static_cast<double>(level[static_cast<std::size_t>(mid)])),
                     pmath::log(static_cast<double>(spread[static_cast<std::size_t>(mid)]))};
  };
  const auto [level_low, spread_low] = medians(0);
  const auto [level_high, spread_high] = medians(static_cast<std::ptrdiff_t>(n - third));
  return level_high > level_low ? (spread_high - spread_low) / (level_high - level_low) : std::numeric_limits<double>::quiet_NaN();
}

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
    residuals_.resize(static_cast<std::size_t>(rows + 8));  // choose_space packs into it by whole vectors
    signed_residuals_.resize(static_cast<std::size_t>(rows));
    start_y_.resize(static_cast<std::size_t>(rows));
    select_.resize(static_cast<std::size_t>(3 * rows + 16));  // and the tail factors' two sides of candidates
    pick_weight_.resize(static_cast<std::size_t>(rows));
    runs_.resize(static_cast<std::size_t>(rows + 1));
    short_rows_.resize(static_cast<std::size_t>(rows));
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
  ws->post_scratch_.resize(static_cast<std::size_t>(gam_run_score_scratch(grid_.steps)));
  ws->band_scratch_.resize(static_cast<std::size_t>(3 * grid_.steps));
  if (adapted_band()) {
    ws->adapted_scratch_.resize(static_cast<std::size_t>(3 * grid_.steps));
    ws->local_weeks_.resize(static_cast<std::size_t>(std::max<std::int64_t>(grid_.steps / local_block() + 2, config_.local_weeks + 1)));
  }
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
  if (status != FitStatus::all_missing && !ws.level_only_ && adapted_band()) {  // local_scale, count_band: gam_local_scale.cpp
    detect_adapted_band(*design, series.values, window, least, ws, out);
    step = window.score_end;
  }
  if (status != FitStatus::all_missing && !ws.level_only_ && !ws.space_.log && !ws.weekday_on_ && s > 0.0 &&
      ws.tail_up_ == 1.0 && ws.tail_down_ == 1.0) {
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
  const GamBandWriter band = band_writer(out, s, least, ws);
  // tail_scale: a fitted step inside a side's episode scores against that side's band without the episode (see the
  // header comment, "Tail scale"); the writers of those steps are made when first needed.
  const bool episodes = status != FitStatus::all_missing && !ws.level_only_ &&
                        (ws.episode_up_.end > ws.episode_up_.begin || ws.episode_down_.end > ws.episode_down_.begin);
  std::array<std::optional<GamBandWriter>, 3> episode_bands;  // inside the episode above, below, both
  const auto band_at = [&](std::int64_t row) -> const GamBandWriter& {
    const int which = episodes ? (ws.episode_up_.holds(row) ? 1 : 0) + (ws.episode_down_.holds(row) ? 2 : 0) : 0;
    if (which == 0) return band;
    std::optional<GamBandWriter>& w = episode_bands[static_cast<std::size_t>(which - 1)];
    if (!w)
      w.emplace(out, config_.z, s, least, ws.space_, grid_, ws.weekday_on_ ? &ws.weekdays_ : nullptr,
                (which & 1) != 0 ? ws.episode_up_.factor : ws.tail_up_, (which & 2) != 0 ? ws.episode_down_.factor : ws.tail_down_);
    return *w;
  };
  if (status != FitStatus::all_missing && !ws.level_only_ && ws.space_.log) {
    // Log-space fit: the steps inside the fit window by the array kernel (the same bits as band.write), in runs
    // between the episodes' edges.
    const std::int64_t end = std::min(window.score_end, design->fit_end());
    if (step >= design->fit_begin()) {
      while (step < end) {
        std::int64_t next = end;
        if (episodes)
          for (const GamTailEpisode* e : {&ws.episode_up_, &ws.episode_down_})
            for (const std::int64_t edge : {e->begin, e->end}) {
              const std::int64_t at = design->fit_begin() + edge;
              next = at > step && at < next ? at : next;
            }
        const std::int64_t row = step - design->fit_begin();
        band_at(row).write_log_run(static_cast<std::size_t>(step), next - step, ws.yhatf_.data() + row, ws.y_.data() + row,
                                   ws.offset_, series.values.data(), ws.band_scratch_);
        step = next;
      }
    }
  }
  for (; step < window.score_end; ++step) {
    const auto k = static_cast<std::size_t>(step);
    if (status == FitStatus::all_missing) {
      band.write_missing(k);
      continue;
    }
    double mu = ws.level_;
    if (!ws.level_only_) {
      if (step >= design->fit_begin() && step < design->fit_end()) {
        const std::int64_t row = step - design->fit_begin();
        mu = ws.offset_ + ws.yhatf_[row];
        band_at(row).write(k, mu, series.values[k], ws.offset_ + ws.y_[row]);  // the fitted value: no transform again
        continue;
      }
      const int p = design->cols();
      design->fill_row(step, std::span<double>(ws.row_.data(), static_cast<std::size_t>(p)));
      mu = ws.offset_ + ws.row_.head(p).dot(ws.beta_.head(p));
    }
    band.write(k, mu, series.values[k]);
  }
  if (!out.kind.empty())
    std::fill(out.kind.begin() + window.score_begin, out.kind.begin() + window.score_end, std::uint8_t{0});
  if (status != FitStatus::all_missing)
    post_score(series.values,
               {.history_begin = window.fit_begin, .begin = window.score_begin, .end = window.score_end,
                .centred = window.score_end <= window.fit_end},
               ws, out);
  return status;
}

void GamDetector::post_score(std::span<const float> values, const GamPostWindow& window, GamWorkspace& ws,
                             const DetectionOutput& out) const {
  if (config_.run_score) {
    const auto needed = static_cast<std::size_t>(gam_run_score_scratch(window.end - window.begin));
    if (ws.post_scratch_.size() < needed) ws.post_scratch_.resize(needed);  // sized by make_workspace for any window
    gam_run_score(values, out, window, config_.z, ws.post_scratch_);
  }
  if (config_.rules) gam_rule_alerts(values, grid_, ws.typical_positive_, out, window);
}

void GamDetector::choose_space(std::span<const float> values, std::int64_t begin, std::int64_t end, GamWorkspace& ws) const {
  ws.space_ = {};
  ws.typical_positive_ = 0.0;
  const bool automatic = config_.transform == GamConfig::Transform::automatic;
  const bool relative = config_.transform == GamConfig::Transform::log1p_relative || automatic;
  ws.space_.log = config_.transform != GamConfig::Transform::none;
  if (!relative && !config_.rules && config_.robust_start != GamConfig::RobustStart::automatic) return;
  // The median of the positive values: the series' usual usage when it is used. log1p_relative takes
  // c = 0.05 x it, so that the log's bend sits at the same place relative to every series' level, whatever its
  // unit (log1p(y) is nearly linear for values of 0.01 and nearly log for values of 1,000); the unit-error rule
  // compares with it too (an intermittent series' expected value is near 0 while its bursts are not), and
  // robust_start=auto finds gross values by it. The positive values packed into residuals_, the negative ones
  // (only counted) into the selection scratch past the rows radix_median uses.
  const auto [m, negative] = gam_tail_candidates(values.data() + begin, end - begin, 0.0F, 0.0F, ws.residuals_.data(),
                                                 ws.select_.data() + (end - begin));
  if (m > 0) ws.typical_positive_ = radix_median(ws.residuals_.data(), m, ws.select_.data());
  if (!relative) return;
  if (negative > 0) ws.space_.log = false;  // net usage, credits: fitted as it is
  else if (m > 0) ws.space_.unit = kRelativeLogShare * ws.typical_positive_;
  // A spread that grows slower than the square root of the level (Box-Cox lambda above 1/2) is nearer additive
  // noise than multiplicative: the log would narrow the band where usage is high and widen it where it is low.
  if (automatic && ws.space_.log && grid_.step_seconds <= kSecondsPerDay) {
    const double slope = spread_level_slope(values, begin, end, kSpreadBlockDays * (kSecondsPerDay / grid_.step_seconds),
                                            kGamGrossMultiple * ws.typical_positive_);
    ws.space_.log = !(slope < kSpreadSlopeForLog);  // NaN (no telling): the log
  }
}

void GamDetector::weekday_factors(std::int64_t first_step, std::int64_t rows, double mad, GamWorkspace& ws) const {
  ws.weekday_on_ = config_.weekday_scale && config_.weekly_order > 0 && grid_.step_seconds <= kSecondsPerDay && mad > 0.0;
  ws.weekdays_ = {};
  if (!ws.weekday_on_) return;
  // The weekday's mean winsorised absolute residual min(|r|, 3 mad) over that of all weekdays. Why not the
  // weekday's MAD: as robust to a few outliers for a ratio clipped to [0.5, 2], and one pass instead of seven
  // selections, which cost more than the rest of the band.
  const std::int64_t per_day = kSecondsPerDay / grid_.step_seconds;
  const std::int64_t period = 7 * per_day;
  const std::int64_t fewest = kWeekdayFewestDays * per_day;
  if (rows < 7 * fewest) return;  // no weekday can have its fewest days: every factor stays 1
  const double cap = kWeekdayWinsor * mad;
  // Sums by position in a block of whole weeks that is also a multiple of 8 steps (so that the loop over a block
  // vectorises), then each position to its weekday, of the absolute residuals in ws.residuals_ (+inf where
  // unobserved), as collect_residuals or rolling_residuals left them for the scale (which keeps them).
  const std::int64_t block = period * 8 / std::gcd(period, std::int64_t{8});
  if (static_cast<std::int64_t>(ws.band_scratch_.size()) < 2 * block) ws.band_scratch_.resize(static_cast<std::size_t>(2 * block));
  double* block_sum = ws.band_scratch_.data();
  double* block_count = block_sum + block;
  gam_block_sums(ws.residuals_.data(), rows, block, cap, block_sum, block_count);
  std::array<double, 7> sum{}, count{};
  GamWeekdayScale::each_step(grid_, first_step, period, [&](std::int64_t l, std::size_t d) {
    for (std::int64_t q = l; q < block; q += period) {
      sum[d] += block_sum[q];
      count[d] += block_count[q];
    }
  });
  const double total = ((sum[0] + sum[1]) + (sum[2] + sum[3])) + ((sum[4] + sum[5]) + sum[6]);
  const double observed = ((count[0] + count[1]) + (count[2] + count[3])) + ((count[4] + count[5]) + count[6]);
  if (!(total > 0.0)) return;
  const double mean_all = total / observed;
  for (std::size_t d = 0; d < 7; ++d) {
    if (count[d] < static_cast<double>(fewest)) continue;
    ws.weekdays_.factor[d] = std::clamp(sum[d] / count[d] / mean_all, kWeekdayFactorLow, kWeekdayFactorHigh);
  }
}

// Why the 95th percentile of each side: the MAD says how wide the middle of the residuals is, not how often a
// series deviates by a lot, nor in which direction (page views have news days above, households weeks away
// below), so one z had to sit at the widest series' tails and caught no 4-10 sigma spike on a light-tailed one.
// 1.96 = the 95th percentile of |N(0, 1)| (and of either half of N(0, 1)): a normal series keeps its MAD band.
// Of the residuals as they are, not over the weekday factor: as good on the real backgrounds (event F1 within
// 0.02 per source on both kind mixes at z 6-9, results/README.md), and one pass fewer.
void GamDetector::tail_factors(std::int64_t rows, double scale, GamWorkspace& ws, bool episodes) const {
  constexpr double kTailShare = 0.95;
  constexpr double kNormalTail = 1.959963984540054;  // the 95th percentile of |N(0, 1)|
  constexpr std::int64_t kFewest = 20;               // residuals of a side its 95th percentile needs (one beyond it)
  ws.tail_up_ = ws.tail_down_ = 1.0;
  ws.episode_up_ = ws.episode_down_ = {};
  if (!(scale > 0.0)) return;
  // A side's factor exceeds 1 exactly when its 95th percentile exceeds t = 1.96 x scale: one vectorised pass
  // counts each side and its values beyond t, which settles most sides (factor 1); the others select among their
  // few values beyond 0.9 t, not over the side. t is rounded down to a float, so that a side with no order
  // statistic above it has a factor of exactly 1.
  auto t = static_cast<float>(kNormalTail * scale);
  if (static_cast<double>(t) > kNormalTail * scale) t = std::nextafter(t, 0.0F);
  // The signed residuals (0 where unobserved), as the fit's last collect_residuals or rolling_residuals wrote them,
  // and each side's counts.
  const float* r = ws.signed_residuals_.data();
  const GamSideCounts n = gam_side_counts(r, rows, t);
  // numpy's default quantile, linear between the order statistics x_(k) and x_(k + 1) about position q (m - 1).
  const auto rank_k = [](std::int64_t m) { return static_cast<std::int64_t>(kTailShare * static_cast<double>(m - 1)); };
  const auto settled = [&](std::int64_t m, std::int64_t beyond) {  // factor 1: x_(k + 1) <= t, or too few
    return m < kFewest || rank_k(m) + 1 < m - beyond;
  };
  if (settled(n.above, n.above_beyond) && settled(n.below, n.below_beyond)) return;  // the usual case: normal tails
  // x_(k) is the top-th largest value of its side, top = m - k (about 5% of the side). Each side's candidates: its
  // values beyond t when at least top are (both order statistics are then among them), else beyond 0.9 t (x_(k)
  // is then nearly always among them). select_ holds 3 x rows + 16: the selection scratch, then each side's
  // candidates.
  const auto keep_of = [&](std::int64_t m, std::int64_t beyond) { return beyond >= m - rank_k(m) ? t : 0.9F * t; };
  const float keep_up = keep_of(n.above, n.above_beyond), keep_down = keep_of(n.below, n.below_beyond);
  float* kept_up = ws.select_.data() + rows;
  float* kept_down = kept_up + rows + 8;
  const auto [c_up, c_down] = gam_tail_candidates(r, rows, keep_up, keep_down, kept_up, kept_down);
  // A side's factor from its m residuals (beyond of them beyond t), c candidates `kept` beyond `keep`, and rows
  // [skip_begin, skip_end) left out (none of them among the candidates); x_(k) into `least_top`.
  const auto factor = [&](std::int64_t m, std::int64_t beyond, float* kept, std::int64_t c, float keep, float sign,
                          std::int64_t skip_begin, std::int64_t skip_end, float& least_top) {
    least_top = std::numeric_limits<float>::infinity();
    if (settled(m, beyond)) return 1.0;
    const double at = kTailShare * static_cast<double>(m - 1);
    const std::int64_t k = rank_k(m), top = m - k;
    double lower = 0.0, upper = 0.0;
    if (c < top) {  // rare: x_(k) <= 0.9 t < t < x_(k + 1), the least kept; x_(k) the largest at or below 0.9 t
      float below_max = -std::numeric_limits<float>::infinity();
      for (std::int64_t i = 0; i < rows; ++i) {
        const float v = i >= skip_begin && i < skip_end ? 0.0F : sign * r[i];
        below_max = v > 0.0F && !(v > keep) ? std::max(below_max, v) : below_max;
      }
      lower = below_max;
      upper = *std::min_element(kept, kept + c);
    } else {  // the (top - 1)-th largest in place, the top-th the largest after it
      std::nth_element(kept, kept + (top - 2), kept + c, std::greater<>());
      upper = kept[top - 2];
      lower = *std::max_element(kept + (top - 1), kept + c);
    }
    least_top = static_cast<float>(lower);
    return std::max(1.0, (lower + (at - static_cast<double>(k)) * (upper - lower)) / kNormalTail / scale);
  };
  float least_up = 0.0F, least_down = 0.0F;
  ws.tail_up_ = factor(n.above, n.above_beyond, kept_up, c_up, keep_up, 1.0F, 0, 0, least_up);
  ws.tail_down_ = factor(n.below, n.below_beyond, kept_down, c_down, keep_down, -1.0F, 0, 0, least_down);
  if (!episodes) return;
  // The episode of a side whose factor exceeds 1: the 6-week window holding the most of its top residuals (those
  // at least x_(k)), when it holds half of them and at least 4, and the side's factor without the window's
  // residuals (kept when lower). A band must not be as wide as the episode it scores: a 5-week level shift is 10%
  // of its side's residuals over two years and set that side's 95th percentile itself (results/README.md, "A band
  // not widened by the episode it scores").
  const std::int64_t length =
      std::max<std::int64_t>(1, (kEpisodeDays * kSecondsPerDay + grid_.step_seconds - 1) / grid_.step_seconds);
  const auto episode = [&](std::int64_t m, std::int64_t beyond, float least_top, float sign, float* kept, float* other,
                           double whole) {
    std::int32_t* top = ws.pick_rows_.data();  // free after the fit (rows + 8): the rows of the top residuals, in order
    const std::int64_t count = gam_rows_at_least(r, rows, sign, least_top, top);
    std::int64_t best = 0, begin = 0;
    for (std::int64_t a = 0, b = 0; a < count; ++a) {
      while (b < count && top[b] < top[a] + length) ++b;
      if (b - a > best) best = b - a, begin = top[a];
    }
    // An episode that sets the side's tail, not the clusters of autocorrelated noise: half of them, and at least 4.
    if (best < std::max<std::int64_t>(4, (count + 1) / 2)) return GamTailEpisode{};
    const std::int64_t end = std::min(rows, begin + length);
    const GamSideCounts in = gam_side_counts(r + begin, end - begin, t);
    const std::int64_t m_out = m - (sign > 0.0F ? in.above : in.below);
    const std::int64_t beyond_out = beyond - (sign > 0.0F ? in.above_beyond : in.below_beyond);
    // The side's candidates outside the window, in order (the other side's are discarded into `other`).
    const float keep = keep_of(m_out, beyond_out), none = std::numeric_limits<float>::infinity();
    const float keep_up_out = sign > 0.0F ? keep : none, keep_down_out = sign > 0.0F ? none : keep;
    float* up_out = sign > 0.0F ? kept : other;
    float* down_out = sign > 0.0F ? other : kept;
    const auto [before_up, before_down] = gam_tail_candidates(r, begin, keep_up_out, keep_down_out, up_out, down_out);
    const std::int64_t before = sign > 0.0F ? before_up : before_down;
    const auto [after_up, after_down] = gam_tail_candidates(r + end, rows - end, keep_up_out, keep_down_out,
                                                            up_out + (sign > 0.0F ? before : 0), down_out + (sign > 0.0F ? 0 : before));
    const std::int64_t c = before + (sign > 0.0F ? after_up : after_down);
    float unused = 0.0F;
    const double without = factor(m_out, beyond_out, kept, c, keep, sign, begin, end, unused);
    return without < whole ? GamTailEpisode{begin, end, without} : GamTailEpisode{};
  };
  // Each side's candidates are spent: the up side's search discards into the down side's buffer, and then the down
  // side's into the up side's.
  if (ws.tail_up_ > 1.0) ws.episode_up_ = episode(n.above, n.above_beyond, least_up, 1.0F, kept_up, kept_down, ws.tail_up_);
  if (ws.tail_down_ > 1.0) ws.episode_down_ = episode(n.below, n.below_beyond, least_down, -1.0F, kept_down, kept_up, ws.tail_down_);
}

// The median of the observed values of ws.y_[0, rows) and their robust scale about it, floored.
double GamDetector::level_fallback(GamWorkspace& ws, std::int64_t rows, double lo, double& scale) const {
  float* r = ws.residuals_.data();  // the observed values, +inf at the other rows (robust_scale's layout)
  std::int64_t m = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const bool seen = ws.observed_[static_cast<std::size_t>(i)] != 0;
    r[i] = seen ? static_cast<float>(ws.y_[i]) : std::numeric_limits<float>::infinity();
    m += seen ? 1 : 0;
  }
  const auto [lower, upper] = radix_select_pair(r, rows, m / 2, ws.select_.data());
  const double med = m % 2 == 1 ? upper : 0.5 * (lower + upper);
  for (std::int64_t i = 0; i < rows; ++i)
    if (ws.observed_[static_cast<std::size_t>(i)]) r[i] = static_cast<float>(ws.y_[i] - med);
  scale = floored_scale(ws, rows, lo, robust_scale(ws, rows, m, true));
  return med;
}

}  // namespace meterbench
