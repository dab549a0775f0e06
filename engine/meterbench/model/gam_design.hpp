#pragma once
// The design of the `gam` detector for one fit window of a time grid: which columns exist (intercept, trend,
// changepoint hinges, Fourier seasonalities), how a grid step maps to a design row, the row-major design
// matrix over the fit window, and the penalised Gram matrix of the fully observed case with its Cholesky
// factor. Everything here depends on the calendar only, never on a series' values: one GamDesign is built
// per (grid, fit window) and shared read-only by every series and thread.
#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/gam_parameters.hpp"

namespace meterbench {

/// Layout of the design columns. Column 0 is the intercept, column 1 the trend, then the changepoint
/// hinges, then cos/sin pairs of each Fourier term (weekly, yearly, monthly, daily), order 1 first.
struct GamColumns {
  int trend = 1;
  int changepoint_begin = 2;
  int changepoint_count = 0;
  int weekly_begin = 0, weekly_order = 0;
  int yearly_begin = 0, yearly_order = 0;
  int monthly_begin = 0, monthly_order = 0;
  int daily_begin = 0, daily_order = 0;
  int count = 2;
};

class GamDesign {
 public:
  using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  /// Builds the design of the fit window [fit_begin, fit_end) of `grid` (fit_end > fit_begin).
  GamDesign(const TimeGrid& grid, const GamConfig& config, std::int64_t fit_begin, std::int64_t fit_end);

  [[nodiscard]] std::int64_t fit_begin() const { return fit_begin_; }
  [[nodiscard]] std::int64_t fit_end() const { return fit_end_; }
  [[nodiscard]] std::int64_t rows() const { return fit_end_ - fit_begin_; }
  [[nodiscard]] int cols() const { return columns_.count; }
  [[nodiscard]] const GamColumns& columns() const { return columns_; }
  /// Grid steps of the changepoints (strictly increasing, inside the fit window).
  [[nodiscard]] std::span<const std::int64_t> changepoint_steps() const { return changepoint_steps_; }
  /// Design matrix over the fit window, one row per step, standardised columns.
  [[nodiscard]] const RowMatrix& matrix() const { return x_; }
  using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  /// out[i] = (X beta)_i for every row of the fit window, in single precision, exploiting the calendar
  /// structure: the trend and changepoint hinges are one piecewise-linear sweep, each Fourier term whose
  /// phase repeats on the grid (weekly, billing-cycle, daily; yearly on grids longer than its 4-year cycle)
  /// is a product with its small table of distinct phases plus a lookup per row, and only the remaining
  /// columns (typically yearly) go through a dense product. Agrees with matrix() * beta to float rounding.
  /// `scratch` holds predict_scratch_size() floats.
  void predict(const Eigen::VectorXd& beta, std::span<float> out, std::span<float> scratch) const;
  [[nodiscard]] std::int64_t predict_scratch_size() const { return predict_scratch_; }
  /// b = X'y in double by the same structure: suffix sums for trend and hinges, per-phase sums times the
  /// tables, a dense product for the rest. `scratch` holds cross_scratch_size() doubles.
  void cross(std::span<const double> y, Eigen::VectorXd& b, std::span<double> scratch) const;
  [[nodiscard]] std::int64_t cross_scratch_size() const { return cross_scratch_; }
  /// Ridge penalty per column (0 for intercept and trend), added to the diagonal of X'WX / n (window rows).
  [[nodiscard]] const Eigen::VectorXd& penalty() const { return penalty_; }
  /// X'X (unnormalised, both triangles) over the whole fit window.
  [[nodiscard]] const Eigen::MatrixXd& cross_product() const { return xtx_; }
  /// X'X / n + diag(penalty) for the fully observed window, and its Cholesky factor.
  [[nodiscard]] const Eigen::MatrixXd& full_gram() const { return gram_; }
  [[nodiscard]] const Eigen::LLT<Eigen::MatrixXd>& full_factor() const { return factor_; }
  /// Its inverse (from the factor): one p x p product per solve instead of two triangular solves.
  [[nodiscard]] const Eigen::MatrixXd& full_inverse() const { return inverse_; }
  /// Builds the running sums of X'X over the rows, so that X'X of any row range is the difference of two
  /// of them: a gap of m rows then costs one packed p x p subtraction instead of m rank-1 updates. Skipped
  /// (returns false) when the table would exceed `max_bytes`. Used by the retrospective design only.
  bool build_prefix_cross_products(std::int64_t max_bytes);
  /// Entries of a packed lower triangle (column by column, rows j..p-1 of column j): p (p + 1) / 2.
  [[nodiscard]] std::int64_t packed_size() const { return static_cast<std::int64_t>(cols()) * (cols() + 1) / 2; }
  /// The packed lower triangle of X'X over rows [0, k) of the fit window, k = 0..rows(); nullptr when the
  /// table was not built.
  [[nodiscard]] const double* prefix_cross_product(std::int64_t k) const {
    return prefix_xtx_.empty() ? nullptr : prefix_xtx_.data() + k * packed_size();
  }
  /// Standardisation of column j: x_std = (x_raw - mean[j]) * inv_sd[j].
  [[nodiscard]] const Eigen::VectorXd& column_mean() const { return mean_; }
  [[nodiscard]] const Eigen::VectorXd& column_inv_sd() const { return inv_sd_; }

