#include <algorithm>
#include <numeric>
#include <utility>
#include <vector>

#include "common/aligned.hpp"
#include "common/blocking.hpp"
#include "knn/drivers.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {
namespace detail {
namespace {

// Self-join (the queries are the database rows themselves, as in knn_graph): the score matrix
// is symmetric, so each pair of row blocks (I, J) is scored once and feeds both the collectors
// of I (candidates from J) and those of J (candidates from I); half the work of search_tiles.
// The blocks are scheduled in rounds of disjoint pairs (the circle method of round-robin
// tournaments), so one collector per row suffices and no two tasks ever touch the same row.
// tile(a, lda, is_tail, qpack, p, bias_a, thr_a, bias_b, thr_b, c, hits) follows the
// knn_tile_sym contract on the MR rows at a against panel p of the packed block qpack.
template <typename T, typename Tile, typename Pack>
void search_tiles_sym(const Problem& P, const T* rows, std::size_t ld, std::size_t kdim,
                      std::size_t MR, std::size_t NR, std::size_t panel_units, Tile tile, Pack pack,
                      Parts& out) {
  const std::size_t n = P.m;
  const std::size_t panel_bytes = panel_units * 4 * NR;
  const std::size_t panels_per_block =
      std::max<std::size_t>(1, std::min<std::size_t>(16, (384 * 1024) / (panel_bytes + 1)));
  // Blocks are whole panels and whole row groups, so only the last group of the matrix is
  // partial.
  const std::size_t L = std::lcm(MR, NR);
  const std::size_t MB = std::max(L, NR * panels_per_block / L * L);
  const std::size_t n_blocks = ceil_div(n, MB), n_pad = n_blocks * MB;
  const std::size_t np = MB / NR, block_floats = np * NR * (panel_units + 1);
  out.init(1, n, P.k);

  // Candidate bias and admission threshold of every row, padded rows never admit anything.
  std::vector<float> bias(n_pad, 0.0f), thr(n_pad, kPosInf);
  std::copy(P.bias, P.bias + n, bias.begin());
  std::fill(thr.begin(), thr.begin() + n, kNegInf);
  const std::vector<float> no_thr(MR, kPosInf);  // the diagonal blocks: one direction only
  const std::size_t tail_rows = n % MR, tail0 = n - tail_rows;
  std::vector<T> tail(MR * ld, T(0));
  for (std::size_t r = 0; r < tail_rows; ++r)
    std::copy(rows + (tail0 + r) * ld, rows + (tail0 + r) * ld + kdim, tail.data() + r * ld);

  std::vector<Collector> col;
  col.reserve(n);
  for (std::size_t i = 0; i < n; ++i) col.emplace_back(P, i, out.s_at(0, i), out.id_at(0, i));

  // Every block serves as the packed side of about n_blocks / 2 tasks: pack each once (a
  // copy of the matrix in panel order) rather than once per task (which measured ~25% slower).
  // progress: packing, the round-robin rounds below (even n_blocks: plus the diagonals), finish
  const ProgressPlan plan(n_blocks + (n_blocks | 1) * (n_blocks / 2 + (n_blocks & 1)) +
                          ceil_div(n, 1024));
  AlignedFloats packed(n_blocks * block_floats);
  parallel_for(n_blocks, [&](std::size_t b, std::size_t) {
    pack(b * MB, std::min(MB, n - b * MB), packed.data() + b * block_floats);
  });
  const std::size_t workers = std::min(num_threads(), n_blocks);
  std::vector<std::vector<float>> ctile(workers, std::vector<float>(MR * NR));
  std::vector<std::vector<std::uint32_t>> hits(workers, std::vector<std::uint32_t>(MR * NR));
  constexpr std::uint32_t kFwd = 1u << 30, kBwd = 1u << 31, kPos = kFwd - 1;

  // Block qb (packed, forward direction) against the rows of block rb; qb == rb scores the
  // diagonal block, whose pairs all arrive in the forward direction.
  auto run_pair = [&](std::size_t qb, std::size_t rb, std::size_t w) {
    const std::size_t q0 = qb * MB, rr0 = rb * MB, rr1 = std::min(n, rr0 + MB);
    const float* qp = packed.data() + qb * block_floats;
    float* c = ctile[w].data();
    std::uint32_t* h = hits[w].data();
    const std::size_t q_panels = ceil_div(std::min(MB, n - q0), NR);
    for (std::size_t r0 = rr0; r0 < rr1; r0 += MR) {
      const bool is_tail = r0 == tail0 && tail_rows;
      const T* a = is_tail ? tail.data() : rows + r0 * ld;
      const float* thr_a = qb == rb ? no_thr.data() : thr.data() + r0;
      const bool has_next = r0 + MR < rr1 && r0 + MR != tail0;
      for (std::size_t p = 0; p < q_panels; ++p) {
        const std::size_t c0 = q0 + p * NR;
        if (has_next) prefetch_share(a + MR * ld, MR * ld * sizeof(T), p, q_panels);
        const std::size_t nh = tile(a, ld, is_tail, qp, p, bias.data() + r0, thr_a,
                                    bias.data() + c0, thr.data() + c0, c, h);
        for (std::size_t e = 0; e < nh; ++e) {
          const std::uint32_t code = h[e];
          const std::size_t pos = code & kPos, i = pos / NR, j = pos % NR;
          const std::size_t row = r0 + i, qc = c0 + j;
          if (row >= n || qc >= n) continue;  // zero padding
          if (code & kFwd) {
            Collector& cl = col[qc];
            cl.add(c[pos] + bias[row], static_cast<std::int64_t>(row));
            thr[qc] = cl.threshold();
          }
          if (code & kBwd) {
            Collector& cl = col[row];
            cl.add(c[pos] + bias[qc], static_cast<std::int64_t>(qc));
            thr[row] = cl.threshold();
          }
        }
      }
    }
    for (std::size_t i = q0; i < std::min(n, q0 + MB); ++i) col[i].park();
    if (qb != rb)
      for (std::size_t i = rr0; i < rr1; ++i) col[i].park();
  };

  // Round-robin: with B' = n_blocks rounded up to even, round r pairs block B'-1 with r and
  // (r + t) with (r - t) mod (B'-1); every unordered pair meets exactly once. A block paired
  // with the phantom block B' - 1 (odd n_blocks) scores its diagonal in that round instead;
  // with even n_blocks the diagonals get one extra round.
  const std::size_t Bp = n_blocks + (n_blocks & 1), R = Bp - 1;
  std::vector<std::pair<std::size_t, std::size_t>> round;
  auto run_round = [&]() {
    parallel_for(round.size(), [&](std::size_t t, std::size_t w) {
      run_pair(round[t].first, round[t].second, w);
    });
  };
  for (std::size_t r = 0; r < R; ++r) {
    round.clear();
    for (std::size_t t = 0; t < Bp / 2; ++t) {
      std::size_t x = t == 0 ? Bp - 1 : (r + t) % R, y = t == 0 ? r : (r + R - t) % R;
      if (x >= n_blocks) x = y;  // the phantom block: y's diagonal
      if (y >= n_blocks) y = x;
      round.emplace_back(std::min(x, y), std::max(x, y));
    }
    run_round();
  }
  if (!(n_blocks & 1)) {
    round.clear();
    for (std::size_t b = 0; b < n_blocks; ++b) round.emplace_back(b, b);
    run_round();
  }
  parallel_for(ceil_div(n, 1024), [&](std::size_t t, std::size_t) {
    for (std::size_t i = t * 1024; i < std::min(n, (t + 1) * 1024); ++i) col[i].finish();
  });
}

}  // namespace

void self_join_bf16(const Problem& P, Parts& out) {
  const KernelTable& K = *P.K;
  const KnnDatabase& db = *P.db;
  const std::size_t dp = db.bf16_dim(), NR = K.bf16_shape.nr;
  // the queries are the rows: transpose their stored bf16 pairs into panels
  auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
    const std::size_t words = dp / 2;
    const auto* src = reinterpret_cast<const std::uint32_t*>(db.bf16()) + i0 * words;
    auto* o = reinterpret_cast<std::uint32_t*>(dst);
    const std::size_t np = ceil_div(mi, NR);
    std::fill(o, o + np * NR * words, 0u);
    for (std::size_t i = 0; i < mi; ++i) {
      std::uint32_t* panel = o + (i / NR) * NR * words + i % NR;
      const std::uint32_t* row = src + i * words;
      for (std::size_t w = 0; w < words; ++w) panel[w * NR] = row[w];
    }
  };
  auto tile = [&](const std::uint16_t* a, std::size_t lda, bool, const float* qp, std::size_t p,
                  const float* ba, const float* ta, const float* bb, const float* tb, float* c,
                  std::uint32_t* hits) {
    const auto* b = reinterpret_cast<const std::uint32_t*>(qp) + p * NR * (dp / 2);
    return K.bf16_knn_tile_sym(a, lda, b, dp, ba, ta, bb, tb, c, hits);
  };
  search_tiles_sym<std::uint16_t>(P, db.bf16(), dp, dp, K.bf16_shape.mr, NR, dp / 2, tile, pack,
                                  out);
}

