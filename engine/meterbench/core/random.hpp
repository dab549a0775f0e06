#pragma once
// Deterministic random numbers: every stream is derived from (run seed, series index, purpose) alone, never
// from a thread or the clock, and every distribution is our own code (the std:: distributions are
// implementation-defined), so the same seed gives bit-identical data for any thread count or block size.
#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstddef>

#include "meterbench/core/portable_math.hpp"  // exp, log, pow: the same bits on every CPU

namespace meterbench {

/// SplitMix64 finaliser: a bijective 64-bit mix with full avalanche (Steele, Lea, Flood 2014).
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// A key for (seed, a, b): different inputs give independent-looking keys.
constexpr std::uint64_t stream_key(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) {
  return mix64(mix64(mix64(seed) ^ a) ^ (b * 0xD1B54A32D192ED03ULL));
}

/// xoshiro256++ (Blackman and Vigna 2019), seeded from a stream key through SplitMix64.
class Rng {
 public:
  explicit Rng(std::uint64_t key) {
    for (auto& s : s_) {
      key += 0x9E3779B97F4A7C15ULL;
      s = mix64(key - 0x9E3779B97F4A7C15ULL);
    }
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in (0, 1]: safe to take the logarithm of.
  double uniform_pos() { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Log-uniform in [lo, hi], lo > 0: the natural prior for scales spanning decades.
  double log_uniform(double lo, double hi) { return pmath::exp(uniform(pmath::log(lo), pmath::log(hi))); }
  /// Uniform integer in [lo, hi] (inclusive); the tiny modulo bias is irrelevant at these ranges.
  std::int64_t integer(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool bernoulli(double p) { return uniform() < p; }

  /// Standard normal by the ziggurat method (Marsaglia and Tsang 2000, in Doornik's 2005 ZIGNOR form): one
  /// 64-bit draw and a multiply on 98.8% of calls, which makes noise generation cheap.
  double normal() {
    const ZigguratTables& z = ziggurat();
    for (;;) {
      const std::uint64_t bits = next();
      const double u = 2.0 * (static_cast<double>(bits >> 11) * 0x1.0p-53) - 1.0;
      const auto i = static_cast<std::size_t>(bits & 127u);
      if (std::fabs(u) < z.ratio[i]) return u * z.x[i];
      if (i == 0) return normal_tail(u < 0.0);
      const double x = u * z.x[i];
      const double f0 = pmath::exp(-0.5 * (z.x[i] * z.x[i] - x * x));
      const double f1 = pmath::exp(-0.5 * (z.x[i + 1] * z.x[i + 1] - x * x));
      if (f1 + uniform() * (f0 - f1) < 1.0) return x;
    }
  }

  /// Gamma(shape, 1) by Marsaglia and Tsang (2000), with the shape < 1 boost.
  double gamma(double shape) {
    if (shape < 1.0) return gamma(shape + 1.0) * pmath::pow(uniform_pos(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = 0.0, v = 0.0;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = uniform_pos();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (pmath::log(u) < 0.5 * x * x + d * (1.0 - v + pmath::log(v))) return d * v;
    }
  }

  /// Poisson(mean): multiplication method below 10, PTRS (Hoermann 1993) up to 1000, and above that the
  /// normal approximation with Cornish-Fisher skew correction (error far below the noise of any study).
  std::int64_t poisson(double mean) {
    if (mean <= 0.0) return 0;
    if (mean >= 1000.0) {
      const double z = normal();
      const double sd = std::sqrt(mean);
      return std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(mean + sd * (z + (z * z - 1.0) / (6.0 * sd)) + 0.5)));
    }
    if (mean < 10.0) {
      const double limit = pmath::exp(-mean);
      double product = uniform_pos();
      std::int64_t k = 0;
      while (product > limit) {
        product *= uniform_pos();
        ++k;
      }
      return k;
    }
    const double slam = std::sqrt(mean);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
      const double u = uniform() - 0.5;
      const double v = uniform_pos();
      const double us = 0.5 - std::fabs(u);
      const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return static_cast<std::int64_t>(k);
      if (k < 0.0 || (us < 0.013 && v > us)) continue;
      if (pmath::log(v) + pmath::log(invalpha) - pmath::log(a / (us * us) + b) <= -mean + k * pmath::log(mean) - log_factorial(k))
        return static_cast<std::int64_t>(k);
    }
  }

  /// Student-t with nu degrees of freedom: normal / sqrt(chi2 / nu).
  double student_t(double nu) { return normal() / std::sqrt(2.0 * gamma(0.5 * nu) / nu); }

 private:
  struct ZigguratTables {
    double x[129];
    double ratio[128];
  };
  static constexpr double kZigguratR = 3.442619855899;
  // Doornik's table construction for 128 strips of equal area V.
  static const ZigguratTables& ziggurat() {
    static const ZigguratTables tables = [] {
      ZigguratTables z{};
      constexpr double kV = 9.91256303526217e-3;
      double f = pmath::exp(-0.5 * kZigguratR * kZigguratR);
      z.x[0] = kV / f;
      z.x[1] = kZigguratR;
      z.x[128] = 0.0;
      for (int i = 2; i < 128; ++i) {
        z.x[i] = std::sqrt(-2.0 * pmath::log(kV / z.x[i - 1] + f));
        f = pmath::exp(-0.5 * z.x[i] * z.x[i]);
      }
      for (int i = 0; i < 128; ++i) z.ratio[i] = z.x[i + 1] / z.x[i];
      return z;
    }();
    return tables;
  }
  double normal_tail(bool negative) {
    double x = 0.0, y = 0.0;
    do {
      x = pmath::log(uniform_pos()) / kZigguratR;
      y = pmath::log(uniform_pos());
    } while (-2.0 * y < x * x);
    return negative ? x - kZigguratR : kZigguratR - x;
  }
  // log(k!) without std::lgamma, which writes the global `signgam` (a data race between threads).
  static double log_factorial(double k) {
    static constexpr double kTable[10] = {0.0, 0.0, 0.6931471805599453, 1.791759469228055, 3.1780538303479458,
                                          4.787491742782046, 6.579251212010101, 8.525161361065415, 10.60460290274525,
                                          12.801827480081469};
    if (k < 10.0) return kTable[static_cast<int>(k)];
    const double n = k + 1.0;  // Stirling's series for log Gamma(n), accurate to 1e-10 for n >= 11
    return (n - 0.5) * pmath::log(n) - n + 0.91893853320467274 + 1.0 / (12.0 * n) - 1.0 / (360.0 * n * n * n);
  }
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

}  // namespace meterbench
