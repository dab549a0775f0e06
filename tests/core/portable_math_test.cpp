// Contract of meterbench::pmath (engine/meterbench/core/portable_math.hpp): within a few ulp of glibc's libm
// over wide argument ranges (the maximum errors measured when written are in the comments), libm's results on
// special values, and the same bits everywhere: a digest of 60,000 results is pinned, so a machine or compiler
// that computed other bits fails here first.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "meterbench/core/portable_math.hpp"
#include "meterbench/core/random.hpp"

namespace meterbench {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::int64_t ordered(double v) {
  const auto i = std::bit_cast<std::int64_t>(v);
  return i < 0 ? std::numeric_limits<std::int64_t>::min() - i : i;
}
std::int64_t ulps(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<std::int64_t>::max();
  const std::int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

struct Sweep {
  const char* name;
  std::function<double(double)> ours, libm;
  double lo, hi;
  bool log_scale;  // |x| log-uniform in [lo, hi], random sign
  std::int64_t max_ulps;
};

// Max error in ulps over 40,000 arguments of each range (plus the range's ends).
std::int64_t max_error(const Sweep& s, double& worst_x) {
  Rng rng(stream_key(99, std::hash<std::string>{}(std::string(s.name)) & 0xffff));
  std::int64_t worst = 0;
  worst_x = s.lo;
  for (int i = 0; i < 40002; ++i) {
    double x;
    if (i == 0) x = s.lo;
    else if (i == 1) x = s.hi;
    else if (s.log_scale) x = std::copysign(std::exp(std::log(s.lo) + rng.uniform() * (std::log(s.hi) - std::log(s.lo))), rng.uniform() < 0.5 ? -1.0 : 1.0);
    else x = s.lo + rng.uniform() * (s.hi - s.lo);
    const std::int64_t e = ulps(s.ours(x), s.libm(x));
    if (e > worst) {
      worst = e;
      worst_x = x;
    }
  }
  return worst;
}

TEST(PortableMath, AccuracyAgainstLibm) {
  using namespace pmath;
  const auto pos = [](double (*f)(double)) { return [f](double x) { return f(std::abs(x)); }; };
  const std::vector<Sweep> sweeps = {
      // measured when written: 1 ulp
      {"exp", pmath::exp, [](double x) { return std::exp(x); }, -745.1, 709.78, false, 1},
      {"exp small", pmath::exp, [](double x) { return std::exp(x); }, -2, 2, false, 1},
      {"exp tiny", pmath::exp, [](double x) { return std::exp(x); }, 1e-300, 1e-3, true, 1},
      // 2 ulp
      {"expm1", pmath::expm1, [](double x) { return std::expm1(x); }, -50, 709.7, false, 2},
      {"expm1 small", pmath::expm1, [](double x) { return std::expm1(x); }, -3, 3, false, 2},
      {"expm1 tiny", pmath::expm1, [](double x) { return std::expm1(x); }, 1e-300, 1, true, 2},
      // 1 ulp
      {"log", pos(pmath::log), [](double x) { return std::log(std::abs(x)); }, 4.9e-324, 1.7e308, true, 1},
      {"log near 1", pmath::log, [](double x) { return std::log(x); }, 0.5, 2, false, 1},
      {"log1p", pmath::log1p, [](double x) { return std::log1p(x); }, -1, 3, false, 1},
      {"log1p wide", pos(pmath::log1p), [](double x) { return std::log1p(std::abs(x)); }, 1e-300, 1e300, true, 1},
      {"log1p tiny", pmath::log1p, [](double x) { return std::log1p(x); }, 1e-300, 1e-2, true, 1},
      // 1 ulp (Cody-Waite below 2^20 pi/2, Payne-Hanek above)
      {"sin", pmath::sin, [](double x) { return std::sin(x); }, -10, 10, false, 1},
      {"sin wide", pmath::sin, [](double x) { return std::sin(x); }, 1e-10, 1e300, true, 1},
      {"cos", pmath::cos, [](double x) { return std::cos(x); }, -10, 10, false, 1},
      {"cos wide", pmath::cos, [](double x) { return std::cos(x); }, 1e-10, 1e300, true, 1},
      // 2 ulp
      {"tan", pmath::tan, [](double x) { return std::tan(x); }, -10, 10, false, 2},
      {"tan wide", pmath::tan, [](double x) { return std::tan(x); }, 1e-10, 1e300, true, 2},
      // erfc 5 ulp (two exp and a fitted polynomial), erf 2 ulp
      {"erfc", pmath::erfc, [](double x) { return std::erfc(x); }, -7, 26.5, false, 6},
      {"erfc core", pmath::erfc, [](double x) { return std::erfc(x); }, -2, 6, false, 5},
      {"erf", pmath::erf, [](double x) { return std::erf(x); }, -7, 7, false, 2},
      {"erf tiny", pmath::erf, [](double x) { return std::erf(x); }, 1e-300, 1, true, 2},
      // exp(y log x): the error grows with |y log x| (about that many ulp)
      {"pow x^0.37", [](double x) { return pmath::pow(std::abs(x), 0.37); }, [](double x) { return std::pow(std::abs(x), 0.37); }, 1e-300, 1, true, 160},
      {"pow x^-2.5", [](double x) { return pmath::pow(x, -2.5); }, [](double x) { return std::pow(x, -2.5); }, 0.01, 100, false, 24},
  };
  for (const Sweep& s : sweeps) {
    double x = 0.0;
    const std::int64_t e = max_error(s, x);
    RecordProperty(s.name, std::to_string(e));
    EXPECT_LE(e, s.max_ulps) << s.name << ": " << e << " ulp at x = " << x;
  }
}

TEST(PortableMath, LogGammaAgainstLibm) {
  double worst = 0.0;
  for (double x = 1e-6; x < 1e6; x *= 1.0013) {
    const double want = std::lgamma(x);
    worst = std::max(worst, std::abs(pmath::lgamma_positive(x) - want) / std::max(1.0, std::abs(want)));
  }
  EXPECT_LT(worst, 3e-14);  // measured: 1.3e-14 (near the zeros at 1 and 2, where the value is tiny)
  EXPECT_TRUE(std::isnan(pmath::lgamma_positive(0.0)));
  EXPECT_TRUE(std::isnan(pmath::lgamma_positive(-1.0)));
  EXPECT_EQ(pmath::lgamma_positive(kInf), kInf);
}

void expect_same(double ours, double want, const char* what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(ours)) << what;
  } else {
    EXPECT_EQ(std::bit_cast<std::uint64_t>(ours), std::bit_cast<std::uint64_t>(want)) << what << ": " << ours << " vs " << want;
  }
}

