// Contract: every vectorised kernel computes the same bits in its AVX2 and its baseline variant (see
// engine/meterbench/core/kernels.hpp), so a machine's instruction set never changes a result. The kernels of
// gam_kernels.hpp and gam_packed.hpp are called directly under each forced level (gam_predict_line only
// through GamDesign::predict), and all of them through whole fits, retrospective and weekly, on varied series:
// awkward lengths, NaN gaps, every loss and the log1p transform. On a CPU without AVX2 only the baseline exists and the test is skipped.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "meterbench/core/kernels.hpp"
#include "meterbench/core/random.hpp"
#include "meterbench/core/time_grid.hpp"
#include "meterbench/model/gam_design.hpp"
#include "meterbench/model/gam_kernels.hpp"
#include "meterbench/model/gam_packed.hpp"
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
