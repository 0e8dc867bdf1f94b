#include "tokenspace/knn.hpp"

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

// Total order on candidates: higher score first, then lower id (the faiss/numpy stable rule).
inline bool better(float a, std::int64_t ia, float b, std::int64_t ib) {
  return a > b || (a == b && ia < ib);
}

// Bounded heap of the k best candidates seen so far; the root is the worst of them, so the
// root's score is the admission threshold once the heap is full.
class TopK {
 public:
  TopK(float* s, std::int64_t* id, std::size_t k) : s_(s), id_(id), k_(k) {}
  float threshold() const { return size_ < k_ ? kNegInf : s_[0]; }
  void push(float sc, std::int64_t id) {
    if (size_ < k_) {
      std::size_t i = size_++;
      while (i > 0) {  // sift up: parent must stay worse than child
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
    for (;;) {  // sift down from the root
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
  std::size_t size() const { return size_; }
  const float* scores() const { return s_; }
  const std::int64_t* ids() const { return id_; }

  /// Writes the heap best-first to (out_s, out_id); missing entries get id -1, score -inf.
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

inline bool excluded(const std::int64_t* ex, std::size_t n_ex, std::int64_t id) {
  for (std::size_t e = 0; e < n_ex; ++e)
    if (ex[e] == id) return true;
  return false;
}

// Feeds scores s[0..n) of ids id0.. into the heap; the SIMD filter skips the bulk of them.
inline void offer(const IsaKernels& K, TopK& heap, const float* s, const float* bias,
                  std::size_t n, std::int64_t id0, const std::int64_t* ex, std::size_t n_ex,
                  std::uint32_t* cand) {
  std::size_t c = K.filter_ge(s, bias, n, heap.threshold(), cand);
  for (std::size_t t = 0; t < c; ++t) {
    std::uint32_t j = cand[t];
    std::int64_t id = id0 + static_cast<std::int64_t>(j);
    if (n_ex && excluded(ex, n_ex, id)) continue;
    heap.push(bias ? s[j] + bias[j] : s[j], id);
  }
}

struct Problem {
  const float* q;
  std::size_t m, ldq;
  const float* x;
  std::size_t n, ldx, d, k;
  const float* bias;  // -|x|^2 / 2 for L2, else null
  const std::int64_t* exclude;
  std::size_t n_exclude;
};

// Few queries: stream the database rows as they are (packing would cost a full extra pass),
// split into chunks that stay in L2 while every query reads them.
void search_gemv(const Problem& P, std::vector<float>& hs, std::vector<std::int64_t>& hid,
                 std::size_t& n_parts) {
  const IsaKernels& K = kernels();
  const std::size_t chunk = std::max<std::size_t>(64, (256 * 1024) / (P.d * sizeof(float) + 1));
  const std::size_t n_chunks = detail::ceil_div(P.n, chunk);
  n_parts = std::min(num_threads(), n_chunks);
  hs.assign(n_parts * P.m * P.k, kNegInf);
  hid.assign(n_parts * P.m * P.k, -1);
  std::vector<std::vector<TopK>> heaps(n_parts);
  for (std::size_t w = 0; w < n_parts; ++w)
    for (std::size_t i = 0; i < P.m; ++i)
      heaps[w].emplace_back(&hs[(w * P.m + i) * P.k], &hid[(w * P.m + i) * P.k], P.k);
  std::vector<std::vector<float>> buf(n_parts, std::vector<float>(chunk));
  std::vector<std::vector<std::uint32_t>> cand(n_parts, std::vector<std::uint32_t>(chunk));
  parallel_for(n_chunks, [&](std::size_t c, std::size_t w) {
    const std::size_t j0 = c * chunk, nj = std::min(chunk, P.n - j0);
    for (std::size_t i = 0; i < P.m; ++i) {
      K.gemv_rows(P.q + i * P.ldq, P.x + j0 * P.ldx, nj, P.ldx, P.d, buf[w].data());
      offer(K, heaps[w][i], buf[w].data(), P.bias ? P.bias + j0 : nullptr, nj,
            static_cast<std::int64_t>(j0), P.exclude ? P.exclude + i * P.n_exclude : nullptr,
            P.n_exclude, cand[w].data());
    }
  });
  // Heaps were written in place; record their sizes by re-wrapping below (entries past a
  // heap's size keep id -1 and are ignored at merge time).
}

// Many queries: queries are packed into NR-wide panels (small, per task); database rows are
// broadcast straight from the caller's matrix, MR at a time, so the database is never copied
// and extra memory stays O(m k + one block per thread). The fused tile kernel compares each
// MR x NR score tile with the queries' current admission thresholds and reports only hits.
void search_gemm(const Problem& P, std::vector<float>& hs, std::vector<std::int64_t>& hid,
                 std::size_t& n_parts) {
  const IsaKernels& K = kernels();
  const std::size_t MR = K.mr, NR = K.nr, d = P.d;
  // A query block of MB queries (MB/NR panels) stays in L2 while the database streams past.
  const std::size_t panels_per_block =
      std::max<std::size_t>(1, std::min<std::size_t>(16, (384 * 1024) / (d * 4 * NR + 1)));
  const std::size_t MB = NR * panels_per_block;
  const std::size_t n_qblocks = detail::ceil_div(P.m, MB);
  const std::size_t n_rgroups = detail::ceil_div(P.n, MR);
  // Too few query blocks to keep every thread busy: also split the database into parts whose
  // partial heaps are merged afterwards.
  n_parts = std::min(n_rgroups, std::max<std::size_t>(1, detail::ceil_div(num_threads(), n_qblocks)));
  hs.assign(n_parts * P.m * P.k, kNegInf);
  hid.assign(n_parts * P.m * P.k, -1);
  const std::size_t groups_per_part = detail::ceil_div(n_rgroups, n_parts);
  // The last database rows, zero-padded to a full MR group, so the tile kernel never reads
  // past the caller's matrix.
  const std::size_t tail_rows = P.n % MR;
  AlignedFloats tail(MR * d);
  if (tail_rows) {
    std::fill(tail.data(), tail.data() + MR * d, 0.0f);
    for (std::size_t r = 0; r < tail_rows; ++r)
      std::copy(P.x + (P.n - tail_rows + r) * P.ldx, P.x + (P.n - tail_rows + r) * P.ldx + d,
                tail.data() + r * d);
  }
  const std::size_t tail_group = tail_rows ? n_rgroups - 1 : n_rgroups;
  std::vector<float> tail_bias(MR, 0.0f);
  if (P.bias && tail_rows)
    std::copy(P.bias + (P.n - tail_rows), P.bias + P.n, tail_bias.begin());

  parallel_for(n_qblocks * n_parts, [&](std::size_t task, std::size_t) {
    const std::size_t qb = task / n_parts, part = task % n_parts;
    const std::size_t i0 = qb * MB, mi = std::min(MB, P.m - i0);
    const std::size_t np = detail::ceil_div(mi, NR);
    AlignedFloats qpack(np * NR * d);
    detail::pack_panels(P.q + i0 * P.ldq, mi, P.ldq, d, NR, qpack.data());
    std::vector<TopK> heaps;
    heaps.reserve(mi);
    for (std::size_t i = 0; i < mi; ++i) {
      const std::size_t off = (part * P.m + i0 + i) * P.k;
      heaps.emplace_back(&hs[off], &hid[off], P.k);
    }
    // Admission threshold per query slot; padded slots never admit anything.
    std::vector<float> thr(np * NR, std::numeric_limits<float>::infinity());
    for (std::size_t i = 0; i < mi; ++i) thr[i] = kNegInf;
    std::vector<float> ctile(MR * NR);
    std::vector<std::uint32_t> hits(MR * NR);
    const std::size_t g0 = part * groups_per_part;
    const std::size_t g1 = std::min(n_rgroups, g0 + groups_per_part);
    for (std::size_t g = g0; g < g1; ++g) {
      const std::size_t r0 = g * MR;
      const bool is_tail = g == tail_group;
      const float* rows = is_tail ? tail.data() : P.x + r0 * P.ldx;
      const std::size_t lda = is_tail ? d : P.ldx;
      const float* bias = P.bias ? (is_tail ? tail_bias.data() : P.bias + r0) : nullptr;
      const std::size_t valid = is_tail ? tail_rows : MR;
      for (std::size_t p = 0; p < np; ++p) {
        float* t = thr.data() + p * NR;
        const std::size_t nh =
            K.knn_tile(rows, lda, qpack.data() + p * NR * d, d, bias, t, ctile.data(), hits.data());
        for (std::size_t h = 0; h < nh; ++h) {
          const std::uint32_t code = hits[h];
          const std::size_t r = code / NR, j = code % NR;
          if (r >= valid) continue;  // zero padding of the tail group
          const std::size_t qi = p * NR + j;
          const std::int64_t id = static_cast<std::int64_t>(r0 + r);
          if (P.n_exclude && excluded(P.exclude + (i0 + qi) * P.n_exclude, P.n_exclude, id))
            continue;
          heaps[qi].push(ctile[code], id);
          t[j] = heaps[qi].threshold();
        }
      }
    }
  });
}

}  // namespace

void knn_search(const float* queries, std::size_t m, std::size_t ldq, const float* base,
                std::size_t n, std::size_t ldb, std::size_t d, std::size_t k, Metric metric,
                const float* row_bias, const std::int64_t* exclude, std::size_t n_exclude,
                std::int64_t* out_idx,
                float* out_score) {
  if (k == 0) throw std::invalid_argument("k must be >= 1");
  if (n == 0) throw std::invalid_argument("the database is empty");
  if (k > n) throw std::invalid_argument("k is larger than the number of database rows");
  if (d == 0) throw std::invalid_argument("vectors have dimension 0");
  if (m == 0) return;

  std::vector<float> bias;
  if (metric == Metric::L2 && row_bias)
    throw std::invalid_argument("row_bias is only supported with the inner-product metric");
  if (metric == Metric::L2) {
    const IsaKernels& K = kernels();
    bias.resize(n);
    parallel_for(detail::ceil_div(n, 4096), [&](std::size_t t, std::size_t) {
      for (std::size_t j = t * 4096; j < std::min(n, (t + 1) * 4096); ++j)
        bias[j] = static_cast<float>(-0.5 * K.sum_squares(base + j * ldb, d));
    });
  }
  Problem P{queries, m, ldq, base, n, ldb, d, k, bias.empty() ? row_bias : bias.data(),
            exclude, n_exclude};
  std::vector<float> hs;
  std::vector<std::int64_t> hid;
  std::size_t n_parts = 1;
  if (m < 8)
    search_gemv(P, hs, hid, n_parts);
  else
    search_gemm(P, hs, hid, n_parts);

  // Merge the partial heaps of each query (filled slots have id >= 0) and sort best-first.
  parallel_for(detail::ceil_div(m, 256), [&](std::size_t t, std::size_t) {
    std::vector<float> ms(k);
    std::vector<std::int64_t> mid(k);
    for (std::size_t i = t * 256; i < std::min(m, (t + 1) * 256); ++i) {
      TopK heap(ms.data(), mid.data(), k);
      for (std::size_t part = 0; part < n_parts; ++part) {
        const std::size_t off = (part * m + i) * k;
        for (std::size_t e = 0; e < k; ++e)
          if (hid[off + e] >= 0) heap.push(hs[off + e], hid[off + e]);
      }
      float* os = out_score + i * k;
      std::int64_t* oi = out_idx + i * k;
      heap.write_sorted(os, oi);
      if (metric == Metric::L2) {
        // Report true distances, recomputed exactly in double (the selection used the
        // expanded form |q|^2 - 2 q.x + |x|^2 that faiss also uses).
        const float* q = queries + i * ldq;
        std::vector<std::pair<double, std::int64_t>> dist;
        for (std::size_t e = 0; e < k && oi[e] >= 0; ++e) {
          const float* x = base + static_cast<std::size_t>(oi[e]) * ldb;
          double s = 0;
          for (std::size_t c = 0; c < d; ++c) {
            double diff = static_cast<double>(q[c]) - x[c];
            s += diff * diff;
          }
          dist.emplace_back(std::sqrt(s), oi[e]);
        }
        std::stable_sort(dist.begin(), dist.end(), [](const auto& a, const auto& b) {
          return a.first < b.first || (a.first == b.first && a.second < b.second);
        });
        for (std::size_t e = 0; e < dist.size(); ++e) {
          os[e] = static_cast<float>(dist[e].first);
          oi[e] = dist[e].second;
        }
      }
    }
  });
}

void normalize_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d, float* out,
                    float* norms) {
  const IsaKernels& K = kernels();
  parallel_for(detail::ceil_div(n, 2048), [&](std::size_t t, std::size_t) {
    for (std::size_t i = t * 2048; i < std::min(n, (t + 1) * 2048); ++i) {
      const float* xi = x + i * ldx;
      double nn = std::sqrt(K.sum_squares(xi, d));
      if (norms) norms[i] = static_cast<float>(nn);
      float* oi = out + i * d;
      if (nn > 0) {
        const double inv = 1.0 / nn;
        for (std::size_t c = 0; c < d; ++c) oi[c] = static_cast<float>(xi[c] * inv);
      } else {
        for (std::size_t c = 0; c < d; ++c) oi[c] = 0.0f;
      }
    }
  });
}

std::int64_t first_nonfinite_row(const float* x, std::size_t n, std::size_t ldx, std::size_t d) {
  for (std::size_t i = 0; i < n; ++i) {
    const float* xi = x + i * ldx;
    // x - x is 0 for finite values and NaN for NaN/Inf; summing keeps the loop branch-free.
    float acc = 0.0f;
    for (std::size_t c = 0; c < d; ++c) acc += xi[c] - xi[c];
    if (acc != 0.0f) return static_cast<std::int64_t>(i);
  }
  return -1;
}

}  // namespace tokenspace
