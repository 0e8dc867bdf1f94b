// Analogy search (3CosMul) and one-pass projections of a whole vocabulary.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tokenspace {

/// Exact top-k of Levy & Goldberg's 3CosMul objective for m queries, fused with the similarity
/// computation (the m x n score matrix is never materialised).
///
/// Query i owns the n_pos + n_neg consecutive rows of `terms` starting at i * (n_pos + n_neg):
/// first its positive terms, then its negative ones. For every database row x_j
///   score = prod_pos (1 + <t, x_j>) / 2  /  (prod_neg (1 + <t, x_j>) / 2 + eps)
/// which is the 3CosMul score when terms and base rows are unit vectors.
///
/// @param terms     (m * (n_pos + n_neg)) x d row-major, contiguous
/// @param base      n x d row-major (row stride ldb)
/// @param k         1 <= k <= n
/// @param exclude   m x n_exclude ids to skip per query (-1 = no id), may be null
/// @param out_idx   m x k ids, best first; ties broken by lower id; -1 past the candidates
/// @param out_score m x k scores (-inf past the candidates)
void cosmul_search(const float* terms, std::size_t m, std::size_t n_pos, std::size_t n_neg,
                   const float* base, std::size_t n, std::size_t ldb, std::size_t d,
                   std::size_t k, float eps, const std::int64_t* exclude, std::size_t n_exclude,
                   std::int64_t* out_idx, float* out_score);

/// out[j] = <x_j, axis> - offset for the n rows of x (row stride ldx), multithreaded.
/// With offset = <center, axis> this is the projection of x_j - center onto axis; one
/// streaming pass over x (memory-bandwidth bound).
void project_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d,
                  const float* axis, float offset, float* out);

}  // namespace tokenspace
