#include "tokenspace/analogy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "blocking.hpp"
#include "tokenspace/common.hpp"
#include "tokenspace/dispatch.hpp"
#include "tokenspace/thread_pool.hpp"

namespace tokenspace {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Higher score first, then lower id (the order knn_search and faiss use).
inline bool better(float a, std::int64_t ia, float b, std::int64_t ib) {
  return a > b || (a == b && ia < ib);
}

// Bounded heap of the k best candidates; the root is the worst kept one (admission threshold).
class Heap {
 public:
  Heap(float* s, std::int64_t* id, std::size_t k) : s_(s), id_(id), k_(k) {}
  float threshold() const { return size_ < k_ ? kNegInf : s_[0]; }
  void push(float sc, std::int64_t id) {
    if (size_ < k_) {
      std::size_t i = size_++;
      while (i > 0) {
        std::size_t p = (i - 1) / 2;
        if (!better(s_[p], id_[p], sc, id)) break;
        s_[i] = s_[p];
        id_[i] = id_[p];
        i = p;
      }
      s_[i] = sc;
      id_[i] = id;
      return;
    }
    if (!better(sc, id, s_[0], id_[0])) return;
    std::size_t i = 0;
    for (;;) {
      std::size_t l = 2 * i + 1, r = l + 1, w = i;
      float ws = sc;
      std::int64_t wi = id;
      if (l < k_ && better(ws, wi, s_[l], id_[l])) { w = l; ws = s_[l]; wi = id_[l]; }
      if (r < k_ && better(ws, wi, s_[r], id_[r])) { w = r; ws = s_[r]; wi = id_[r]; }
      if (w == i) break;
      s_[i] = s_[w];
      id_[i] = id_[w];
      i = w;
    }
    s_[i] = sc;
    id_[i] = id;
  }
  void write_sorted(float* out_s, std::int64_t* out_id) const {
    std::vector<std::size_t> order(size_);
    for (std::size_t i = 0; i < size_; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return better(s_[a], id_[a], s_[b], id_[b]);
    });
    for (std::size_t i = 0; i < size_; ++i) {
      out_s[i] = s_[order[i]];
      out_id[i] = id_[order[i]];
    }
    for (std::size_t i = size_; i < k_; ++i) {
      out_s[i] = kNegInf;
      out_id[i] = -1;
    }
  }

 private:
  float* s_;
  std::int64_t* id_;
  std::size_t k_;
  std::size_t size_ = 0;
};

struct Cosmul {
  const float* terms;
  std::size_t m, n_pos, n_neg;
  const float* x;
  std::size_t n, ldx, d, k;
  float eps;
  const std::int64_t* exclude;
  std::size_t n_exclude;
  std::size_t n_terms() const { return n_pos + n_neg; }
};

// s[j] = prod_pos (1 + c)/2 / (prod_neg (1 + c)/2 + eps) for the cosine rows c of one query;
// den is scratch of the same length. Separate passes per term keep the loops vectorisable.
inline void combine(const float* const* rows, const Cosmul& P, std::size_t nj, float* s,
                    float* den) {
  for (std::size_t j = 0; j < nj; ++j) s[j] = (1.0f + rows[0][j]) / 2.0f;
  for (std::size_t t = 1; t < P.n_pos; ++t) {
    const float* r = rows[t];
    for (std::size_t j = 0; j < nj; ++j) s[j] *= (1.0f + r[j]) / 2.0f;
  }
  if (P.n_neg == 0) {
    const float inv = 1.0f + P.eps;
    for (std::size_t j = 0; j < nj; ++j) s[j] /= inv;
    return;
  }
  for (std::size_t j = 0; j < nj; ++j) den[j] = (1.0f + rows[P.n_pos][j]) / 2.0f;
  for (std::size_t t = P.n_pos + 1; t < P.n_terms(); ++t) {
    const float* r = rows[t];
    for (std::size_t j = 0; j < nj; ++j) den[j] *= (1.0f + r[j]) / 2.0f;
  }
  for (std::size_t j = 0; j < nj; ++j) s[j] /= den[j] + P.eps;
}

inline void offer(const IsaKernels& K, Heap& heap, const float* s, std::size_t n,
                  std::int64_t id0, const std::int64_t* ex, std::size_t n_ex,
                  std::uint32_t* cand) {
  std::size_t c = K.filter_ge(s, nullptr, n, heap.threshold(), cand);
  for (std::size_t t = 0; t < c; ++t) {
    const std::int64_t id = id0 + static_cast<std::int64_t>(cand[t]);
    bool skip = false;
    for (std::size_t e = 0; e < n_ex; ++e) skip |= ex[e] == id;
    if (!skip) heap.push(s[cand[t]], id);
  }
}

