#include "tokenspace/analogy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <vector>

#include "common/aligned.hpp"
#include "common/blocking.hpp"
#include "common/topk.hpp"
#include "dispatch/kernels.hpp"
#include "knn/quantize.hpp"
#include "tokenspace/knn.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {
namespace {

using Heap = detail::BoundedTopK<float>;
using Parts = detail::PartLists<float>;

struct Problem {
  const KernelTable* K;  // taken once per search
  const float* terms;
  std::size_t u;
  const std::int64_t* qterms;
  std::size_t m, T;
  AnalogyMode mode;
  const float* w;
  std::size_t n_pos;
  float eps;
  float slack;  // CosMul: cosine uncertainty, scores become upper bounds (0 = plain scores)
  const float* x;
  std::size_t n, ldx, d, k;
  const std::int64_t* exclude;
  std::size_t n_exclude;
  const KnnDatabase* db;  // CosMul's few-query filter reads its int8 copy when it has one

  void combine(const float* const* rows, std::size_t nj, float* s, float* scratch) const {
    if (mode == AnalogyMode::Linear)
      K->combine_linear(rows, w, T, nj, s);
    else
      K->combine_cosmul(rows, n_pos, T - n_pos, eps, slack, nj, s, scratch);
  }
};

inline void push_candidates(Heap& heap, const float* s, const std::uint32_t* cand, std::size_t c,
                            std::int64_t id0, const std::int64_t* ex, std::size_t n_ex) {
  for (std::size_t t = 0; t < c; ++t) {
    const std::int64_t id = id0 + static_cast<std::int64_t>(cand[t]);
    bool skip = false;
    for (std::size_t e = 0; e < n_ex; ++e) skip |= ex[e] == id;
    if (!skip) heap.push(s[cand[t]], id);
  }
}

// Scores one query against nj rows (its term cosines in rows[0..T)) and updates its heap;
// three-term queries (every analogy question) take the fused combine + filter pass.
inline void score_block(const KernelTable& K, const Problem& P, Heap& heap,
                        const float* const* rows, std::size_t nj, std::int64_t id0,
                        const std::int64_t* ex, float* s, std::uint32_t* cand) {
  std::size_t c;
  if (P.T == 3) {
    const bool lin = P.mode == AnalogyMode::Linear;
    c = K.combine3_filter(rows[0], rows[1], rows[2], lin ? P.w[0] : 0.0f, lin ? P.w[1] : 0.0f,
                          lin ? P.w[2] : 0.0f, lin ? 0 : 1, P.eps, P.slack, nj, heap.threshold(), s,
                          cand);
  } else {
    P.combine(rows, nj, s, s + nj);
    c = K.filter_ge(s, nullptr, nj, heap.threshold(), cand);
  }
  push_candidates(heap, s, cand, c, id0, ex, P.n_exclude);
}

// The few-query drivers' loop: the database in L2-sized chunks of rows (row_bytes each, as
// read), one chunk per task; per chunk: fn(j0, nj, chunk, the worker's heaps (one per query),
// its (T + 2) * chunk floats of scratch, its chunk candidate slots).
template <typename Fn>
void stream_chunks(const Problem& P, std::size_t row_bytes, Parts& out, Fn fn) {
  const std::size_t chunk = std::max<std::size_t>(64, (192 * 1024) / (row_bytes + 1));
  const std::size_t n_chunks = detail::ceil_div(P.n, chunk);
  const std::size_t n_parts = std::min(num_threads(), n_chunks);
  out.init(n_parts, P.m, P.k);
  std::vector<std::vector<Heap>> heaps(n_parts);
  for (std::size_t w = 0; w < n_parts; ++w)
    for (std::size_t i = 0; i < P.m; ++i)
      heaps[w].emplace_back(out.s_at(w, i), out.id_at(w, i), P.k);
  std::vector<std::vector<float>> buf(n_parts, std::vector<float>((P.T + 2) * chunk));
  std::vector<std::vector<std::uint32_t>> cand(n_parts, std::vector<std::uint32_t>(chunk));
  parallel_for(n_chunks, [&](std::size_t c, std::size_t w) {
    const std::size_t j0 = c * chunk;
    fn(j0, std::min(chunk, P.n - j0), chunk, heaps[w], buf[w].data(), cand[w].data());
  });
}

// Few 3CosMul queries (memory-bound: three cosine rows per query) read the database's int8
// copy, a quarter of the fp32 bytes or less. Each int8 cosine is within slack8 of the exact
// one, so those scores are upper bounds looser than the fp32 kernel's; the rows whose int8
// bound reaches the heap's threshold get their fp32 cosines and enter the heap with exactly the
// fp32 path's upper bounds. The heap, hence the certificate, is the fp32 path's.
void search_gemv_int8(const Problem& P, Parts& out) {
  const KernelTable& K = *P.K;
  const KnnDatabase& db = *P.db;
  const std::size_t T = P.T, dp8 = db.int8_dim();
  // quantised terms, and the bound (bounds.cpp): |xhat.(that - t)| + |(xhat - x).t| + 4u of the
  // int8 scores' conversion and scalings; float32 terms and unit rows as the fp32 slack assumes
  std::vector<std::uint8_t> t8(P.u * dp8);
  std::vector<float> tscale(P.u);
  double slack8 = 0;
  for (std::size_t t = 0; t < P.u; ++t) {
    const auto [nh, ne] =
        detail::row_to_uint8(P.terms + t * P.d, P.d, dp8, t8.data() + t * dp8, &tscale[t]);
    const double tn = std::sqrt(K.sum_squares(P.terms + t * P.d, P.d)) * (1 + 1e-12);
    slack8 = std::max(slack8, db.int8_max_norm() * ne + db.int8_max_error() * tn +
                                  4 * 0x1p-24 * db.int8_max_norm() * nh);
  }
  const float slack = static_cast<float>((slack8 * (1 + 1e-5) + P.slack) * (1 + 1e-6));
  stream_chunks(
      P, dp8, out,
      [&](std::size_t j0, std::size_t nj, std::size_t chunk, std::vector<Heap>& heaps, float* b,
          std::uint32_t* cand) {
        std::vector<const float*> rows(T), one(T);
        std::vector<float> cos1(T);
        for (std::size_t t = 0; t < T; ++t) one[t] = &cos1[t];
        for (std::size_t i = 0; i < P.m; ++i) {
          const std::int64_t* qt = P.qterms + i * T;
          for (std::size_t t = 0; t < T; ++t) {
            const std::size_t tid = static_cast<std::size_t>(qt[t]);
            K.int8_gemv(t8.data() + tid * dp8, tscale[tid], db.int8() + j0 * dp8, nj, dp8, dp8,
                        db.int8_scale() + j0, db.int8_sum() + j0, b + t * chunk);
            rows[t] = b + t * chunk;
          }
          Heap& heap = heaps[i];
          float* s = b + T * chunk;
          K.combine_cosmul(rows.data(), P.n_pos, T - P.n_pos, P.eps, slack, nj, s, s + nj);
          const std::size_t nc = K.filter_ge(s, nullptr, nj, heap.threshold(), cand);
          const std::int64_t* ex = P.exclude ? P.exclude + i * P.n_exclude : nullptr;
          for (std::size_t e = 0; e < nc; ++e) {
            const std::size_t j = j0 + cand[e];
            for (std::size_t t = 0; t < T; ++t)
              K.gemv_rows(P.terms + static_cast<std::size_t>(qt[t]) * P.d, P.x + j * P.ldx, 1,
                          P.ldx, P.d, &cos1[t]);
            float s1, scratch;
            P.combine(one.data(), 1, &s1, &scratch);
            const std::uint32_t zero = 0;  // the one refined score, at position 0
            if (s1 >= heap.threshold())
              push_candidates(heap, &s1, &zero, 1, static_cast<std::int64_t>(j), ex, P.n_exclude);
          }
        }
      });
}

// Few queries: stream the database as it is, one gemv per term over an L2-sized chunk.
void search_gemv(const Problem& P, Parts& out) {
  const KernelTable& K = *P.K;
  const std::size_t T = P.T;
  stream_chunks(
      P, P.d * sizeof(float), out,
      [&](std::size_t j0, std::size_t nj, std::size_t chunk, std::vector<Heap>& heaps, float* b,
          std::uint32_t* cand) {
        std::vector<const float*> rows(T);
        for (std::size_t i = 0; i < P.m; ++i) {
          for (std::size_t t = 0; t < T; ++t) {
            const std::size_t tid = static_cast<std::size_t>(P.qterms[i * T + t]);
            K.gemv_rows(P.terms + tid * P.d, P.x + j0 * P.ldx, nj, P.ldx, P.d, b + t * chunk);
            rows[t] = b + t * chunk;
          }
          score_block(K, P, heaps[i], rows.data(), nj, static_cast<std::int64_t>(j0),
                      P.exclude ? P.exclude + i * P.n_exclude : nullptr, b + T * chunk, cand);
        }
      });
}

// Floats of one term x database tile (TOKENSPACE_ANALOGY_TILE_KB overrides, for tuning).
std::size_t tile_budget() {
  static const std::size_t kb = [] {
    const char* e = std::getenv("TOKENSPACE_ANALOGY_TILE_KB");
    long v = e ? std::atol(e) : 0;
    return v > 0 ? static_cast<std::size_t>(v) : std::size_t{1024};
  }();
  return kb * 1024 / sizeof(float);
}

// Many queries: the database is packed once into NR-wide panels and the distinct terms into
// MR-wide panels. A task takes one database block: one GEMM tile of every term against it,
// then every query combines its T rows of the tile and updates this worker's heaps.
void search_gemm(const Problem& P, Parts& out) {
  const KernelTable& K = *P.K;
  const std::size_t MR = K.fp32_shape.mr, NR = K.fp32_shape.nr, d = P.d, T = P.T;
  const std::size_t u_pad = detail::round_up(P.u, MR);
  // The tile (u_pad x NB) should stay in L2 while all queries read it.
  const std::size_t NB = detail::round_up(
      std::max<std::size_t>(
          NR, std::min<std::size_t>(
                  {tile_budget() / u_pad, (384 * 1024) / (d * 4 + 1), std::size_t{4096}})),
      NR);
  AlignedFloats tpack(u_pad * d);
  detail::pack_panels(P.terms, P.u, d, d, MR, tpack.data());
  const AlignedFloats packed = detail::pack_all_panels(P.x, P.n, P.ldx, d, NR);
  const std::size_t n_dblocks = detail::ceil_div(P.n, NB);
  const std::size_t n_parts = std::min(num_threads(), n_dblocks);
  out.init(n_parts, P.m, P.k);
  std::vector<std::vector<Heap>> heaps(n_parts);
  for (std::size_t w = 0; w < n_parts; ++w) {
    heaps[w].reserve(P.m);
    for (std::size_t i = 0; i < P.m; ++i)
      heaps[w].emplace_back(out.s_at(w, i), out.id_at(w, i), P.k);
  }
  std::vector<AlignedFloats> ctile(n_parts), sbuf(n_parts);
  std::vector<std::vector<std::uint32_t>> cand(n_parts, std::vector<std::uint32_t>(NB));
  for (std::size_t w = 0; w < n_parts; ++w) {
    ctile[w].reset(u_pad * NB);
    sbuf[w].reset(2 * NB);
  }
  // Blocks are handed out in n_parts contiguous ranges so each worker keeps its own heaps.
  const std::size_t per_part = detail::ceil_div(n_dblocks, n_parts);
  parallel_for(n_parts, [&](std::size_t part, std::size_t) {
    const std::size_t w = part;
    std::vector<const float*> trow(T);
    float* C = ctile[w].data();
    float* s = sbuf[w].data();
    const std::size_t db1 = std::min(n_dblocks, (part + 1) * per_part);
    for (std::size_t db = part * per_part; db < db1; ++db) {
      const std::size_t j0 = db * NB, nj = std::min(NB, P.n - j0);
      const std::size_t np = detail::ceil_div(nj, NR);
      const float* bblock = packed.data() + (j0 / NR) * NR * d;
      for (std::size_t ip = 0; ip * MR < P.u; ++ip)
        for (std::size_t p = 0; p < np; ++p)
          K.micro_kernel(tpack.data() + ip * MR * d, bblock + p * NR * d, d,
                         C + ip * MR * NB + p * NR, NB, false);
      for (std::size_t i = 0; i < P.m; ++i) {
        const std::int64_t* qt = P.qterms + i * T;
        for (std::size_t t = 0; t < T; ++t) trow[t] = C + static_cast<std::size_t>(qt[t]) * NB;
        score_block(K, P, heaps[w][i], trow.data(), nj, static_cast<std::int64_t>(j0),
                    P.exclude ? P.exclude + i * P.n_exclude : nullptr, s, cand[w].data());
      }
    }
  });
}

}  // namespace

