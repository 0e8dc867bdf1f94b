// The kNN search driver: checks, the precision policy, the bounds, one candidate-stage driver,
// the merge of the parts' exact top-k lists.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "common/topk.hpp"
#include "knn/bounds.hpp"
#include "knn/collector.hpp"
#include "knn/drivers.hpp"
#include "knn/precision.hpp"
#include "knn/quantize.hpp"
#include "tokenspace/knn.hpp"

namespace tokenspace {
namespace {

void check_search(const KnnDatabase& db, std::size_t k, Metric metric, const float* row_bias) {
  if (k == 0) throw std::invalid_argument("k must be >= 1");
  if (db.n() == 0) throw std::invalid_argument("the database is empty");
  if (k > db.n()) throw std::invalid_argument("k is larger than the number of database rows");
  if (db.d() == 0) throw std::invalid_argument("vectors have dimension 0");
  if (metric == Metric::L2 && row_bias)
    throw std::invalid_argument("row_bias is only supported with the inner-product metric");
}

// Candidates of every query at precision prec, into per-part exact top-k lists.
void run_candidate_stage(const detail::Problem& P, Precision prec, detail::Parts& parts) {
  const KnnDatabase& db = *P.db;
  // knn_graph searches the database with its own rows: score each pair once (bf16 and fp32;
  // int8 quantises queries and rows differently, so its scores are not symmetric).
  const bool self_join = P.q == db.x() && P.ldq == db.ldx() && P.m == db.n();
  if (P.m < 8 || (prec == Precision::INT8 && !P.K->int8_knn_tile))
    detail::search_gemv(P, prec, parts);
  else if (self_join && prec == Precision::BF16)
    detail::self_join_bf16(P, parts);
  else if (self_join && prec == Precision::FP32)
    detail::self_join_fp32(P, parts);
  else if (prec == Precision::INT8)
    detail::search_tiles_int8(P, parts);
  else if (prec == Precision::BF16)
    detail::search_tiles_bf16(P, parts);
  else
    detail::search_tiles_fp32(P, parts);
}

}  // namespace

double exact_score(const float* q, const float* x, std::size_t d, Metric metric) {
  const KernelTable& K = active_kernels();
  return metric == Metric::InnerProduct ? K.exact_ip(q, x, d) : K.exact_l2(q, x, d);
}

Precision candidate_scores(const KnnDatabase& db, const float* q, Precision precision, float* out) {
  const KernelTable& K = active_kernels();
  const Precision prec = detail::search_precision(K, db, 1, precision);
  const std::size_t n = db.n(), d = db.d();
  if (prec == Precision::INT8) {
    std::vector<std::uint8_t> q8(db.int8_dim());
    float t;
    detail::row_to_uint8(q, d, db.int8_dim(), q8.data(), &t);
    K.int8_gemv(q8.data(), t, db.int8(), n, db.int8_dim(), db.int8_dim(), db.int8_scale(),
                db.int8_sum(), out);
  } else if (prec == Precision::BF16) {
    std::vector<std::uint16_t> qh(db.bf16_dim());
    detail::row_to_bf16(q, d, db.bf16_dim(), qh.data());
    K.bf16_gemv(qh.data(), db.bf16(), n, db.bf16_dim(), db.bf16_dim(), out);
  } else {
    K.gemv_rows(q, db.x(), n, db.ldx(), d, out);
  }
  return prec;
}

void knn_search(const KnnDatabase& db, const float* queries, std::size_t m, std::size_t ldq,
                std::size_t k, Metric metric, const float* row_bias, const std::int64_t* exclude,
                std::size_t n_exclude, Precision precision, std::int64_t* out_idx, float* out_score,
                double* out_key) {
  check_search(db, k, metric, row_bias);
  if (m == 0) return;
  const KernelTable& K = active_kernels();  // once: the whole search runs on this table
  const Precision prec = detail::search_precision(K, db, m, precision);
  const detail::CandidateBounds bounds =
      detail::derive_bounds(K, db, queries, m, ldq, metric, row_bias, prec);
  const detail::Problem P{&K,
                          &db,
                          queries,
                          m,
                          ldq,
                          k,
                          metric,
                          bounds.candidate_bias(),
                          metric == Metric::L2 ? nullptr : row_bias,
                          exclude,
                          n_exclude,
                          bounds.slack->data(),
                          bounds.rest.data()};
  detail::Parts parts;
  run_candidate_stage(P, prec, parts);

  constexpr float kPosInf = std::numeric_limits<float>::infinity();
  detail::merge_parts(parts, [&](std::size_t i, const double* s, const std::int64_t* id) {
    for (std::size_t e = 0; e < k; ++e) {
      out_idx[i * k + e] = id[e];
      if (id[e] >= 0)
        out_score[i * k + e] =
            static_cast<float>(metric == Metric::L2 ? std::sqrt(std::max(0.0, -2.0 * s[e])) : s[e]);
      else
        out_score[i * k + e] = metric == Metric::L2 ? kPosInf : -kPosInf;
      if (out_key) out_key[i * k + e] = s[e];
    }
  });
}

void knn_self_join_tile(const KnnDatabase& db, std::size_t i0, std::size_t i1, std::size_t j0,
                        std::size_t j1, std::size_t k, Metric metric, bool exclude_self,
                        std::int64_t* idx_i, double* key_i, std::int64_t* idx_j, double* key_j) {
  check_search(db, k, metric, nullptr);
  const std::size_t n = db.n();
  if (i0 >= i1 || j0 >= j1 || i1 > n || j1 > n)
    throw std::invalid_argument("tile ranges must be non-empty and within the database rows");
  const bool diag = i0 == j0 && i1 == j1;
  if (!diag && i0 < j1 && j0 < i1)
    throw std::invalid_argument("tile ranges must be equal or disjoint");
  const KernelTable& K = active_kernels();
  // One problem over the span of both ranges: its queries are the database's own rows, so one
  // slack vector bounds both directions of every pair.
  const std::size_t s0 = std::min(i0, j0), s1 = std::max(i1, j1), span = s1 - s0;
  const float* q = db.x() + s0 * db.ldx();
  const detail::CandidateBounds bounds =
      detail::derive_bounds(K, db, q, span, db.ldx(), metric, nullptr, Precision::FP32);
  std::vector<std::int64_t> ex;
  if (exclude_self && diag) {
    ex.resize(span);
    for (std::size_t i = 0; i < span; ++i) ex[i] = static_cast<std::int64_t>(s0 + i);
  }
  const detail::Problem P{&K,
                          &db,
                          q,
                          span,
                          db.ldx(),
                          k,
                          metric,
                          bounds.candidate_bias(),
                          nullptr,
                          ex.empty() ? nullptr : ex.data(),
                          ex.empty() ? std::size_t{0} : std::size_t{1},
                          bounds.slack->data(),
                          bounds.rest.data()};
  detail::Parts parts;
  detail::self_join_tile_fp32(P, s0, i0, i1, j0, j1, parts);
  const std::size_t ni = i1 - i0;
  detail::merge_parts(parts, [&](std::size_t slot, const double* s, const std::int64_t* id) {
    std::int64_t* oi = slot < ni ? idx_i + slot * k : idx_j + (slot - ni) * k;
    double* ok = slot < ni ? key_i + slot * k : key_j + (slot - ni) * k;
    std::copy(id, id + k, oi);
    std::copy(s, s + k, ok);
  });
}

void knn_search(const float* queries, std::size_t m, std::size_t ldq, const float* base,
                std::size_t n, std::size_t ldb, std::size_t d, std::size_t k, Metric metric,
                const float* row_bias, const std::int64_t* exclude, std::size_t n_exclude,
                Precision precision, std::int64_t* out_idx, float* out_score) {
  KnnDatabase db(base, n, ldb, d);
  db.prepare(precision, m);
  knn_search(db, queries, m, ldq, k, metric, row_bias, exclude, n_exclude, precision, out_idx,
             out_score);
}

}  // namespace tokenspace
