#include "tokenspace/cosine.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "common/aligned.hpp"
#include "common/blocking.hpp"
#include "dispatch/kernels.hpp"
#include "tokenspace/threads.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tokenspace {
namespace {

// Writes the valid rows x cols part of the MR x NR scratch tile T (row stride nr) whose top-left
// entry is (r0, c0), in place; for a self-Gram only the entries with column >= row (the task's
// mirror pass fills the rest).
void store_tile(const float* T, std::size_t nr, std::size_t r0, std::size_t rows, std::size_t c0,
                std::size_t cols, bool symmetric, float* out, std::size_t ldo) {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t gi = r0 + r;
    const std::size_t c_first = symmetric && gi > c0 ? std::min(cols, gi - c0) : 0;
    std::copy(T + r * nr + c_first, T + r * nr + cols, out + gi * ldo + c0 + c_first);
  }
}

// Copies the strictly-upper entries of the block rows [i0, i0 + mi) x columns [j0, j0 + nj) to
// their mirror images, in 32 x 32 squares: the block was just computed and is still in cache,
// so only the transposed writes go to memory (a whole-matrix transpose afterwards would read
// the upper half back from DRAM). Each destination row segment is written contiguously and
// the strided reads hit the square's 64 source lines in L1 (scattering single floats down the
// destination rows waited on a cold line per store: 15% of the self-Gram's time). When the
// rows share their alignment, the squares start on cache lines and full segments (two whole
// lines) are written with streaming stores, so the lower half is never read for ownership.
void mirror_block(float* out, std::size_t ldo, std::size_t i0, std::size_t mi, std::size_t j0,
                  std::size_t nj) {
  constexpr std::size_t S = 32, L = 16;  // square side; floats per 64-byte line
#if defined(__SSE2__)
  const std::size_t skew = (reinterpret_cast<std::uintptr_t>(out) / sizeof(float)) % L;
  const bool stream = ldo % L == 0 && reinterpret_cast<std::uintptr_t>(out) % sizeof(float) == 0;
#else
  const std::size_t skew = 0;
  const bool stream = false;
#endif
  // first line-aligned column at or after i0; the squares after it are whole lines
  const std::size_t first = stream ? i0 + (L - (skew + i0) % L) % L : i0;
  for (std::size_t jb = j0; jb < j0 + nj; jb += S) {
    const std::size_t je = std::min(j0 + nj, jb + S);
    for (std::size_t ib = i0; ib < i0 + mi && ib < je;) {
      const std::size_t next = ib < first ? first : ib + S;
      const std::size_t ie = std::min(i0 + mi, next);
      for (std::size_t j = std::max(jb, ib + 1); j < je; ++j) {
        float* dst = out + j * ldo;
        const float* src = out + j;
        const std::size_t i_end = std::min(ie, j);
#if defined(__SSE2__)
        if (stream && ib >= first && i_end - ib == S) {
          for (std::size_t i = ib; i < i_end; i += 4)
            _mm_stream_ps(dst + i, _mm_setr_ps(src[i * ldo], src[(i + 1) * ldo], src[(i + 2) * ldo],
                                               src[(i + 3) * ldo]));
          continue;
        }
#endif
        // Each destination row is a new line far from the last (one row apart): ask for the
        // segment of the row 8 ahead, or every segment would wait for its line from DRAM.
        __builtin_prefetch(out + (j + 8) * ldo + ib, 1, 3);
        __builtin_prefetch(out + (j + 8) * ldo + ib + 16, 1, 3);
        for (std::size_t i = ib; i < i_end; ++i) dst[i] = src[i * ldo];
      }
      ib = next;
    }
  }
#if defined(__SSE2__)
  _mm_sfence();  // streaming stores are weakly ordered: complete them before the task ends
#endif
}

// 1 / ||x_i|| in double, computed as normalize_rows does (0 for a zero row), so that packing
// with these scales gives the same floats as packing normalize_rows' output.
std::vector<double> inverse_norms(const KernelTable& K, const float* x, std::size_t n,
                                  std::size_t ldx, std::size_t d) {
  std::vector<double> inv(n);
  parallel_for(detail::ceil_div(n, 2048), [&](std::size_t t, std::size_t) {
    for (std::size_t i = t * 2048; i < std::min(n, (t + 1) * 2048); ++i) {
      const double nn = std::sqrt(K.sum_squares(x + i * ldx, d));
      inv[i] = nn > 0 ? 1.0 / nn : 0.0;
    }
  });
  return inv;
}

}  // namespace

void gram_matrix(const float* a, std::size_t m, std::size_t lda, const float* b, std::size_t n,
                 std::size_t ldb, std::size_t d, float* out, std::size_t ldo, bool clamp_unit,
                 bool unit_rows) {
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
  const auto [NB, MB] = detail::streaming_blocks(d, MR, NR);
  // unit_rows: the rows are normalised as they are packed, so no normalised copy of A or B is
  // written and read back (and no fresh pages of one are faulted in).
  std::vector<double> inv_a, inv_b;
  if (unit_rows) {
    inv_a = inverse_norms(K, a, m, lda, d);
    inv_b = symmetric ? std::vector<double>() : inverse_norms(K, b, n, ldb, d);
  }
  const double* sa = unit_rows ? inv_a.data() : nullptr;
  const double* sb = unit_rows ? (symmetric ? sa : inv_b.data()) : nullptr;
  const AlignedFloats packed = detail::pack_all_panels(b, n, ldb, d, NR, sb);
  // A is packed once too: packing an A block per task cost as much as a quarter of the tile
  // arithmetic (each block meets every column block).
  const AlignedFloats apacked = detail::pack_all_panels(a, m, lda, d, MR, sa);
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
    // B panel outer (it stays in L1), A panels inner (streamed): see streaming_blocks.
    for (std::size_t p = 0; p * NR < nj; ++p) {
      const std::size_t c0 = j0 + p * NR, cols = std::min(NR, nj - p * NR);
      const float* bp = bblock + p * NR * d;
      for (std::size_t ip = 0; ip * MR < mi; ++ip) {
        const std::size_t r0 = i0 + ip * MR, rows = std::min(MR, mi - ip * MR);
        if (symmetric && c0 + cols <= r0) break;  // this and the later tiles: below the diagonal
        const float* ap = ablock + ip * MR * d;
        // A self-Gram tile whose every entry has column >= row is stored like a general one.
        const bool direct = rows == MR && cols == NR && (!symmetric || r0 + MR <= c0 + 1);
        if (direct) {
          // The output is far bigger than the caches: ask for the lines of the tile after
          // next (down the column strip) now, so its stores do not wait on memory (one tile's
          // arithmetic, ~1000 cycles, is more than a DRAM round trip).
          if ((ip + 3) * MR <= mi)
            for (std::size_t i = 0; i < MR; ++i)
              __builtin_prefetch(out + (r0 + 2 * MR + i) * ldo + c0, 1, 3);
          K.micro_kernel(ap, bp, d, out + r0 * ldo + c0, ldo, clamp_unit);
        } else {  // edge or diagonal tile: compute into scratch, store the wanted part
          K.micro_kernel(ap, bp, d, T, NR, clamp_unit);
          store_tile(T, NR, r0, rows, c0, cols, symmetric, out, ldo);
        }
      }
    }
    if (symmetric) mirror_block(out, ldo, i0, mi, j0, nj);
  });
}

}  // namespace tokenspace
