#include "tokenspace/align.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "common/aligned.hpp"
#include "common/blocking.hpp"
#include "dispatch/kernels.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {
namespace {

// Copies the row's ceil(d / W) pieces of W floats to their panels (fixed size: a memcpy of a
// run-time width was a library call per piece, 88 per row pair at d = 384).
template <std::size_t W>
void scatter_row(const float* row, std::size_t np, std::size_t stride, float* out) {
  for (std::size_t p = 0; p < np; ++p)
    std::memcpy(out + p * stride, row + p * W, W * sizeof(float));
}

void scatter_row(const float* row, std::size_t np, std::size_t w, std::size_t stride, float* out) {
  switch (w) {
    case 4:
      return scatter_row<4>(row, np, stride, out);
    case 6:
      return scatter_row<6>(row, np, stride, out);
    case 8:
      return scatter_row<8>(row, np, stride, out);
    case 12:
      return scatter_row<12>(row, np, stride, out);
    case 16:
      return scatter_row<16>(row, np, stride, out);
    case 32:
      return scatter_row<32>(row, np, stride, out);
    default:
      for (std::size_t p = 0; p < np; ++p) std::memcpy(out + p * stride, row + p * w, w * 4);
  }
}

// Packs rows [0, kc) of x into ceil(d / w) k-major panels (panel p holds columns
// [p w, p w + w), kc x w floats, zero past d), minus the shift: shift into a row buffer
// (vectorised), then copy w-wide pieces. Returns the sum of squares.
double pack_block(const float* x, std::size_t kc, std::size_t ldx, std::size_t d, std::size_t w,
                  std::size_t stride, const float* shift, float* out, float* row) {
  const std::size_t np = detail::ceil_div(d, w), dp = np * w;
  for (std::size_t c = d; c < dp; ++c) row[c] = 0.0f;
  double ss = 0.0;
  // Unshifted rows whose width is whole pieces are read in place: the cross-Gram does only
  // 2 d flops per value it packs, so a copy into the row buffer is a visible share of its time.
  const bool in_place = !shift && dp == d;
  for (std::size_t k = 0; k < kc; ++k) {
    const float* src = x + k * ldx;
    const float* r = in_place ? src : row;
    if (shift) {
      for (std::size_t c = 0; c < d; ++c) row[c] = src[c] - shift[c];
    } else if (!in_place) {
      std::memcpy(row, src, d * sizeof(float));
    }
    // 32 partial sums: eight independent vector chains (with two, the adds' latency made this
    // loop 10% of the cross-Gram's time)
    float acc[32] = {};
    std::size_t c = 0;
    for (; c + 32 <= d; c += 32)
      for (int l = 0; l < 32; ++l) acc[l] += r[c + l] * r[c + l];
    for (int l = 0; l < 16; ++l) acc[l] += acc[l + 16];
    for (int l = 0; l < 8; ++l) acc[l] += acc[l + 8];
    float part = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; c < d; ++c) part += r[c] * r[c];
    ss += part;
    scatter_row(r, np, w, stride, out + k * w);
  }
  return ss;
}

// exp(x) for -3000 < x <= 0 in plain float arithmetic (relative error ~1e-7) so the compiler
// can vectorise the loop; libm's expf cannot be vectorised without -ffast-math.
inline float exp_nonpositive(float x) {
  const float t = x * 1.4426950408889634f;
  // n = floor(t + 0.5), f = t - n in [-0.5, 0.5]; integer selects only, so the loop vectorises.
  const float h = t + 0.5f;
  int n = static_cast<int>(h);
  n -= static_cast<int>(static_cast<float>(n) > h);
  const float f = t - static_cast<float>(n);
  float p = 1.5252733804059841e-5f;
  p = p * f + 1.5403530393381608e-4f;
  p = p * f + 1.3333558146428443e-3f;
  p = p * f + 9.6181291076284772e-3f;
  p = p * f + 5.5504108664821580e-2f;
  p = p * f + 0.24022650695910071f;
  p = p * f + 0.69314718055994531f;
  p = p * f + 1.0f;
  // 2^n from the exponent bits; below the normal range the term is flushed to 0.
  const std::uint32_t keep = 0u - static_cast<std::uint32_t>(n >= -126);
  const std::uint32_t bits = (static_cast<std::uint32_t>(n + 127) << 23) & keep;
  float scale;
  std::memcpy(&scale, &bits, sizeof(float));
  return p * scale;
}