// Few queries: stream the database as it is, one gemv per term over an L2-sized chunk.
void cosmul_gemv(const Cosmul& P, std::vector<float>& hs, std::vector<std::int64_t>& hid,
                 std::size_t& n_parts) {
  const IsaKernels& K = kernels();
  const std::size_t T = P.n_terms();
  const std::size_t chunk = std::max<std::size_t>(64, (192 * 1024) / (P.d * sizeof(float) + 1));
  const std::size_t n_chunks = detail::ceil_div(P.n, chunk);
  n_parts = std::min(num_threads(), n_chunks);
  hs.assign(n_parts * P.m * P.k, kNegInf);
  hid.assign(n_parts * P.m * P.k, -1);
  std::vector<std::vector<Heap>> heaps(n_parts);
  for (std::size_t w = 0; w < n_parts; ++w)
    for (std::size_t i = 0; i < P.m; ++i)
      heaps[w].emplace_back(&hs[(w * P.m + i) * P.k], &hid[(w * P.m + i) * P.k], P.k);
  std::vector<std::vector<float>> buf(n_parts, std::vector<float>((T + 2) * chunk));
  std::vector<std::vector<std::uint32_t>> cand(n_parts, std::vector<std::uint32_t>(chunk));
  parallel_for(n_chunks, [&](std::size_t c, std::size_t w) {
    const std::size_t j0 = c * chunk, nj = std::min(chunk, P.n - j0);
    float* b = buf[w].data();
    std::vector<const float*> rows(T);
    for (std::size_t i = 0; i < P.m; ++i) {
      for (std::size_t t = 0; t < T; ++t) {
        K.gemv_rows(P.terms + (i * T + t) * P.d, P.x + j0 * P.ldx, nj, P.ldx, P.d, b + t * chunk);
        rows[t] = b + t * chunk;
      }
      float* s = b + T * chunk;
      combine(rows.data(), P, nj, s, s + chunk);
      offer(K, heaps[w][i], s, nj, static_cast<std::int64_t>(j0),
            P.exclude ? P.exclude + i * P.n_exclude : nullptr, P.n_exclude, cand[w].data());
    }
  });
}

// Many queries: the database is packed once into NR-wide panels; a task takes a block of
// queries (all their term rows) against a range of database blocks; GEMM micro-tiles of the
// term rows are combined per query and fed to the filtered top-k.
void cosmul_gemm(const Cosmul& P, std::vector<float>& hs, std::vector<std::int64_t>& hid,
                 std::size_t& n_parts) {
  const IsaKernels& K = kernels();
  const std::size_t MR = K.mr, NR = K.nr, d = P.d, T = P.n_terms();
  const std::size_t MQ = std::max<std::size_t>(1, 48 / T);  // queries per block
  const std::size_t rows_pad = detail::round_up(MQ * T, MR);
  const std::size_t NB = detail::round_up(
      std::max<std::size_t>(NR, std::min<std::size_t>((384 * 1024) / (d * 4 + 1),
                                                      (256 * 1024) / (rows_pad * 4))),
      NR);
  const std::size_t n_panels = detail::ceil_div(P.n, NR);
  AlignedFloats packed(n_panels * NR * d);
  {
    const std::size_t per_task = 64;
    parallel_for(detail::ceil_div(n_panels, per_task), [&](std::size_t t, std::size_t) {
      const std::size_t p0 = t * per_task, p1 = std::min(n_panels, p0 + per_task);
      const std::size_t r0 = p0 * NR, r1 = std::min(P.n, p1 * NR);
      detail::pack_panels(P.x + r0 * P.ldx, r1 - r0, P.ldx, d, NR, packed.data() + p0 * NR * d);
    });
  }
  const std::size_t n_qblocks = detail::ceil_div(P.m, MQ);
  const std::size_t n_dblocks = detail::ceil_div(P.n, NB);
  n_parts = std::min(n_dblocks,
                     std::max<std::size_t>(1, detail::ceil_div(num_threads(), n_qblocks)));
  hs.assign(n_parts * P.m * P.k, kNegInf);
  hid.assign(n_parts * P.m * P.k, -1);
  const std::size_t dblocks_per_part = detail::ceil_div(n_dblocks, n_parts);
  const std::size_t workers = std::min(num_threads(), n_qblocks * n_parts);
  std::vector<AlignedFloats> apack(workers), ctile(workers), sbuf(workers);
  std::vector<std::vector<std::uint32_t>> cand(workers, std::vector<std::uint32_t>(NB));
  for (std::size_t w = 0; w < workers; ++w) {
    apack[w].reset(rows_pad * d);
    ctile[w].reset(rows_pad * NB);
    sbuf[w].reset(2 * NB);
  }
  parallel_for(n_qblocks * n_parts, [&](std::size_t task, std::size_t w) {
    const std::size_t qb = task / n_parts, part = task % n_parts;
    const std::size_t q0 = qb * MQ, mq = std::min(MQ, P.m - q0);
    const std::size_t rows = mq * T;
    detail::pack_panels(P.terms + q0 * T * d, rows, d, d, MR, apack[w].data());
    std::vector<Heap> heaps;
    heaps.reserve(mq);
    for (std::size_t i = 0; i < mq; ++i) {
      const std::size_t off = (part * P.m + q0 + i) * P.k;
      heaps.emplace_back(&hs[off], &hid[off], P.k);
    }
    std::vector<const float*> trow(T);
    float* C = ctile[w].data();
    const std::size_t db0 = part * dblocks_per_part;
    const std::size_t db1 = std::min(n_dblocks, db0 + dblocks_per_part);
    for (std::size_t db = db0; db < db1; ++db) {
      const std::size_t j0 = db * NB, nj = std::min(NB, P.n - j0);
      const std::size_t np = detail::ceil_div(nj, NR);
      const float* bblock = packed.data() + (j0 / NR) * NR * d;
      for (std::size_t ip = 0; ip * MR < rows; ++ip)
        for (std::size_t p = 0; p < np; ++p)
          K.micro_kernel(apack[w].data() + ip * MR * d, bblock + p * NR * d, d,
                         C + ip * MR * NB + p * NR, NB);
      for (std::size_t i = 0; i < mq; ++i) {
        for (std::size_t t = 0; t < T; ++t) trow[t] = C + (i * T + t) * NB;
        float* s = sbuf[w].data();
        combine(trow.data(), P, nj, s, s + NB);
        const std::size_t qi = q0 + i;
        offer(K, heaps[i], s, nj, static_cast<std::int64_t>(j0),
              P.exclude ? P.exclude + qi * P.n_exclude : nullptr, P.n_exclude, cand[w].data());
      }
    }
  });
}

}  // namespace