void self_join_fp32(const Problem& P, Parts& out) {
  const KernelTable& K = *P.K;
  const KnnDatabase& db = *P.db;
  const std::size_t NR = K.fp32_shape.nr, MR = K.fp32_shape.mr, d = db.d();
  auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
    pack_panels(P.q + i0 * P.ldq, mi, P.ldq, d, NR, dst);
  };
  auto tile = [&](const float* a, std::size_t lda, bool, const float* qp, std::size_t p,
                  const float* ba, const float* ta, const float* bb, const float* tb, float* c,
                  std::uint32_t* hits) {
    return K.knn_tile_sym(a, lda, qp + p * NR * d, d, ba, ta, bb, tb, c, hits);
  };
  search_tiles_sym<float>(P, db.x(), db.ldx(), d, MR, NR, d, tile, pack, out);
}

void self_join_tile_fp32(const Problem& P, std::size_t s0, std::size_t i0, std::size_t i1,
                         std::size_t j0, std::size_t j1, Parts& out) {
  const KernelTable& K = *P.K;
  const KnnDatabase& db = *P.db;
  const std::size_t NR = K.fp32_shape.nr, MR = K.fp32_shape.mr, d = db.d(), ld = db.ldx();
  const bool diag = i0 == j0;
  const std::size_t ni = i1 - i0, nj = j1 - j0;
  const std::size_t ni_pad = ceil_div(ni, MR) * MR, n_panels = ceil_div(nj, NR);
  out.init(1, diag ? ni : ni + nj, P.k);
  std::vector<Collector> col;
  col.reserve(diag ? ni : ni + nj);
  for (std::size_t i = 0; i < ni; ++i)
    col.emplace_back(P, i0 - s0 + i, out.s_at(0, i), out.id_at(0, i));
  if (!diag)
    for (std::size_t j = 0; j < nj; ++j)
      col.emplace_back(P, j0 - s0 + j, out.s_at(0, ni + j), out.id_at(0, ni + j));
  Collector* col_i = col.data();
  Collector* col_j = diag ? col.data() : col.data() + ni;

  // Candidate biases and admission thresholds, padded slots never admit anything.
  std::vector<float> bias_i(ni_pad, 0.0f), thr_i(ni_pad, kPosInf);
  std::vector<float> bias_j(n_panels * NR, 0.0f), thr_j(n_panels * NR, kPosInf);
  std::copy(P.bias + i0, P.bias + i1, bias_i.begin());
  std::copy(P.bias + j0, P.bias + j1, bias_j.begin());
  std::fill(thr_i.begin(), thr_i.begin() + ni, kNegInf);
  std::fill(thr_j.begin(), thr_j.begin() + nj, kNegInf);
  const std::vector<float> no_thr(std::max(MR, NR), kPosInf);
  const std::size_t tail_rows = ni % MR, tail0 = ni - tail_rows;
  std::vector<float> tail(MR * ld, 0.0f);
  for (std::size_t r = 0; r < tail_rows; ++r)
    std::copy(db.x() + (i0 + tail0 + r) * ld, db.x() + (i0 + tail0 + r) * ld + d,
              tail.data() + r * ld);
  AlignedFloats packed(n_panels * NR * d);
  pack_panels(db.x() + j0 * ld, nj, ld, d, NR, packed.data());

  // S parts of each side, scheduled so that no two concurrent tasks touch the same collector:
  // off the diagonal, round r pairs I part t with J part (t + r) mod S (a Latin square); on the
  // diagonal every pair arrives in the forward direction only, so a task owns one J part and
  // scans all of I.
  const std::size_t S = std::max<std::size_t>(1, std::min(num_threads(), ceil_div(nj, NR)));
  const std::size_t part_i = ceil_div(ceil_div(ni, MR), S) * MR;
  const std::size_t part_j = ceil_div(n_panels, S);
  const std::size_t workers = std::min(num_threads(), S);
  std::vector<std::vector<float>> ctile(workers, std::vector<float>(MR * NR));
  std::vector<std::vector<std::uint32_t>> hits(workers, std::vector<std::uint32_t>(MR * NR));
  constexpr std::uint32_t kFwd = 1u << 30, kBwd = 1u << 31, kPos = kFwd - 1;
  const std::size_t chunk = std::max<std::size_t>(1, (256 * 1024) / (NR * d * 4 + 1));

  auto run = [&](std::size_t r0, std::size_t r1, std::size_t p0, std::size_t p1, std::size_t w) {
    float* c = ctile[w].data();
    std::uint32_t* h = hits[w].data();
    // chunks of panels that stay in L2 while the rows of I stream past
    for (std::size_t pc = p0; pc < p1; pc += chunk)
      for (std::size_t g = r0; g < r1; g += MR) {
        const bool is_tail = g == tail0 && tail_rows;
        const float* a = is_tail ? tail.data() : db.x() + (i0 + g) * ld;
        const float* ta = diag ? no_thr.data() : thr_i.data() + g;
        for (std::size_t p = pc; p < std::min(p1, pc + chunk); ++p) {
          const std::size_t c0 = p * NR;
          const float* b = packed.data() + p * NR * d;
          const float* ba = bias_i.data() + g;
          const float* bb = bias_j.data() + c0;
          const float* tb = thr_j.data() + c0;
          const std::size_t nh = K.knn_tile_sym(a, ld, b, d, ba, ta, bb, tb, c, h);
          for (std::size_t e = 0; e < nh; ++e) {
            const std::uint32_t code = h[e];
            const std::size_t pos = code & kPos, i = pos / NR, j = pos % NR;
            const std::size_t row = g + i, qc = c0 + j;
            if (row >= ni || qc >= nj) continue;  // zero padding
            if (code & kFwd) {
              Collector& cl = col_j[qc];
              cl.add(c[pos] + bias_i[row], static_cast<std::int64_t>(i0 + row));
              thr_j[qc] = cl.threshold();
            }
            if (code & kBwd) {
              Collector& cl = col_i[row];
              cl.add(c[pos] + bias_j[qc], static_cast<std::int64_t>(j0 + qc));
              thr_i[row] = cl.threshold();
            }
          }
        }
      }
  };
  auto i_range = [&](std::size_t t) {
    return std::make_pair(std::min(ni, t * part_i), std::min(ni, (t + 1) * part_i));
  };
  auto j_range = [&](std::size_t u) {
    return std::make_pair(std::min(n_panels, u * part_j), std::min(n_panels, (u + 1) * part_j));
  };
  if (diag) {
    parallel_for(S, [&](std::size_t u, std::size_t w) {
      const auto [p0, p1] = j_range(u);
      run(0, ni, p0, p1, w);
    });
  } else {
    for (std::size_t r = 0; r < S; ++r)
      parallel_for(S, [&](std::size_t t, std::size_t w) {
        const auto [g0, g1] = i_range(t);
        const auto [p0, p1] = j_range((t + r) % S);
        run(g0, g1, p0, p1, w);
      });
  }
  parallel_for(ceil_div(col.size(), 1024), [&](std::size_t t, std::size_t) {
    for (std::size_t i = t * 1024; i < std::min(col.size(), (t + 1) * 1024); ++i) col[i].finish();
  });
}

}  // namespace detail
}  // namespace tokenspace
