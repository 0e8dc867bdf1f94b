// Panel packing shared by the GEMM-based kernels (portable code: plain copies).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "common/aligned.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {
namespace detail {

/// Packs rows [0, n) of x (row stride ldx) into ceil(n / w) panels, each d x w floats,
/// k-major (panel[k * w + r] = x[r][k]); rows past n are zero. With row_scale, row r is packed
/// as float(x[r][k] * row_scale[r]) (the double product normalize_rows rounds), so a kernel
/// can normalise while it packs instead of reading a normalised copy.
inline void pack_panels(const float* x, std::size_t n, std::size_t ldx, std::size_t d,
                        std::size_t w, float* out, const double* row_scale = nullptr) {
  const std::size_t panels = (n + w - 1) / w;
  for (std::size_t p = 0; p < panels; ++p) {
    float* dst = out + p * d * w;
    const std::size_t r0 = p * w;
    const std::size_t rows = std::min(w, n - r0);
    if (rows < w) std::memset(dst, 0, sizeof(float) * d * w);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* src = x + (r0 + r) * ldx;
      if (!row_scale) {
        for (std::size_t k = 0; k < d; ++k) dst[k * w + r] = src[k];
      } else {
        const double s = row_scale[r0 + r];
        for (std::size_t k = 0; k < d; ++k) dst[k * w + r] = static_cast<float>(src[k] * s);
      }
    }
  }
}

inline std::size_t round_up(std::size_t v, std::size_t m) { return (v + m - 1) / m * m; }
inline std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

/// Default cache blocking of the GEMM-based kernels for vectors of dimension d: a column block
/// of NB packed rows (~384 KB, stays in L2) and a row block of MB rows (~192 KB), multiples of
/// the micro-kernel's nr and mr.
struct GemmBlocks {
  std::size_t nb, mb;
};
inline GemmBlocks gemm_blocks(std::size_t d, std::size_t mr, std::size_t nr) {
  return {round_up(std::max<std::size_t>(nr, (384 * 1024) / (d * 4 + 1)), nr),
          mr * std::max<std::size_t>(1, (192 * 1024) / (d * 4 * mr + 1))};
}

/// Blocking of the GEMM loops that hold one packed B micro-panel (d x nr, 24 KB at d = 384) in
/// L1 and stream the A micro-panels of a row block past it: each A panel is 6 floats per k, so
/// it can come from L3, while the B panel is reused by every A panel of the block. Measured on
/// Zen 3 (d = 384, 6 x 16 kernel, one thread): 87 Gflop/s (94% of the FMA peak) with ~1000 x 128
/// blocks, against 73 with the A-panel-in-L1 order and 126 x 256 blocks of gemm_blocks.
inline GemmBlocks streaming_blocks(std::size_t d, std::size_t mr, std::size_t nr) {
  return {round_up(std::max<std::size_t>(nr, (192 * 1024) / (d * 4 + 1)), nr),
          mr * std::max<std::size_t>(1, (1536 * 1024) / (d * 4 * mr + 1))};
}

/// All n rows of x packed into nr-wide panels (see pack_panels), 64 panels per parallel task.
inline AlignedFloats pack_all_panels(const float* x, std::size_t n, std::size_t ldx, std::size_t d,
                                     std::size_t nr, const double* row_scale = nullptr) {
  const std::size_t n_panels = ceil_div(n, nr), per_task = 64;
  AlignedFloats packed(n_panels * nr * d);
  parallel_for(ceil_div(n_panels, per_task), [&](std::size_t t, std::size_t) {
    const std::size_t p0 = t * per_task, p1 = std::min(n_panels, p0 + per_task);
    const std::size_t r0 = p0 * nr, r1 = std::min(n, p1 * nr);
    pack_panels(x + r0 * ldx, r1 - r0, ldx, d, nr, packed.data() + p0 * nr * d,
                row_scale ? row_scale + r0 : nullptr);
  });
  return packed;
}

}  // namespace detail
}  // namespace tokenspace
