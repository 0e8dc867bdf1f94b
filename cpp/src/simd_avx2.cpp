// AVX2 + FMA level (compiled with -mavx2 -mfma only in this file). 6 x 16 register block:
// 12 accumulators, 2 vector loads and 1 broadcast fit the 16 ymm registers.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "tokenspace/dispatch.hpp"

namespace tokenspace {
namespace isa_avx2 {
namespace {

constexpr int MR = 6;
constexpr int NR = 16;

void micro_kernel(const float* a, const float* b, std::size_t d, float* c, std::size_t ldc) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
  for (std::size_t k = 0; k < d; ++k) {
    const __m256 b0 = _mm256_load_ps(b + k * NR);
    const __m256 b1 = _mm256_load_ps(b + k * NR + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 av = _mm256_broadcast_ss(a + k * MR + i);
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    _mm256_storeu_ps(c + i * ldc, c0[i]);
    _mm256_storeu_ps(c + i * ldc + 8, c1[i]);
  }
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

float dot(const float* q, const float* x, std::size_t d) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  std::size_t k = 0;
  for (; k + 16 <= d; k += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + k), _mm256_loadu_ps(x + k), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + k + 8), _mm256_loadu_ps(x + k + 8), s1);
  }
  for (; k + 8 <= d; k += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + k), _mm256_loadu_ps(x + k), s0);
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; k < d; ++k) s += q[k] * x[k];
  return s;
}

void gemv_rows(const float* q, const float* x, std::size_t n, std::size_t ldx, std::size_t d,
               float* out) {
  std::size_t j = 0;
  // Four rows at a time: four independent FMA chains hide the FMA latency.
  for (; j + 4 <= n; j += 4) {
    const float* x0 = x + j * ldx;
    const float* x1 = x0 + ldx;
    const float* x2 = x1 + ldx;
    const float* x3 = x2 + ldx;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    std::size_t k = 0;
    for (; k + 8 <= d; k += 8) {
      const __m256 qv = _mm256_loadu_ps(q + k);
      s0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x0 + k), s0);
      s1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x1 + k), s1);
      s2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x2 + k), s2);
      s3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x3 + k), s3);
    }
    float r0 = hsum(s0), r1 = hsum(s1), r2 = hsum(s2), r3 = hsum(s3);
    for (; k < d; ++k) {
      r0 += q[k] * x0[k];
      r1 += q[k] * x1[k];
      r2 += q[k] * x2[k];
      r3 += q[k] * x3[k];
    }
    out[j] = r0;
    out[j + 1] = r1;
    out[j + 2] = r2;
    out[j + 3] = r3;
  }
  for (; j < n; ++j) out[j] = dot(q, x + j * ldx, d);
}

std::size_t filter_ge(const float* s, const float* bias, std::size_t n, float thr,
                      std::uint32_t* idx) {
  std::size_t c = 0, j = 0;
  const __m256 t = _mm256_set1_ps(thr);
  for (; j + 8 <= n; j += 8) {
    __m256 v = _mm256_loadu_ps(s + j);
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
    unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, t, _CMP_GE_OQ)));
    while (m) {
      idx[c++] = static_cast<std::uint32_t>(j + __builtin_ctz(m));
      m &= m - 1;
    }
  }
  for (; j < n; ++j)
    if ((bias ? s[j] + bias[j] : s[j]) >= thr) idx[c++] = static_cast<std::uint32_t>(j);
  return c;
}

std::size_t knn_tile(const float* a, std::size_t lda, const float* b, std::size_t d,
                     const float* bias, const float* thr, float* c, std::uint32_t* hits) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
  for (std::size_t k = 0; k < d; ++k) {
    const __m256 b0 = _mm256_load_ps(b + k * NR);
    const __m256 b1 = _mm256_load_ps(b + k * NR + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 av = _mm256_broadcast_ss(a + i * lda + k);
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
    }
  }
  const __m256 t0 = _mm256_loadu_ps(thr), t1 = _mm256_loadu_ps(thr + 8);
  std::size_t n = 0;
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    __m256 v0 = c0[i], v1 = c1[i];
    if (bias) {
      const __m256 bi = _mm256_broadcast_ss(bias + i);
      v0 = _mm256_add_ps(v0, bi);
      v1 = _mm256_add_ps(v1, bi);
    }
    _mm256_storeu_ps(c + i * NR, v0);
    _mm256_storeu_ps(c + i * NR + 8, v1);
    unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v0, t0, _CMP_GE_OQ))) |
                 (static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v1, t1, _CMP_GE_OQ))) << 8);
    while (m) {
      hits[n++] = static_cast<std::uint32_t>(i * NR + __builtin_ctz(m));
      m &= m - 1;
    }
  }
  return n;
}