void analogy_search(const float* terms, std::size_t u, const std::int64_t* qterms, std::size_t m,
                    std::size_t T, AnalogyMode mode, const float* weights, std::size_t n_pos,
                    float eps, float cos_slack, const float* base, std::size_t n, std::size_t ldb,
                    std::size_t d, std::size_t k, const std::int64_t* exclude,
                    std::size_t n_exclude, std::int64_t* out_idx, float* out_score,
                    const KnnDatabase* db) {
  if (T == 0) throw std::invalid_argument("every analogy query needs at least one term");
  if (mode == AnalogyMode::CosMul && (n_pos == 0 || n_pos > T))
    throw std::invalid_argument("3CosMul needs at least one positive term");
  if (mode == AnalogyMode::Linear && !weights)
    throw std::invalid_argument("3CosAdd needs one weight per term");
  if (k == 0) throw std::invalid_argument("k must be >= 1");
  if (n == 0) throw std::invalid_argument("the database is empty");
  if (k > n) throw std::invalid_argument("k is larger than the number of database rows");
  if (d == 0) throw std::invalid_argument("vectors have dimension 0");
  if (!(eps >= 0.0f)) throw std::invalid_argument("eps must be >= 0");
  if (!(cos_slack >= 0.0f) || !(cos_slack < 1.0f))
    throw std::invalid_argument("cos_slack must be in [0, 1)");
  if (m == 0) return;
  for (std::size_t i = 0; i < m * T; ++i)
    if (qterms[i] < 0 || static_cast<std::size_t>(qterms[i]) >= u)
      throw std::invalid_argument("a query term index is out of range of the terms matrix");
  Problem P{&active_kernels(), terms, u, qterms, m, T, mode,    weights,   n_pos, eps,
            cos_slack,         base,  n, ldb,    d, k, exclude, n_exclude, db};
  if (db && (db->n() != n || db->d() != d || db->x() != base))
    throw std::invalid_argument("the database must hold the base rows themselves");
  Parts parts;
  if (m < 4 && mode == AnalogyMode::CosMul && cos_slack > 0 && db && db->has_int8() &&
      P.K->int8_gemv)
    search_gemv_int8(P, parts);
  else if (m < 4)
    search_gemv(P, parts);
  else
    search_gemm(P, parts);
  detail::merge_parts(parts, [&](std::size_t i, const float* s, const std::int64_t* id) {
    std::copy(s, s + k, out_score + i * k);
    std::copy(id, id + k, out_idx + i * k);
  });
}

}  // namespace tokenspace
