// Exact k-nearest-neighbour search fused with the similarity computation.
//
// Every search runs in two stages. A candidate stage scores all pairs quickly (fp32 SIMD tiles,
// bf16 / int8 tiles on CPUs with AVX-512 BF16 + VNNI, int8 row scans from AVX2 on) together with a
// proven bound eps(i, j) on the difference between each approximate score and the exact one (from
// the quantisation error norms of row j and query i and the float accumulation error); it keeps
// every row whose upper bound reaches the k-th largest lower bound, so no row of the exact top-k
// can be lost. The survivors are then re-scored in double precision (products of floats are exact
// in double) and the top-k of those exact scores is returned, ties to the lower id. So the answer
// does not depend on the candidate precision, the SIMD level or the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tokenspace {

/// How candidates are scored; larger score = nearer.
enum class Metric : int {
  InnerProduct = 0,  ///< <q, x> (+ row bias) (cosine when both sides are unit rows)
  L2 = 1,            ///< Euclidean distance, reported as distance (ascending)
};

/// Precision of the candidate stage; results are exact either way.
enum class Precision : int {
  Auto = 0,  ///< the lowest precision the active SIMD level and the database's copies allow
  FP32 = 1,
  BF16 = 2,
  INT8 = 3,
};

/// Parses "auto" | "fp32" | "bf16" | "int8"; throws std::invalid_argument otherwise.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision precision);

/// A database prepared for repeated searches: borrowed fp32 rows (the caller keeps them alive)
/// plus derived data reused across calls (a bound on the row norms, an optional bf16 copy).
class KnnDatabase {
 public:
  KnnDatabase(const float* x, std::size_t n, std::size_t ldx, std::size_t d);

  /// The precision policy, part 1: builds the low-precision copies that searches of
  /// `n_queries` queries at the active SIMD level want (n_queries = 0: a database kept for
  /// many searches of any size). With Auto: both copies for n_queries = 0, the bf16 copy for
  /// n_queries >= 64, none otherwise or when TOKENSPACE_PRECISION=fp32; BF16 / INT8: that copy;
  /// FP32: none. Only copies the level has kernels for are built. Not thread-safe against
  /// searches of the same database.
  void prepare(Precision precision, std::size_t n_queries);
  /// The precision policy, part 2: the candidate precision a search of n_queries queries
  /// runs at the active level (never Auto). With Auto: FP32 when TOKENSPACE_PRECISION=fp32;
  /// fewer than 8 queries: int8 > bf16 > fp32, else bf16 > int8 > fp32, among the copies this
  /// database has and the level supports (int8 for batches only where the level has int8
  /// tiles; an explicit INT8 batch without them runs the int8 row scan). Throws
  /// std::invalid_argument when an explicit precision cannot run (the level lacks its kernels or
  /// the database its copy).
  Precision precision_for(std::size_t n_queries, Precision precision) const;
  /// Builds the bf16 copy (rows padded to a multiple of 32 values) and its error statistics.
  void prepare_bf16();
  bool has_bf16() const { return !bf16_.empty(); }
  /// Builds the int8 copy (per-row scales, rows padded to a multiple of 64 values).
  void prepare_int8();
  bool has_int8() const { return !i8_.empty(); }

  const float* x() const { return x_; }
  std::size_t n() const { return n_; }
  std::size_t ldx() const { return ldx_; }
  std::size_t d() const { return d_; }
  double max_norm() const { return max_norm_; }
  /// Per-row |x_j| (rounded up), and for each low-precision copy |xhat_j| and |x_j - xhat_j|.
  const float* norms() const { return norms_.data(); }
  const float* bf16_norms() const { return bf16_norm_.data(); }
  const float* bf16_errors() const { return bf16_err_.data(); }
  const float* int8_norms() const { return i8_norm_.data(); }
  const float* int8_errors() const { return i8_err_.data(); }
  const std::uint16_t* bf16() const { return bf16_.data(); }
  std::size_t bf16_dim() const { return dp_; }
  double bf16_max_norm() const { return bf16_max_norm_; }
  double bf16_max_error() const { return bf16_max_err_; }
  const std::int8_t* int8() const { return i8_.data(); }
  std::size_t int8_dim() const { return dp8_; }
  const float* int8_scale() const { return i8_scale_.data(); }
  const std::int32_t* int8_sum() const { return i8_sum_.data(); }
  double int8_max_norm() const { return i8_max_norm_; }
  double int8_max_error() const { return i8_max_err_; }
  /// -|x_j|^2 / 2 per row (the L2 candidate bias), computed once.
  const float* half_sq_norms() const { return l2_bias_.data(); }

