#include "knn/drivers.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/aligned.hpp"
#include "common/blocking.hpp"
#include "knn/quantize.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {
namespace detail {
namespace {

// Many queries: queries are packed into nr-wide panels (small, per task); database rows are
// broadcast straight from the stored matrix, mr at a time, so the database is never copied
// and extra memory stays O(m k + one block per thread). The fused tile kernel compares each
// mr x nr score tile with the queries' admission thresholds and reports only hits.
// tile(a, lda, r0, is_tail, qpack, p, bias, thr, c, hits) scores the MR rows at a (rows r0..,
// or the padded tail copy) against query panel p of the task's packed queries; pack(i0, mi,
// dst) fills np * NR * (panel_units + 1) floats (panels, then one float of extra per slot).
template <typename T, typename Tile, typename Pack>
void search_tiles(const Problem& P, const T* rows, std::size_t ld, std::size_t kdim, std::size_t MR,
                  std::size_t NR, std::size_t panel_units, Tile tile, Pack pack, Parts& out) {
  const KnnDatabase& db = *P.db;
  const std::size_t n = db.n();
  const std::size_t panel_bytes = panel_units * 4 * NR;
  // A query block (MB queries) stays in L2 while the database streams past.
  const std::size_t panels_per_block =
      std::max<std::size_t>(1, std::min<std::size_t>(16, (384 * 1024) / (panel_bytes + 1)));
  const std::size_t MB = NR * panels_per_block;
  const std::size_t n_qblocks = ceil_div(P.m, MB);
  const std::size_t n_groups = ceil_div(n, MR);
  const std::size_t parts =
      std::min(n_groups, std::max<std::size_t>(1, ceil_div(num_threads(), n_qblocks)));
  out.init(parts, P.m, P.k);
  const std::size_t groups_per_part = ceil_div(n_groups, parts);
  // The last rows, zero-padded to a full group, so the tile never reads past the matrix.
  const std::size_t tail_rows = n % MR;
  const std::size_t tail_group = tail_rows ? n_groups - 1 : n_groups;
  std::vector<T> tail(MR * ld, T(0));
  for (std::size_t r = 0; r < tail_rows; ++r)
    std::copy(rows + (n - tail_rows + r) * ld, rows + (n - tail_rows + r) * ld + kdim,
              tail.data() + r * ld);
  std::vector<float> tail_bias(MR, 0.0f);
  if (P.bias && tail_rows) std::copy(P.bias + (n - tail_rows), P.bias + n, tail_bias.begin());

  parallel_for(n_qblocks * parts, [&](std::size_t task, std::size_t) {
    const std::size_t qb = task / parts, part = task % parts;
    const std::size_t i0 = qb * MB, mi = std::min(MB, P.m - i0);
    const std::size_t np = ceil_div(mi, NR);
    AlignedFloats qpack(np * NR * (panel_units + 1));
    pack(i0, mi, qpack.data());
    std::vector<Collector> col;
    col.reserve(mi);
    for (std::size_t i = 0; i < mi; ++i)
      col.emplace_back(P, i0 + i, out.s_at(part, i0 + i), out.id_at(part, i0 + i));
    // admission threshold per query slot; padded slots never admit anything
    std::vector<float> thr(np * NR, kPosInf);
    for (std::size_t i = 0; i < mi; ++i) thr[i] = kNegInf;
    std::vector<float> ctile(MR * NR);
    std::vector<std::uint32_t> hits(MR * NR);
    const std::size_t g0 = part * groups_per_part, g1 = std::min(n_groups, g0 + groups_per_part);
    for (std::size_t g = g0; g < g1; ++g) {
      if (g % 64 == 0) check_cancelled();  // a task streams the whole database: seconds
      const std::size_t r0 = g * MR;
      const bool is_tail = g == tail_group;
      const T* a = is_tail ? tail.data() : rows + r0 * ld;
      const float* bias = P.bias ? (is_tail ? tail_bias.data() : P.bias + r0) : nullptr;
      const std::size_t valid = is_tail ? tail_rows : MR;
      const bool has_next = g + 1 < g1 && g + 1 != tail_group;
      for (std::size_t p = 0; p < np; ++p) {
        if (has_next) prefetch_share(a + MR * ld, MR * ld * sizeof(T), p, np);
        float* t = thr.data() + p * NR;
        const std::size_t nh =
            tile(a, ld, r0, is_tail, qpack.data(), p, bias, t, ctile.data(), hits.data());
        for (std::size_t h = 0; h < nh; ++h) {
          const std::uint32_t code = hits[h];
          const std::size_t r = code / NR, j = code % NR;
          if (r >= valid) continue;  // zero padding of the tail group
          Collector& cl = col[p * NR + j];
          cl.add(ctile[code], static_cast<std::int64_t>(r0 + r));
          t[j] = cl.threshold();
        }
      }
    }
    for (Collector& cl : col) cl.finish();
  });
}

}  // namespace

// Few queries: stream database rows as stored (packing would cost a full extra pass), split
// into chunks that stay in L2 while each query reads them.
void search_gemv(const Problem& P, Precision prec, Parts& out) {
  const KernelTable& K = *P.K;
  const bool use_bf16 = prec == Precision::BF16, use_int8 = prec == Precision::INT8;
  const KnnDatabase& db = *P.db;
  const std::size_t n = db.n(), d = db.d(), dp = db.bf16_dim(), dp8 = db.int8_dim();
  const std::size_t row_bytes = use_bf16 ? dp * 2 : use_int8 ? dp8 : d * 4;
  const std::size_t chunk = std::max<std::size_t>(64, (256 * 1024) / (row_bytes + 1));
  const std::size_t n_chunks = ceil_div(n, chunk);
  const std::size_t workers = std::min(num_threads(), n_chunks);
  out.init(workers, P.m, P.k);
  std::vector<std::uint16_t> qh;
  if (use_bf16) {
    qh.resize(P.m * dp);
    for (std::size_t i = 0; i < P.m; ++i) row_to_bf16(P.q + i * P.ldq, d, dp, qh.data() + i * dp);
  }
  std::vector<std::uint8_t> q8;
  std::vector<float> q8s(P.m);
  if (use_int8) {
    q8.resize(P.m * dp8);
    for (std::size_t i = 0; i < P.m; ++i)
      row_to_uint8(P.q + i * P.ldq, d, dp8, q8.data() + i * dp8, &q8s[i]);
  }
  std::vector<std::vector<Collector>> col(workers);
  for (std::size_t w = 0; w < workers; ++w)
    for (std::size_t i = 0; i < P.m; ++i)
      col[w].emplace_back(P, i, out.s_at(w, i), out.id_at(w, i));
  std::vector<std::vector<float>> buf(workers, std::vector<float>(chunk));
  std::vector<std::vector<std::uint32_t>> cand(workers, std::vector<std::uint32_t>(chunk));
  parallel_for(n_chunks, [&](std::size_t c, std::size_t w) {
    const std::size_t j0 = c * chunk, nj = std::min(chunk, n - j0);
    float* s = buf[w].data();
    for (std::size_t i = 0; i < P.m; ++i) {
      if (use_bf16)
        K.bf16_gemv(qh.data() + i * dp, db.bf16() + j0 * dp, nj, dp, dp, s);
      else if (use_int8)
        K.int8_gemv(q8.data() + i * dp8, q8s[i], db.int8() + j0 * dp8, nj, dp8, dp8,
                    db.int8_scale() + j0, db.int8_sum() + j0, s);
      else
        K.gemv_rows(P.q + i * P.ldq, db.x() + j0 * db.ldx(), nj, db.ldx(), d, s);
      Collector& cl = col[w][i];
      const float* bias = P.bias ? P.bias + j0 : nullptr;
      const std::size_t nc = K.filter_ge(s, bias, nj, cl.threshold(), cand[w].data());
      for (std::size_t t = 0; t < nc; ++t) {
        const std::uint32_t j = cand[w][t];
        cl.add(bias ? s[j] + bias[j] : s[j], static_cast<std::int64_t>(j0 + j));
      }
    }
  });
  parallel_for(workers, [&](std::size_t w, std::size_t) {
    for (Collector& cl : col[w]) cl.finish();
  });
}

void search_tiles_fp32(const Problem& P, Parts& out) {
  const KernelTable& K = *P.K;
  const KnnDatabase& db = *P.db;
  const std::size_t NR = K.fp32_shape.nr, d = db.d();
  auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
    pack_panels(P.q + i0 * P.ldq, mi, P.ldq, d, NR, dst);
  };
  auto tile = [&](const float* a, std::size_t lda, std::size_t, bool, const float* qp,
                  std::size_t p, const float* bias, const float* thr, float* c,
                  std::uint32_t* hits) {
    return K.knn_tile(a, lda, qp + p * NR * d, d, bias, thr, c, hits);
  };
  search_tiles<float>(P, db.x(), db.ldx(), d, K.fp32_shape.mr, NR, d, tile, pack, out);
}

