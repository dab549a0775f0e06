// Deterministic elementary functions; see portable_math.hpp for the methods and the promise.
// Only +, -, *, /, sqrt (all correctly rounded by IEEE 754) and exact operations are used; the build has
// -ffp-contract=off, so the compiler fuses nothing and every x86-64 CPU computes the same bits.
#include "meterbench/core/portable_math.hpp"
#include "meterbench/core/portable_math_lanes.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace meterbench::pmath {
namespace {

using namespace lanes::detail;

__extension__ typedef unsigned __int128 u128;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline std::uint64_t bits_of(double x) { return std::bit_cast<std::uint64_t>(x); }
inline double from_bits(std::uint64_t b) { return std::bit_cast<double>(b); }
inline double abs_of(double x) { return from_bits(bits_of(x) & 0x7fffffffffffffffULL); }
// 2^k, k in [-1022, 1023].
inline double pow2(int k) { return from_bits(static_cast<std::uint64_t>(k + 1023) << 52); }
// y * 2^k with one rounding, k in [-1100, 1024], y in [0.5, 2].
inline double scale(double y, int k) {
  if (k > 1023) return y * 2.0 * pow2(k - 1);
  if (k >= -1022) return y * pow2(k);
  return y * pow2(k + 1000) * pow2(-1000);  // the first product is exact (normal range): one rounding in all
}
// Biased exponent field.
inline int exponent_field(double x) { return static_cast<int>((bits_of(x) >> 52) & 0x7ff); }

// 2/pi in binary, 32 bits a word, most significant first (1280 bits after the binary point); generated with
// mpmath (mp.prec = 1500; int(floor(2/pi * 2**1280)) split into words); tests/core/portable_math_test.cpp re-checks a prefix.
constexpr std::uint32_t kTwoOverPi[40] = {0xa2f9836e, 0x4e441529, 0xfc2757d1, 0xf534ddc0, 0xdb629599, 0x3c439041, 0xfe5163ab, 0xdebbc561, 0xb7246e3a, 0x424dd2e0, 0x06492eea, 0x09d1921c, 0xfe1deb1c, 0xb129a73e, 0xe88235f5, 0x2ebb4484, 0xe99c7026, 0xb45f7e41, 0x3991d639, 0x835339f4, 0x9c845f8b, 0xbdf9283b, 0x1ff897ff, 0xde05980f, 0xef2f118b, 0x5a0a6d1f, 0x6d367ecf, 0x27cb09b7, 0x4f463f66, 0x9e5fea2d, 0x7527bac7, 0xebe5f17b, 0x3d0739f7, 0x8a5292ea, 0x6bfb5fb1, 0x1f8d5d08, 0x56033046, 0xfc7b6bab, 0xf0cfbc20, 0x9af4361d};
// erfc(x) * exp(x*x) on [a, b] as a polynomial in y = (x - mid) / half (Chebyshev fits by mpmath at 200 bits, highest degree
// first); fit error below 1.2e-18 relative.
struct ErfcPiece { double a, b, mid, half; int degree; const double* c; };
constexpr double kErfc0[] = {1.7310702436308993e-14, -2.149720777127483e-13, 2.5250183778041673e-12, -2.940238691685661e-11, 3.306876440008758e-10, -3.5801452026870127e-09, 3.719539411742085e-08, -3.6935621693335953e-07, 3.488573893088815e-06, -3.114966996112664e-05, 0.00026090055674831184, -0.0020286884686699707, 0.014434883221956143, -0.09199317291394885, 0.5069376502931449};
constexpr double kErfc1[] = {-2.4751971707679498e-14, 3.2792698382308406e-13, -4.134526075119391e-12, 5.1541247449058564e-11, -6.216435284092416e-10, 7.2322189424948945e-09, -8.091936811748378e-08, 8.674584703816643e-07, -8.86877698531246e-06, 8.598189160525874e-05, -0.0007846605374360542, 0.006674723218537403, -0.052205468991152464, 0.3678229164523611};
constexpr double kErfc2[] = {4.232008089237893e-14, -4.298907054638645e-13, 4.1076636993821514e-12, -3.969961738078964e-11, 3.739655279372688e-10, -3.4234235774793528e-09, 3.041352357788939e-08, -2.616166102600156e-07, 2.1731788881411804e-06, -1.7377241363708435e-05, 0.00013324735642166878, -0.0009751655174363657, 0.006770901100735335, -0.044256271022999394, 0.2694299851646704};
constexpr double kErfc3[] = {2.9370878785483494e-14, -2.1983787093426515e-13, 1.493449357649164e-12, -1.0773186011360005e-11, 7.651844934940297e-11, -5.31732022029964e-10, 3.621114664765803e-09, -2.414353640910066e-08, 1.5741062355635275e-07, -1.0022225711752134e-06, 6.222108587528167e-06, -3.760161370227518e-05, 0.00022075321698644974, -0.0012561151258365525, 0.006908386049818511, -0.03660205791237733, 0.1860549346844711};
constexpr double kErfc4[] = {-4.834367963992465e-14, 2.4525470916449786e-13, -9.901830095067535e-13, 4.898683339848867e-12, -2.4489740993430137e-11, 1.1866427911563075e-10, -5.679156989409766e-10, 2.6891589761958942e-09, -1.2581720428410608e-08, 5.8137234629841174e-08, -2.652089818844993e-07, 1.193833162451858e-06, -5.3003679282586074e-06, 2.3197611048821525e-05, -0.00010002374613837949, 0.0004246296485366367, -0.001773630658261115, 0.007283322451519285, -0.02937931074770394, 0.11630270721024731};
constexpr ErfcPiece kErfcPieces[] = {{0.5, 1.0, 0.75, 0.25, 14, kErfc0}, {1.0, 1.5, 1.25, 0.25, 13, kErfc1}, {1.5, 2.25, 1.875, 0.375, 14, kErfc2}, {2.25, 3.5, 2.875, 0.625, 16, kErfc3}, {3.5, 6.0, 4.75, 1.25, 19, kErfc4}};
// x >= 6: x * sqrt(pi) * erfc(x) * exp(x*x) as a polynomial in y = (1/x^2 - mid) / half, 1/x^2 in [1/27.5^2, 1/36]; fit error 1.72e-19.
constexpr double kErfcTailMid = 0.014550045913682277, kErfcTailHalf = 0.013227731864095501;
constexpr int kErfcTailDegree = 11;
constexpr double kErfcTail[] = {-2.696370802047139e-15, 2.5206332585976055e-14, -2.472344854200686e-13, 2.756602594575414e-12, -3.4110747113214864e-11, 4.763206600104166e-10, -7.685363913503703e-09, 1.4806871014610755e-07, -3.5804899179811526e-06, 0.0001182254606027357, -0.006339932197687782, 0.9928782556300805};

// ---- exp ------------------------------------------------------------------------------------------------------------
constexpr double kInvLn2 = 1.44269504088896338700e+00;
// Remez coefficients of r (exp(r) + 1) / (exp(r) - 1) = 2 + r^2/6 - ... on [-ln2/2, ln2/2] (as published with fdlibm).
constexpr double kP1 = 1.66666666666666019037e-01, kP2 = -2.77777777770155933842e-03, kP3 = 6.61375632143793436117e-05,
                 kP4 = -1.65339022054652515390e-06, kP5 = 4.13813679705723846039e-08;
constexpr double kExpOverflow = 7.09782712893383973096e+02;    // largest x with a finite exp(x)

inline double exp_c(double r) {
  const double r2 = r * r;
  return r - r2 * (kP1 + r2 * (kP2 + r2 * (kP3 + r2 * (kP4 + r2 * kP5))));
}
inline int nearest_int(double v) { return static_cast<int>(v + (v < 0.0 ? -0.5 : 0.5)); }

// ---- log ------------------------------------------------------------------------------------------------------------
// ---- sin, cos, tan ----------------------------------------------------------------------------------------------------
constexpr double kInvPio2 = 6.36619772367581382433e-01;
// pi/2 in three 33-bit parts and their tails: n * kPio2_i is exact for n < 2^20.
constexpr double kPio2_1 = 1.57079632673412561417e+00, kPio2_1t = 6.07710050650619224932e-11;
constexpr double kPio2_2 = 6.07710050630396597660e-11, kPio2_2t = 2.02226624879595063154e-21;
constexpr double kPio2_3 = 2.02226624871116645580e-21, kPio2_3t = 8.47842766036889956997e-32;
constexpr double kPio2Hi = 1.5707963267948966, kPio2Lo = 6.123233995736766e-17;
constexpr double kPio4 = 7.85398163397448278999e-01;
constexpr double kMediumLimit = 0x1p20 * 1.5707963267948966;

// Minimax coefficients on [-pi/4, pi/4] (fdlibm's).
constexpr double kS1 = -1.66666666666666324348e-01, kS2 = 8.33333333332248946124e-03, kS3 = -1.98412698298579493134e-04,
                 kS4 = 2.75573137070700676789e-06, kS5 = -2.50507602534068634195e-08, kS6 = 1.58969099521155010221e-10;
constexpr double kC1 = 4.16666666666666019037e-02, kC2 = -1.38888888888741095749e-03, kC3 = 2.48015872894767294178e-05,
                 kC4 = -2.75573143513906633035e-07, kC5 = 2.08757232129817482790e-09, kC6 = -1.13596475577881948265e-11;

// sin(x + y), |x + y| <= pi/4 (a little more after rounding), |y| tiny.
inline double ksin(double x, double y) {
  const double z = x * x, w = z * z, v = z * x;
  const double r = kS2 + z * (kS3 + z * kS4) + z * w * (kS5 + z * kS6);
  return x - ((z * (0.5 * y - v * r) - y) - v * kS1);
}
// cos(x + y), same domain.
inline double kcos(double x, double y) {
  const double z = x * x, w = z * z;
  const double r = z * (kC1 + z * (kC2 + z * kC3)) + w * w * (kC4 + z * (kC5 + z * kC6));
  const double hz = 0.5 * z, v = 1.0 - hz;
  return v + (((1.0 - v) - hz) + (z * r - x * y));
}

// Bits [start, start + 64) of 2/pi after the binary point (bit 1 is the first); zero outside the table.
std::uint64_t two_over_pi_bits(int start) {
  std::uint64_t r = 0;
  for (int j = 0; j < 64; ++j) {
    const int i = start + j;
    std::uint64_t bit = 0;
    if (i >= 1 && i <= 32 * 40) {
      const int p = i - 1;
      bit = (kTwoOverPi[p / 32] >> (31 - p % 32)) & 1U;
    }
    r = (r << 1) | bit;
  }
  return r;
}

// Dekker's exact product: a * b = p + error, without a fused multiply-add.
inline void split(double a, double& hi, double& lo) {
  const double t = 134217729.0 * a;  // 2^27 + 1
  hi = t - (t - a);
  lo = a - hi;
}
inline double product_error(double a, double b, double p) {
  double ah, al, bh, bl;
  split(a, ah, al);
  split(b, bh, bl);
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

// Payne-Hanek: ax >= 2^20 pi/2, finite. ax (2/pi) mod 4 from an exact integer product of the 53-bit significand with
// 192 bits of 2/pi (the bits whose products are multiples of 4 are skipped); returns n and ax - n pi/2 = y0 + y1.
int reduce_huge(double ax, double& y0, double& y1) {
  const std::uint64_t b = bits_of(ax);
  const int e = static_cast<int>(b >> 52) - 1075;  // ax = m 2^e
  const std::uint64_t m = (b & 0x000fffffffffffffULL) | 0x0010000000000000ULL;
  const int i0 = e - 1;  // m * bit(i0) has weight 2^1; bits before it give multiples of 4
  const std::uint64_t c0 = two_over_pi_bits(i0), c1 = two_over_pi_bits(i0 + 64), c2 = two_over_pi_bits(i0 + 128);
  const u128 p0 = static_cast<u128>(m) * c2;
  const u128 s1 = static_cast<u128>(m) * c1 + (p0 >> 64);
  const u128 s2 = static_cast<u128>(m) * c0 + (s1 >> 64);
  const auto r0 = static_cast<std::uint64_t>(p0), r1 = static_cast<std::uint64_t>(s1), r2 = static_cast<std::uint64_t>(s2);
  // value = (s2 : r1 : r0) 2^-190: integer part mod 4 in r2's top two bits, then 128 bits of fraction.
  int n = static_cast<int>((r2 >> 62) & 3U);
  const std::uint64_t fhi = (r2 << 2) | (r1 >> 62), flo = (r1 << 2) | (r0 >> 62);
  u128 f = (static_cast<u128>(fhi) << 64) | flo;
  bool negative = false;
  if (fhi >> 63) {  // fraction >= 1/2: round n up, the remainder is f - 1
    f = ~f + 1;
    n += 1;
    negative = true;
  }
  if (f == 0) {
    y0 = y1 = 0.0;
    return n & 3;
  }
  const auto top = static_cast<std::uint64_t>(f >> 64);
  const int lz = top ? __builtin_clzll(top) : 64 + __builtin_clzll(static_cast<std::uint64_t>(f));
  f <<= lz;
  // fraction = f 2^-(128 + lz); hi: its top 53 bits (exact), lo: the next 64 bits (one rounding).
  const double hi = static_cast<double>(static_cast<std::uint64_t>(f >> 75)) * pow2(-(53 + lz));
  const double lo = static_cast<double>(static_cast<std::uint64_t>(f >> 11)) * pow2(-(117 + lz));
  // (hi + lo) * pi/2 in double-double.
  const double p = hi * kPio2Hi;
  const double err = product_error(hi, kPio2Hi, p) + (hi * kPio2Lo + lo * kPio2Hi);
  y0 = p + err;
  y1 = err - (y0 - p);
  if (negative) {
    y0 = -y0;
    y1 = -y1;
  }
  return n & 3;
}

// x - n pi/2 = y0 + y1 with |y0 + y1| <= ~pi/4; returns n mod 4. x finite.
int reduce(double x, double& y0, double& y1) {
  const double ax = abs_of(x);
  if (ax <= kPio4) {
    y0 = x;
    y1 = 0.0;
    return 0;
  }
  int n;
  if (ax < kMediumLimit) {  // Cody-Waite, with a second and third part of pi/2 when the first cancels many bits
    n = static_cast<int>(ax * kInvPio2 + 0.5);
    const double fn = n;
    double r = ax - fn * kPio2_1, w = fn * kPio2_1t;
    y0 = r - w;
    const int ex = exponent_field(ax);
    if (ex - exponent_field(y0) > 16) {
      double t = r;
      w = fn * kPio2_2;
      r = t - w;
      w = fn * kPio2_2t - ((t - r) - w);
      y0 = r - w;
      if (ex - exponent_field(y0) > 49) {
        t = r;
        w = fn * kPio2_3;
        r = t - w;
        w = fn * kPio2_3t - ((t - r) - w);
        y0 = r - w;
      }
    }
    y1 = (r - y0) - w;
  } else {
    n = reduce_huge(ax, y0, y1);
  }
  if (x < 0.0) {
    y0 = -y0;
    y1 = -y1;
    n = -n;
  }
  return n & 3;
}

// ---- erfc -------------------------------------------------------------------------------------------------------------
// 2/sqrt(pi) (-1)^n / (n! (2n + 1)), n = 13 .. 0: erf(x) = x P(x^2) for |x| < 0.5 (truncation below 5e-20).
constexpr double kErfTaylor[] = {-6.7113668551641105e-12, 9.422759064650411e-11, -1.2290555301717928e-09,
                                 1.4807192815879218e-08, -1.6365844691234924e-07, 1.6462114365889248e-06,
                                 -1.492565035840625e-05, 0.00012055332981789664, -0.0008548327023450853,
                                 0.005223977625442188, -0.026866170645131252, 0.11283791670955126,
                                 -0.37612638903183754, 1.1283791670955126};
constexpr double kSqrtPi = 1.772453850905516;

inline double erf_small(double x) {
  const double z = x * x;
  double p = kErfTaylor[0];
  for (int i = 1; i < 14; ++i) p = p * z + kErfTaylor[i];
  return x * p;
}
inline double horner(const double* c, int degree, double y) {
  double p = c[0];
  for (int i = 1; i <= degree; ++i) p = p * y + c[i];
  return p;
}
// erfc(x), x >= 0.5.
double erfc_positive(double x) {
  if (x > 27.5) return 0.0;
  double g;
  if (x < 6.0) {
    int i = 0;
    while (x >= kErfcPieces[i].b) ++i;
    const ErfcPiece& piece = kErfcPieces[i];
    g = horner(piece.c, piece.degree, (x - piece.mid) / piece.half);
  } else {
    const double s = 1.0 / (x * x);
    g = horner(kErfcTail, kErfcTailDegree, (s - kErfcTailMid) / kErfcTailHalf) / (x * kSqrtPi);
  }
  // exp(-x^2) with x^2 = a + b exactly enough: xh keeps 26 significant bits, so a = xh^2 is exact.
  const double xh = from_bits(bits_of(x) & 0xfffffffff8000000ULL);
  const double a = xh * xh, b = (x - xh) * (x + xh);
  return exp(-a) * (exp(-b) * g);
}

}  // namespace

double exp(double x) { return lanes::exp(x); }

double expm1(double x) {
  if (x != x) return x + x;
  if (x > kExpOverflow) return kInf;
  if (x < -45.0) return -1.0;  // |expm1(x) + 1| < 2^-64
  const double ax = abs_of(x);
  if (ax < 0x1p-54) return x;
  int k = 0;
  double hi = x, lo = 0.0;
  if (ax > 0.5 * kLn2Hi) {
    k = nearest_int(x * kInvLn2);
    hi = x - k * kLn2Hi;
    lo = k * kLn2Lo;
  }
  const double r = hi - lo, cr = (hi - r) - lo;  // r + cr = hi - lo to 2^-106
  const double c = exp_c(r);
  const double e = r + ((r * c) / (2.0 - c) + cr * (1.0 + r));  // expm1(hi - lo)
  if (k == 0) return e;
  if (k == -1) return 0.5 * (e - 1.0);
  if (k == 1) return 2.0 * e + 1.0;
  if (k <= -2) return scale(1.0 + e, k) - 1.0;
  if (k <= 56) return pow2(k) * (e + (1.0 - pow2(-k)));
  return scale(1.0 + e, k);
}

double log(double x) {
  std::uint64_t b = bits_of(x);
  int k = 0;
  if (b - 0x0010000000000000ULL >= 0x7fe0000000000000ULL) {  // not a positive normal finite number
    if (x != x) return x + x;
    if (x < 0.0) return kNaN;
    if (x == 0.0) return -kInf;
    if (x == kInf) return x;
    b = bits_of(x * 0x1p54);  // subnormal
    k = -54;
  }
  // Without a branch: 1.m >= sqrt(2) carries into the exponent, leaving 1.m / 2 in [sqrt(2)/2, 1).
  const std::uint64_t t = b + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
  k += static_cast<int>(t >> 52) - 0x3ff;
  const double f = from_bits((t & 0x000fffffffffffffULL) + 0x3fe6a09e667f3bcdULL) - 1.0;  // exact
  return log_kernel(f, k);
}

double log1p(double x) {
  if (x != x) return x + x;
  if (x < -1.0) return kNaN;
  if (x == -1.0) return -kInf;
  if (x == kInf) return x;
  if (x >= 0.0) return lanes::log1p_nonnegative(x);
  if (abs_of(x) < 0x1p-54) return x;
  const double u = 1.0 + x;
  // The rounding error of 1 + x (Fast2Sum), carried as log(u + c) = log(u) + c / u.
  const double c = abs_of(x) <= 1.0 ? x - (u - 1.0) : 1.0 - (u - x);
  return log(u) + c / u;
}

double sin(double x) {
  if (x != x || abs_of(x) == kInf) return x - x;
  if (abs_of(x) < 0x1p-27) return x;
  double y0, y1;
  switch (reduce(x, y0, y1)) {
    case 0: return ksin(y0, y1);
    case 1: return kcos(y0, y1);
    case 2: return -ksin(y0, y1);
    default: return -kcos(y0, y1);
  }
}

double cos(double x) {
  if (x != x || abs_of(x) == kInf) return x - x;
  if (abs_of(x) < 0x1p-27) return 1.0;
  double y0, y1;
  switch (reduce(x, y0, y1)) {
    case 0: return kcos(y0, y1);
    case 1: return -ksin(y0, y1);
    case 2: return -kcos(y0, y1);
    default: return ksin(y0, y1);
  }
}

double tan(double x) {
  if (x != x || abs_of(x) == kInf) return x - x;
  if (abs_of(x) < 0x1p-27) return x;
  double y0, y1;
  const int n = reduce(x, y0, y1);
  const double s = ksin(y0, y1), c = kcos(y0, y1);
  return (n & 1) ? -c / s : s / c;
}

double erfc(double x) {
  if (x != x) return x + x;
  if (x == kInf) return 0.0;
  if (x == -kInf) return 2.0;
  const double ax = abs_of(x);
  if (ax < 0.5) return 1.0 - erf_small(x);
  if (x < 0.0) return x < -6.0 ? 2.0 : 2.0 - erfc_positive(ax);
  return erfc_positive(x);
}

double erf(double x) {
  if (x != x) return x + x;
  if (x == kInf) return 1.0;
  if (x == -kInf) return -1.0;
  const double ax = abs_of(x);
  if (ax < 0x1p-28) return x + 0.1283791670955126 * x;  // 2/sqrt(pi) x
  if (ax < 0.5) return erf_small(x);
  if (ax > 6.0) return x > 0.0 ? 1.0 : -1.0;
  const double r = 1.0 - erfc_positive(ax);
  return x > 0.0 ? r : -r;
}

double pow(double x, double y) {
  if (y == 0.0 || x == 1.0) return 1.0;
  if (x != x || y != y) return x + y;
  const bool y_finite = abs_of(y) != kInf;
  const bool y_integer = !y_finite || std::trunc(y) == y;
  const bool y_odd = y_finite && y_integer && abs_of(y) < 0x1p53 && (static_cast<std::int64_t>(y) & 1) != 0;
  if (x == 0.0) {
    if (y < 0.0) return y_odd ? std::copysign(kInf, x) : kInf;
    return y_odd ? x : 0.0;
  }
  if (!y_finite) {
    const double ax = abs_of(x);
    if (ax == 1.0) return 1.0;
    return (ax < 1.0) == (y < 0.0) ? kInf : 0.0;
  }
  if (abs_of(x) == kInf) {
    if (x > 0.0) return y < 0.0 ? 0.0 : kInf;
    if (y < 0.0) return y_odd ? -0.0 : 0.0;
    return y_odd ? -kInf : kInf;
  }
  double sign = 1.0;
  if (x < 0.0) {
    if (!y_integer) return kNaN;
    if (y_odd) sign = -1.0;
    x = -x;
  }
  if (y == 1.0) return sign * x;
  if (y == 0.5) return sign * std::sqrt(x);  // correctly rounded (x is positive and finite here)
  if (y_integer && abs_of(y) <= 64.0) {        // binary powering: exact for small results; the error doubles at each squaring
    auto n = static_cast<std::int64_t>(abs_of(y));
    double result = 1.0, base = x;
    while (n > 0) {
      if (n & 1) result *= base;
      n >>= 1;
      if (n > 0) base *= base;
    }
    return sign * (y < 0.0 ? 1.0 / result : result);
  }
  return sign * exp(y * log(x));
}

double lgamma_positive(double x) {
  if (x != x || x <= 0.0) return kNaN;
  if (x == kInf) return x;
  double product = 1.0;
  while (x < 15.0) {  // Gamma(x) = Gamma(x + n) / (x (x + 1) ... (x + n - 1))
    product *= x;
    x += 1.0;
  }
  // Stirling: (x - 1/2) log x - x + log(2 pi)/2 + sum B_2k / (2k (2k - 1) x^(2k - 1)), k = 1..7 (error < 4e-18 at x = 15).
  const double r = 1.0 / x, r2 = r * r;
  const double series = r * (1.0 / 12 + r2 * (-1.0 / 360 + r2 * (1.0 / 1260 + r2 * (-1.0 / 1680 + r2 * (1.0 / 1188 +
                                       r2 * (-691.0 / 360360 + r2 * (1.0 / 156)))))));
  return (x - 0.5) * log(x) - x + 0.91893853320467274178 + series - log(product);
}

}  // namespace meterbench::pmath
