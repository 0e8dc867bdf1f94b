// Kernels behind alignment and translation: cross products for Procrustes and the
// inverted-softmax normaliser, both streamed through the blocked SIMD micro-kernels.
#pragma once
#include <cstddef>

namespace tokenspace {

/// out (d1 x d2, row-major, double) = (X - x_shift)^T (Y - y_shift) summed over the n rows.
///
/// @param x        n x d1 row-major (row stride ldx)
/// @param y        n x d2 row-major (row stride ldy)
/// @param x_shift  d1 values subtracted from every row of X (e.g. the column means), may be null
/// @param y_shift  d2 values subtracted from every row of Y, may be null
/// @param out      d1 x d2 doubles
/// @param sxx,syy  squared Frobenius norms of the shifted X and Y (may be null)
/// Rows are cut into blocks; each block's product runs in float32 on the GEMM micro-kernel
/// and is added into per-thread double accumulators, so the error does not grow with n.
void cross_gram(const float* x, std::size_t n, std::size_t ldx, std::size_t d1, const float* y,
                std::size_t ldy, std::size_t d2, const float* x_shift, const float* y_shift,
                double* out, double* sxx, double* syy);

/// Column means of x (n x d, row stride ldx) accumulated in double.
void column_means(const float* x, std::size_t n, std::size_t ldx, std::size_t d, double* out);

/// out[i] = log sum_j exp(beta * <t_i, s_j>) for every target row t_i (m x d) over all source
/// rows s_j (n x d): the normaliser of the inverted softmax (Smith et al. 2017).
/// The sum is taken as exp(beta c_i) * sum_j exp(beta (<t_i, s_j> - c_i)) with c_i = row_max[i]
/// (the row's largest inner product) or 1 when row_max is null (enough for unit rows and
/// beta <= 43; terms below 2^-126 are flushed to zero, so a row may come out as -inf otherwise).
/// beta must be in (0, 1000]. Never materialises the m x n matrix.
void softmax_log_normalizer(const float* t, std::size_t m, std::size_t ldt, const float* s,
                            std::size_t n, std::size_t lds, std::size_t d, float beta,
                            const float* row_max, double* out);

}  // namespace tokenspace
