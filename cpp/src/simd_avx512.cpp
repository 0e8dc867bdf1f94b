// AVX-512 level (compiled with the AVX-512 -m flags only in this file). 12 x 32 register block:
// 24 zmm accumulators, 2 vector loads and 1 broadcast of the 32 registers.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "tokenspace/dispatch.hpp"

namespace tokenspace {
namespace isa_avx512 {
namespace {

constexpr int MR = 12;
constexpr int NR = 32;

#include "tile_epilogue_avx512.inc"

void micro_kernel(const float* a, const float* b, std::size_t d, float* c, std::size_t ldc) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  for (std::size_t k = 0; k < d; ++k) {
    const __m512 b0 = _mm512_load_ps(b + k * NR);
    const __m512 b1 = _mm512_load_ps(b + k * NR + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + (k + 8) * NR), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512 av = _mm512_set1_ps(a[k * MR + i]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    _mm512_storeu_ps(c + i * ldc, c0[i]);
    _mm512_storeu_ps(c + i * ldc + 16, c1[i]);
  }
}

inline __mmask16 tail_mask(std::size_t r) {
  return static_cast<__mmask16>((1u << r) - 1u);
}

void gemv_rows(const float* q, const float* x, std::size_t n, std::size_t ldx, std::size_t d,
               float* out) {
  const std::size_t dfull = d & ~static_cast<std::size_t>(15);
  const __mmask16 mt = tail_mask(d - dfull);
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* x0 = x + j * ldx;
    const float* x1 = x0 + ldx;
    const float* x2 = x1 + ldx;
    const float* x3 = x2 + ldx;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    std::size_t k = 0;
    for (; k < dfull; k += 16) {
      const __m512 qv = _mm512_loadu_ps(q + k);
      s0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(x0 + k), s0);
      s1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(x1 + k), s1);
      s2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(x2 + k), s2);
      s3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(x3 + k), s3);
    }
    if (mt) {
      const __m512 qv = _mm512_maskz_loadu_ps(mt, q + k);
      s0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mt, x0 + k), s0);
      s1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mt, x1 + k), s1);
      s2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mt, x2 + k), s2);
      s3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mt, x3 + k), s3);
    }
    out[j] = _mm512_reduce_add_ps(s0);
    out[j + 1] = _mm512_reduce_add_ps(s1);
    out[j + 2] = _mm512_reduce_add_ps(s2);
    out[j + 3] = _mm512_reduce_add_ps(s3);
  }
  for (; j < n; ++j) {
    const float* xj = x + j * ldx;
    __m512 s0 = _mm512_setzero_ps();
    std::size_t k = 0;
    for (; k < dfull; k += 16)
      s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + k), _mm512_loadu_ps(xj + k), s0);
    if (mt)
      s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mt, q + k), _mm512_maskz_loadu_ps(mt, xj + k), s0);
    out[j] = _mm512_reduce_add_ps(s0);
  }
}

std::size_t filter_ge(const float* s, const float* bias, std::size_t n, float thr,
                      std::uint32_t* idx) {
  std::size_t c = 0, j = 0;
  const __m512 t = _mm512_set1_ps(thr);
  for (; j + 16 <= n; j += 16) {
    __m512 v = _mm512_loadu_ps(s + j);
    if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + j));
    unsigned m = _mm512_cmp_ps_mask(v, t, _CMP_GE_OQ);
    while (m) {
      idx[c++] = static_cast<std::uint32_t>(j + __builtin_ctz(m));
      m &= m - 1;
    }
  }
  for (; j < n; ++j)
    if ((bias ? s[j] + bias[j] : s[j]) >= thr) idx[c++] = static_cast<std::uint32_t>(j);
  return c;
}

