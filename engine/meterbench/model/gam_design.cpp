#include "meterbench/model/gam_design.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <numbers>
#include <unordered_map>

#include "meterbench/core/check.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/core/portable_math.hpp"

namespace meterbench {

namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
constexpr double kDaysPerWeek = 7.0;
constexpr double kDaysPerYear = 365.25;
constexpr double kDaysPerMonth = 365.25 / 12.0;

// A monthly grid has 12 steps a year exactly: its yearly term has a period of 12 steps, and the weekly and
// billing-cycle terms (shorter than a step) vanish.
double step_days(const TimeGrid& grid) {
  return grid.monthly() ? kDaysPerMonth : static_cast<double>(grid.step_seconds) / static_cast<double>(kSecondsPerDay);
}

// The month of the year (0..11) of a step of a monthly grid.
std::int64_t month_of_year(const TimeGrid& grid, std::int64_t step) {
  const std::int64_t month = step_number(grid.start_unix_seconds, grid.step_seconds) + step;
  return (month % 12 + 12) % 12;
}

// Writes cos(2 pi k u), sin(2 pi k u) for k = 1..order by the angle-addition recurrence (exact to ~1e-15 for
// the orders used here; the phase u is reduced to [0, 1) first so large day counts lose no precision).
void fourier(double u, int order, double* out) {
  if (order == 0) return;
  u -= std::floor(u);
  const double c1 = pmath::cos(kTwoPi * u);
  const double s1 = pmath::sin(kTwoPi * u);
  double c = c1, s = s1;
  for (int k = 0; k < order; ++k) {
    out[2 * k] = c;
    out[2 * k + 1] = s;
    const double cn = c * c1 - s * s1;
    s = s * c1 + c * s1;
    c = cn;
  }
}

}  // namespace

void gam_accumulate_cross_product(const GamDesign::RowMatrix& x, const std::uint8_t* observed, std::uint8_t wanted, std::int64_t begin,
                     std::int64_t end, double sign, Eigen::MatrixXd& g, Eigen::MatrixXd& chunk) {
  Eigen::Index k = 0;
  const auto flush = [&]() {
    if (k > 0) g.selfadjointView<Eigen::Lower>().rankUpdate(chunk.leftCols(k), sign);
    k = 0;
  };
  for (std::int64_t i = begin; i < end; ++i) {
    if (observed != nullptr && observed[i] != wanted) continue;
    chunk.col(k++) = x.row(i).transpose();
    if (k == chunk.cols()) flush();
  }
  flush();
}

int gam_changepoint_steps(const GamConfig& config, const TimeGrid& grid, std::int64_t fit_begin, std::int64_t fit_end, std::int64_t* out) {
  const std::int64_t n = fit_end - fit_begin;
  const std::int64_t min_gap = grid.monthly() ? 6 : 1;
  int count = 0;
  for (int j = 1; j <= config.changepoints; ++j) {
    const auto offset = static_cast<std::int64_t>(std::llround(config.changepoint_range * static_cast<double>(n) * j / config.changepoints));
    if (offset < 1 || offset > n - 2) continue;
    if (count > 0 && out[count - 1] + min_gap > fit_begin + offset) continue;
    out[count++] = fit_begin + offset;
  }
  return count;
}

int gam_capped_order(int order, double period_days, const TimeGrid& grid) {
  const double samples_per_period = period_days / step_days(grid);
  // Orders k with k >= samples/2 alias onto lower ones (or vanish): keep k < samples / 2.
  const int limit = static_cast<int>(std::ceil(samples_per_period / 2.0)) - 1;
  return std::max(0, std::min(order, limit));
}

