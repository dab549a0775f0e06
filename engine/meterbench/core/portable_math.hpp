#pragma once
// Deterministic elementary functions: the same bits on every x86-64 machine, whatever the CPU.
//
// glibc's libm chooses at run time between implementations of exp, log, sin, cos, pow, ... (FMA variants on CPUs
// with FMA/AVX2), and those round differently in the last bit; a generated dataset or a detector's bands would then
// depend on the machine. These functions use only +, -, *, /, sqrt and exact operations (bit manipulation, integer
// arithmetic, Dekker's exact products), and the project compiles with -ffp-contract=off, so no multiply-add is
// fused: every machine computes the same bits. Accuracy, as tests/core/portable_math_test.cpp bounds it: 1 ulp (exp,
// log, log1p, sin, cos), 2 ulp (expm1, tan, erf), 6 ulp (erfc); pow's error grows with |y log x| (binary powering of
// integer |y| <= 64 doubles its error at each squaring: tens of ulp at |y| near 64; pow(u, 1/shape) for a small shape
// is thousands of ulp off, deterministically). Special values (NaN, +-inf, +-0, negative arguments, subnormals, overflow and
// underflow) follow libm/C99 Annex F.
//
// Methods (standard ones, implemented here):
//   exp         x = (128 m + j) ln2/128 + r with ln2/128 in two parts (k ln2_hi exact), |r| <= ln2/256;
//               2^(j/128) from a double-double table, exp(r) - 1 by a short Taylor polynomial; 2^m through the
//               exponent bits, as 2^floor(m/2) 2^(m - floor(m/2)) (one rounding for a subnormal result). Without
//               a branch (core/portable_math_lanes.hpp, which array kernels use for the same bits; log1p too).
//   expm1       x = k ln2 + r, |r| <= ln2/2; expm1(r) by the rational form r + r c / (2 - c), c = r - r^2 P(r^2)
//               (Remez coefficients as published with Sun's fdlibm), the rounding error of r carried along.
//   log, log1p  x = 2^k m with m in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f), log(1 + f) = 2 atanh(s) by
//               an odd series in s (fdlibm's minimax coefficients); log1p corrects for the rounding of 1 + x.
//   sin, cos, tan  reduction by pi/2: Cody-Waite with pi/2 in three 33-bit parts (|x| < 2^20 pi/2), and above that
//               an exact Payne-Hanek reduction with integer arithmetic on 1280 bits of 2/pi (slower, exact enough:
//               about 120 correct bits of the reduced argument); minimax polynomials on [-pi/4, pi/4].
//   erfc        |x| < 0.5: 1 - erf(x) by its Taylor series; x >= 0.5: exp(-x^2) g(x) with x^2 split exactly into
//               two parts and g = erfc(x) exp(x^2) by piecewise Chebyshev fits (made for this file with mpmath);
//               x < 0: 2 - erfc(-x).
//   pow         C99's special cases; y = 1 and y = 1/2 exactly (x, sqrt(x)); integer |y| <= 64 by binary powering;
//               otherwise exp(y log(x)) (relative error about |y log x| ulp).
//   lgamma_positive  Stirling's series with the recurrence Gamma(x + 1) = x Gamma(x).
namespace meterbench::pmath {

// [[gnu::const]]: pure functions of their arguments (no errno, no global state), so the compiler may hoist and
// share calls as it does for libm's.
[[gnu::const]] double exp(double x);
[[gnu::const]] double expm1(double x);
[[gnu::const]] double log(double x);
[[gnu::const]] double log1p(double x);
[[gnu::const]] double sin(double x);
[[gnu::const]] double cos(double x);
[[gnu::const]] double tan(double x);
[[gnu::const]] double erfc(double x);
[[gnu::const]] double erf(double x);
[[gnu::const]] double pow(double x, double y);
/// log Gamma(x) for x > 0 (NaN for x <= 0 or NaN; +inf for +inf): Stirling's series after shifting x to >= 15; absolute
/// error about 1e-15 relative to max(1, |result|) (relative accuracy is lost near the zeros at 1 and 2).
[[gnu::const]] double lgamma_positive(double x);

}  // namespace meterbench::pmath
