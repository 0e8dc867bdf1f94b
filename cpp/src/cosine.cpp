#include "tokenspace/cosine.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "blocking.hpp"
#include "tokenspace/common.hpp"
#include "tokenspace/dispatch.hpp"
#include "tokenspace/thread_pool.hpp"

namespace tokenspace {
namespace {

// A A^T: only micro-tiles that reach the upper triangle are computed; each one is written in
// place and mirrored (a tile's column becomes a contiguous row segment of the transpose). The
// micro-kernel sums a_i . a_j over k in the same order as a_j . a_i, so the result is bitwise
// the one the general path gives, with about half the arithmetic.
void gram_symmetric(const float* a, std::size_t n, std::size_t lda, std::size_t d, float* out,
                    std::size_t ldo) {
  const IsaKernels& K = kernels();
  const std::size_t MR = K.mr, NR = K.nr;
  const auto [NB, MB] = detail::gemm_blocks(d, MR, NR);
  const AlignedFloats packed = detail::pack_all_panels(a, n, lda, d, NR);
  const std::size_t n_rb = detail::ceil_div(n, MB), n_cb = detail::ceil_div(n, NB);
  // the (row block, column block) pairs whose columns reach the row block's diagonal
  std::vector<std::pair<std::size_t, std::size_t>> tasks;
  for (std::size_t rb = 0; rb < n_rb; ++rb)
    for (std::size_t cb = (rb * MB) / NB; cb < n_cb; ++cb) tasks.emplace_back(rb, cb);
  const AlignedFloats apacked = detail::pack_all_panels(a, n, lda, d, MR);
  const std::size_t workers = std::min(num_threads(), tasks.size());
  std::vector<AlignedFloats> tile(workers);
  for (std::size_t w = 0; w < workers; ++w) tile[w].reset(MR * NR);
  parallel_for(tasks.size(), [&](std::size_t task, std::size_t w) {
    const auto [rb, cb] = tasks[task];
    const std::size_t i0 = rb * MB, mi = std::min(MB, n - i0);
    const float* ablock = apacked.data() + (i0 / MR) * MR * d;
    const std::size_t j0 = cb * NB, nj = std::min(NB, n - j0);
    const float* bblock = packed.data() + (j0 / NR) * NR * d;
    float* T = tile[w].data();
    for (std::size_t ip = 0; ip * MR < mi; ++ip) {
      const std::size_t r0 = i0 + ip * MR, rows = std::min(MR, mi - ip * MR);
      for (std::size_t p = 0; p * NR < nj; ++p) {
        const std::size_t c0 = j0 + p * NR, cols = std::min(NR, nj - p * NR);
        if (c0 + cols <= r0) continue;  // wholly below the diagonal: its mirror writes it
        K.micro_kernel(ablock + ip * MR * d, bblock + p * NR * d, d, T, NR);
        for (std::size_t r = 0; r < rows; ++r) {
          const std::size_t gi = r0 + r;
          // entries with column >= row, in place
          const std::size_t c_first = gi > c0 ? std::min(cols, gi - c0) : 0;
          std::copy(T + r * NR + c_first, T + r * NR + cols, out + gi * ldo + c0 + c_first);
        }
        for (std::size_t c = 0; c < cols; ++c) {
          const std::size_t gj = c0 + c;
          // entries with column > row, mirrored: row gj, columns r0 .. min(r0 + rows, gj)
          if (gj <= r0) continue;
          const std::size_t r_end = std::min(rows, gj - r0);
          float* dst = out + gj * ldo + r0;
          for (std::size_t r = 0; r < r_end; ++r) dst[r] = T[r * NR + c];
        }
      }
    }
  });
}

}  // namespace

void gram_matrix(const float* a, std::size_t m, std::size_t lda, const float* b, std::size_t n,
                 std::size_t ldb, std::size_t d, float* out, std::size_t ldo) {
  if (m == 0 || n == 0) return;
  if (d == 0) {
    for (std::size_t i = 0; i < m; ++i) std::fill(out + i * ldo, out + i * ldo + n, 0.0f);
    return;
  }
  if (a == b && m == n && lda == ldb) {
    gram_symmetric(a, m, lda, d, out, ldo);
    return;
  }
  const IsaKernels& K = kernels();
  const std::size_t MR = K.mr, NR = K.nr;
  const auto [NB, MB] = detail::gemm_blocks(d, MR, NR);
  const AlignedFloats packed = detail::pack_all_panels(b, n, ldb, d, NR);
  // A is packed once too: packing an A block per task cost as much as a quarter of the tile
  // arithmetic (each block meets every column block).
  const AlignedFloats apacked = detail::pack_all_panels(a, m, lda, d, MR);
  const std::size_t n_rb = detail::ceil_div(m, MB), n_cb = detail::ceil_div(n, NB);
  const std::size_t workers = std::min(num_threads(), n_rb * n_cb);
  std::vector<AlignedFloats> tile(workers);
  for (std::size_t w = 0; w < workers; ++w) tile[w].reset(MR * NR);
  parallel_for(n_rb * n_cb, [&](std::size_t task, std::size_t w) {
    const std::size_t rb = task / n_cb, cb = task % n_cb;
    const std::size_t i0 = rb * MB, mi = std::min(MB, m - i0);
    const float* ablock = apacked.data() + (i0 / MR) * MR * d;
    const std::size_t j0 = cb * NB, nj = std::min(NB, n - j0);
    const float* bblock = packed.data() + (j0 / NR) * NR * d;
    float* T = tile[w].data();
    for (std::size_t ip = 0; ip * MR < mi; ++ip) {
      const std::size_t rows = std::min(MR, mi - ip * MR);
      for (std::size_t p = 0; p * NR < nj; ++p) {
        const std::size_t cols = std::min(NR, nj - p * NR);
        float* dst = out + (i0 + ip * MR) * ldo + j0 + p * NR;
        const float* ap = ablock + ip * MR * d;
        const float* bp = bblock + p * NR * d;
        if (rows == MR && cols == NR) {
          K.micro_kernel(ap, bp, d, dst, ldo);
        } else {  // edge tile: compute into scratch, copy the valid part
          K.micro_kernel(ap, bp, d, T, NR);
          for (std::size_t r = 0; r < rows; ++r)
            std::copy(T + r * NR, T + r * NR + cols, dst + r * ldo);
        }
      }
    }
  });
}

}  // namespace tokenspace