GamDesign::GamDesign(const TimeGrid& grid, const GamConfig& config, std::int64_t fit_begin, std::int64_t fit_end)
    : grid_(grid), fit_begin_(fit_begin), fit_end_(fit_end) {
  METERBENCH_CHECK(fit_begin >= 0 && fit_end > fit_begin && fit_end <= grid.steps);
  const std::int64_t n = fit_end - fit_begin;

  // Changepoint candidates: evenly spaced on the grid over the first changepoint_range of the fit window,
  // at offsets round(range * n * j / C), j = 1..C; duplicates (short windows) are merged, and a
  // changepoint needs at least one step on each side (months: half a year between two).
  changepoint_steps_.resize(static_cast<std::size_t>(std::max(0, config.changepoints)));
  changepoint_steps_.resize(static_cast<std::size_t>(gam_changepoint_steps(config, grid, fit_begin, fit_end, changepoint_steps_.data())));
  for (const auto s : changepoint_steps_) changepoint_t_.push_back(static_cast<double>(s - fit_begin) / static_cast<double>(n));

  GamColumns& c = columns_;
  int next = 2;
  c.changepoint_count = static_cast<int>(changepoint_steps_.size());
  next += c.changepoint_count;
  c.weekly_order = gam_capped_order(config.weekly_order, kDaysPerWeek, grid);
  c.weekly_begin = next;
  next += 2 * c.weekly_order;
  const double window_days = static_cast<double>(n) * step_days(grid);
  c.yearly_order = window_days >= config.yearly_min_days ? gam_capped_order(config.yearly_order, kDaysPerYear, grid) : 0;
  c.yearly_begin = next;
  next += 2 * c.yearly_order;
  c.monthly_order = gam_capped_order(config.monthly_order, kDaysPerMonth, grid);
  c.monthly_begin = next;
  next += 2 * c.monthly_order;
  c.daily_order = grid.step_seconds < kSecondsPerDay ? gam_capped_order(config.daily_order, 1.0, grid) : 0;
  c.daily_begin = next;
  next += 2 * c.daily_order;
  c.count = next;

  const int p = c.count;
  penalty_ = Eigen::VectorXd::Zero(p);
  for (int j = c.changepoint_begin; j < c.changepoint_begin + c.changepoint_count; ++j) penalty_[j] = config.changepoint_penalty;
  for (int j = c.weekly_begin; j < p; ++j) penalty_[j] = config.seasonality_penalty;

  // Raw design, then standardise every column but the intercept over the fit window (conditioning: the
  // centred columns are nearly orthogonal to the intercept and all have unit variance).
  x_.resize(n, p);
  mean_ = Eigen::VectorXd::Zero(p);
  inv_sd_ = Eigen::VectorXd::Ones(p);
  for (std::int64_t i = 0; i < n; ++i) fill_raw_row(fit_begin + i, std::span<double>(x_.row(i).data(), static_cast<std::size_t>(p)));
  for (int j = 1; j < p; ++j) {
    const double mean = x_.col(j).mean();
    const double var = (x_.col(j).array() - mean).square().mean();
    mean_[j] = mean;
    inv_sd_[j] = var > 1e-24 ? 1.0 / std::sqrt(var) : 1.0;
  }
  for (std::int64_t i = 0; i < n; ++i) x_.row(i) = ((x_.row(i).transpose() - mean_).array() * inv_sd_.array()).transpose();

  build_structure();
  xtx_ = Eigen::MatrixXd::Zero(p, p);
  xtx_.selfadjointView<Eigen::Lower>().rankUpdate(x_.transpose(), 1.0);
  xtx_.triangularView<Eigen::StrictlyUpper>() = xtx_.transpose();
  gram_ = xtx_ / static_cast<double>(n);
  gram_.diagonal() += penalty_;
  gram_.diagonal().array() += kGamDiagonalJitter;
  factor_.compute(gram_);
  // Only a window shorter than its columns with the penalties set to 0 can be singular: raise the ridge
  // until it factorises (such a window's series are too_short anyway).
  for (double extra = 1e-8; factor_.info() != Eigen::Success && extra < 1e2; extra *= 100.0) {
    gram_.diagonal().array() += extra;
    factor_.compute(gram_);
  }
  METERBENCH_CHECK(factor_.info() == Eigen::Success);
  inverse_ = factor_.solve(Eigen::MatrixXd::Identity(p, p));
  inverse_ = 0.5 * (inverse_ + inverse_.transpose()).eval();
}

