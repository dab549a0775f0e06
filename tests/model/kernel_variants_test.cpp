// Contract: every vectorised kernel computes the same bits in its AVX2 and its baseline variant (see
// engine/meterbench/core/kernels.hpp), so a machine's instruction set never changes a result. The kernels of
// gam_kernels.hpp and gam_packed.hpp are called directly under each forced level (gam_predict_line only
// through GamDesign::predict), and all of them through whole fits, retrospective and weekly, on varied series:
// awkward lengths, NaN gaps, every loss and the log1p transform. On a CPU without AVX2 only the baseline exists and the test is skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "meterbench/core/kernels.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/gam_design.hpp"
#include "meterbench/core/portable_math.hpp"
#include "meterbench/model/gam_band.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/model/gam_packed.hpp"
#include "meterbench/model/gam_rules.hpp"
#include "meterbench/model/gam_detector.hpp"
#include "model/gam_test_support.hpp"

namespace meterbench {
namespace {

using kernels::Level;

// Runs f() under each level and returns both results.
template <class F>
auto under_both(F&& f) {
  const Level previous = kernels::force_level(Level::baseline);
  auto base = f();
  kernels::force_level(Level::avx2);
  auto avx2 = f();
  kernels::force_level(previous);
  return std::pair{std::move(base), std::move(avx2)};
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

class KernelVariants : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kernels::supported(Level::avx2)) GTEST_SKIP() << "this CPU has no AVX2: only the baseline variant runs";
  }
};

template <class T>
void check_add_columns() {
  Rng rng(stream_key(7, sizeof(T)));
  for (std::int64_t n : {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 365, 730, 1001}) {
    for (std::int64_t k : {1, 2, 3, 5, 8}) {
      std::vector<T> cols(static_cast<std::size_t>(n * k)), b(static_cast<std::size_t>(k)), start(static_cast<std::size_t>(n));
      for (auto& v : cols) v = static_cast<T>(rng.normal() * 100.0);
      for (auto& v : b) v = static_cast<T>(rng.normal());
      for (auto& v : start) v = static_cast<T>(rng.normal() * 10.0);
      if (n > 4) cols[static_cast<std::size_t>(n / 2)] = std::numeric_limits<T>::quiet_NaN();
      const auto [base, avx2] = under_both([&] {
        std::vector<T> out = start;
        gam_add_columns(cols.data(), n, k, b.data(), out.data());
        return out;
      });
      EXPECT_TRUE(same_bits(base, avx2)) << "gam_add_columns<" << sizeof(T) << "> n=" << n << " k=" << k;
    }
  }
}

TEST_F(KernelVariants, AddColumnsFloatAndDouble) {
  check_add_columns<float>();
  check_add_columns<double>();
}

TEST_F(KernelVariants, PackedCholeskyAndSolve) {
  Rng rng(stream_key(11, 0));
  for (std::int64_t p : {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 31, 40, 57}) {
    // A = B B' + p I, packed by columns (lower triangle).
    std::vector<double> bm(static_cast<std::size_t>(p * p));
    for (auto& v : bm) v = rng.normal();
    std::vector<double> packed(static_cast<std::size_t>(p * (p + 1) / 2)), rhs(static_cast<std::size_t>(p));
    for (std::int64_t j = 0; j < p; ++j)
      for (std::int64_t i = j; i < p; ++i) {
        double s = i == j ? static_cast<double>(p) : 0.0;
        for (std::int64_t l = 0; l < p; ++l) s += bm[static_cast<std::size_t>(i * p + l)] * bm[static_cast<std::size_t>(j * p + l)];
        packed[static_cast<std::size_t>(gam_packed_offset(p, j) + (i - j))] = s;
      }
    for (auto& v : rhs) v = rng.normal();
    const auto [base, avx2] = under_both([&] {
      std::vector<double> a = packed, inv(static_cast<std::size_t>(p)), x = rhs;
      const int status = gam_packed_cholesky(a.data(), p, inv.data());
      gam_packed_solve(a.data(), inv.data(), p, x.data());
      a.insert(a.end(), inv.begin(), inv.end());
      a.insert(a.end(), x.begin(), x.end());
      a.push_back(status);
      return a;
    });
    EXPECT_TRUE(same_bits(base, avx2)) << "gam_packed_cholesky / gam_packed_solve p=" << p;
  }
}

