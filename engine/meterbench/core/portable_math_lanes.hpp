#pragma once
// Branch-free forms of pmath::exp and pmath::log1p (x >= 0) for loops over arrays: the same bits as the scalar
// functions (tests/core/portable_math_test.cpp checks it), with no call and no branch, so that a kernel compiled
// for AVX2 and for the baseline (core/kernels.hpp) vectorises them and still computes what pmath computes.
// Both functions and pmath's share the tables and kernels below: one definition of each method.
#include <bit>
#include <cstdint>
#include <limits>

namespace meterbench::pmath::lanes {
namespace detail {

// ln2 in two parts: kLn2Hi has 32 significant bits, so k * kLn2Hi is exact for |k| < 2^21.
inline constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;

// exp by table: x = (128 m + j) ln2/128 + r, |r| <= ln2/256; exp(x) = 2^m 2^(j/128) exp(r). 2^(j/128) as a
// double-double (hi, lo) generated with mpmath at 200 bits; ln2/128 in two parts, the first with 35 significant
// bits so that k * kLn2By128Hi is exact for |k| < 2^18; exp(r) - 1 by its Taylor polynomial to r^5 (error < 6e-19).
inline constexpr double kLn2By128Hi = 0.005415212347998022, kLn2By128Lo = 1.2655086083325438e-13;
inline constexpr double k128ByLn2 = 184.6649652337873;
inline constexpr double kRoundShift = 0x1.8p52;
inline constexpr double kExp2Table[128][2] = {
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


// Remez coefficients of (log(1+f) - 2s) / s in z = s^2, s = f / (2 + f), on |f| <= sqrt(2) - 1 (fdlibm's).
inline constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01, kLg3 = 2.857142874366239149e-01,
                 kLg4 = 2.222219843214978396e-01, kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                 kLg7 = 1.479819860511658591e-01;

// log(2^dk (1 + f)), dk an integer, f exact in [sqrt(2)/2 - 1, sqrt(2) - 1].
[[gnu::always_inline]] inline double log_kernel(double f, double dk) {
  const double s = f / (2.0 + f), z = s * s, w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double r = t2 + t1, hfsq = 0.5 * f * f;
  return dk * kLn2Hi - ((hfsq - (s * (hfsq + r) + dk * kLn2Lo)) - f);
}


[[gnu::always_inline]] inline double double_from_bits(std::uint64_t b) { return std::bit_cast<double>(b); }
[[gnu::always_inline]] inline std::uint64_t bits_of_double(double x) { return std::bit_cast<std::uint64_t>(x); }

}  // namespace detail

/// pmath::exp(x) for every x (NaN, infinities, overflow and subnormal results included), without a branch:
/// 2^m is applied as 2^floor(m/2) 2^(m - floor(m/2)), the first product exact, so a subnormal result is rounded
/// once, as pmath::exp's scale() rounds it.
[[gnu::always_inline]] inline double exp(double x) {
  using namespace detail;
  constexpr double kOverflow = 7.09782712893383973096e+02, kUnderflow = -7.45133219101941108420e+02;
  // Outside [kUnderflow, kOverflow] (and for NaN) the steps below compute garbage, in range (the table index is
  // 7 bits), and the last select replaces it.
  const double kd = x * k128ByLn2 + kRoundShift;
  // In range, k + 2048 * 128 >= 0: unsigned shifts give floor(k / 128) + 2048 and k mod 128.
  const std::uint64_t kb = bits_of_double(kd) - bits_of_double(kRoundShift) + (std::uint64_t{2048} << 7);
  const double fk = kd - kRoundShift;  // exact
  const double r = (x - fk * kLn2By128Hi) - fk * kLn2By128Lo;  // the first difference is exact
  const double p = r + r * r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120))));
  const std::uint64_t j = kb & 127;
  const double hi = kExp2Table[j][0], lo = kExp2Table[j][1];
  const double y = hi + (lo + hi * p);
  const std::uint64_t mb = kb >> 7, half = mb >> 1;  // m + 2048, floor(m / 2) + 1024
  const double e = y * double_from_bits((half - 1) << 52) * double_from_bits((mb - half - 1) << 52);
  // Every value computed and then selected (& rather than &&): a branch or a conditional operation keeps the
  // loop from vectorising.
  const double twice = x + x;
  const double special = x > kOverflow ? std::numeric_limits<double>::infinity() : (x < kUnderflow ? 0.0 : twice);
  const bool in_range = (x >= kUnderflow) & (x <= kOverflow);
  return in_range ? e : special;
}

/// pmath::log1p(x) for x >= 0 (and -0, +inf, NaN), without a branch.
[[gnu::always_inline]] inline double log1p_nonnegative(double x) {
  using namespace detail;
  const double u = 1.0 + x;
  // The rounding error of 1 + x (Fast2Sum), carried as log(u + c) = log(u) + c / u.
  const double c_small = x - (u - 1.0), c_large = 1.0 - (u - x);
  const double c = x <= 1.0 ? c_small : c_large;
  // log(u), u >= 1 normal: 1.m >= sqrt(2) carries into the exponent, leaving 1.m / 2 in [sqrt(2)/2, 1).
  const std::uint64_t tb = bits_of_double(u) + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
  const double dk = double_from_bits(0x4330000000000000ULL + (tb >> 52)) - (0x1p52 + 1023.0);  // exact: (tb >> 52) - 1023
  const double f = double_from_bits((tb & 0x000fffffffffffffULL) + 0x3fe6a09e667f3bcdULL) - 1.0;  // exact
  const double result = log_kernel(f, dk) + c / u;
  const double twice = x + x;
  const bool passes = (x == std::numeric_limits<double>::infinity()) | (x != x) | (x == 0.0);  // -0 stays -0
  return passes ? twice : result;
}

}  // namespace meterbench::pmath::lanes
