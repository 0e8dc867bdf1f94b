// Dense similarity matrices through the blocked GEMM micro-kernels.
#pragma once
#include <cstddef>

namespace tokenspace {

/// out (m x n, row stride ldo) = A B^T for A (m x d) and B (n x d), both row-major.
/// Cosine similarity when the caller passes unit rows (see normalize_rows). When b is a
/// (same pointer, m == n, lda == ldb) only the upper triangle is computed and mirrored.
/// clamp_unit clips every entry to [-1, 1] as it is stored (cosines of unit rows: float32
/// rounding can otherwise give 1.0000001, and arccos of that is NaN).
/// unit_rows normalises the rows of A and B as they are packed (zero rows stay zero): the
/// result is bitwise the product of normalize_rows' outputs, without those copies.
void gram_matrix(const float* a, std::size_t m, std::size_t lda, const float* b, std::size_t n,
                 std::size_t ldb, std::size_t d, float* out, std::size_t ldo,
                 bool clamp_unit = false, bool unit_rows = false);

}  // namespace tokenspace