// The Huber right-hand side on awkward row counts (the groups of eight and the four-row passes), with clipped,
// unclipped, missing and imputed rows.
TEST_F(KernelVariants, HuberRightHandSide) {
  Rng rng(stream_key(13, 0));
  constexpr std::int64_t p = 9;
  for (std::int64_t n : {1, 3, 7, 8, 9, 15, 17, 64, 365, 731}) {
    for (const bool impute : {false, true}) {
      std::vector<double> y(static_cast<std::size_t>(n)), x(static_cast<std::size_t>(n * p));
      std::vector<float> yhat(static_cast<std::size_t>(n));
      std::vector<std::uint8_t> observed(static_cast<std::size_t>(n));
      for (std::size_t i = 0; i < y.size(); ++i) {
        observed[i] = rng.uniform() < 0.9 ? 1 : 0;
        y[i] = observed[i] ? rng.normal() * (rng.uniform() < 0.2 ? 10.0 : 1.0) : 0.0;
        yhat[i] = static_cast<float>(rng.normal() * 0.1);
      }
      for (auto& v : x) v = rng.normal();
      const auto [base, avx2] = under_both([&] {
        std::vector<double> rhs(static_cast<std::size_t>(p), 1.0), w(static_cast<std::size_t>(n));
        std::vector<std::uint8_t> flags(static_cast<std::size_t>(n + 8));
        std::vector<std::int32_t> picks(static_cast<std::size_t>(n + 8));
        gam_huber_rhs(y.data(), yhat.data(), observed.data(), n, 1.5, impute, x.data(), p, w.data(), flags.data(),
                      picks.data(), rhs.data());
        rhs.insert(rhs.end(), w.begin(), w.end());
        return rhs;
      });
      EXPECT_TRUE(same_bits(base, avx2)) << "gam_huber_rhs n=" << n << " impute=" << impute;
    }
  }
}

// The band and score of an untransformed fit, clamped at 0 and unclamped, with NaN values.
TEST_F(KernelVariants, ScoreFitted) {
  Rng rng(stream_key(17, 0));
  for (std::int64_t n : {1, 5, 8, 9, 31, 730}) {
    for (const double least : {0.0, -std::numeric_limits<double>::infinity()}) {
      std::vector<float> yhat(static_cast<std::size_t>(n)), values(static_cast<std::size_t>(n));
      for (std::size_t i = 0; i < yhat.size(); ++i) {
        yhat[i] = static_cast<float>(rng.normal() * 3.0);
        values[i] = i % 7 == 3 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(rng.normal() * 3.0);
      }
      const auto [base, avx2] = under_both([&] {
        const auto un = static_cast<std::size_t>(n);
        std::vector<float> out(4 * un);
        gam_score_fitted(yhat.data(), values.data(), n, 0.25, least, 2.5, 1.0 / 0.7, out.data(), out.data() + un,
                         out.data() + 2 * un, out.data() + 3 * un);
        return out;
      });
      EXPECT_TRUE(same_bits(base, avx2)) << "gam_score_fitted n=" << n << " least=" << least;
    }
  }
}

struct Bands {
  std::vector<float> expected, lower, upper, score;
  int status = 0;
  bool operator==(const Bands& o) const {
    return status == o.status && same_bits(expected, o.expected) && same_bits(lower, o.lower) && same_bits(upper, o.upper) &&
           same_bits(score, o.score);
  }
};

