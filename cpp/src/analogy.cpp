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

// Few queries: stream the database as it is, one gemv per term over an L2-sized chunk.
void search_gemv(const Problem& P, Parts& out) {
  const KernelTable& K = *P.K;
  const std::size_t T = P.T;
  const std::size_t chunk = std::max<std::size_t>(64, (192 * 1024) / (P.d * sizeof(float) + 1));
  const std::size_t n_chunks = detail::ceil_div(P.n, chunk);
  const std::size_t n_parts = std::min(num_threads(), n_chunks);
  out.init(n_parts, P.m, P.k);
  std::vector<std::vector<Heap>> heaps(n_parts);
  for (std::size_t w = 0; w < n_parts; ++w)
    for (std::size_t i = 0; i < P.m; ++i)
      heaps[w].emplace_back(out.s_at(w, i), out.id_at(w, i), P.k);
  std::vector<std::vector<float>> buf(n_parts, std::vector<float>((T + 2) * chunk));
  std::vector<std::vector<std::uint32_t>> cand(n_parts, std::vector<std::uint32_t>(chunk));
  parallel_for(n_chunks, [&](std::size_t c, std::size_t w) {
    const std::size_t j0 = c * chunk, nj = std::min(chunk, P.n - j0);
    float* b = buf[w].data();
    std::vector<const float*> rows(T);
    for (std::size_t i = 0; i < P.m; ++i) {
      for (std::size_t t = 0; t < T; ++t) {
        const std::size_t tid = static_cast<std::size_t>(P.qterms[i * T + t]);
        K.gemv_rows(P.terms + tid * P.d, P.x + j0 * P.ldx, nj, P.ldx, P.d, b + t * chunk);
        rows[t] = b + t * chunk;
      }
      score_block(K, P, heaps[w][i], rows.data(), nj, static_cast<std::int64_t>(j0),
                  P.exclude ? P.exclude + i * P.n_exclude : nullptr, b + T * chunk, cand[w].data());
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
                    std::size_t n_exclude, std::int64_t* out_idx, float* out_score) {
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
  Problem P{&active_kernels(), terms, u, qterms, m, T, mode,    weights,  n_pos, eps,
            cos_slack,         base,  n, ldb,    d, k, exclude, n_exclude};
  Parts parts;
  if (m < 4)
    search_gemv(P, parts);
  else
    search_gemm(P, parts);
  detail::merge_parts(parts, [&](std::size_t i, const float* s, const std::int64_t* id) {
    std::copy(s, s + k, out_score + i * k);
    std::copy(id, id + k, out_idx + i * k);
  });
}

}  // namespace tokenspace