bool special(double v) { return std::isnan(v) || std::isinf(v) || v == 0.0 || std::abs(v) < 2.3e-308; }

TEST(PortableMath, SpecialValuesAsLibm) {
  // Special arguments give libm's bits; ordinary ones among them (+-1, near the overflow thresholds) within the sweeps' bounds.
  const double specials[] = {kNaN, -kNaN, kInf, -kInf, 0.0, -0.0, 1.0, -1.0, 4.9e-324, -4.9e-324, 2.2250738585072014e-308,
                             1.7976931348623157e308, -1.7976931348623157e308, 709.78, 709.79, -745.13, -745.14, 1e-30, -1e-30};
  const auto check = [](double ours, double want, double x, const char* name, std::int64_t bound) {
    if (special(x) || special(want)) expect_same(ours, want, (std::string(name) + " at " + std::to_string(x)).c_str());
    else EXPECT_LE(ulps(ours, want), bound) << name << " at " << x << ": " << ours << " vs " << want;
  };
  for (const double x : specials) {
    check(pmath::exp(x), std::exp(x), x, "exp", 1);
    check(pmath::expm1(x), std::expm1(x), x, "expm1", 2);
    check(pmath::log(x), std::log(x), x, "log", 1);
    check(pmath::log1p(x), std::log1p(x), x, "log1p", 1);
    check(pmath::erfc(x), std::erfc(x), x, "erfc", 5);
    check(pmath::erf(x), std::erf(x), x, "erf", 2);
    check(pmath::sin(x), std::sin(x), x, "sin", 1);
    check(pmath::cos(x), std::cos(x), x, "cos", 1);
    check(pmath::tan(x), std::tan(x), x, "tan", 2);
  }
  expect_same(pmath::log1p(-1.0), -kInf, "log1p(-1)");
  expect_same(pmath::log1p(-1.5), kNaN, "log1p(-1.5)");
  expect_same(pmath::log(-2.0), kNaN, "log(-2)");
  expect_same(pmath::exp(1000.0), kInf, "exp overflow");
  expect_same(pmath::exp(-1000.0), 0.0, "exp underflow");
  expect_same(pmath::expm1(-1000.0), -1.0, "expm1(-1000)");
  EXPECT_LE(ulps(pmath::exp(-740.0), std::exp(-740.0)), 1) << "exp subnormal";
  // pow: C99 Annex F's special cases exactly; small integer powers and square roots exactly as libm here too.
  const double xs[] = {kNaN, kInf, -kInf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0};
  const double ys[] = {kNaN, kInf, -kInf, 0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 0.5};
  for (const double x : xs)
    for (const double y : ys) {
      const std::string what = "pow(" + std::to_string(x) + ", " + std::to_string(y) + ")";
      expect_same(pmath::pow(x, y), std::pow(x, y), what.c_str());
    }
  EXPECT_LE(ulps(pmath::pow(3.0, -0.5), std::pow(3.0, -0.5)), 2);
}