// Two passes: an elementwise map the compiler vectorises (a float reduction is never
// vectorised without -ffast-math), then a sum with independent partial accumulators.
float row_exp_sum(const float* c, std::size_t n, float beta, float top, float* buf) {
  for (std::size_t j = 0; j < n; ++j) buf[j] = exp_nonpositive(beta * (c[j] - top));
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) acc[l] += buf[j + l];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < n; ++j) s += buf[j];
  return s;
}

}  // namespace

void cross_gram(const float* x, std::size_t n, std::size_t ldx, std::size_t d1, const float* y,
                std::size_t ldy, std::size_t d2, const float* x_shift, const float* y_shift,
                double* out, double* sxx, double* syy) {
  if (d1 == 0 || d2 == 0) throw std::invalid_argument("vectors have dimension 0");
  std::fill(out, out + d1 * d2, 0.0);
  if (sxx) *sxx = 0.0;
  if (syy) *syy = 0.0;
  if (n == 0) return;
  const KernelTable& K = active_kernels();
  const std::size_t MR = K.fp32_shape.mr, NR = K.fp32_shape.nr;
  const std::size_t np = detail::ceil_div(d1, MR), nq = detail::ceil_div(d2, NR);
  const std::size_t d1p = np * MR, d2p = nq * NR;
  // Rows per block: one packed B micro-panel (KC x NR floats, ~24 KB) stays in L1 while the A
  // micro-panels of the block stream past it from L2 (the order of cosine's streaming_blocks);
  // each tile's float sum over KC rows is then added into the worker's double accumulators.
  const std::size_t KC =
      std::max<std::size_t>(16, std::min<std::size_t>(512, (24 * 1024) / (NR * sizeof(float))));
  const std::size_t n_blocks = detail::ceil_div(n, KC);
  const std::size_t workers = std::min(num_threads(), n_blocks);
  std::vector<AlignedBuffer<double>> acc(workers);
  std::vector<double> ssx(workers, 0.0), ssy(workers, 0.0);
  std::vector<AlignedFloats> apack(workers), bpack(workers), block(workers), rowbuf(workers);
  for (std::size_t w = 0; w < workers; ++w) {
    apack[w].reset(KC * d1p);
    bpack[w].reset(KC * d2p);
    block[w].reset(d1p * d2p);
    acc[w].reset(d1p * d2p);
    std::fill(acc[w].data(), acc[w].data() + d1p * d2p, 0.0);
    rowbuf[w].reset(std::max(d1p, d2p));
  }
  parallel_for(n_blocks, [&](std::size_t blk, std::size_t w) {
    const std::size_t r0 = blk * KC, kc = std::min(KC, n - r0);
    float* A = apack[w].data();
    float* B = bpack[w].data();
    ssx[w] += pack_block(x + r0 * ldx, kc, ldx, d1, MR, KC * MR, x_shift, A, rowbuf[w].data());
    ssy[w] += pack_block(y + r0 * ldy, kc, ldy, d2, NR, KC * NR, y_shift, B, rowbuf[w].data());
    // The block's float product is stored whole, then added to the doubles in one contiguous
    // pass the compiler vectorises; adding each tile as it came (a loop over the run-time
    // tile shape) took 13% of the time.
    float* F = block[w].data();
    for (std::size_t q = 0; q < nq; ++q) {
      const float* bq = B + q * KC * NR;
      for (std::size_t p = 0; p < np; ++p)
        K.micro_kernel(A + p * KC * MR, bq, kc, F + p * MR * d2p + q * NR, d2p, false);
    }
    double* C = acc[w].data();
    for (std::size_t i = 0; i < d1p * d2p; ++i) C[i] += F[i];
  });
  for (std::size_t w = 0; w < workers; ++w) {
    for (std::size_t i = 0; i < d1; ++i)
      for (std::size_t j = 0; j < d2; ++j) out[i * d2 + j] += acc[w].data()[i * d2p + j];
    if (sxx) *sxx += ssx[w];
    if (syy) *syy += ssy[w];
  }
}

