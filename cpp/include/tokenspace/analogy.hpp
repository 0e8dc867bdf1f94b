// Analogy search (3CosAdd, 3CosMul) fused with the similarity computation.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tokenspace {

class KnnDatabase;

/// How an analogy query combines the cosines of its terms with a candidate row.
enum class AnalogyMode : int {
  Linear = 0,  ///< sum_t w_t <t, x>: 3CosAdd up to the positive factor 1 / |sum_t w_t t|
  CosMul = 1,  ///< prod_pos (1 + <t, x>)/2 / (prod_neg (1 + <t, x>)/2 + eps): 3CosMul
};

/// Exact top-k of m analogy queries over n database rows, fused with the similarity
/// computation (the m x n score matrix is never materialised).
///
/// Queries share their terms: `terms` holds the u distinct term vectors and query i uses rows
/// qterms[i*T .. i*T+T) of it (for CosMul the first n_pos are positive). The batched path
/// computes one GEMM tile of all u terms against a block of database rows, then combines each
/// query's T rows of that tile and feeds the filtered top-k: the GEMM costs u*n*d instead of
/// m*T*n*d (an analogy test set has ~900 distinct words for ~20k questions).
///
/// @param terms     u x d row-major, contiguous (unit rows for cosine semantics)
/// @param qterms    m x T indices into terms
/// @param weights   T weights (Linear mode only; may be null for CosMul)
/// @param cos_slack CosMul only: a bound on |computed - exact cosine| for every (term, row);
///                  when > 0 the scores (ranking and output) are upper bounds of the exact
///                  objective (see combine_cosmul), which lets the caller certify the top-k
/// @param base      n x d row-major (row stride ldb)
/// @param k         1 <= k <= n
/// @param exclude   m x n_exclude ids to skip per query (-1 = no id), may be null
/// @param out_idx   m x k ids, best first; ties broken by lower id; -1 past the candidates
/// @param out_score m x k combined scores (-inf past the candidates)
/// @param db        optional: the KnnDatabase of base itself (same buffer). Fewer than 4
///                  CosMul queries with cos_slack > 0 then filter on its int8 copy, if it has
///                  one, and refine the survivors in fp32: the same upper bounds, a quarter of
///                  the bytes read
void analogy_search(const float* terms, std::size_t u, const std::int64_t* qterms, std::size_t m,
                    std::size_t T, AnalogyMode mode, const float* weights, std::size_t n_pos,
                    float eps, float cos_slack, const float* base, std::size_t n, std::size_t ldb,
                    std::size_t d, std::size_t k, const std::int64_t* exclude,
                    std::size_t n_exclude, std::int64_t* out_idx, float* out_score,
                    const KnnDatabase* db = nullptr);

}  // namespace tokenspace
