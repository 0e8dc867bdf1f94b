// Panel packing shared by the GEMM-based kernels (portable code: plain copies).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstring>

namespace tokenspace {
namespace detail {

/// Packs rows [0, n) of x (row stride ldx) into ceil(n / w) panels, each d x w floats,
/// k-major (panel[k * w + r] = x[r][k]); rows past n are zero.
inline void pack_panels(const float* x, std::size_t n, std::size_t ldx, std::size_t d,
                        std::size_t w, float* out) {
  const std::size_t panels = (n + w - 1) / w;
  for (std::size_t p = 0; p < panels; ++p) {
    float* dst = out + p * d * w;
    const std::size_t r0 = p * w;
    const std::size_t rows = std::min(w, n - r0);
    if (rows < w) std::memset(dst, 0, sizeof(float) * d * w);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* src = x + (r0 + r) * ldx;
      for (std::size_t k = 0; k < d; ++k) dst[k * w + r] = src[k];
    }
  }
}

inline std::size_t round_up(std::size_t v, std::size_t m) { return (v + m - 1) / m * m; }
inline std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

}  // namespace detail
}  // namespace tokenspace
