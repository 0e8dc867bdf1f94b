// AVX-512 VNNI int8 candidate kernels (compiled with -mavx512vnni only in this file): 64
// multiply-adds per instruction, four times the fp32 rate. knn/bounds.cpp bounds the quantisation
// error and re-ranks survivors exactly, so answers never depend on this precision.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "dispatch/kernels.hpp"

namespace tokenspace {
namespace isa_avx512_vnni {
namespace {

constexpr int MR = 12;
constexpr int NR = 32;

#include "tile_epilogue_avx512.inc"

void gemv(const std::uint8_t* q, float qscale, const std::int8_t* x, std::size_t n, std::size_t ldx,
          std::size_t dp, const float* row_scale, const std::int32_t* row_sum, float* out) {
  const std::size_t nv = dp / 64;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const std::int8_t* x0 = x + j * ldx;
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    __m512i s2 = _mm512_setzero_si512(), s3 = _mm512_setzero_si512();
    for (std::size_t v = 0; v < nv; ++v) {
      const __m512i qv = _mm512_loadu_si512(q + v * 64);
      s0 = _mm512_dpbusd_epi32(s0, qv, _mm512_loadu_si512(x0 + v * 64));
      s1 = _mm512_dpbusd_epi32(s1, qv, _mm512_loadu_si512(x0 + ldx + v * 64));
      s2 = _mm512_dpbusd_epi32(s2, qv, _mm512_loadu_si512(x0 + 2 * ldx + v * 64));
      s3 = _mm512_dpbusd_epi32(s3, qv, _mm512_loadu_si512(x0 + 3 * ldx + v * 64));
    }
    const std::int32_t d0 = _mm512_reduce_add_epi32(s0) - 128 * row_sum[j];
    const std::int32_t d1 = _mm512_reduce_add_epi32(s1) - 128 * row_sum[j + 1];
    const std::int32_t d2 = _mm512_reduce_add_epi32(s2) - 128 * row_sum[j + 2];
    const std::int32_t d3 = _mm512_reduce_add_epi32(s3) - 128 * row_sum[j + 3];
    out[j] = static_cast<float>(d0) * (row_scale[j] * qscale);
    out[j + 1] = static_cast<float>(d1) * (row_scale[j + 1] * qscale);
    out[j + 2] = static_cast<float>(d2) * (row_scale[j + 2] * qscale);
    out[j + 3] = static_cast<float>(d3) * (row_scale[j + 3] * qscale);
  }
  for (; j < n; ++j) {
    __m512i s0 = _mm512_setzero_si512();
    for (std::size_t v = 0; v < nv; ++v)
      s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(q + v * 64),
                               _mm512_loadu_si512(x + j * ldx + v * 64));
    const std::int32_t d0 = _mm512_reduce_add_epi32(s0) - 128 * row_sum[j];
    out[j] = static_cast<float>(d0) * (row_scale[j] * qscale);
  }
}

std::size_t knn_tile(const std::int8_t* a, std::size_t lda, const std::uint32_t* b, std::size_t dp,
                     const float* row_scale, const std::int32_t* row_sum, const float* qscale,
                     const float* bias, const float* thr, float* c, std::uint32_t* hits) {
  __m512i c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_si512();
  const std::uint32_t* a32 = reinterpret_cast<const std::uint32_t*>(a);
  const std::size_t lda32 = lda / 4, quads = dp / 4;
  for (std::size_t p = 0; p < quads; ++p) {
    const __m512i b0 = _mm512_load_si512(b + p * NR);
    const __m512i b1 = _mm512_load_si512(b + p * NR + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512i av = _mm512_set1_epi32(static_cast<int>(a32[i * lda32 + p]));
      c0[i] = _mm512_dpbusd_epi32(c0[i], b0, av);  // unsigned query bytes x signed row bytes
      c1[i] = _mm512_dpbusd_epi32(c1[i], b1, av);
    }
  }
  const __m512 q0 = _mm512_loadu_ps(qscale), q1 = _mm512_loadu_ps(qscale + 16);
  __m512 v0[MR], v1[MR];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    // (sum u8 * q8 - 128 * rowsum) is exact in int32; then the two scales
    const __m512i corr = _mm512_set1_epi32(128 * row_sum[i]);
    const __m512 si = _mm512_set1_ps(row_scale[i]);
    v0[i] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c0[i], corr)), _mm512_mul_ps(si, q0));
    v1[i] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c1[i], corr)), _mm512_mul_ps(si, q1));
  }
  return finish_tile_512<MR>(v0, v1, bias, thr, c, hits);
}

/// Peak-rate probe for benchmarks/roofline.py: 12 independent register chains of the
/// instruction, so throughput (not latency) bounds it. Returns operations done
/// (128 per instruction: multiply and add counted separately).
double peak_probe(std::size_t iters) {
  for (std::size_t i = 0; i < iters; ++i) {
#define TS_P(j) asm volatile("vpdpbusd %%zmm12,%%zmm13,%%zmm" #j::: "xmm" #j);
    TS_P(0)
    TS_P(1) TS_P(2) TS_P(3) TS_P(4) TS_P(5) TS_P(6) TS_P(7) TS_P(8) TS_P(9) TS_P(10) TS_P(11)
#undef TS_P
  }
  return static_cast<double>(iters) * 12.0 * 128.0;
}

// Data only, built at compile time: loading the table runs no instruction of this unit.
constexpr KernelTable make_table() {
  KernelTable t;
  t.int8_shape = {MR, NR};
  t.int8_gemv = gemv;
  t.int8_knn_tile = knn_tile;
  t.peak_int8_vpdpbusd_zmm = peak_probe;
  return t;
}

}  // namespace

const KernelTable kTable = make_table();

}  // namespace isa_avx512_vnni
}  // namespace tokenspace
