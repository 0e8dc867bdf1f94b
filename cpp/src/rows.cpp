#include "tokenspace/rows.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "common/blocking.hpp"
#include "dispatch/kernels.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {

using detail::ceil_div;

void normalize_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d, float* out,
                    float* norms) {
  const KernelTable& K = active_kernels();
  parallel_for(ceil_div(n, 2048), [&](std::size_t t, std::size_t) {
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
  // A float is NaN or +-Inf exactly when its exponent bits are all ones; testing the bits is
  // branch-free and vectorises (a float sum would not, without fast-math). Row chunks run in
  // parallel; the smallest bad row wins.
  const std::size_t chunk = 2048, n_chunks = ceil_div(n, chunk);
  std::vector<std::int64_t> first(n_chunks, -1);
  parallel_for(n_chunks, [&](std::size_t t, std::size_t) {
    for (std::size_t i = t * chunk; i < std::min(n, (t + 1) * chunk); ++i) {
      const float* xi = x + i * ldx;
      std::uint32_t bad = 0;
      for (std::size_t c = 0; c < d; ++c) {
        std::uint32_t u;
        std::memcpy(&u, xi + c, 4);
        bad |= static_cast<std::uint32_t>((u & 0x7f800000u) == 0x7f800000u);
      }
      if (bad) {
        first[t] = static_cast<std::int64_t>(i);
        return;
      }
    }
  });
  for (std::int64_t f : first)
    if (f >= 0) return f;
  return -1;
}

std::uint32_t read_pass(const float* x, std::size_t n) {
  const std::size_t chunk = 16384 * 64;  // floats: project_rows' row chunk at d = 64
  const std::size_t n_chunks = ceil_div(n, chunk);
  std::vector<std::uint32_t> part(n_chunks, 0);
  parallel_for(n_chunks, [&](std::size_t t, std::size_t) {
    const std::size_t i0 = t * chunk, i1 = std::min(n, i0 + chunk);
    std::uint32_t acc[16] = {};
    std::size_t i = i0;
    for (; i + 16 <= i1; i += 16)
      for (int l = 0; l < 16; ++l) {
        std::uint32_t u;
        std::memcpy(&u, x + i + l, 4);
        acc[l] |= u;
      }
    for (; i < i1; ++i) {
      std::uint32_t u;
      std::memcpy(&u, x + i, 4);
      acc[0] |= u;
    }
    std::uint32_t r = 0;
    for (std::uint32_t v : acc) r |= v;
    part[t] = r;
  });
  std::uint32_t r = 0;
  for (std::uint32_t v : part) r |= v;
  return r;
}

void project_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d, const float* axis,
                  float offset, float* out, const float* center) {
  if (d == 0) throw std::invalid_argument("vectors have dimension 0");
  const KernelTable& K = active_kernels();
  // Chunks large enough to amortise task dispatch, small enough to balance 2+ threads.
  const std::size_t chunk = 16384;
  // Centred rows go through a small buffer that stays in L1 (never a centred copy of x).
  const std::size_t sub = std::max<std::size_t>(1, 8192 / d);
  parallel_for(ceil_div(n, chunk), [&](std::size_t t, std::size_t) {
    const std::size_t j0 = t * chunk, nj = std::min(chunk, n - j0);
    if (center) {
      std::vector<float> buf(sub * d);
      for (std::size_t s0 = 0; s0 < nj; s0 += sub) {
        const std::size_t ns = std::min(sub, nj - s0);
        for (std::size_t r = 0; r < ns; ++r) {
          const float* xr = x + (j0 + s0 + r) * ldx;
          float* br = buf.data() + r * d;
          for (std::size_t c = 0; c < d; ++c) br[c] = xr[c] - center[c];
        }
        K.gemv_rows(axis, buf.data(), ns, d, d, out + j0 + s0);
      }
    } else {
      K.gemv_rows(axis, x + j0 * ldx, nj, ldx, d, out + j0);
    }
    if (offset != 0.0f)
      for (std::size_t j = j0; j < j0 + nj; ++j) out[j] -= offset;
  });
}

}  // namespace tokenspace
