// Deterministic elementary functions; see portable_math.hpp for the methods and the promise.
// Only +, -, *, /, sqrt (all correctly rounded by IEEE 754) and exact operations are used; the build has
// -ffp-contract=off, so the compiler fuses nothing and every x86-64 CPU computes the same bits.
#include "meterbench/core/portable_math.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace meterbench::pmath {
namespace {

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
// ln2 in two parts: kLn2Hi has 32 significant bits, so k * kLn2Hi is exact for |k| < 2^21.
constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
// Remez coefficients of r (exp(r) + 1) / (exp(r) - 1) = 2 + r^2/6 - ... on [-ln2/2, ln2/2] (as published with fdlibm).
constexpr double kP1 = 1.66666666666666019037e-01, kP2 = -2.77777777770155933842e-03, kP3 = 6.61375632143793436117e-05,
                 kP4 = -1.65339022054652515390e-06, kP5 = 4.13813679705723846039e-08;
constexpr double kExpOverflow = 7.09782712893383973096e+02;    // largest x with a finite exp(x)
constexpr double kExpUnderflow = -7.45133219101941108420e+02;  // below: exp(x) rounds to 0

// exp by table: x = (128 m + j) ln2/128 + r, |r| <= ln2/256; exp(x) = 2^m 2^(j/128) exp(r). 2^(j/128) as a
// double-double (hi, lo) generated with mpmath at 200 bits; ln2/128 in two parts, the first with 35 significant
// bits so that k * kLn2By128Hi is exact for |k| < 2^18; exp(r) - 1 by its Taylor polynomial to r^5 (error < 6e-19).
constexpr double kLn2By128Hi = 0.005415212347998022, kLn2By128Lo = 1.2655086083325438e-13;
constexpr double k128ByLn2 = 184.6649652337873;
constexpr double kRoundShift = 0x1.8p52;
constexpr double kExp2Table[128][2] = {
    {1.0, 0.0}, {1.0054299011128027, 9.499186535455032e-17},
    {1.0108892860517005, -1.5234778603368577e-17}, {1.016378314910953, -5.77217007319966e-17},
    {1.0218971486541166, 5.109225028973444e-17}, {1.0274459491187637, -4.9560741746453704e-17},
    {1.0330248790212284, 7.600838874027088e-18}, {1.0386341019613787, 5.996273788852511e-17},
    {1.0442737824274138, 8.551889705537965e-17}, {1.0499440858006872, 5.592937848127003e-17},
    {1.0556451783605572, 1.759325738772092e-18}, {1.061377227289262, -1.1973537085365658e-17},
    {1.0671404006768237, -7.899853966841582e-17}, {1.0729348675259756, -3.839668843358824e-18},
    {1.0787607977571199, -6.656660436056593e-17}, {1.0846183622133092, 3.166152845816346e-17},
    {1.0905077326652577, -3.046782079812471e-17}, {1.0964290818163769, -5.919933484449316e-17},
    {1.102382583307841, 5.2660368715706944e-17}, {1.1083684117236787, -8.786813845180527e-17},
    {1.1143867425958924, 1.0410278456845571e-16}, {1.1204377524096067, -6.201085906554179e-17},
    {1.1265216186082418, 5.165856758795457e-17}, {1.1326385195987192, 3.237356166738e-17},
    {1.1387886347566916, 8.912812676025408e-17}, {1.1449721444318042, 4.6412898921700107e-17},
    {1.1511892299529827, 3.250710218863827e-17}, {1.1574400736337511, -9.1238712311344e-17},
    {1.1637248587775775, 3.8292048369240935e-17}, {1.1700437696832502, -1.8477442017900047e-18},
    {1.1763969916502812, 5.554203254218079e-17}, {1.182784710984341, 1.542975430079076e-17},
    {1.189207115002721, 3.982015231465646e-17}, {1.1956643920398273, 4.6166036704814814e-17},
    {1.202156731452703, 6.644981499252301e-17}, {1.2086843236265816, -4.746725945228984e-17},
    {1.215247359980469, -7.712630692681488e-17}, {1.2218460329727576, -1.0611021211402691e-16},
    {1.22848053610687, -1.89878163130253e-17}, {1.2351510639369334, -1.0755244344307841e-16},
    {1.241857812073484, 4.658027591836937e-17}, {1.2486009771892048, -8.261810999021964e-17},
    {1.255380757024691, -6.7113898212968784e-18}, {1.2621973503942507, -3.0844648874738465e-17},
    {1.2690509571917332, 2.667932131342186e-18}, {1.275941778396392, 9.91543024421429e-17},
    {1.2828700160787783, 1.713594918243561e-17}, {1.2898358734066657, 8.949257530897592e-17},
    {1.2968395546510096, 2.5382502794888315e-17}, {1.3038812651919358, 8.647675598267871e-17},
    {1.3109612115247644, -7.181536135519454e-17}, {1.318079601266064, -5.4579558271491535e-17},
    {1.3252366431597413, -2.8587312100388614e-17}, {1.3324325470831615, -5.101586630916744e-17},
    {1.339667524053303, 8.927282594831732e-17}, {1.3469417862329458, 3.224065101254679e-17},
    {1.3542555469368927, 7.70094837980299e-17}, {1.3616090206382248, 1.533787661270668e-18},
    {1.3690024229745905, 9.593797919118849e-17}, {1.3764359707545302, -6.898588935871801e-17},
    {1.383909881963832, -6.770511658794786e-17}, {1.3914243757719262, -4.9061748652889893e-17},
    {1.3989796725383112, -9.614213209051323e-17}, {1.4065759938190154, 7.034914812136422e-18},
    {1.4142135623730951, -9.667293313452913e-17}, {1.4218926021691656, -1.6077828915890244e-17},
    {1.42961333839197, -1.2031642489053655e-17}, {1.4373759974489824, -4.2040340164675566e-17},
    {1.4451808069770467, -3.0237581349939873e-17}, {1.4530279958490526, -5.779948609396106e-17},
    {1.460917794180647, -5.600377186075216e-17}, {1.4688504333369818, 8.465882756533628e-17},
    {1.4768261459394993, -3.483994556892796e-17}, {1.4848451658727524, 1.0780086764407481e-16},
    {1.4929077282912648, 1.4192920154284036e-17}, {1.5010140696264256, -6.413767275790235e-17},
    {1.5091644275934228, -1.016455327754295e-16}, {1.5173590411982147, -4.308699472043341e-17},
    {1.5255981507445384, -1.1024941712342561e-16}, {1.533881997840956, 8.875226844438446e-17},
    {1.5422108254079407, 7.949834809697621e-17}, {1.550584877685, -1.4600706590689385e-17},
    {1.559004400237837, 3.7812070533575275e-17}, {1.567469639965553, -1.0352061768849722e-16},
    {1.5759808451078865, -1.0136916471278304e-17}, {1.5845382652524937, -1.9337717034585703e-17},
    {1.593142151342267, -1.0094406542311964e-16}, {1.6017927556826934, -6.054917453527784e-17},
    {1.6104903319492543, 2.4707192569797888e-17}, {1.6192351351948637, 2.0941334154229092e-17},
    {1.6280274218573478, -6.712955084707084e-17}, {1.6368674497669644, 7.698325071319876e-17},
    {1.645755478153965, -1.0125679913674773e-16}, {1.6546917676561943, 9.643294303196029e-17},
    {1.6636765803267364, 5.8909926967131e-17}, {1.6727101796415966, -5.476715964599563e-17},
    {1.681792830507429, 8.199010020581497e-17}, {1.6909247992693053, -9.66967147439488e-17},
    {1.7001063537185235, -8.0237193703977e-18}, {1.709337763100463, -9.868779456632931e-17},
    {1.718619298122478, -1.851380418263111e-17}, {1.7279512309618377, -1.0750981861204642e-16},
    {1.7373338352737062, 3.164389299292957e-17}, {1.746767386199169, -1.0752290483507515e-16},
    {1.7562521603732995, 2.960140695448873e-17}, {1.7657884359332727, 9.461315018083268e-17},
    {1.7753764925265212, 6.429731796556572e-17}, {1.785016611318935, 1.5330400121031314e-17},
    {1.7947090750031072, 1.8227458427912087e-17}, {1.804454167806624, -5.177222408793318e-17},
    {1.8142521755003989, -9.969531538920349e-17}, {1.8241033854070534, -1.0159627862277083e-16},
    {1.8340080864093424, 3.283107224245627e-17}, {1.843966568958626, -5.939742026949965e-17},
    {1.8539791250833855, 9.761887490727594e-17}, {1.864046048397789, 6.540912680620572e-17},
    {1.8741676341103, -6.122763413004143e-17}, {1.8843441790323345, -8.226593125533711e-17},
    {1.8945759815869656, 3.4034035352165297e-17}, {1.9048633418176741, 6.533857514718279e-17},
    {1.9152065613971474, -1.0619946056195963e-16}, {1.925605943636125, -9.914963769693741e-17},
    {1.9360617934922943, 1.0332385960676326e-16}, {1.9465744175792332, 6.811022349533877e-17},
    {1.9571441241754002, 8.960767791036668e-17}, {1.9677712232331759, -1.0314928011531132e-16},
    {1.978456026387951, 4.0388753109278167e-17}, {1.9891988469672663, 8.2051326383692e-18}};

inline double exp_c(double r) {
  const double r2 = r * r;
  return r - r2 * (kP1 + r2 * (kP2 + r2 * (kP3 + r2 * (kP4 + r2 * kP5))));
}
inline int nearest_int(double v) { return static_cast<int>(v + (v < 0.0 ? -0.5 : 0.5)); }

// ---- log ------------------------------------------------------------------------------------------------------------
// Remez coefficients of (log(1+f) - 2s) / s in z = s^2, s = f / (2 + f), on |f| <= sqrt(2) - 1 (fdlibm's).
constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01, kLg3 = 2.857142874366239149e-01,
                 kLg4 = 2.222219843214978396e-01, kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                 kLg7 = 1.479819860511658591e-01;

// log(2^k (1 + f)), f exact in [sqrt(2)/2 - 1, sqrt(2) - 1].
inline double log_kernel(double f, int k) {
  const double s = f / (2.0 + f), z = s * s, w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double r = t2 + t1, hfsq = 0.5 * f * f, dk = k;
  return dk * kLn2Hi - ((hfsq - (s * (hfsq + r) + dk * kLn2Lo)) - f);
}

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

double exp(double x) {
  if (!(abs_of(x) < 708.0)) {  // NaN, infinities, overflow, and results near or below the smallest normal
    if (x != x) return x + x;
    if (x > kExpOverflow) return kInf;
    if (x < kExpUnderflow) return 0.0;
  }
  // k = nearest integer to x 128/ln2 without a branch: adding 1.5 * 2^52 rounds to an integer (round to nearest).
  const double kd = x * k128ByLn2 + kRoundShift;
  const auto k = static_cast<std::int64_t>(bits_of(kd) - bits_of(kRoundShift));
  const double fk = kd - kRoundShift;  // exact
  const double r = (x - fk * kLn2By128Hi) - fk * kLn2By128Lo;  // the first difference is exact
  const double p = r + r * r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120))));
  const double* t = kExp2Table[k & 127];
  const double y = t[0] + (t[1] + t[0] * p);
  return scale(y, static_cast<int>(k >> 7));  // arithmetic shift: floor(k / 128)
}

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
