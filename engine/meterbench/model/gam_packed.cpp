#include "meterbench/model/gam_packed.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "meterbench/core/kernels.hpp"

namespace meterbench {

// Left-looking: each pair of columns (j, j + 1) is updated by four earlier columns per pass (their rows loaded
// once for both targets), so that a value of the target is loaded and stored once per four updates. Every entry
// still subtracts its updates one by one in column order, as the textbook loop does.
[[gnu::always_inline]] inline int gam_packed_cholesky_body(double* __restrict a, std::int64_t p,
    double* __restrict inv_diag) {
  std::int64_t j = 0;
  const auto finish = [&](std::int64_t c) -> bool {
    double* cj = a + gam_packed_offset(p, c);
    const double d = cj[0];
    if (!(d > 0.0)) return false;
    const double r = std::sqrt(d), inv = 1.0 / r;
    cj[0] = r; inv_diag[c] = inv;
    for (std::int64_t i = 1; i < p - c; ++i) cj[i] *= inv;
    return true;
  };
  for (; j + 2 <= p; j += 2) {
    double* __restrict t0 = a + gam_packed_offset(p, j);            // t0[r] = A(j + r, j)
    double* __restrict t1 = a + gam_packed_offset(p, j + 1) - 1;    // t1[r] = A(j + r, j + 1), r >= 1
    const std::int64_t len = p - j;
    std::int64_t k = 0;
    for (; k + 4 <= j; k += 4) {
      const double* c0 = a + gam_packed_offset(p, k) + (j - k);       // c0[r] = L(j + r, k)
      const double* c1 = a + gam_packed_offset(p, k + 1) + (j - k - 1);
      const double* c2 = a + gam_packed_offset(p, k + 2) + (j - k - 2);
      const double* c3 = a + gam_packed_offset(p, k + 3) + (j - k - 3);
      const double f0 = c0[0], f1 = c1[0], f2 = c2[0], f3 = c3[0];
      const double g0 = c0[1], g1 = c1[1], g2 = c2[1], g3 = c3[1];
      t0[0] = (((t0[0] - f0 * c0[0]) - f1 * c1[0]) - f2 * c2[0]) - f3 * c3[0];
      for (std::int64_t r = 1; r < len; ++r) {
        const double a0 = c0[r], a1 = c1[r], a2 = c2[r], a3 = c3[r];
        t0[r] = (((t0[r] - f0 * a0) - f1 * a1) - f2 * a2) - f3 * a3;
        t1[r] = (((t1[r] - g0 * a0) - g1 * a1) - g2 * a2) - g3 * a3;
      }
    }
    for (; k < j; ++k) {
      const double* c0 = a + gam_packed_offset(p, k) + (j - k);
      const double f0 = c0[0], g0 = c0[1];
      t0[0] -= f0 * c0[0];
      for (std::int64_t r = 1; r < len; ++r) {
        t0[r] -= f0 * c0[r];
        t1[r] -= g0 * c0[r];
      }
    }
    if (!finish(j)) return static_cast<int>(j);
    const double g = t0[1];
    for (std::int64_t r = 1; r < len; ++r) t1[r] -= g * t0[r];
    if (!finish(j + 1)) return static_cast<int>(j + 1);
  }
  for (; j < p; ++j) {
    double* cj = a + gam_packed_offset(p, j);
    const std::int64_t len = p - j;
    std::int64_t k = 0;
    for (; k + 4 <= j; k += 4) {
      const double* c0 = a + gam_packed_offset(p, k) + (j - k);
      const double* c1 = a + gam_packed_offset(p, k + 1) + (j - k - 1);
      const double* c2 = a + gam_packed_offset(p, k + 2) + (j - k - 2);
      const double* c3 = a + gam_packed_offset(p, k + 3) + (j - k - 3);
      const double f0 = c0[0], f1 = c1[0], f2 = c2[0], f3 = c3[0];
      for (std::int64_t i = 0; i < len; ++i) cj[i] = (((cj[i] - f0 * c0[i]) - f1 * c1[i]) - f2 * c2[i]) - f3 * c3[i];
    }
    for (; k < j; ++k) {
      const double* c0 = a + gam_packed_offset(p, k) + (j - k);
      const double f0 = c0[0];
      for (std::int64_t i = 0; i < len; ++i) cj[i] -= f0 * c0[i];
    }
    if (!finish(j)) return static_cast<int>(j);
  }
  return -1;
}
__attribute__((target("avx2"))) int gam_packed_cholesky_avx2(double* __restrict a, std::int64_t p,
    double* __restrict inv_diag) {
  return gam_packed_cholesky_body(a, p, inv_diag);
}
int gam_packed_cholesky_baseline(double* __restrict a, std::int64_t p, double* __restrict inv_diag) {
  return gam_packed_cholesky_body(a, p, inv_diag);
}
int gam_packed_cholesky(double* __restrict a, std::int64_t p, double* __restrict inv_diag) {
  return kernels::use_avx2() ? gam_packed_cholesky_avx2(a, p, inv_diag) : gam_packed_cholesky_baseline(a, p, inv_diag);
}

// Forward: four columns of L per pass (the four unknowns resolved first). Backward: blocks of four unknowns,
// whose four dot products with the already solved part share its loads (four fixed lanes each), then the 4 x 4
// triangle. A solve is a chain of dependent steps; blocking shortens the chain fourfold.
[[gnu::always_inline]] inline void gam_packed_solve_body(const double* __restrict factor,
    const double* __restrict inv_diag, std::int64_t p, double* __restrict x) {
  std::int64_t k = 0;
  for (; k + 4 <= p; k += 4) {
    const double* c0 = factor + gam_packed_offset(p, k);
    const double* c1 = factor + gam_packed_offset(p, k + 1) - 1;
    const double* c2 = factor + gam_packed_offset(p, k + 2) - 2;
    const double* c3 = factor + gam_packed_offset(p, k + 3) - 3;
    const double y0 = x[k] * inv_diag[k];
    const double y1 = (x[k + 1] - y0 * c0[1]) * inv_diag[k + 1];
    const double y2 = ((x[k + 2] - y0 * c0[2]) - y1 * c1[2]) * inv_diag[k + 2];
    const double y3 = (((x[k + 3] - y0 * c0[3]) - y1 * c1[3]) - y2 * c2[3]) * inv_diag[k + 3];
    x[k] = y0; x[k + 1] = y1; x[k + 2] = y2; x[k + 3] = y3;
    double* xr = x + k;
    for (std::int64_t r = 4; r < p - k; ++r) xr[r] = (((xr[r] - y0 * c0[r]) - y1 * c1[r]) - y2 * c2[r]) - y3 * c3[r];
  }
  for (; k < p; ++k) {
    const double* lk = factor + gam_packed_offset(p, k);
    const double yk = x[k] * inv_diag[k];
    x[k] = yk;
    for (std::int64_t j = 1; j < p - k; ++j) x[k + j] -= yk * lk[j];
  }
  // Backward: the last p % 4 unknowns one by one, then blocks [b, b + 4) downward.
  std::int64_t b = p - p % 4;
  for (std::int64_t k2 = p; k2-- > b;) {
    const double* lk = factor + gam_packed_offset(p, k2);
    double s = 0.0;
    for (std::int64_t r = k2 + 1; r < p; ++r) s += lk[r - k2] * x[r];
    x[k2] = (x[k2] - s) * inv_diag[k2];
  }
  for (; b > 0; b -= 4) {
    const std::int64_t k0 = b - 4;
    const double* c0 = factor + gam_packed_offset(p, k0) - k0;  // c_l[r] = L(r, k0 + l)
    const double* c1 = factor + gam_packed_offset(p, k0 + 1) - k0 - 1;
    const double* c2 = factor + gam_packed_offset(p, k0 + 2) - k0 - 2;
    const double* c3 = factor + gam_packed_offset(p, k0 + 3) - k0 - 3;
    std::array<double, 4> s0{}, s1{}, s2{}, s3{};
    // Oldest unknowns first and the block just solved last: the sums need its values only at their end, so
    // most of their work overlaps its solution (unlike in row order).
    std::int64_t r = p;
    for (; r - 4 >= b; r -= 4)
      for (int l = 0; l < 4; ++l) {
        const double xv = x[r - 4 + l];
        s0[l] += c0[r - 4 + l] * xv;
        s1[l] += c1[r - 4 + l] * xv;
        s2[l] += c2[r - 4 + l] * xv;
        s3[l] += c3[r - 4 + l] * xv;
      }
    for (int l = 0; r > b; ++l) {
      --r;
      const double xv = x[r];
      s0[l] += c0[r] * xv;
      s1[l] += c1[r] * xv;
      s2[l] += c2[r] * xv;
      s3[l] += c3[r] * xv;
    }
    const auto sum = [](const std::array<double, 4>& s) { return (s[0] + s[1]) + (s[2] + s[3]); };
    const double x3 = (x[k0 + 3] - sum(s3)) * inv_diag[k0 + 3];
    const double x2 = ((x[k0 + 2] - sum(s2)) - c2[k0 + 3] * x3) * inv_diag[k0 + 2];
    const double x1 = (((x[k0 + 1] - sum(s1)) - c1[k0 + 3] * x3) - c1[k0 + 2] * x2) * inv_diag[k0 + 1];
    const double x0 = ((((x[k0] - sum(s0)) - c0[k0 + 3] * x3) - c0[k0 + 2] * x2) - c0[k0 + 1] * x1) * inv_diag[k0];
    x[k0] = x0; x[k0 + 1] = x1; x[k0 + 2] = x2; x[k0 + 3] = x3;
  }
}
__attribute__((target("avx2"))) void gam_packed_solve_avx2(const double* __restrict factor,
    const double* __restrict inv_diag, std::int64_t p, double* __restrict x) {
  gam_packed_solve_body(factor, inv_diag, p, x);
}
void gam_packed_solve_baseline(const double* __restrict factor, const double* __restrict inv_diag, std::int64_t p,
    double* __restrict x) {
  gam_packed_solve_body(factor, inv_diag, p, x);
}
void gam_packed_solve(const double* __restrict factor, const double* __restrict inv_diag, std::int64_t p,
    double* __restrict x) {
  kernels::use_avx2() ? gam_packed_solve_avx2(factor, inv_diag, p, x)
      : gam_packed_solve_baseline(factor, inv_diag, p, x);
}

namespace {

[[gnu::always_inline]] inline void rank_update_body(double* __restrict a, std::int64_t p, const double* __restrict x,
    const std::int64_t* rows, std::int64_t count, double sign) {
  std::int64_t k = 0;
  for (; k + 4 <= count; k += 4) {
    const double *x0 = x + rows[k] * p, *x1 = x + rows[k + 1] * p, *x2 = x + rows[k + 2] * p, *x3 = x + rows[k + 3] * p;
    double* col = a;
    for (std::int64_t j = 0; j < p; ++j) {
      const double f0 = sign * x0[j], f1 = sign * x1[j], f2 = sign * x2[j], f3 = sign * x3[j];
      for (std::int64_t i = 0; i < p - j; ++i)
        col[i] = (((col[i] + f0 * x0[j + i]) + f1 * x1[j + i]) + f2 * x2[j + i]) + f3 * x3[j + i];
      col += p - j;
    }
  }
  for (; k < count; ++k) {
    const double* x0 = x + rows[k] * p;
    double* col = a;
    for (std::int64_t j = 0; j < p; ++j) {
      const double f0 = sign * x0[j];
      for (std::int64_t i = 0; i < p - j; ++i) col[i] += f0 * x0[j + i];
      col += p - j;
    }
  }
}
__attribute__((target("avx2"))) void rank_update_avx2(double* a, std::int64_t p, const double* x,
    const std::int64_t* rows, std::int64_t count, double sign) {
  rank_update_body(a, p, x, rows, count, sign);
}
void rank_update_baseline(double* a, std::int64_t p, const double* x, const std::int64_t* rows, std::int64_t count,
    double sign) {
  rank_update_body(a, p, x, rows, count, sign);
}

}  // namespace

void gam_packed_rank_update(double* a, std::int64_t p, const double* x, const std::int64_t* rows, std::int64_t count,
                            double sign) {
  kernels::use_avx2() ? rank_update_avx2(a, p, x, rows, count, sign) : rank_update_baseline(a, p, x, rows, count, sign);
}

void gam_packed_symv(const double* a, std::int64_t p, const double* x, double* y) {
  std::fill_n(y, p, 0.0);
  for (std::int64_t j = 0; j < p; ++j) {
    const double* aj = a + gam_packed_offset(p, j);
    double s = aj[0] * x[j];
    for (std::int64_t i = 1; i < p - j; ++i) {
      y[j + i] += aj[i] * x[j];
      s += aj[i] * x[j + i];
    }
    y[j] += s;
  }
}

}  // namespace meterbench