bool GamDesign::build_prefix_cross_products(std::int64_t max_bytes) {
  const std::int64_t n = rows(), t = packed_size();
  const int p = cols();
  if ((n + 1) * t * static_cast<std::int64_t>(sizeof(double)) > max_bytes) return false;
  prefix_xtx_.assign(static_cast<std::size_t>((n + 1) * t), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* x = x_.row(i).data();
    const double* prev = prefix_xtx_.data() + i * t;
    double* next = prefix_xtx_.data() + (i + 1) * t;
    for (int j = 0; j < p; ++j) {
      const double xj = x[j];
      for (int r = j; r < p; ++r) *next++ = *prev++ + x[r] * xj;
    }
  }
  return true;
}

void GamDesign::build_structure() {
  const std::int64_t n = rows();
  const GamColumns& c = columns_;
  // Phase keys in whole seconds, exact on the integer grid: two rows with the same key have the same
  // Fourier values. 365.25 days = 31,557,600 s.
  const auto seconds_of = [&](std::int64_t i) { return grid_.time_at(fit_begin_ + i); };
  const auto mod = [](std::int64_t a, std::int64_t m) { return ((a % m) + m) % m; };
  struct Term {
    int begin, order;
    std::function<std::int64_t(std::int64_t)> key;
  };
  const std::vector<Term> terms = {
      {c.weekly_begin, c.weekly_order, [&](std::int64_t i) { return mod(seconds_of(i), 7 * kSecondsPerDay); }},
      {c.yearly_begin, c.yearly_order,
       [&](std::int64_t i) { return grid_.monthly() ? month_of_year(grid_, fit_begin_ + i) : mod(seconds_of(i), 31'557'600); }},
      {c.monthly_begin, c.monthly_order,
       [&](std::int64_t i) {
         const std::int64_t s = seconds_of(i);
         const CalendarPoint cal = calendar_at(s);
         return (static_cast<std::int64_t>(cal.days_in_month) * 32 + cal.day_of_month) * kSecondsPerDay + mod(s, kSecondsPerDay);
       }},
      {c.daily_begin, c.daily_order, [&](std::int64_t i) { return mod(seconds_of(i), kSecondsPerDay); }},
  };
  std::vector<std::uint8_t> tabulated(static_cast<std::size_t>(c.count), 0);
  for (int j = 0; j < 2 + c.changepoint_count; ++j) tabulated[static_cast<std::size_t>(j)] = 1;  // intercept, trend, hinges: the sweep
  for (const Term& term : terms) {
    if (term.order == 0) continue;
    PeriodicTerm pt;
    pt.begin = term.begin;
    pt.width = 2 * term.order;
    pt.index.resize(static_cast<std::size_t>(n));
    std::unordered_map<std::int64_t, std::uint32_t> seen;
    std::vector<std::int64_t> first_row;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto [it, inserted] = seen.try_emplace(term.key(i), static_cast<std::uint32_t>(first_row.size()));
      if (inserted) first_row.push_back(i);
      pt.index[static_cast<std::size_t>(i)] = it->second;
    }
    // Worth it only when phases repeat: at most a quarter of the rows distinct.
    if (4 * static_cast<std::int64_t>(first_row.size()) > n) continue;
    pt.table_d.resize(static_cast<Eigen::Index>(first_row.size()), pt.width);
    for (std::size_t u = 0; u < first_row.size(); ++u)
      pt.table_d.row(static_cast<Eigen::Index>(u)) = x_.row(first_row[u]).segment(pt.begin, pt.width);
    pt.table = pt.table_d.cast<float>();
    cross_scratch_ += static_cast<std::int64_t>(first_row.size());
    for (int j = pt.begin; j < pt.begin + pt.width; ++j) tabulated[static_cast<std::size_t>(j)] = 1;
    predict_scratch_ += static_cast<std::int64_t>(first_row.size());
    periodic_.push_back(std::move(pt));
  }
  for (int j = 0; j < c.count; ++j)
    if (!tabulated[static_cast<std::size_t>(j)]) dense_columns_.push_back(j);
  const auto dense_width = static_cast<Eigen::Index>(dense_columns_.size());
  dense_ = Eigen::MatrixXf::Zero(n, dense_width);
  dense_d_ = Eigen::MatrixXd::Zero(n, dense_width);
  for (Eigen::Index k = 0; k < dense_width; ++k) dense_d_.col(k) = x_.col(dense_columns_[static_cast<std::size_t>(k)]);
  dense_ = dense_d_.cast<float>();
  cross_scratch_ += dense_width;
  ramp_ = Eigen::VectorXd::LinSpaced(n, 0.0, static_cast<double>(n - 1));
  predict_scratch_ += dense_width;
}

