#pragma once
// Packed symmetric matrices and their Cholesky factors: the per-series penalised Gram matrices of the `gam`
// detector (a series with gaps, bisquare, the rolling schedule). For p of a few dozen, Eigen's LLT and
// triangular solves spend much of their time setting up tiny blocks; these run over contiguous memory. Compiled
// for AVX2 and the baseline without FMA (see core/kernels.hpp): the same rounding everywhere, since the order of
// every sum is fixed by the code, not by the vector width.
#include <cstdint>

namespace meterbench {

/// The lower triangle is stored column by column (rows j..p-1 of column j, as GamDesign::prefix_cross_product),
/// which is the upper triangle row by row: every loop runs over contiguous memory. Start of column j:
inline std::int64_t gam_packed_offset(std::int64_t p, std::int64_t j) { return j * p - j * (j - 1) / 2; }
/// In place: the packed lower triangle of a symmetric positive definite A becomes its Cholesky factor L (A = L L'),
/// and inv_diag[j] = 1 / L(j, j). Returns -1, or the column whose pivot is not positive.
int gam_packed_cholesky(double* a, std::int64_t p, double* inv_diag);
/// x <- A^-1 x from gam_packed_cholesky's factor: L y = x (forward, axpys along columns of L), then L' x = y
/// (backward, dot products along them, in four fixed lanes).
void gam_packed_solve(const double* factor, const double* inv_diag, std::int64_t p, double* x);
/// A += sign x_r x_r' for the rows r = rows[0, count) of the row-major matrix x (p columns), in that order: four
/// rows per pass over A, each entry adding them one after the other (as one row per pass would).
void gam_packed_rank_update(double* a, std::int64_t p, const double* x, const std::int64_t* rows, std::int64_t count,
                            double sign);
/// y = A x for a packed symmetric A.
void gam_packed_symv(const double* a, std::int64_t p, const double* x, double* y);

}  // namespace meterbench