// The 2/pi table and the huge-argument path: sin and cos of multiples of large powers of two (their reduction
// needs hundreds of bits of 2/pi) within 1 ulp of libm, which reduces exactly too.
TEST(PortableMath, HugeArgumentsReduceExactly) {
  for (int e = 20; e <= 1023; e += 7)
    for (const double m : {1.0, 1.2345678901234567, 1.9999999999999998}) {
      const double x = std::ldexp(m, e);
      EXPECT_LE(ulps(pmath::sin(x), std::sin(x)), 1) << "sin(" << x << ")";
      EXPECT_LE(ulps(pmath::cos(x), std::cos(x)), 1) << "cos(" << x << ")";
    }
  // The double closest to a multiple of pi/2 known (6381956970095103 * 2^797): its sine is about 4.6e-19.
  const double close = std::ldexp(6381956970095103.0, 797);
  EXPECT_LE(ulps(pmath::sin(close), std::sin(close)), 1);
}

// Same bits everywhere: a digest of 60,000 results over fixed arguments. If it fails, this machine or compiler
// computes other bits than the one that recorded it (see the README's determinism promise).
TEST(PortableMath, PinnedDigestOfResults) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const auto mix = [&h](double v) {
    h ^= std::bit_cast<std::uint64_t>(v);
    h *= 0x100000001b3ULL;
  };
  Rng rng(stream_key(20261206, 1));
  for (int i = 0; i < 6000; ++i) {
    const double u = rng.uniform(), w = rng.normal();
    const double x = (u - 0.5) * 60.0, big = std::ldexp(1.0 + u, static_cast<int>(w * 200.0));
    mix(pmath::exp(x));
    mix(pmath::expm1(x / 10.0));
    mix(pmath::log(big));
    mix(pmath::log1p(u * 4.0 - 0.999));
    mix(pmath::sin(x));
    mix(pmath::cos(big));
    mix(pmath::tan(x));
    mix(pmath::erfc(x / 5.0));
    mix(pmath::pow(u, w));
    mix(pmath::lgamma_positive(u * 30.0 + 1e-3));
  }
  EXPECT_EQ(h, 0x7ff5e75e6906ad22ULL) << "digest of pmath results: 0x" << std::hex << h;
}

}  // namespace
}  // namespace meterbench