void GamDesign::predict(const Eigen::VectorXd& beta, std::span<float> out, std::span<float> scratch) const {
  const std::int64_t n = rows();
  const GamColumns& c = columns_;
  // Trend and hinges in the raw basis: sum_j g_j max(t - tau_j, 0) + g_1 t = A(t) t - B(t), with A and B the
  // running sums over the changepoints passed; the standardisation's means fold into the constant.
  double constant = beta[0];
  const double g_trend = beta[c.trend] * inv_sd_[c.trend];
  constant -= g_trend * mean_[c.trend];
  double slope = g_trend, shift = 0.0;
  std::size_t next = 0;
  const double inv_n = 1.0 / static_cast<double>(n);
  const std::size_t cp_count = changepoint_steps_.size();
  for (std::size_t j = 0; j < cp_count; ++j) {
    const int col = c.changepoint_begin + static_cast<int>(j);
    constant -= beta[col] * inv_sd_[col] * mean_[col];
  }
  // The tabulated Fourier terms' values per distinct phase first, so that one pass per segment writes the line
  // and adds up to two terms' lookups (in term order, each rounded to float as separate passes would).
  float* values = scratch.data();
  std::array<const float*, 2> first_values{};
  std::array<const std::uint32_t*, 2> first_index{};
  std::size_t fused = 0;
  for (const PeriodicTerm& pt : periodic_) {
    const auto u = pt.table.rows();
    std::array<float, 2 * 64> coef{};  // orders are capped at 40 by the parameter specs
    METERBENCH_CHECK(pt.width <= static_cast<int>(coef.size()));
    for (int j = 0; j < pt.width; ++j) coef[static_cast<std::size_t>(j)] = static_cast<float>(beta[pt.begin + j]);
    // Row by row in column order (a few dozen short rows: a library product costs more in setting up than in work).
    for (Eigen::Index r = 0; r < u; ++r) {
      const float* row = pt.table.data() + r * pt.width;
      float sum = 0.0F;
      for (int j = 0; j < pt.width; ++j) sum += row[j] * coef[static_cast<std::size_t>(j)];
      values[r] = sum;
    }
    if (fused < first_values.size()) {
      first_values[fused] = values;
      first_index[fused] = pt.index.data();
      ++fused;
    }
    values += u;
  }
  // Segment by segment (between changepoints the line is fixed), so the inner loop vectorises.
  std::int64_t i = 0;
  while (i < n) {
    while (next < cp_count && changepoint_steps_[next] - fit_begin_ <= i) {
      const int col = c.changepoint_begin + static_cast<int>(next);
      const double g = beta[col] * inv_sd_[col];
      slope += g;
      shift += g * changepoint_t_[next];
      ++next;
    }
    const std::int64_t end = next < cp_count ? changepoint_steps_[next] - fit_begin_ : n;
    const double base = constant - shift, step_slope = slope * inv_n;
    gam_predict_line(out.data(), i, end, base, step_slope, fused, first_values.data(), first_index.data());
    i = end;
  }
  values = scratch.data();
  for (std::size_t k = 0; k < periodic_.size(); ++k) {
    const PeriodicTerm& pt = periodic_[k];
    if (k >= fused) {
      const std::uint32_t* idx = pt.index.data();
      for (std::int64_t r = 0; r < n; ++r) out[static_cast<std::size_t>(r)] += values[idx[r]];
    }
    values += pt.table.rows();
  }
  if (!dense_columns_.empty()) {
    // Column-major: a few long axpys, no horizontal sums (cheaper than dot products of short rows).
    Eigen::Map<Eigen::VectorXf> b(values, dense_.cols());
    for (std::size_t k = 0; k < dense_columns_.size(); ++k) b[static_cast<Eigen::Index>(k)] = static_cast<float>(beta[dense_columns_[k]]);
    gam_add_columns(dense_.data(), n, dense_.cols(), b.data(), out.data());
  }
}