void cosmul_search(const float* terms, std::size_t m, std::size_t n_pos, std::size_t n_neg,
                   const float* base, std::size_t n, std::size_t ldb, std::size_t d,
                   std::size_t k, float eps, const std::int64_t* exclude, std::size_t n_exclude,
                   std::int64_t* out_idx, float* out_score) {
  if (n_pos == 0) throw std::invalid_argument("3CosMul needs at least one positive term");
  if (k == 0) throw std::invalid_argument("k must be >= 1");
  if (n == 0) throw std::invalid_argument("the database is empty");
  if (k > n) throw std::invalid_argument("k is larger than the number of database rows");
  if (d == 0) throw std::invalid_argument("vectors have dimension 0");
  if (!(eps >= 0.0f)) throw std::invalid_argument("eps must be >= 0");
  if (m == 0) return;
  Cosmul P{terms, m, n_pos, n_neg, base, n, ldb, d, k, eps, exclude, n_exclude};
  std::vector<float> hs;
  std::vector<std::int64_t> hid;
  std::size_t n_parts = 1;
  if (m < 4)
    cosmul_gemv(P, hs, hid, n_parts);
  else
    cosmul_gemm(P, hs, hid, n_parts);
  parallel_for(detail::ceil_div(m, 256), [&](std::size_t t, std::size_t) {
    std::vector<float> ms(k);
    std::vector<std::int64_t> mid(k);
    for (std::size_t i = t * 256; i < std::min(m, (t + 1) * 256); ++i) {
      Heap heap(ms.data(), mid.data(), k);
      for (std::size_t part = 0; part < n_parts; ++part) {
        const std::size_t off = (part * m + i) * k;
        for (std::size_t e = 0; e < k; ++e)
          if (hid[off + e] >= 0) heap.push(hs[off + e], hid[off + e]);
      }
      heap.write_sorted(out_score + i * k, out_idx + i * k);
    }
  });
}

void project_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d,
                  const float* axis, float offset, float* out) {
  if (d == 0) throw std::invalid_argument("vectors have dimension 0");
  const IsaKernels& K = kernels();
  // Chunks large enough to amortise task dispatch, small enough to balance 2+ threads.
  const std::size_t chunk = 16384;
  parallel_for(detail::ceil_div(n, chunk), [&](std::size_t t, std::size_t) {
    const std::size_t j0 = t * chunk, nj = std::min(chunk, n - j0);
    K.gemv_rows(axis, x + j0 * ldx, nj, ldx, d, out + j0);
    if (offset != 0.0f)
      for (std::size_t j = j0; j < j0 + nj; ++j) out[j] -= offset;
  });
}

}  // namespace tokenspace
