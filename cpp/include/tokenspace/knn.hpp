// Exact k-nearest-neighbour search fused with the similarity computation.
//
// Every search runs in two stages. A candidate stage scores all pairs quickly (fp32 SIMD tiles,
// or bf16 on CPUs with AVX-512 BF16) together with a proven bound eps on the difference between
// each approximate score and the exact one; it keeps every row whose score could still reach the
// exact top-k (approximate score >= k-th best approximate score - 2 eps). The survivors are then
// re-scored in double precision (products of floats are exact in double) and the top-k of those
// exact scores is returned, ties to the lower id. So the answer does not depend on the candidate
// precision, the SIMD level or the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tokenspace {

/// How candidates are scored; larger score = nearer.
enum class Metric : int {
  InnerProduct = 0,  ///< <q, x> (+ row bias) (cosine when both sides are unit rows)
  L2 = 1,            ///< Euclidean distance, reported as distance (ascending)
};

/// Precision of the candidate stage; results are exact either way.
enum class Precision : int {
  Auto = 0,  ///< bf16 when the active SIMD level has it and the database has a bf16 copy
  FP32 = 1,
  BF16 = 2,
};

/// A database prepared for repeated searches: borrowed fp32 rows (the caller keeps them alive)
/// plus derived data reused across calls (a bound on the row norms, an optional bf16 copy).
class KnnDatabase {
 public:
  KnnDatabase(const float* x, std::size_t n, std::size_t ldx, std::size_t d);
  /// Builds the bf16 copy (rows padded to a multiple of 32 values) and its error statistics.
  void prepare_bf16();
  bool has_bf16() const { return !bf16_.empty(); }

  const float* x() const { return x_; }
  std::size_t n() const { return n_; }
  std::size_t ldx() const { return ldx_; }
  std::size_t d() const { return d_; }
  double max_norm() const { return max_norm_; }
  const std::uint16_t* bf16() const { return bf16_.data(); }
  std::size_t bf16_dim() const { return dp_; }
  double bf16_max_norm() const { return bf16_max_norm_; }
  double bf16_max_error() const { return bf16_max_err_; }

 private:
  const float* x_;
  std::size_t n_, ldx_, d_;
  double max_norm_ = 0;
  std::vector<std::uint16_t> bf16_;
  std::size_t dp_ = 0;
  double bf16_max_norm_ = 0, bf16_max_err_ = 0;
};

/// Exact top-k of every query row against every database row.
///
/// @param queries   m x d row-major (row stride ldq)
/// @param k         1 <= k <= n
/// @param row_bias  optional n values added to every score of row j (InnerProduct only), e.g.
///                  -r(y)/2 for CSLS; may be null
/// @param exclude   m x n_exclude ids to skip per query (-1 = no id), may be null
/// @param out_idx   m x k ids, best first; ties broken by lower id; -1 when fewer than k rows
///                  are eligible (all others excluded)
/// @param out_score m x k scores (inner products + bias, or Euclidean distances for L2)
/// Never materialises the m x n matrix: tiles feed a SIMD-filtered candidate collector.
void knn_search(const KnnDatabase& db, const float* queries, std::size_t m, std::size_t ldq,
                std::size_t k, Metric metric, const float* row_bias, const std::int64_t* exclude,
                std::size_t n_exclude, Precision precision, std::int64_t* out_idx,
                float* out_score);

/// One-shot form: prepares the database (fp32 candidates) and searches.
void knn_search(const float* queries, std::size_t m, std::size_t ldq, const float* base,
                std::size_t n, std::size_t ldb, std::size_t d, std::size_t k, Metric metric,
                const float* row_bias, const std::int64_t* exclude, std::size_t n_exclude,
                std::int64_t* out_idx, float* out_score);

/// The exact score the search ranks by, in double: <q, x> (+ nothing) for InnerProduct,
/// -|q - x|^2 / 2 for L2. Fixed summation order, so every caller gets the same value.
double exact_score(const float* q, const float* x, std::size_t d, Metric metric);

/// Writes the unit-length copy of each row of x (n x d) to out (n x d) and each norm to norms
/// (may be null). Rows of norm 0 stay 0.
void normalize_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d, float* out,
                    float* norms);

/// Index of the first row containing NaN or +-Inf, or -1 if all values are finite.
std::int64_t first_nonfinite_row(const float* x, std::size_t n, std::size_t ldx, std::size_t d);

}  // namespace tokenspace