  /// Writes the standardised design row of any grid step (inside or outside the fit window: outside, the
  /// trend continues with its last slope and the seasonal terms follow the calendar). row.size() == cols().
  void fill_row(std::int64_t step, std::span<double> row) const;
  /// The unstandardised row (the model's natural basis: t in [0, 1) over the fit window, hinges max(t - tau, 0),
  /// cos/sin of 2 pi k phase).
  void fill_raw_row(std::int64_t step, std::span<double> row) const;

 private:
  void build_structure();
  TimeGrid grid_;
  std::int64_t fit_begin_;
  std::int64_t fit_end_;
  GamColumns columns_;
  std::vector<std::int64_t> changepoint_steps_;
  std::vector<double> changepoint_t_;
  Eigen::VectorXd mean_;
  Eigen::VectorXd inv_sd_;
  Eigen::VectorXd penalty_;
  RowMatrix x_;
  // Structured product (see predict): Fourier terms tabulated by distinct phase, and the dense rest.
  struct PeriodicTerm {
    int begin = 0;                      // first column
    int width = 0;                      // 2 x order
    std::vector<std::uint32_t> index;   // row -> table row
    RowMatrixF table;                   // distinct phases x width, standardised values
    RowMatrix table_d;                  // the same in double (for X'y)
  };
  std::vector<PeriodicTerm> periodic_;
  std::vector<int> dense_columns_;
  Eigen::MatrixXf dense_;               // rows x dense count, column-major
  Eigen::MatrixXd dense_d_;             // the same in double (for X'y)
  Eigen::VectorXd ramp_;                // 0, 1, ..., rows - 1
  std::int64_t predict_scratch_ = 0;
  std::int64_t cross_scratch_ = 0;
  Eigen::MatrixXd xtx_;
  std::vector<double> prefix_xtx_;  // (rows + 1) packed lower triangles (see prefix_cross_product)
  Eigen::MatrixXd gram_;
  Eigen::LLT<Eigen::MatrixXd> factor_;
  Eigen::MatrixXd inverse_;
};

/// The tiny ridge added to every diagonal entry of the penalised Gram matrix, so that it stays positive
/// definite when a user sets the penalties to 0 on a window too short for its columns.
inline constexpr double kGamDiagonalJitter = 1e-10;

/// Adds sign * x_i x_i' to the lower triangle of g over the rows i in [begin, end) of x with observed[i] == wanted
/// (every row when observed is null), by rank-k updates of up to chunk.cols() gathered rows (chunk: p rows).
void gam_accumulate_cross_product(const GamDesign::RowMatrix& x, const std::uint8_t* observed, std::uint8_t wanted,
                                  std::int64_t begin, std::int64_t end, double sign, Eigen::MatrixXd& g, Eigen::MatrixXd& chunk);

/// Changepoint steps of the fit window [fit_begin, fit_end) (as GamDesign places them) into out[0, count),
/// returns count; `out` has room for config.changepoints entries. On a monthly grid they are at least half a
/// year apart (a few years of months cannot carry 25 slopes). Allocation-free.
int gam_changepoint_steps(const GamConfig& config, const TimeGrid& grid, std::int64_t fit_begin, std::int64_t fit_end, std::int64_t* out);

/// Effective Fourier orders on a grid: orders at or above the Nyquist limit alias and are capped.
int gam_capped_order(int order, double period_days, const TimeGrid& grid);

}  // namespace meterbench