void GamDesign::cross(std::span<const double> y, Eigen::VectorXd& b, std::span<double> scratch) const {
  const std::int64_t n = rows();
  const GamColumns& c = columns_;
  const std::size_t cp_count = changepoint_steps_.size();
  // Sums of y and t*y over [c_j, n) for every changepoint, and over the whole window; t_i = i / n.
  double s0 = 0.0, s1 = 0.0;
  const double inv_n = 1.0 / static_cast<double>(n);
  const Eigen::Map<const Eigen::VectorXd> yv(y.data(), n);
  std::int64_t end = n;
  for (std::size_t j = cp_count; j-- > 0;) {
    const std::int64_t begin = changepoint_steps_[j] - fit_begin_;
    s0 += yv.segment(begin, end - begin).sum();
    s1 += yv.segment(begin, end - begin).dot(ramp_.segment(begin, end - begin));
    end = begin;
    const int col = c.changepoint_begin + static_cast<int>(j);
    const double raw = s1 * inv_n - changepoint_t_[j] * s0;  // sum_{i >= c_j} (t_i - tau_j) y_i
    b[col] = raw;  // standardised below, once the total sum is known
  }
  s0 += yv.head(end).sum();
  s1 += yv.head(end).dot(ramp_.head(end));
  b[0] = s0;
  b[c.trend] = inv_sd_[c.trend] * (s1 * inv_n - mean_[c.trend] * s0);
  for (std::size_t j = 0; j < cp_count; ++j) {
    const int col = c.changepoint_begin + static_cast<int>(j);
    b[col] = inv_sd_[col] * (b[col] - mean_[col] * s0);
  }
  double* sums = scratch.data();
  for (const PeriodicTerm& pt : periodic_) {
    const auto u = pt.table_d.rows();
    Eigen::Map<Eigen::VectorXd> phase_sums(sums, u);
    phase_sums.setZero();
    const std::uint32_t* idx = pt.index.data();
    for (std::int64_t i = 0; i < n; ++i) sums[idx[i]] += y[static_cast<std::size_t>(i)];
    b.segment(pt.begin, pt.width).noalias() = pt.table_d.transpose() * phase_sums;
    sums += u;
  }
  if (!dense_columns_.empty()) {
    Eigen::Map<Eigen::VectorXd> dense_b(sums, dense_d_.cols());
    gam_dot_columns(dense_d_.data(), n, dense_d_.cols(), y.data(), dense_b.data());
    for (std::size_t k = 0; k < dense_columns_.size(); ++k) b[dense_columns_[k]] = dense_b[static_cast<Eigen::Index>(k)];
  }
}

void GamDesign::fill_raw_row(std::int64_t step, std::span<double> row) const {
  const GamColumns& c = columns_;
  const double t = static_cast<double>(step - fit_begin_) / static_cast<double>(fit_end_ - fit_begin_);
  row[0] = 1.0;
  row[c.trend] = t;
  for (int j = 0; j < c.changepoint_count; ++j) row[c.changepoint_begin + j] = std::max(0.0, t - changepoint_t_[j]);
  const double days = grid_.days_at(step);
  fourier(days / kDaysPerWeek, c.weekly_order, &row[c.weekly_begin]);
  fourier(grid_.monthly() ? static_cast<double>(month_of_year(grid_, step)) / 12.0 : days / kDaysPerYear, c.yearly_order, &row[c.yearly_begin]);
  if (c.monthly_order > 0) {
    // Billing-cycle phase: (day_of_month - 1 + fraction of the day) / days_in_month.
    const CalendarPoint cal = calendar_at(grid_.time_at(step));
    const double phase = (cal.day_of_month - 1 + cal.hour_of_day / 24.0) / cal.days_in_month;
    fourier(phase, c.monthly_order, &row[c.monthly_begin]);
  }
  fourier(days, c.daily_order, &row[c.daily_begin]);
}

void GamDesign::fill_row(std::int64_t step, std::span<double> row) const {
  fill_raw_row(step, row);
  for (int j = 1; j < columns_.count; ++j) row[j] = (row[j] - mean_[j]) * inv_sd_[j];
}

}  // namespace meterbench
