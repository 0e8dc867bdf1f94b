// Exact k-nearest-neighbour search fused with the similarity computation.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tokenspace {

/// How candidates are scored; larger score = nearer.
enum class Metric : int {
  InnerProduct = 0,  ///< <q, x> (cosine when both sides are unit rows)
  L2 = 1,            ///< squared Euclidean distance, reported as distance (ascending)
};

/// Exact top-k of every query row against every database row.
///
/// @param queries   m x d row-major (row stride ldq)
/// @param base      n x d row-major (row stride ldb)
/// @param k         1 <= k <= n - n_exclude
/// @param row_bias  optional n values added to every score of row j (InnerProduct only), e.g.
///                  -r(y)/2 for CSLS or -|x|^2/2 for Euclidean; may be null
/// @param exclude   m x n_exclude ids to skip per query (-1 = no id), may be null
/// @param out_idx   m x k ids, best first; ties broken by lower id
/// @param out_score m x k scores (inner products, or Euclidean distances for L2)
/// Never materialises the m x n matrix: blocked GEMM tiles feed a SIMD-filtered top-k.
void knn_search(const float* queries, std::size_t m, std::size_t ldq, const float* base,
                std::size_t n, std::size_t ldb, std::size_t d, std::size_t k, Metric metric,
                const float* row_bias, const std::int64_t* exclude, std::size_t n_exclude, std::int64_t* out_idx,
                float* out_score);

/// Writes the unit-length copy of each row of x (n x d) to out (n x d) and each norm to norms
/// (may be null). Rows of norm 0 stay 0.
void normalize_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d, float* out,
                    float* norms);

/// Index of the first row containing NaN or +-Inf, or -1 if all values are finite.
std::int64_t first_nonfinite_row(const float* x, std::size_t n, std::size_t ldx, std::size_t d);

}  // namespace tokenspace
