#include "tokenspace/cosine.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "common/aligned.hpp"
#include "common/blocking.hpp"
#include "dispatch/kernels.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {
namespace {

// Writes the valid rows x cols part of the MR x NR scratch tile T (row stride nr) whose top-left
// entry is (r0, c0): in place, and for a self-Gram only the entries with column >= row, each
// strictly-upper one also mirrored (a tile's column is a contiguous row segment of the
// transpose).
void store_tile(const float* T, std::size_t nr, std::size_t r0, std::size_t rows, std::size_t c0,
                std::size_t cols, bool symmetric, float* out, std::size_t ldo) {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t gi = r0 + r;
    const std::size_t c_first = symmetric && gi > c0 ? std::min(cols, gi - c0) : 0;
    std::copy(T + r * nr + c_first, T + r * nr + cols, out + gi * ldo + c0 + c_first);
  }
  if (!symmetric) return;
  for (std::size_t c = 0; c < cols; ++c) {
    const std::size_t gj = c0 + c;
    if (gj <= r0) continue;
    const std::size_t r_end = std::min(rows, gj - r0);
    float* dst = out + gj * ldo + r0;
    for (std::size_t r = 0; r < r_end; ++r) dst[r] = T[r * nr + c];
  }
}

// Clips rows x cols entries (row stride ld) to [-1, 1] while they are still in L1.
void clamp_tile(float* t, std::size_t ld, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = t + r * ld;
    for (std::size_t c = 0; c < cols; ++c) row[c] = std::min(1.0f, std::max(-1.0f, row[c]));
  }
}

}  // namespace

void gram_matrix(const float* a, std::size_t m, std::size_t lda, const float* b, std::size_t n,
                 std::size_t ldb, std::size_t d, float* out, std::size_t ldo, bool clamp_unit) {
  if (m == 0 || n == 0) return;
  if (d == 0) {
    for (std::size_t i = 0; i < m; ++i) std::fill(out + i * ldo, out + i * ldo + n, 0.0f);
    return;
  }
  // A A^T: only micro-tiles that reach the upper triangle are computed, then mirrored. The
  // micro-kernel sums a_i . a_j over k in the same order as a_j . a_i, so the result is bitwise
  // the general path's, with about half the arithmetic.
  const bool symmetric = a == b && m == n && lda == ldb;
  const KernelTable& K = active_kernels();
  const std::size_t MR = K.fp32_shape.mr, NR = K.fp32_shape.nr;
  const auto [NB, MB] = detail::gemm_blocks(d, MR, NR);
  const AlignedFloats packed = detail::pack_all_panels(b, n, ldb, d, NR);
  // A is packed once too: packing an A block per task cost as much as a quarter of the tile
  // arithmetic (each block meets every column block).
  const AlignedFloats apacked = detail::pack_all_panels(a, m, lda, d, MR);
  const std::size_t n_rb = detail::ceil_div(m, MB), n_cb = detail::ceil_div(n, NB);
  // (row block, column block) tasks; a self-Gram keeps those reaching the diagonal or above
  std::vector<std::pair<std::size_t, std::size_t>> tasks;
  for (std::size_t rb = 0; rb < n_rb; ++rb)
    for (std::size_t cb = symmetric ? (rb * MB) / NB : 0; cb < n_cb; ++cb)
      tasks.emplace_back(rb, cb);
  const std::size_t workers = std::min(num_threads(), tasks.size());
  std::vector<AlignedFloats> tile(workers);
  for (std::size_t w = 0; w < workers; ++w) tile[w].reset(MR * NR);
  parallel_for(tasks.size(), [&](std::size_t task, std::size_t w) {
    const auto [rb, cb] = tasks[task];
    const std::size_t i0 = rb * MB, mi = std::min(MB, m - i0);
    const float* ablock = apacked.data() + (i0 / MR) * MR * d;
    const std::size_t j0 = cb * NB, nj = std::min(NB, n - j0);
    const float* bblock = packed.data() + (j0 / NR) * NR * d;
    float* T = tile[w].data();
    for (std::size_t ip = 0; ip * MR < mi; ++ip) {
      const std::size_t r0 = i0 + ip * MR, rows = std::min(MR, mi - ip * MR);
      for (std::size_t p = 0; p * NR < nj; ++p) {
        const std::size_t c0 = j0 + p * NR, cols = std::min(NR, nj - p * NR);
        if (symmetric && c0 + cols <= r0) continue;  // wholly below the diagonal: mirrored
        const float* ap = ablock + ip * MR * d;
        const float* bp = bblock + p * NR * d;
        if (!symmetric && rows == MR && cols == NR) {
          // The output is far bigger than the caches: ask for the lines of the tile after
          // next now, so its stores do not wait on memory (one tile's arithmetic, ~250
          // cycles, is less than a DRAM round trip).
          if (p * NR + 3 * NR <= nj)
            for (std::size_t i = 0; i < MR; ++i)
              __builtin_prefetch(out + (r0 + i) * ldo + c0 + 2 * NR, 1, 3);
          K.micro_kernel(ap, bp, d, out + r0 * ldo + c0, ldo);
          if (clamp_unit) clamp_tile(out + r0 * ldo + c0, ldo, MR, NR);
        } else {  // edge or self-Gram tile: compute into scratch, store the wanted part
          K.micro_kernel(ap, bp, d, T, NR);
          if (clamp_unit) clamp_tile(T, NR, MR, NR);
          store_tile(T, NR, r0, rows, c0, cols, symmetric, out, ldo);
        }
      }
    }
  });
}

}  // namespace tokenspace
