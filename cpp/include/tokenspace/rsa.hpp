// Representational similarity analysis at vocabulary scale: correlations between the upper
// triangles (i < j) of two items x items similarity matrices, streamed tile by tile so that
// no n x n matrix is ever built.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tokenspace {

/// Statistics of the pairs (x_p, y_p), p over the upper triangle i < j, where
/// x_p = <X_i, X_j> and y_p = <Y_i, Y_j> are computed in float32 by the GEMM micro-kernels.
/// Sums are taken in float64 around a shift (an estimate of the means) with compensated
/// (Neumaier) merging of per-row partial sums, so 465M pairs keep ~15 significant digits.
struct TriangleMoments {
  std::uint64_t n_pairs = 0;
  double mean_x = 0, mean_y = 0;
  double var_x = 0, var_y = 0;                        ///< population variances (divided by n_pairs)
  double cov = 0;                                     ///< population covariance
  double min_x = 0, max_x = 0, min_y = 0, max_y = 0;  ///< extremes (exactly equal: constant side)
  double pearson = 0;  ///< cov / sqrt(var_x var_y); NaN if a variance is 0
  double cosine = 0;   ///< sum x y / sqrt(sum x^2 sum y^2) (uncentred); NaN if a side is 0
};

/// Pearson statistics of the two triangles.
///
/// @param x  n x dx row-major (unit rows for cosine RSA; any finite rows for dot products)
/// @param y  n x dy row-major, the same n items in the same order
/// Multithreaded (parallel_for); memory: packed copies of x and y plus small per-thread tiles.
TriangleMoments rsa_pearson(const float* x, std::size_t dx, const float* y, std::size_t dy,
                            std::size_t n);

/// Exact Spearman correlation of the two triangles (ties get their average rank).
struct SpearmanResult {
  TriangleMoments moments;  ///< the Pearson statistics of the raw values, computed on the way
  double spearman = 0;      ///< Pearson correlation of the ranks; NaN if all values of a side tie
};

/// Exact Spearman of the two triangles.
///
/// Ranks are found by a two-level counting sort on the order-preserving 32-bit key of each
/// float32 similarity (top 16 bits = bucket, low 16 bits counted inside the bucket); -0 and +0
/// tie. Rank sums are exact integers (128-bit), so only the final division rounds.
/// Memory: 10 bytes per pair (bucketed pair ids + low key bits 6 B, ranks of x 4 B), e.g.
/// 4.66 GB at n = 30522; with @p store_values the two triangles are also kept as float32
/// (+8 bytes per pair) instead of being recomputed, which is faster for small n.
/// Requires n_pairs < 2^31 (n <= 65536). Throws std::bad_alloc if memory runs out.
SpearmanResult rsa_spearman(const float* x, std::size_t dx, const float* y, std::size_t dy,
                            std::size_t n, bool store_values);

/// Writes the upper triangle (k = 1, row-major order: (0,1), (0,2), ..., (n-2,n-1)) of
/// x x^T to out (n (n - 1) / 2 floats), computed by the same tiles as rsa_pearson.
void similarity_triangle(const float* x, std::size_t d, std::size_t n, float* out);

/// The cross term of a permutation test on stored triangles: for each of the n_perms
/// permutations perm_k (row k of perms, n entries, a permutation of 0..n-1),
/// out[k] = sum over i < j of a[(i, j)] * b[(perm_k[i], perm_k[j])], where (u, v) is the
/// row-major upper-triangle position of the unordered pair (both triangles hold
/// n (n - 1) / 2 values, k = 1 order as similarity_triangle). Pass centred values (or centred
/// ranks) to keep the float64 sums free of cancellation. Permutations run in parallel; each
/// sum is compensated. Throws std::invalid_argument on an out-of-range permutation entry.
void rsa_permuted_cross(const double* a, const double* b, std::size_t n, const std::int64_t* perms,
                        std::size_t n_perms, double* out);

/// Number of pairs i < j of n items.
inline std::uint64_t n_triangle_pairs(std::size_t n) {
  return n < 2 ? 0 : static_cast<std::uint64_t>(n) * (n - 1) / 2;
}

}  // namespace tokenspace