void search_tiles_bf16(const Problem& P, Parts& out) {
  const KernelTable& K = *P.K;
  const KnnDatabase& db = *P.db;
  const std::size_t dp = db.bf16_dim(), NR = K.bf16_shape.nr, d = db.d();
  auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
    pack_bf16_panels(P.q + i0 * P.ldq, mi, P.ldq, d, dp, NR, dst);
  };
  auto tile = [&](const std::uint16_t* a, std::size_t lda, std::size_t, bool, const float* qp,
                  std::size_t p, const float* bias, const float* thr, float* c,
                  std::uint32_t* hits) {
    const auto* b = reinterpret_cast<const std::uint32_t*>(qp) + p * NR * (dp / 2);
    return K.bf16_knn_tile(a, lda, b, dp, bias, thr, c, hits);
  };
  search_tiles<std::uint16_t>(P, db.bf16(), dp, dp, K.bf16_shape.mr, NR, dp / 2, tile, pack, out);
}

void search_tiles_int8(const Problem& P, Parts& out) {
  const KernelTable& K = *P.K;
  const KnnDatabase& db = *P.db;
  const std::size_t dp8 = db.int8_dim(), NR = K.int8_shape.nr, MR = K.int8_shape.mr, d = db.d();
  const std::size_t units = dp8 / 4;  // one 32-bit slot per k-quad and query
  // panel p = units x NR uint32 slots (4 query bytes each), then the NR query scales
  const std::size_t stride = NR * (units + 1);
  auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
    const std::size_t np = ceil_div(mi, NR);
    std::vector<std::uint8_t> row(dp8);
    for (std::size_t p = 0; p < np; ++p) {
      std::uint32_t* panel = reinterpret_cast<std::uint32_t*>(dst + p * stride);
      std::fill(panel, panel + NR * units, 0x80808080u);  // padded slots: zero after shift
      std::fill(dst + p * stride + NR * units, dst + (p + 1) * stride, 0.0f);
    }
    for (std::size_t i = 0; i < mi; ++i) {
      float* base = dst + (i / NR) * stride;
      row_to_uint8(P.q + (i0 + i) * P.ldq, d, dp8, row.data(), base + NR * units + i % NR);
      std::uint32_t* panel = reinterpret_cast<std::uint32_t*>(base);
      for (std::size_t p = 0; p < units; ++p) {
        std::uint32_t v;
        std::memcpy(&v, row.data() + 4 * p, 4);
        panel[p * NR + i % NR] = v;
      }
    }
  };
  // the padded tail group needs scales and sums too
  const std::size_t tail_rows = db.n() % MR, tail0 = db.n() - tail_rows;
  std::vector<float> tail_scale(MR, 0.0f);
  std::vector<std::int32_t> tail_sum(MR, 0);
  for (std::size_t r = 0; r < tail_rows; ++r) {
    tail_scale[r] = db.int8_scale()[tail0 + r];
    tail_sum[r] = db.int8_sum()[tail0 + r];
  }
  auto tile = [&](const std::int8_t* a, std::size_t lda, std::size_t r0, bool is_tail,
                  const float* qp, std::size_t p, const float* bias, const float* thr, float* c,
                  std::uint32_t* hits) {
    const float* panel = qp + p * stride;
    return K.int8_knn_tile(a, lda, reinterpret_cast<const std::uint32_t*>(panel), dp8,
                           is_tail ? tail_scale.data() : db.int8_scale() + r0,
                           is_tail ? tail_sum.data() : db.int8_sum() + r0, panel + NR * units, bias,
                           thr, c, hits);
  };
  search_tiles<std::int8_t>(P, db.int8(), dp8, dp8, MR, NR, units, tile, pack, out);
}

}  // namespace detail
}  // namespace tokenspace