void column_means(const float* x, std::size_t n, std::size_t ldx, std::size_t d, double* out) {
  std::fill(out, out + d, 0.0);
  if (n == 0 || d == 0) return;
  const std::size_t block = 2048, n_blocks = detail::ceil_div(n, block);
  const std::size_t workers = std::min(num_threads(), n_blocks);
  std::vector<std::vector<double>> part(workers, std::vector<double>(d, 0.0));
  parallel_for(n_blocks, [&](std::size_t b, std::size_t w) {
    // float partial sums per block, double across blocks: keeps the SIMD-friendly inner loop
    std::vector<float> s(d, 0.0f);
    for (std::size_t i = b * block; i < std::min(n, (b + 1) * block); ++i) {
      const float* xi = x + i * ldx;
      for (std::size_t c = 0; c < d; ++c) s[c] += xi[c];
    }
    for (std::size_t c = 0; c < d; ++c) part[w][c] += s[c];
  });
  for (std::size_t w = 0; w < workers; ++w)
    for (std::size_t c = 0; c < d; ++c) out[c] += part[w][c];
  for (std::size_t c = 0; c < d; ++c) out[c] /= static_cast<double>(n);
}

void softmax_log_normalizer(const float* t, std::size_t m, std::size_t ldt, const float* s,
                            std::size_t n, std::size_t lds, std::size_t d, float beta,
                            const float* row_max, double* out) {
  if (n == 0) throw std::invalid_argument("the source set is empty");
  if (d == 0) throw std::invalid_argument("vectors have dimension 0");
  if (!(beta > 0.0f) || !(beta <= 1000.0f))
    throw std::invalid_argument("beta (inverse temperature) must be in (0, 1000]");
  if (m == 0) return;
  const KernelTable& K = active_kernels();
  const std::size_t MR = K.fp32_shape.mr, NR = K.fp32_shape.nr;
  const auto [NB, MB] = detail::gemm_blocks(d, MR, NR);
  const AlignedFloats packed = detail::pack_all_panels(s, n, lds, d, NR);
  const std::size_t n_tb = detail::ceil_div(m, MB), n_sb = detail::ceil_div(n, NB);
  // Split the sources too when there are few target blocks, so every thread has work.
  const std::size_t n_parts =
      std::min(n_sb, std::max<std::size_t>(1, detail::ceil_div(num_threads(), n_tb)));
  const std::size_t sb_per_part = detail::ceil_div(n_sb, n_parts);
  std::vector<double> partial(n_parts * m, 0.0);
  const std::size_t workers = std::min(num_threads(), n_tb * n_parts);
  std::vector<AlignedFloats> apack(workers), ctile(workers), ebuf(workers);
  for (std::size_t w = 0; w < workers; ++w) {
    apack[w].reset(MB * d);
    ctile[w].reset(MR * NB);
    ebuf[w].reset(NB);
  }
  parallel_for(n_tb * n_parts, [&](std::size_t task, std::size_t w) {
    const std::size_t tb = task / n_parts, part = task % n_parts;
    const std::size_t i0 = tb * MB, mi = std::min(MB, m - i0);
    detail::pack_panels(t + i0 * ldt, mi, ldt, d, MR, apack[w].data());
    float* C = ctile[w].data();
    const std::size_t sb0 = part * sb_per_part, sb1 = std::min(n_sb, sb0 + sb_per_part);
    for (std::size_t sb = sb0; sb < sb1; ++sb) {
      const std::size_t j0 = sb * NB, nj = std::min(NB, n - j0);
      const float* bblock = packed.data() + (j0 / NR) * NR * d;
      for (std::size_t ip = 0; ip * MR < mi; ++ip) {
        for (std::size_t p = 0; p * NR < nj; ++p)
          K.micro_kernel(apack[w].data() + ip * MR * d, bblock + p * NR * d, d, C + p * NR, NB,
                         false);
        const std::size_t rows = std::min(MR, mi - ip * MR);
        for (std::size_t r = 0; r < rows; ++r) {
          const std::size_t i = i0 + ip * MR + r;
          partial[part * m + i] +=
              row_exp_sum(C + r * NB, nj, beta, row_max ? row_max[i] : 1.0f, ebuf[w].data());
        }
      }
    }
  });
  for (std::size_t i = 0; i < m; ++i) {
    double sum = 0.0;
    for (std::size_t part = 0; part < n_parts; ++part) sum += partial[part * m + i];
    out[i] = static_cast<double>(beta) * (row_max ? row_max[i] : 1.0) + std::log(sum);
  }
}

}  // namespace tokenspace
