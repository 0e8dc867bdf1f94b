#include "tokenspace/cosine.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "blocking.hpp"
#include "tokenspace/common.hpp"
#include "tokenspace/dispatch.hpp"
#include "tokenspace/thread_pool.hpp"

namespace tokenspace {

void gram_matrix(const float* a, std::size_t m, std::size_t lda, const float* b, std::size_t n,
                 std::size_t ldb, std::size_t d, float* out, std::size_t ldo) {
  if (m == 0 || n == 0) return;
  if (d == 0) {
    for (std::size_t i = 0; i < m; ++i) std::fill(out + i * ldo, out + i * ldo + n, 0.0f);
    return;
  }
  const IsaKernels& K = kernels();
  const std::size_t MR = K.mr, NR = K.nr;
  const auto [NB, MB] = detail::gemm_blocks(d, MR, NR);
  const AlignedFloats packed = detail::pack_all_panels(b, n, ldb, d, NR);
  const std::size_t n_rb = detail::ceil_div(m, MB), n_cb = detail::ceil_div(n, NB);
  const std::size_t workers = std::min(num_threads(), n_rb * n_cb);
  std::vector<AlignedFloats> apack(workers), tile(workers);
  for (std::size_t w = 0; w < workers; ++w) {
    apack[w].reset(MB * d);
    tile[w].reset(MR * NR);
  }
  // Row-block major so a worker reuses its packed A block across consecutive column blocks.
  parallel_for(n_rb * n_cb, [&](std::size_t task, std::size_t w) {
    const std::size_t rb = task / n_cb, cb = task % n_cb;
    const std::size_t i0 = rb * MB, mi = std::min(MB, m - i0);
    detail::pack_panels(a + i0 * lda, mi, lda, d, MR, apack[w].data());
    const std::size_t j0 = cb * NB, nj = std::min(NB, n - j0);
    const float* bblock = packed.data() + (j0 / NR) * NR * d;
    float* T = tile[w].data();
    for (std::size_t ip = 0; ip * MR < mi; ++ip) {
      const std::size_t rows = std::min(MR, mi - ip * MR);
      for (std::size_t p = 0; p * NR < nj; ++p) {
        const std::size_t cols = std::min(NR, nj - p * NR);
        float* dst = out + (i0 + ip * MR) * ldo + j0 + p * NR;
        const float* ap = apack[w].data() + ip * MR * d;
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