// The MR x 32 tile of fp32 dot products a_i . b_j.
inline void tile_acc(const float* a, std::size_t lda, const float* b, std::size_t d,
                     __m512 (&c0)[MR], __m512 (&c1)[MR]) {
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  for (std::size_t k = 0; k < d; ++k) {
    const __m512 b0 = _mm512_load_ps(b + k * NR);
    const __m512 b1 = _mm512_load_ps(b + k * NR + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512 av = _mm512_set1_ps(a[i * lda + k]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
  }
}

std::size_t knn_tile(const float* a, std::size_t lda, const float* b, std::size_t d,
                     const float* bias, const float* thr, float* c, std::uint32_t* hits) {
  __m512 c0[MR], c1[MR];
  tile_acc(a, lda, b, d, c0, c1);
  return finish_tile_512<MR>(c0, c1, bias, thr, c, hits);
}

std::size_t knn_tile_sym(const float* a, std::size_t lda, const float* b, std::size_t d,
                         const float* bias_a, const float* thr_a, const float* bias_b,
                         const float* thr_b, float* c, std::uint32_t* hits) {
  __m512 c0[MR], c1[MR];
  tile_acc(a, lda, b, d, c0, c1);
  return finish_tile_sym_512<MR>(c0, c1, bias_a, thr_a, bias_b, thr_b, c, hits);
}

// Canonical exact scores: acc0 holds partial sums c mod 16 = 0-7, acc1 = 8-15; mul and add stay
// separate (-ffp-contract=off) to match the scalar definition bit for bit.
template <bool L2>
double exact_score(const float* q, const float* x, std::size_t d) {
  __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
  std::size_t c = 0;
  for (; c + 16 <= d; c += 16) {
    const __m512 qv = _mm512_loadu_ps(q + c), xv = _mm512_loadu_ps(x + c);
    const __m512d q0 = _mm512_cvtps_pd(_mm512_castps512_ps256(qv));
    const __m512d q1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(qv), 1)));
    const __m512d x0 = _mm512_cvtps_pd(_mm512_castps512_ps256(xv));
    const __m512d x1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xv), 1)));
    if (L2) {
      const __m512d e0 = _mm512_sub_pd(q0, x0), e1 = _mm512_sub_pd(q1, x1);
      a0 = _mm512_add_pd(a0, _mm512_mul_pd(e0, e0));
      a1 = _mm512_add_pd(a1, _mm512_mul_pd(e1, e1));
    } else {
      a0 = _mm512_add_pd(a0, _mm512_mul_pd(q0, x0));
      a1 = _mm512_add_pd(a1, _mm512_mul_pd(q1, x1));
    }
  }
  alignas(64) double t[16];
  _mm512_store_pd(t, a0);
  _mm512_store_pd(t + 8, a1);
  for (; c < d; ++c) {
    const double qv = q[c], xv = x[c];
    t[c % 16] += L2 ? (qv - xv) * (qv - xv) : qv * xv;
  }
  double s8[8], s4[4];
  for (int p = 0; p < 8; ++p) s8[p] = t[p] + t[p + 8];
  for (int p = 0; p < 4; ++p) s4[p] = s8[p] + s8[p + 4];
  const double s = (s4[0] + s4[2]) + (s4[1] + s4[3]);
  return L2 ? -0.5 * s : s;
}

double exact_ip(const float* q, const float* x, std::size_t d) { return exact_score<false>(q, x, d); }
double exact_l2(const float* q, const float* x, std::size_t d) { return exact_score<true>(q, x, d); }

double sum_squares(const float* x, std::size_t d) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  std::size_t k = 0;
  for (; k + 16 <= d; k += 16) {
    __m512 v = _mm512_loadu_ps(x + k);
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    s0 = _mm512_fmadd_pd(lo, lo, s0);
    s1 = _mm512_fmadd_pd(hi, hi, s1);
  }
  double s = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  for (; k < d; ++k) s += static_cast<double>(x[k]) * x[k];
  return s;
}

}  // namespace

const IsaKernels kKernels = {"avx512", MR, NR, micro_kernel, gemv_rows, filter_ge,
                             knn_tile, exact_ip, exact_l2, sum_squares, knn_tile_sym};

/// Peak-rate probe for benchmarks/roofline.py: 12 independent register chains of the
/// instruction, so throughput (not latency) bounds it. Returns operations done
/// (32 per instruction: multiply and add counted separately).
double peak_probe(std::size_t iters) {
  for (std::size_t i = 0; i < iters; ++i) {
#define TS_P(j) asm volatile("vfmadd231ps %%zmm12,%%zmm13,%%zmm" #j ::: "xmm" #j);
    TS_P(0) TS_P(1) TS_P(2) TS_P(3) TS_P(4) TS_P(5) TS_P(6) TS_P(7) TS_P(8) TS_P(9) TS_P(10) TS_P(11)
#undef TS_P
  }
  return static_cast<double>(iters) * 12.0 * 32.0;
}

}  // namespace isa_avx512
}  // namespace tokenspace
