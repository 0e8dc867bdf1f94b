// AVX-512 BF16 candidate kernels (compiled with -mavx512bf16 only in this file). They produce
// approximate scores at twice the fp32 FMA rate; the kNN search bounds their error
// (knn/bounds.cpp) and re-ranks the
// surviving candidates exactly, so answers never depend on this precision.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "dispatch/kernels.hpp"

namespace tokenspace {
namespace isa_avx512_bf16 {
namespace {

constexpr int MR = 12;
constexpr int NR = 32;

#include "tile_epilogue_avx512.inc"

inline __m512bh as_bh(__m512i v) { return (__m512bh)v; }

void gemv(const std::uint16_t* q, const std::uint16_t* x, std::size_t n, std::size_t ldx,
          std::size_t dp, float* out) {
  const std::size_t nv = dp / 32;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const std::uint16_t* x0 = x + j * ldx;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    for (std::size_t v = 0; v < nv; ++v) {
      const __m512bh qv = as_bh(_mm512_loadu_si512(q + v * 32));
      s0 = _mm512_dpbf16_ps(s0, qv, as_bh(_mm512_loadu_si512(x0 + v * 32)));
      s1 = _mm512_dpbf16_ps(s1, qv, as_bh(_mm512_loadu_si512(x0 + ldx + v * 32)));
      s2 = _mm512_dpbf16_ps(s2, qv, as_bh(_mm512_loadu_si512(x0 + 2 * ldx + v * 32)));
      s3 = _mm512_dpbf16_ps(s3, qv, as_bh(_mm512_loadu_si512(x0 + 3 * ldx + v * 32)));
    }
    out[j] = _mm512_reduce_add_ps(s0);
    out[j + 1] = _mm512_reduce_add_ps(s1);
    out[j + 2] = _mm512_reduce_add_ps(s2);
    out[j + 3] = _mm512_reduce_add_ps(s3);
  }
  for (; j < n; ++j) {
    __m512 s0 = _mm512_setzero_ps();
    for (std::size_t v = 0; v < nv; ++v)
      s0 = _mm512_dpbf16_ps(s0, as_bh(_mm512_loadu_si512(q + v * 32)),
                            as_bh(_mm512_loadu_si512(x + j * ldx + v * 32)));
    out[j] = _mm512_reduce_add_ps(s0);
  }
}

// The MR x 32 tile of bf16 dot products a_i . b_j (fp32 accumulation).
inline void tile_acc(const std::uint16_t* a, std::size_t lda, const std::uint32_t* b,
                     std::size_t dp, __m512 (&c0)[MR], __m512 (&c1)[MR]) {
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  const std::uint32_t* a32 = reinterpret_cast<const std::uint32_t*>(a);
  const std::size_t lda32 = lda / 2, pairs = dp / 2;
  for (std::size_t p = 0; p < pairs; ++p) {
    const __m512bh b0 = as_bh(_mm512_load_si512(b + p * NR));
    const __m512bh b1 = as_bh(_mm512_load_si512(b + p * NR + 16));
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512bh av = as_bh(_mm512_set1_epi32(static_cast<int>(a32[i * lda32 + p])));
      c0[i] = _mm512_dpbf16_ps(c0[i], av, b0);
      c1[i] = _mm512_dpbf16_ps(c1[i], av, b1);
    }
  }
}

std::size_t knn_tile(const std::uint16_t* a, std::size_t lda, const std::uint32_t* b,
                     std::size_t dp, const float* bias, const float* thr, float* c,
                     std::uint32_t* hits) {
  __m512 c0[MR], c1[MR];
  tile_acc(a, lda, b, dp, c0, c1);
  return finish_tile_512<MR>(c0, c1, bias, thr, c, hits);
}

std::size_t knn_tile_sym(const std::uint16_t* a, std::size_t lda, const std::uint32_t* b,
                         std::size_t dp, const float* bias_a, const float* thr_a,
                         const float* bias_b, const float* thr_b, float* c, std::uint32_t* hits) {
  __m512 c0[MR], c1[MR];
  tile_acc(a, lda, b, dp, c0, c1);
  return finish_tile_sym_512<MR>(c0, c1, bias_a, thr_a, bias_b, thr_b, c, hits);
}

/// Peak-rate probe for benchmarks/roofline.py: 12 independent register chains of the
/// instruction, so throughput (not latency) bounds it. Returns operations done
/// (64 per instruction: multiply and add counted separately).
double peak_probe(std::size_t iters) {
  for (std::size_t i = 0; i < iters; ++i) {
#define TS_P(j) asm volatile("vdpbf16ps %%zmm12,%%zmm13,%%zmm" #j::: "xmm" #j);
    TS_P(0)
    TS_P(1) TS_P(2) TS_P(3) TS_P(4) TS_P(5) TS_P(6) TS_P(7) TS_P(8) TS_P(9) TS_P(10) TS_P(11)
#undef TS_P
  }
  return static_cast<double>(iters) * 12.0 * 64.0;
}

// Data only, built at compile time: loading the table runs no instruction of this unit.
constexpr KernelTable make_table() {
  KernelTable t;
  t.bf16_shape = {MR, NR};
  t.bf16_gemv = gemv;
  t.bf16_knn_tile = knn_tile;
  t.bf16_knn_tile_sym = knn_tile_sym;
  t.peak_bf16_dpbf16ps_zmm = peak_probe;
  return t;
}

}  // namespace

const KernelTable kTable = make_table();

}  // namespace isa_avx512_bf16
}  // namespace tokenspace
