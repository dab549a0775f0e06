#pragma once
// Instruction-set dispatch of the vectorised kernels (model/gam_kernels.cpp, model/gam_packed.cpp).
//
// Each kernel's body is written once (an always_inline function) and compiled twice: in a wrapper with
// __attribute__((target("avx2"))) and in a baseline (x86-64) wrapper. The level is chosen once, at the first call:
// AVX2 when the CPU has it, unless the environment says METERBENCH_KERNELS=baseline (or avx2, or auto). Both
// variants compute the same bits: neither contracts a multiply-add (-ffp-contract=off, and target("avx2") does not
// enable FMA), and the vectoriser may not reorder floating-point sums without -ffast-math;
// tests/model/kernel_variants_test.cpp checks it on every kernel. force_level() is for tests and benchmarks.
#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace meterbench::kernels {

// Four doubles as one vector (GCC's vector extension): element-wise operations, so a sum kept in four lanes rounds
// the same in the AVX2 build (one register) and the baseline one (two halves). The helpers are always inlined, so
// the vector-passing ABI that GCC warns about (-Wpsabi) never applies.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
using Lanes4 = double __attribute__((vector_size(32)));
[[gnu::always_inline]] inline Lanes4 load4(const double* p) {
  Lanes4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store4(double* p, const Lanes4& v) { std::memcpy(p, &v, sizeof v); }
/// The lanes' total, as (0 + 1) + (2 + 3).
[[gnu::always_inline]] inline double lanes_total(const Lanes4& lane) { return (lane[0] + lane[1]) + (lane[2] + lane[3]); }
#pragma GCC diagnostic pop

/// For each 8-bit mask: the lanes whose bit is set, in order, then the rest (a left-pack permutation for
/// _mm256_permutevar8x32), and how many bits are set.
struct LeftPack {
  std::array<std::array<std::uint32_t, 8>, 256> lanes{};
  std::array<std::uint8_t, 256> count{};
  constexpr LeftPack() {
    for (unsigned mask = 0; mask < 256; ++mask) {
      unsigned k = 0;
      for (unsigned lane = 0; lane < 8; ++lane)
        if ((mask >> lane) & 1U) lanes[mask][k++] = lane;
      count[mask] = static_cast<std::uint8_t>(k);
      for (unsigned lane = 0; k < 8; ++lane)
        if (!((mask >> lane) & 1U)) lanes[mask][k++] = lane;
    }
  }
};
inline constexpr LeftPack kLeftPack{};

enum class Level { baseline, avx2 };

/// The level in use (decided at the first call from METERBENCH_KERNELS and the CPU).
Level active_level();
/// True when the AVX2 variants run.
inline bool use_avx2() { return active_level() == Level::avx2; }
/// Whether this CPU can run `level`.
bool supported(Level level);
/// Forces a level (AVX2 on a CPU without it falls back to baseline); returns the previous level.
Level force_level(Level level);
/// "baseline" or "avx2".
std::string_view name(Level level);

}  // namespace meterbench::kernels
