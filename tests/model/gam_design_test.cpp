// Implementation tests of the gam design: column layout, numerical conditioning of the shared penalised Gram
// matrix on a 5-year hourly design, golden values of a non-robust fit against an independent reference, and
// parameter validation messages.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>

#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/gam_design.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/model/gam_packed.hpp"
#include "meterbench/model/gam_detector.hpp"
#include "model/gam_test_support.hpp"

namespace meterbench {
namespace {

using testing::kStart;
using testing::settings;


std::string expect_invalid(const std::vector<std::string>& s) {
  try {
    (void)gam_config_from_settings(s);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

// Contract: the design has intercept, trend, the changepoints, then cos/sin pairs of weekly, yearly (only when
// the window spans yearly_min_days), billing-cycle and (sub-daily grids only) daily terms; Fourier orders are
// capped below the grid's Nyquist limit.
TEST(GamDesign, ColumnLayoutFollowsGridAndWindow) {
  const GamConfig config = gam_config_from_settings({});
  const GamDesign daily({kStart, kSecondsPerDay, 730}, config, 0, 730);
  EXPECT_EQ(daily.columns().changepoint_count, 25);
  EXPECT_EQ(daily.columns().weekly_order, 3);
  EXPECT_EQ(daily.columns().yearly_order, 10);
  EXPECT_EQ(daily.columns().monthly_order, 2);
  EXPECT_EQ(daily.columns().daily_order, 0);
  EXPECT_EQ(daily.cols(), 2 + 25 + 6 + 20 + 4);

  const GamDesign short_daily({kStart, kSecondsPerDay, 730}, config, 0, 729);
  EXPECT_EQ(short_daily.columns().yearly_order, 0) << "a 729-day window is below yearly_min_days = 730";
  EXPECT_EQ(short_daily.cols(), 2 + 25 + 6 + 4);

  GamConfig high = config;
  high.weekly_order = 10;
  const GamDesign capped({kStart, kSecondsPerDay, 100}, high, 0, 100);
  EXPECT_EQ(capped.columns().weekly_order, 3) << "7 samples per week allow orders 1..3 only";

  const GamDesign hourly({kStart, kSecondsPerHour, 90 * 24}, config, 0, 90 * 24);
  EXPECT_EQ(hourly.columns().daily_order, 4);
  EXPECT_EQ(hourly.columns().weekly_order, 3);
  EXPECT_EQ(hourly.columns().yearly_order, 0);

  // Changepoints: strictly increasing, inside the first changepoint_range of the window.
  const auto cps = daily.changepoint_steps();
  for (std::size_t j = 1; j < cps.size(); ++j) EXPECT_LT(cps[j - 1], cps[j]);
  EXPECT_GE(cps.front(), 1);
  EXPECT_LE(cps.back(), static_cast<std::int64_t>(std::llround(0.8 * 730)));
}

// Contract: design rows outside the fit window continue the trend with its last slope (hinges included) and
// follow the calendar for the seasonal terms; inside, fill_row reproduces the stored matrix exactly.
TEST(GamDesign, FillRowMatchesMatrixAndExtrapolatesLinearly) {
  const GamDesign d({kStart, kSecondsPerDay, 800}, gam_config_from_settings({}), 0, 730);
  std::vector<double> row(static_cast<std::size_t>(d.cols()));
  for (std::int64_t i : {0, 1, 100, 583, 729}) {
    d.fill_row(i, row);
    for (int j = 0; j < d.cols(); ++j) EXPECT_DOUBLE_EQ(row[static_cast<std::size_t>(j)], d.matrix()(i, j)) << i << "," << j;
  }
  std::vector<double> r1(row.size()), r2(row.size()), r3(row.size());
  d.fill_raw_row(740, r1);
  d.fill_raw_row(760, r2);
  d.fill_raw_row(780, r3);
  for (int j = 1; j < 2 + d.columns().changepoint_count; ++j) {
    const auto k = static_cast<std::size_t>(j);
    EXPECT_NEAR(r3[k] - r2[k], r2[k] - r1[k], 1e-12) << "trend/hinge column " << j << " is linear beyond the window";
  }
}

// Contract: the structured products (piecewise-linear sweep / suffix sums for trend and hinges, phase tables
// for repeating Fourier terms, dense products for the rest) equal the dense design products: X beta to
// single-precision rounding (1e-5 relative to the largest term) and X'y to 1e-12 relative, on daily, hourly,
// 15-minute and 5-year daily grids, also in windows that do not start at step 0.
TEST(GamDesign, StructuredProductsMatchDenseProducts) {
  struct Case {
    TimeGrid grid;
    std::int64_t begin, end;
  };
  const std::vector<Case> cases = {
      {{kStart, kSecondsPerDay, 730}, 0, 730},
      {{kStart, kSecondsPerDay, 800}, 35, 700},
      {{kStart, kSecondsPerHour, 90 * 24}, 0, 90 * 24},
      {{kStart + 900, 900, 30 * 96}, 10, 30 * 96},
      {{kStart, kSecondsPerDay, 5 * 365}, 0, 5 * 365},
  };
  Rng rng(stream_key(11, 11));
  for (const Case& cs : cases) {
    const GamDesign d(cs.grid, gam_config_from_settings({}), cs.begin, cs.end);
    Eigen::VectorXd beta(d.cols());
    for (int j = 0; j < d.cols(); ++j) beta[j] = rng.uniform(-5.0, 5.0);
    const Eigen::VectorXd dense = d.matrix() * beta;
    std::vector<float> out(static_cast<std::size_t>(d.rows()));
    std::vector<float> scratch(static_cast<std::size_t>(d.predict_scratch_size()));
    d.predict(beta, out, scratch);
    const double bound = 1e-5 * (d.matrix().cwiseAbs() * beta.cwiseAbs()).maxCoeff();
    for (std::int64_t i = 0; i < d.rows(); ++i)
      ASSERT_NEAR(out[static_cast<std::size_t>(i)], dense[i], bound) << "grid step " << cs.grid.step_seconds << " row " << i;
    // X'y in double, with a few zeroed (missing) rows.
    Eigen::VectorXd y(d.rows());
    for (std::int64_t i = 0; i < d.rows(); ++i) y[i] = rng.bernoulli(0.05) ? 0.0 : rng.uniform(-10.0, 10.0);
    const Eigen::VectorXd dense_cross = d.matrix().transpose() * y;
    Eigen::VectorXd cross(d.cols());
    std::vector<double> cross_scratch(static_cast<std::size_t>(d.cross_scratch_size()));
    d.cross(std::span<const double>(y.data(), static_cast<std::size_t>(y.size())), cross, cross_scratch);
    const double cross_bound = 1e-12 * (d.matrix().cwiseAbs().transpose() * y.cwiseAbs()).maxCoeff();
    for (int j = 0; j < d.cols(); ++j) EXPECT_NEAR(cross[j], dense_cross[j], cross_bound) << "grid step " << cs.grid.step_seconds << " column " << j;
  }
}

// Contract: on a 5-year hourly design (43,800 rows, 67 columns with the daily term), the standardised,
// penalised Gram matrix is well conditioned (condition number below 1e6 with the default penalties) and the
// shared Cholesky solve recovers a known solution to 1e-10 relative error; X'X accumulated by the blocked
// rank update agrees with a long-double accumulation to 1e-12 relative.
// The column products are chosen per machine (AVX2 or baseline) when the program starts; both must round
// exactly as the plain loop in the same order, so that outputs do not depend on the machine.
TEST(GamDesign, ColumnProductsRoundAsThePlainLoopInBothPrecisions) {
  Rng rng(7);
  for (const std::int64_t k : {1, 2, 5, 20}) {
    const std::int64_t n = 731;
    std::vector<double> cols(static_cast<std::size_t>(n * k)), b(static_cast<std::size_t>(k)), out(static_cast<std::size_t>(n)), ref;
    for (auto& v : cols) v = rng.normal();
    for (auto& v : b) v = rng.normal();
    for (auto& v : out) v = rng.normal();
    std::vector<float> colsf(cols.begin(), cols.end()), bf(b.begin(), b.end()), outf(out.begin(), out.end()), reff = outf;
    ref = out;
    for (std::int64_t j = 0; j < k; j += 2)
      for (std::int64_t i = 0; i < n; ++i) {
        const auto c = [&](auto& m, std::int64_t col) { return m[static_cast<std::size_t>(col * n + i)]; };
        const auto u = static_cast<std::size_t>(i), uj = static_cast<std::size_t>(j);
        if (j + 1 < k) {
          ref[u] += c(cols, j) * b[uj] + c(cols, j + 1) * b[uj + 1];
          reff[u] += c(colsf, j) * bf[uj] + c(colsf, j + 1) * bf[uj + 1];
        } else {
          ref[u] += c(cols, j) * b[uj];
          reff[u] += c(colsf, j) * bf[uj];
        }
      }
    gam_add_columns(cols.data(), n, k, b.data(), out.data());
    gam_add_columns(colsf.data(), n, k, bf.data(), outf.data());
    EXPECT_EQ(out, ref) << "k = " << k;
    EXPECT_EQ(outf, reff) << "k = " << k;
  }
}

// The per-series factorisation of a series with gaps (gam_packed_cholesky) must equal the textbook
// left-looking Cholesky bit for bit (every entry subtracts its updates one by one in column order, on either
// instruction set), and its solve must agree with Eigen's; a matrix that is not positive definite is reported
// at its first bad pivot. Sizes cover the blocked paths' remainders.
TEST(GamDesign, PackedCholeskyIsTheTextbookFactorAndSolvesAsEigen) {
  Rng rng(stream_key(7, 2));
  for (const std::int64_t p : {1, 2, 3, 4, 5, 6, 7, 9, 13, 57, 61}) {
    Eigen::MatrixXd x(2 * p + 3, p);
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      for (Eigen::Index j = 0; j < p; ++j) x(i, j) = rng.normal();
    Eigen::MatrixXd a = x.transpose() * x / static_cast<double>(x.rows());
    a.diagonal().array() += 1e-3;
    const auto t = static_cast<std::size_t>(p * (p + 1) / 2);
    std::vector<double> packed(t), ref(t), inv(static_cast<std::size_t>(p));
    for (std::int64_t j = 0; j < p; ++j)
      for (std::int64_t i = j; i < p; ++i) packed[static_cast<std::size_t>(gam_packed_offset(p, j) + i - j)] = a(i, j);
    const auto at = [&](std::vector<double>& m, std::int64_t i, std::int64_t j) -> double& {
      return m[static_cast<std::size_t>(gam_packed_offset(p, j) + i - j)];
    };
    ref = packed;
    for (std::int64_t j = 0; j < p; ++j) {
      for (std::int64_t k = 0; k < j; ++k)
        for (std::int64_t i = j; i < p; ++i) at(ref, i, j) -= at(ref, i, k) * at(ref, j, k);
      const double r = std::sqrt(at(ref, j, j)), inv_r = 1.0 / r;
      at(ref, j, j) = r;
      for (std::int64_t i = j + 1; i < p; ++i) at(ref, i, j) *= inv_r;
    }
    std::vector<double> sym = packed;
    ASSERT_EQ(gam_packed_cholesky(packed.data(), p, inv.data()), -1) << "p = " << p;
    EXPECT_EQ(packed, ref) << "p = " << p;

    Eigen::VectorXd b(p), y(p);
    for (std::int64_t i = 0; i < p; ++i) b[i] = rng.normal();
    const Eigen::VectorXd expected = a.llt().solve(b);
    Eigen::VectorXd solved = b;
    gam_packed_solve(packed.data(), inv.data(), p, solved.data());
    EXPECT_LE((solved - expected).norm(), 1e-12 * expected.norm()) << "p = " << p;
    gam_packed_symv(sym.data(), p, b.data(), y.data());
    EXPECT_LE((y - a * b).norm(), 1e-13 * (a * b).norm()) << "p = " << p;

    if (p >= 3) {  // a negative last diagonal entry: not positive definite, caught at that pivot
      sym[static_cast<std::size_t>(gam_packed_offset(p, p - 1))] = -1.0;
      EXPECT_EQ(gam_packed_cholesky(sym.data(), p, inv.data()), p - 1) << "p = " << p;
    }
  }
}

TEST(GamDesign, FiveYearHourlyGramIsWellConditionedAndSolvesAccurately) {
  const TimeGrid grid{parse_utc_timestamp("2019-01-01"), kSecondsPerHour, 5 * 365 * 24};
  ASSERT_EQ(grid.steps, 43'800);
  const GamDesign d(grid, gam_config_from_settings({}), 0, grid.steps);
  EXPECT_EQ(d.cols(), 2 + 25 + 6 + 20 + 4 + 8);

  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(d.full_gram(), Eigen::EigenvaluesOnly);
  const double cond = eig.eigenvalues().maxCoeff() / eig.eigenvalues().minCoeff();
  RecordProperty("condition_number", std::to_string(cond));
  EXPECT_GT(eig.eigenvalues().minCoeff(), 0.0);
  EXPECT_LT(cond, 1e6);

  Rng rng(stream_key(7, 1));
  Eigen::VectorXd truth(d.cols());
  for (int j = 0; j < d.cols(); ++j) truth[j] = rng.normal();
  const Eigen::VectorXd rhs = d.full_gram() * truth;
  const Eigen::VectorXd solved = d.full_factor().solve(rhs);
  EXPECT_LT((solved - truth).norm() / truth.norm(), 1e-10);
  const Eigen::VectorXd via_inverse = d.full_inverse() * rhs;
  EXPECT_LT((via_inverse - truth).norm() / truth.norm(), 1e-10);

  // Independent accumulation of a few X'X entries in long double.
  for (const auto& [a, b] : {std::pair{0, 0}, std::pair{1, 1}, std::pair{1, 20}, std::pair{30, 31}, std::pair{60, 5}}) {
    long double sum = 0.0L;
    for (std::int64_t i = 0; i < d.rows(); ++i) sum += static_cast<long double>(d.matrix()(i, a)) * d.matrix()(i, b);
    EXPECT_NEAR(d.cross_product()(a, b), static_cast<double>(sum), 1e-12 * static_cast<double>(d.rows())) << a << "," << b;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Golden values: a non-robust (loss=squared) penalised fit against an independent reference written here:
// the raw design built from first principles (own hinge and Fourier formulas, own calendar phase), the ridge
// penalty expressed on the raw coefficients (lambda_j * sd_j^2 * gamma_j^2 with the column's standard deviation
// over the window), and the augmented least-squares problem solved by Householder QR in long double.

struct Reference {
  std::vector<double> fitted;  // over the fit window
};

Reference reference_fit(const TimeGrid& grid, std::int64_t n, const std::vector<float>& y, int changepoints, double range,
                        double cp_penalty, double seas_penalty, int weekly, int monthly) {
  const double two_pi = 2.0 * std::numbers::pi;
  std::vector<std::int64_t> cp;
  for (int j = 1; j <= changepoints; ++j) {
    const auto off = static_cast<std::int64_t>(std::llround(range * static_cast<double>(n) * j / changepoints));
    if (off >= 1 && off <= n - 2 && (cp.empty() || cp.back() < off)) cp.push_back(off);
  }
  const int p = 2 + static_cast<int>(cp.size()) + 2 * weekly + 2 * monthly;
  std::vector<std::vector<long double>> raw(static_cast<std::size_t>(n), std::vector<long double>(static_cast<std::size_t>(p)));
  for (std::int64_t i = 0; i < n; ++i) {
    auto& r = raw[static_cast<std::size_t>(i)];
    const long double t = static_cast<long double>(i) / static_cast<long double>(n);
    int c = 0;
    r[c++] = 1.0L;
    r[c++] = t;
    for (const auto s : cp) r[c++] = std::max(0.0L, t - static_cast<long double>(s) / static_cast<long double>(n));
    const long double days = static_cast<long double>(grid.start_unix_seconds + i * grid.step_seconds) / 86400.0L;
    for (int k = 1; k <= weekly; ++k) {
      r[c++] = std::cos(two_pi * k * days / 7.0L);
      r[c++] = std::sin(two_pi * k * days / 7.0L);
    }
    const CivilDate date = civil_from_days(static_cast<std::int64_t>(std::floor(days)));
    const int dim = date.month == 2 ? ((date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0)) ? 29 : 28)
                    : (date.month == 4 || date.month == 6 || date.month == 9 || date.month == 11) ? 30 : 31;
    for (int k = 1; k <= monthly; ++k) {
      r[c++] = std::cos(two_pi * k * (date.day - 1) / static_cast<long double>(dim));
      r[c++] = std::sin(two_pi * k * (date.day - 1) / static_cast<long double>(dim));
    }
  }
  // Penalty rows: sqrt(n * lambda_j) * sd_j on the raw coefficient j.
  std::vector<long double> pen(static_cast<std::size_t>(p), 0.0L);
  for (int j = 1; j < p; ++j) {
    long double mean = 0.0L, var = 0.0L;
    for (std::int64_t i = 0; i < n; ++i) mean += raw[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
    mean /= static_cast<long double>(n);
    for (std::int64_t i = 0; i < n; ++i) {
      const long double d = raw[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] - mean;
      var += d * d;
    }
    var /= static_cast<long double>(n);
    const double lambda = j < 2 ? 0.0 : j < 2 + static_cast<int>(cp.size()) ? cp_penalty : seas_penalty;
    pen[static_cast<std::size_t>(j)] = std::sqrt(static_cast<long double>(n) * lambda * var);
  }
  // Augmented system [X_obs; diag(pen)] gamma = [y_obs; 0], Householder QR.
  std::vector<std::vector<long double>> a;
  std::vector<long double> rhs;
  for (std::int64_t i = 0; i < n; ++i) {
    if (std::isnan(y[static_cast<std::size_t>(i)])) continue;
    a.push_back(raw[static_cast<std::size_t>(i)]);
    rhs.push_back(y[static_cast<std::size_t>(i)]);
  }
  for (int j = 0; j < p; ++j) {
    if (pen[static_cast<std::size_t>(j)] == 0.0L) continue;
    std::vector<long double> r(static_cast<std::size_t>(p), 0.0L);
    r[static_cast<std::size_t>(j)] = pen[static_cast<std::size_t>(j)];
    a.push_back(r);
    rhs.push_back(0.0L);
  }
  const std::size_t m = a.size();
  for (int k = 0; k < p; ++k) {
    const auto kk = static_cast<std::size_t>(k);
    long double norm = 0.0L;
    for (std::size_t i = kk; i < m; ++i) norm += a[i][kk] * a[i][kk];
    norm = std::sqrt(norm);
    const long double alpha = a[kk][kk] > 0 ? -norm : norm;
    std::vector<long double> v(m, 0.0L);
    for (std::size_t i = kk; i < m; ++i) v[i] = a[i][kk];
    v[kk] -= alpha;
    long double vnorm = 0.0L;
    for (std::size_t i = kk; i < m; ++i) vnorm += v[i] * v[i];
    if (vnorm == 0.0L) continue;
    for (int j = k; j < p; ++j) {
      const auto jj = static_cast<std::size_t>(j);
      long double dot = 0.0L;
      for (std::size_t i = kk; i < m; ++i) dot += v[i] * a[i][jj];
      for (std::size_t i = kk; i < m; ++i) a[i][jj] -= 2.0L * dot / vnorm * v[i];
    }
    long double dot = 0.0L;
    for (std::size_t i = kk; i < m; ++i) dot += v[i] * rhs[i];
    for (std::size_t i = kk; i < m; ++i) rhs[i] -= 2.0L * dot / vnorm * v[i];
  }
  std::vector<long double> gamma(static_cast<std::size_t>(p));
  for (int k = p - 1; k >= 0; --k) {
    const auto kk = static_cast<std::size_t>(k);
    long double s = rhs[kk];
    for (int j = k + 1; j < p; ++j) s -= a[kk][static_cast<std::size_t>(j)] * gamma[static_cast<std::size_t>(j)];
    gamma[kk] = s / a[kk][kk];
  }
  Reference ref;
  for (std::int64_t i = 0; i < n; ++i) {
    long double f = 0.0L;
    for (int j = 0; j < p; ++j) f += raw[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] * gamma[static_cast<std::size_t>(j)];
    ref.fitted.push_back(static_cast<double>(f));
  }
  return ref;
}

std::vector<float> golden_series(const TimeGrid& grid, double missing_rate) {
  Rng rng(stream_key(99, 3));
  std::vector<float> y(static_cast<std::size_t>(grid.steps));
  for (std::int64_t i = 0; i < grid.steps; ++i) {
    const double t = static_cast<double>(i);
    double v = 100.0 + 0.05 * t + (i > 60 ? 0.2 * (t - 60) : 0.0) + 6.0 * std::sin(2.0 * std::numbers::pi * t / 7.0) + 3.0 * rng.normal();
    if (rng.bernoulli(0.02)) v += 25.0;
    if (rng.bernoulli(missing_rate)) v = std::numeric_limits<double>::quiet_NaN();
    y[static_cast<std::size_t>(i)] = static_cast<float>(v);
  }
  return y;
}

// Contract: loss=squared gives the penalised least-squares fit; its expected values match the independent
// long-double Householder reference to 1e-5 (relative to the series' level ~100: the detector's products X beta
// run in single precision and its outputs are float), fully observed (shared factorisation) and with 3% of
// steps missing at random (the missing rows imputed by the current fit along the iterations, whose fixed point
// is the fit without them; tolerance tightened to 1e-10 so the iteration runs to its fixed point).
TEST(GamGolden, SquaredLossMatchesIndependentHouseholderReference) {
  const TimeGrid grid{kStart, kSecondsPerDay, 150};
  for (const double missing : {0.0, 0.03}) {
    const auto y = golden_series(grid, missing);
    const auto det = testing::make_base_gam(
        settings({"loss=squared", "changepoints=6", "changepoint_range=0.8", "changepoint_penalty=0.02", "seasonality_penalty=0.005",
                  "weekly_order=3", "monthly_order=2", "tolerance=1e-10", "max_iterations=500"}),
        grid);
    auto ws = det->make_workspace();
    std::vector<float> e(150), lo(150), hi(150), sc(150);
    const FitStatus status = det->detect({y, 0}, DetectionWindow::retrospective(150), *ws, {e, lo, hi, sc});
    ASSERT_EQ(status, FitStatus::ok) << "missing rate " << missing;
    const Reference ref = reference_fit(grid, 150, y, 6, 0.8, 0.02, 0.005, 3, 2);
    double worst = 0.0;
    for (std::size_t i = 0; i < 150; ++i) worst = std::max(worst, std::abs(e[i] - ref.fitted[i]));
    RecordProperty(missing == 0.0 ? "worst_abs_error_full" : "worst_abs_error_missing", std::to_string(worst));
    EXPECT_LT(worst, 1e-5 * 100.0) << "missing rate " << missing;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parameters

// Contract: every parameter has a default inside its range and a help line; z and width agree by default.
TEST(GamParameters, SpecsAreCompleteAndDefaultsValid) {
  const auto specs = gam_parameter_specs();
  std::vector<std::string> names;
  for (const auto& s : specs) {
    names.push_back(s.name);
    EXPECT_FALSE(s.help.empty()) << s.name;
  }
  for (const char* required : {"changepoints", "changepoint_range", "weekly_order", "yearly_order", "monthly_order", "loss",
                               "transform", "z", "width"})
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
  const GamConfig c = gam_config_from_settings({});
  EXPECT_DOUBLE_EQ(c.z, 7.0);  // chosen by sweep on real usage backgrounds with the tail scale (results/README.md)
  EXPECT_EQ(c.transform, GamConfig::Transform::automatic);  // log1p_relative or as is, per series (results/README.md)
  EXPECT_TRUE(c.rules && c.weekday_scale && c.run_score && c.tail_scale);
  EXPECT_EQ(c.robust_start, GamConfig::RobustStart::automatic);  // on where a series is fitted as it is (results/README.md)
  const ParameterSpec* width = nullptr;
  for (const auto& s : specs)
    if (s.name == "width") width = &s;
  ASSERT_NE(width, nullptr);
  // z 7 lies beyond the widths width's range names (0.999999 is z 4.89): width's default is its largest value.
  EXPECT_EQ(width->default_value, "0.999999");
  EXPECT_EQ(c.loss, GamConfig::Loss::huber);
  EXPECT_EQ(c.changepoints, 25);
}

// Contract: width sets z to the two-sided normal quantile; z can be given directly.
TEST(GamParameters, WidthMapsToTwoSidedNormalQuantile) {
  EXPECT_NEAR(gam_config_from_settings(settings({"width=0.95"})).z, 1.959963984540054, 1e-12);
  EXPECT_NEAR(gam_config_from_settings(settings({"width=0.8"})).z, 1.2815515655446004, 1e-12);
  EXPECT_NEAR(gam_config_from_settings(settings({"width=0.999"})).z, 3.2905267314918945, 1e-11);
  EXPECT_DOUBLE_EQ(gam_config_from_settings(settings({"z=3"})).z, 3.0);
  const auto det = testing::make_base_gam(settings({"width=0.95"}), {kStart, kSecondsPerDay, 100});
  for (const auto& [name, value] : det->parameters())
    if (name == "z") {
      EXPECT_EQ(value.substr(0, 6), "1.9599");
    }
}

// Contract: invalid settings throw std::invalid_argument with these exact messages.
TEST(GamParameters, InvalidSettingsThrowExactMessages) {
  EXPECT_EQ(expect_invalid(settings({"z=2", "width=0.9"})), "gam: set either 'z' or 'width', not both");
  EXPECT_EQ(expect_invalid(settings({"changepoint_range=1.5"})),
            "gam: parameter 'changepoint_range' has value '1.5', out of range (expected number in [0.05, 1])");
  EXPECT_EQ(expect_invalid(settings({"weekly_order=2.5"})),
            "gam: parameter 'weekly_order' has value '2.5', which is not an integer (expected integer in [0, 20])");
  EXPECT_EQ(expect_invalid(settings({"loss=l1"})), "gam: parameter 'loss' has value 'l1' (expected one of huber, bisquare, squared)");
  EXPECT_EQ(expect_invalid(settings({"bogus=1"})),
            "gam: unknown parameter 'bogus' (known: changepoints, changepoint_range, changepoint_penalty, weekly_order, yearly_order, "
            "yearly_min_days, monthly_order, daily_order, seasonality_penalty, loss, huber_c, bisquare_c, transform, z, robust_start, "
            "weekday_scale, run_score, rules, width, "
            "max_iterations, tolerance, min_observed, scale_floor, local_scale, local_weeks, local_floor, count_band, tail_scale)");
  EXPECT_EQ(expect_invalid(settings({"local_weeks=1"})),
            "gam: parameter 'local_weeks' has value '1', out of range (expected integer in [2, 52])");
  EXPECT_EQ(expect_invalid(settings({"scale_floor=1.5"})),
            "gam: parameter 'scale_floor' has value '1.5', out of range (expected number in [0, 1])");
  EXPECT_EQ(expect_invalid(settings({"width=1"})),
            "gam: parameter 'width' has value '1', out of range (expected number in [0.5, 0.999999])");
}

}  // namespace
}  // namespace meterbench