// Canonical exact scores: lanes of acc0..acc3 hold partial sums c mod 16 = 0-3, 4-7, 8-11,
// 12-15; mul and add stay separate (-ffp-contract=off) to match the scalar definition.
inline double tree16(__m256d a0, __m256d a1, __m256d a2, __m256d a3) {
  const __m256d v4 = _mm256_add_pd(_mm256_add_pd(a0, a2), _mm256_add_pd(a1, a3));  // s4
  alignas(32) double t[4];
  _mm256_store_pd(t, v4);
  return (t[0] + t[2]) + (t[1] + t[3]);
}

template <bool L2>
double exact_score(const float* q, const float* x, std::size_t d) {
  __m256d a[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  std::size_t c = 0;
  for (; c + 16 <= d; c += 16) {
    for (int h = 0; h < 4; ++h) {
      const __m256d qv = _mm256_cvtps_pd(_mm_loadu_ps(q + c + 4 * h));
      const __m256d xv = _mm256_cvtps_pd(_mm_loadu_ps(x + c + 4 * h));
      if (L2) {
        const __m256d e = _mm256_sub_pd(qv, xv);
        a[h] = _mm256_add_pd(a[h], _mm256_mul_pd(e, e));
      } else {
        a[h] = _mm256_add_pd(a[h], _mm256_mul_pd(qv, xv));
      }
    }
  }
  alignas(32) double t[16];
  for (int h = 0; h < 4; ++h) _mm256_store_pd(t + 4 * h, a[h]);
  for (; c < d; ++c) {
    const double qv = q[c], xv = x[c];
    t[c % 16] += L2 ? (qv - xv) * (qv - xv) : qv * xv;
  }
  const double s = tree16(_mm256_load_pd(t), _mm256_load_pd(t + 4), _mm256_load_pd(t + 8),
                          _mm256_load_pd(t + 12));
  return L2 ? -0.5 * s : s;
}

double exact_ip(const float* q, const float* x, std::size_t d) { return exact_score<false>(q, x, d); }
double exact_l2(const float* q, const float* x, std::size_t d) { return exact_score<true>(q, x, d); }

double sum_squares(const float* x, std::size_t d) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  std::size_t k = 0;
  for (; k + 8 <= d; k += 8) {
    __m256 v = _mm256_loadu_ps(x + k);
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    s0 = _mm256_fmadd_pd(lo, lo, s0);
    s1 = _mm256_fmadd_pd(hi, hi, s1);
  }
  alignas(32) double t[4];
  _mm256_store_pd(t, _mm256_add_pd(s0, s1));
  double s = (t[0] + t[1]) + (t[2] + t[3]);
  for (; k < d; ++k) s += static_cast<double>(x[k]) * x[k];
  return s;
}

}  // namespace

const IsaKernels kKernels = {"avx2", MR, NR, micro_kernel, gemv_rows, filter_ge,
                             knn_tile, exact_ip, exact_l2, sum_squares,
                             nullptr};  // knn_tile_sym: knn.cpp filters the stored tile

/// Peak-rate probe for benchmarks/roofline.py: 12 independent register chains of the
/// instruction, so throughput (not latency) bounds it. Returns operations done
/// (16 per instruction: multiply and add counted separately).
double peak_probe(std::size_t iters) {
  for (std::size_t i = 0; i < iters; ++i) {
#define TS_P(j) asm volatile("vfmadd231ps %%ymm12,%%ymm13,%%ymm" #j ::: "xmm" #j);
    TS_P(0) TS_P(1) TS_P(2) TS_P(3) TS_P(4) TS_P(5) TS_P(6) TS_P(7) TS_P(8) TS_P(9) TS_P(10) TS_P(11)
#undef TS_P
  }
  return static_cast<double>(iters) * 12.0 * 16.0;
}

}  // namespace isa_avx2
}  // namespace tokenspace