TEST_F(KernelVariants, GamFitsRetrospectiveAndWeekly) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  int checked = 0;
  for (std::int64_t steps : {97, 365, 371, 730, 733}) {
    const TimeGrid grid{testing::kStart, kSecondsPerDay, steps};
    for (const char* setting : {"loss=huber", "loss=squared", "loss=bisquare", "transform=log1p"}) {
      const auto det = testing::make_base_gam(testing::settings({setting}), grid);
      for (int s = 0; s < 3; ++s) {
        Rng rng(stream_key(2027, static_cast<std::uint64_t>(steps * 10 + s)));
        const double level = rng.uniform(5.0, 5000.0);
        std::vector<float> y(static_cast<std::size_t>(steps));
        for (std::int64_t i = 0; i < steps; ++i) {
          const double season = 1.0 + 0.2 * std::sin(6.283185307179586 * static_cast<double>(i) / 7.0);
          double v = level * season * (1.0 + 0.1 * rng.normal());
          if (rng.uniform() < 0.02) v *= 8.0;  // outliers for the robust losses
          y[static_cast<std::size_t>(i)] = static_cast<float>(v);
        }
        // NaN gaps: one long, some single steps.
        for (std::int64_t i = steps / 3; i < steps / 3 + steps / 10; ++i) y[static_cast<std::size_t>(i)] = nan;
        for (std::int64_t i = 5; i < steps; i += 37) y[static_cast<std::size_t>(i)] = nan;
        for (const bool weekly : {false, true}) {
          if (weekly && steps < 120) continue;
          const auto [base, avx2] = under_both([&] {
            Bands b;
            for (auto* v : {&b.expected, &b.lower, &b.upper, &b.score}) v->assign(static_cast<std::size_t>(steps), nan);
            auto ws = det->make_workspace();
            const DetectionOutput out{b.expected, b.lower, b.upper, b.score};
            const SeriesInput in{y, static_cast<std::uint64_t>(s)};
            b.status = static_cast<int>(weekly ? det->detect_rolling(in, steps - 8 * 7, 7, *ws, out)
                                               : det->detect(in, DetectionWindow::retrospective(steps), *ws, out));
            return b;
          });
          EXPECT_TRUE(base == avx2) << setting << " steps=" << steps << " series " << s << (weekly ? " weekly" : " retrospective");
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace meterbench

namespace meterbench {
namespace {

// The log-scale kernels: both variants and the scalar functions they stand for (pmath::log1p for the fitted
// values; gam_log_band_step, the band writer's formula, with pmath::exp) give the same bits, specials included.
TEST_F(KernelVariants, LogScaleKernelsMatchEachOtherAndTheScalarFunctions) {
  Rng rng(stream_key(16, 5));
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (std::int64_t n : {1, 3, 4, 5, 7, 8, 17, 365, 730}) {
    std::vector<float> values(static_cast<std::size_t>(n)), yhat(values.size());
    std::vector<double> y(values.size()), inv_scale(values.size()), down(values.size()), up(values.size());
    const double ratio = n % 2 == 0 ? 1.0 : rng.uniform(0.3, 1.0);  // the inverse scale below over above (tail_scale)
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double pick = rng.uniform();
      values[i] = pick < 0.1 ? nan : pick < 0.13 ? 0.0F : pick < 0.15 ? -0.0F : pick < 0.17 ? -3.0F : pick < 0.18 ? inf
                : static_cast<float>(std::exp(rng.normal() * 8.0));
      yhat[i] = static_cast<float>(rng.normal() * (pick < 0.05 ? 400.0 : 5.0));  // exp overflows and underflows too
      y[i] = rng.normal() * 5.0;
      const double scale = pick > 0.97 ? 0.0 : rng.uniform(0.05, 1.0);
      inv_scale[i] = scale > 0.0 ? 1.0 / scale : inf;
      down[i] = pmath::exp(-12.0 * scale * ratio);
      up[i] = pmath::exp(12.0 * scale);
    }
    const double unit = rng.uniform(0.01, 50.0), offset = rng.normal();
    const auto fitted = [&] {
      std::vector<double> out(values.size());
      gam_log1p_values(values.data(), n, unit, out.data());
      return out;
    };
    const auto [base_u, avx2_u] = under_both(fitted);
    EXPECT_TRUE(same_bits(base_u, avx2_u)) << "gam_log1p_values n=" << n;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double want = std::isnan(values[i]) ? 0.0 : pmath::log1p(std::max(static_cast<double>(values[i]), 0.0) / unit);
      EXPECT_EQ(std::bit_cast<std::uint64_t>(base_u[i]), std::bit_cast<std::uint64_t>(want)) << "value " << values[i];
    }
    const auto band = [&] {
      std::vector<float> out(4 * values.size());
      const auto m = values.size();
      gam_log_band(yhat.data(), y.data(), offset, values.data(), inv_scale.data(), ratio, down.data(), up.data(), n, unit, 0.0,
                   out.data(), out.data() + m, out.data() + 2 * m, out.data() + 3 * m);
      return out;
    };
    const auto [base_b, avx2_b] = under_both(band);
    EXPECT_TRUE(same_bits(base_b, avx2_b)) << "gam_log_band n=" << n;
    std::vector<float> scalar(base_b.size());
    const auto m = values.size();
    for (std::size_t i = 0; i < m; ++i)
      gam_log_band_step(offset + static_cast<double>(yhat[i]), offset + y[i], values[i], inv_scale[i], inv_scale[i] * ratio, down[i], up[i], unit,
                        0.0, scalar[i], scalar[m + i], scalar[2 * m + i], scalar[3 * m + i]);
    EXPECT_TRUE(same_bits(base_b, scalar)) << "gam_log_band against the scalar step, n=" << n;
  }
}

}  // namespace
}  // namespace meterbench

namespace meterbench {
namespace {

// The run score step by step: every window cut at the range's ends, its terms summed in step order, steps beyond
// the flag threshold left out.
constexpr double kLimit = 7.0;
void run_score_reference(std::span<const float> values, std::vector<float>& score, const std::vector<float>& expected,
                         const GamPostWindow& w) {
  const std::int64_t m = w.end - w.begin;
  std::vector<double> term(static_cast<std::size_t>(m)), used(term.size());
  for (std::int64_t i = 0; i < m; ++i) {
    const auto k = static_cast<std::size_t>(w.begin + i);
    const double sc = score[k];
    const bool use = sc <= kLimit && !std::isnan(values[k]);
    const double sign = static_cast<double>(values[k]) < static_cast<double>(expected[k]) ? -1.0 : 1.0;
    term[static_cast<std::size_t>(i)] = use ? sign * std::min(sc, 10.0) : 0.0;
    used[static_cast<std::size_t>(i)] = use ? 1.0 : 0.0;
  }
  for (std::int64_t i = 0; i < m; ++i) {
    const auto k = static_cast<std::size_t>(w.begin + i);
    if (std::isnan(score[k])) continue;
    double best = score[k];
    for (const int width : {3, 7}) {
      const std::int64_t a = std::max<std::int64_t>(0, w.centred ? i - width / 2 : i - width + 1);
      const std::int64_t b = std::min<std::int64_t>(m, w.centred ? i + width / 2 + 1 : i + 1);
      double s = 0.0, c = 0.0;
      for (std::int64_t t = a; t < b; ++t) {
        s += term[static_cast<std::size_t>(t)];
        c += used[static_cast<std::size_t>(t)];
      }
      if (c < std::max(2.0, static_cast<double>((2 * width) / 3))) continue;
      best = std::max(best, std::abs(s) * (std::sqrt(static_cast<double>(width)) / c));
    }
    score[k] = static_cast<float>(best);
  }
}

// The run score goes through gam_run_windows: both variants give the bits of the step-by-step
// form, for centred and trailing windows, ranges shorter than a window, NaN and infinite scores and missing values.
TEST_F(KernelVariants, RunScoreMatchesTheStepByStepForm) {
  Rng rng(stream_key(16, 6));
  for (std::int64_t n : {1, 2, 3, 6, 7, 8, 9, 30, 365}) {
    for (const bool centred : {true, false}) {
      std::vector<float> values(static_cast<std::size_t>(n)), expected(values.size()), score(values.size());
      for (std::size_t i = 0; i < values.size(); ++i) {
        const double pick = rng.uniform();
        values[i] = pick < 0.1 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(rng.normal() * 3.0);
        expected[i] = static_cast<float>(rng.normal());
        score[i] = pick < 0.15 ? std::numeric_limits<float>::quiet_NaN()
                 : pick < 0.17 ? std::numeric_limits<float>::infinity() : static_cast<float>(std::abs(rng.normal()) * 4.0);
      }
      const std::int64_t begin = n > 2 ? 1 : 0;
      const GamPostWindow window{.history_begin = 0, .begin = begin, .end = n, .centred = centred};
      std::vector<float> want = score;
      run_score_reference(values, want, expected, window);
      const auto run = [&] {
        std::vector<float> s = score, lower(values.size()), upper(values.size()), e = expected;
        std::vector<double> scratch(static_cast<std::size_t>(gam_run_score_scratch(n)));
        const DetectionOutput out{.expected = e, .lower = lower, .upper = upper, .score = s};
        gam_run_score(values, out, window, kLimit, scratch);
        return s;
      };
      const auto [base, avx2] = under_both(run);
      EXPECT_TRUE(same_bits(base, avx2)) << "n=" << n << " centred=" << centred;
      EXPECT_TRUE(same_bits(base, want)) << "n=" << n << " centred=" << centred;
    }
  }
}

}  // namespace
}  // namespace meterbench

namespace meterbench {
namespace {

// The tail factors' kernels: the absolute and signed residuals in one pass give gam_abs_residuals' bits and the
// signed values (0 where unobserved); both variants count the sides alike and pack the same candidates in the same
// order as a plain filter of the values, at every length (the vector loop and its scalar tail).
TEST_F(KernelVariants, TailKernelsMatchEachOtherAndTheirDefinitions) {
  Rng rng(stream_key(16, 9));
  for (std::int64_t n : {1, 7, 8, 9, 31, 365, 730}) {
    std::vector<double> y(static_cast<std::size_t>(n));
    std::vector<float> yhat(y.size());
    std::vector<std::uint8_t> observed(y.size());
    for (std::size_t i = 0; i < y.size(); ++i) {
      y[i] = rng.normal() * (rng.uniform() < 0.1 ? 8.0 : 1.0);
      yhat[i] = static_cast<float>(rng.normal() * 0.1);
      observed[i] = rng.uniform() < 0.9 ? 1 : 0;
    }
    const double offset = 0.25;
    const auto both = [&] {
      std::vector<float> abs_r(y.size()), signed_r(y.size());
      const std::int64_t m = gam_abs_and_signed_residuals(y.data(), yhat.data(), observed.data(), n, offset, abs_r.data(), signed_r.data());
      abs_r.push_back(static_cast<float>(m));
      abs_r.insert(abs_r.end(), signed_r.begin(), signed_r.end());
      return abs_r;
    };
    const auto [base, avx2] = under_both(both);
    EXPECT_TRUE(same_bits(base, avx2)) << "n=" << n;
    std::vector<float> abs_only(y.size());
    const std::int64_t m = gam_abs_residuals(y.data(), yhat.data(), observed.data(), n, offset, abs_only.data());
    EXPECT_EQ(static_cast<std::int64_t>(base[static_cast<std::size_t>(n)]), m);
    EXPECT_EQ(std::memcmp(base.data(), abs_only.data(), abs_only.size() * sizeof(float)), 0) << "n=" << n;
    const std::vector<float> r(base.begin() + n + 1, base.end());
    for (std::size_t i = 0; i < r.size(); ++i)
      EXPECT_EQ(r[i], observed[i] ? static_cast<float>(y[i] - offset - yhat[i]) : 0.0F) << i;
    const float t = 1.5F, keep_up = 1.2F, keep_down = 1.5F;
    const auto [count_base, count_avx2] = under_both([&] {
      const GamSideCounts c = gam_side_counts(r.data(), n, t);
      return std::vector<std::int64_t>{c.above, c.below, c.above_beyond, c.below_beyond};
    });
    EXPECT_EQ(count_base, count_avx2) << "n=" << n;
    std::vector<std::int64_t> want_counts(4, 0);
    std::vector<float> want_up, want_down;
    for (const float v : r) {
      want_counts[0] += v > 0.0F ? 1 : 0;
      want_counts[1] += v < 0.0F ? 1 : 0;
      want_counts[2] += v > t ? 1 : 0;
      want_counts[3] += v < -t ? 1 : 0;
      if (v > keep_up) want_up.push_back(v);
      if (-v > keep_down) want_down.push_back(-v);
    }
    EXPECT_EQ(count_base, want_counts) << "n=" << n;
    const auto [pack_base, pack_avx2] = under_both([&] {
      std::vector<float> up(r.size() + 8), down(r.size() + 8);
      const auto [c_up, c_down] = gam_tail_candidates(r.data(), n, keep_up, keep_down, up.data(), down.data());
      up.resize(static_cast<std::size_t>(c_up));
      down.resize(static_cast<std::size_t>(c_down));
      up.insert(up.end(), down.begin(), down.end());
      up.push_back(static_cast<float>(c_up));
      return up;
    });
    EXPECT_TRUE(same_bits(pack_base, pack_avx2)) << "n=" << n;
    std::vector<float> want = want_up;
    want.insert(want.end(), want_down.begin(), want_down.end());
    want.push_back(static_cast<float>(want_up.size()));
    EXPECT_TRUE(same_bits(pack_base, want)) << "n=" << n;
    for (const float sign : {1.0F, -1.0F}) {
      const auto [rows_base, rows_avx2] = under_both([&] {
        std::vector<std::int32_t> rows(r.size() + 8);
        rows.resize(static_cast<std::size_t>(gam_rows_at_least(r.data(), n, sign, t, rows.data())));
        return rows;
      });
      EXPECT_EQ(rows_base, rows_avx2) << "n=" << n << " sign " << sign;
      std::vector<std::int32_t> want_rows;
      for (std::size_t i = 0; i < r.size(); ++i)
        if (sign * r[i] >= t) want_rows.push_back(static_cast<std::int32_t>(i));
      EXPECT_EQ(rows_base, want_rows) << "n=" << n << " sign " << sign;
    }
  }
}

// The unit-error flags: both variants flag the steps the rule's test flags, NaN values and expected values included.
TEST_F(KernelVariants, UnitErrorFlagsMatchTheRule) {
  Rng rng(stream_key(16, 8));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::int64_t n : {1, 5, 31, 33, 256, 730}) {
    std::vector<float> values(static_cast<std::size_t>(n)), expected(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double pick = rng.uniform();
      expected[i] = pick < 0.05 ? nan : static_cast<float>(std::exp(rng.normal() * 3.0));
      values[i] = pick > 0.9 ? nan : static_cast<float>(expected[i] * std::exp(rng.normal() * 4.0) - (pick < 0.1 ? 1.0F : 0.0F));
    }
    const double typical = rng.uniform(0.5, 20.0);
    const auto flags = [&] {
      std::vector<std::uint8_t> f(values.size());
      gam_unit_error_flags(values.data(), expected.data(), n, 100.0, 300.0, typical, f.data());
      return f;
    };
    const auto [base, avx2] = under_both(flags);
    EXPECT_TRUE(same_bits(base, avx2)) << "n=" << n;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double v = values[i], e = expected[i], level = std::max(e, 1.0);
      const bool want = v >= 100.0 * std::max(level, typical) || (v > 0.0 && v * 300.0 <= e);
      EXPECT_EQ(base[i], want ? 1 : 0) << "value " << v << " expected " << expected[i];
    }
  }
}

// The spread sums of transform=auto: both variants give the bits of the 8-lane definition (step t into lane t mod 8,
// the pair (t - 1, t) into lane (t - 1) mod 8, the lanes added in order), NaN and capped values included.
TEST_F(KernelVariants, SpreadSumsMatchTheirLaneDefinition) {
  Rng rng(stream_key(16, 9));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::int64_t n : {1, 7, 8, 9, 28, 31, 672}) {
    std::vector<float> p(static_cast<std::size_t>(n));
    for (float& v : p) v = rng.uniform() < 0.1 ? nan : static_cast<float>(std::exp(rng.normal() * 2.0));
    const float cap = 5.0F;
    for (const bool moves_too : {false, true}) {
      const auto [base, avx2] = under_both([&] {
        const GamSpreadSums s = gam_spread_sums(p.data(), n, cap, moves_too);
        return std::vector<float>{s.sum, s.seen, s.moves, s.pairs};
      });
      EXPECT_TRUE(same_bits(base, avx2)) << "n=" << n;
      std::array<float, 8> sum{}, seen{}, moves{}, pairs{};
      for (std::int64_t t = 0; t < n; ++t) {
        const float v = p[static_cast<std::size_t>(t)];
        if (std::isnan(v)) continue;
        sum[static_cast<std::size_t>(t % 8)] += std::min(v, cap);
        seen[static_cast<std::size_t>(t % 8)] += 1.0F;
        if (!moves_too || t == 0 || std::isnan(p[static_cast<std::size_t>(t - 1)])) continue;
        moves[static_cast<std::size_t>((t - 1) % 8)] += std::abs(std::min(v, cap) - std::min(p[static_cast<std::size_t>(t - 1)], cap));
        pairs[static_cast<std::size_t>((t - 1) % 8)] += 1.0F;
      }
      std::vector<float> want(4, 0.0F);
      for (std::size_t l = 0; l < 8; ++l) want[0] += sum[l], want[1] += seen[l], want[2] += moves[l], want[3] += pairs[l];
      EXPECT_TRUE(same_bits(base, want)) << "n=" << n << " moves " << moves_too;
    }
  }
}

}  // namespace
}  // namespace meterbench