  /// Per-row candidate slack for a precision and the query-norm factors (a, b), cached so that
  /// repeated single-query searches do not pay an O(n) pass (thread-safe).
  std::shared_ptr<const std::vector<float>> slack(int precision, double a, double b) const;

 private:
  const float* x_;
  std::size_t n_, ldx_, d_;
  double max_norm_ = 0;
  std::vector<float> norms_, bf16_norm_, bf16_err_, i8_norm_, i8_err_;
  std::vector<std::uint16_t> bf16_;
  std::size_t dp_ = 0;
  double bf16_max_norm_ = 0, bf16_max_err_ = 0;
  std::vector<std::int8_t> i8_;
  std::vector<float> i8_scale_;
  std::vector<std::int32_t> i8_sum_;
  std::size_t dp8_ = 0;
  double i8_max_norm_ = 0, i8_max_err_ = 0;
  std::vector<float> l2_bias_;
  mutable std::mutex cache_m_;
  mutable int cache_prec_ = -1;
  mutable double cache_a_ = 0, cache_b_ = 0;
  mutable std::shared_ptr<const std::vector<float>> cache_;
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
/// @param out_key   optional m x k exact double keys the ranking used (exact_score + bias;
///                  -inf past the filled entries), so that partial results of searches over
///                  parts of a database merge exactly by (-key, id); may be null
/// Never materialises the m x n matrix: tiles feed a SIMD-filtered candidate collector.
void knn_search(const KnnDatabase& db, const float* queries, std::size_t m, std::size_t ldq,
                std::size_t k, Metric metric, const float* row_bias, const std::int64_t* exclude,
                std::size_t n_exclude, Precision precision, std::int64_t* out_idx, float* out_score,
                double* out_key = nullptr);

/// One tile (I, J) of the self-join of the database's rows, I = [i0, i1), J = [j0, j1), either
/// equal or disjoint: the exact top-k of every row of I among the rows of J and of every row of
/// J among the rows of I, each pair scored once. Writes ids (global, -1 past the filled
/// entries) and exact double keys (as out_key above) best first, ties to the lower id:
/// |I| x k into idx_i / key_i and, when I != J, |J| x k into idx_j / key_j. Merging the tiles
/// of all pairs I <= J by (-key, id) gives knn_search's answer for the whole self-join bit for
/// bit. exclude_self drops each row from its own list (diagonal tiles only).
void knn_self_join_tile(const KnnDatabase& db, std::size_t i0, std::size_t i1, std::size_t j0,
                        std::size_t j1, std::size_t k, Metric metric, bool exclude_self,
                        std::int64_t* idx_i, double* key_i, std::int64_t* idx_j, double* key_j);

/// One-shot form: a database over base, prepared for m queries (KnnDatabase::prepare), searched
/// once.
void knn_search(const float* queries, std::size_t m, std::size_t ldq, const float* base,
                std::size_t n, std::size_t ldb, std::size_t d, std::size_t k, Metric metric,
                const float* row_bias, const std::int64_t* exclude, std::size_t n_exclude,
                Precision precision, std::int64_t* out_idx, float* out_score);

/// The exact score the search ranks by, in double: <q, x> (+ nothing) for InnerProduct,
/// -|q - x|^2 / 2 for L2. Fixed summation order, so every caller gets the same value.
double exact_score(const float* q, const float* x, std::size_t d, Metric metric);

/// Diagnostics: the candidate-stage inner products of one query (d values) with every row
/// (out: n floats) at the precision a single-query search would use (precision_for(1,
/// precision)), which is returned. These are the unbounded approximations the bounds certify;
/// the tests compare them with float64.
Precision candidate_scores(const KnnDatabase& db, const float* q, Precision precision, float* out);

}  // namespace tokenspace
