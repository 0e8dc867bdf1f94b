// The avx512 unit (compiled with TS_AVX512_FLAGS only in this file): the fp32 set, the analogy
// combination and the RSA sums. 12 x 32 register block: 24 zmm accumulators, 2 vector loads and
// 1 broadcast of the 32 registers.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "dispatch/kernels.hpp"

namespace tokenspace {
namespace isa_avx512 {
namespace {

constexpr int MR = 12;
constexpr int NR = 32;

#include "tile_epilogue_avx512.inc"

// The vector traits of the shared loops (filter_loops.inc): 16 floats, and mask registers for
// the last partial vector.
struct Vec {
  using F = __m512;
  using M = __mmask16;
  static constexpr std::size_t kWidth = 16;
  static constexpr bool kMasked = true;
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static unsigned ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M head(std::size_t r) {
    return r >= kWidth ? static_cast<M>(0xFFFF) : static_cast<M>((1u << r) - 1u);
  }
  static F load_masked(M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void store_masked(float* p, M m, F v) { _mm512_mask_storeu_ps(p, m, v); }
  static unsigned ge_masked(M m, F a, F b) { return _mm512_mask_cmp_ps_mask(m, a, b, _CMP_GE_OQ); }
};

#include "filter_loops.inc"
#include "scalar_tails.inc"

void micro_kernel(const float* a, const float* b, std::size_t d, float* c, std::size_t ldc,
                  bool clamp_unit) {
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
  if (clamp_unit) {
    const __m512 lo = _mm512_set1_ps(-1.0f), hi = _mm512_set1_ps(1.0f);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      c0[i] = _mm512_min_ps(hi, _mm512_max_ps(lo, c0[i]));
      c1[i] = _mm512_min_ps(hi, _mm512_max_ps(lo, c1[i]));
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    _mm512_storeu_ps(c + i * ldc, c0[i]);
    _mm512_storeu_ps(c + i * ldc + 16, c1[i]);
  }
}

inline __mmask16 tail_mask(std::size_t r) { return static_cast<__mmask16>((1u << r) - 1u); }

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
    const __m512d q1 =
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(qv), 1)));
    const __m512d x0 = _mm512_cvtps_pd(_mm512_castps512_ps256(xv));
    const __m512d x1 =
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xv), 1)));
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
  exact_tail<L2>(q, x, c, d, t);
  const double s = tree16(t);
  return L2 ? -0.5 * s : s;
}

double exact_ip(const float* q, const float* x, std::size_t d) {
  return exact_score<false>(q, x, d);
}
double exact_l2(const float* q, const float* x, std::size_t d) {
  return exact_score<true>(q, x, d);
}

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
  return sum_squares_tail(x, k, d, _mm512_reduce_add_pd(_mm512_add_pd(s0, s1)));
}

namespace analogy {
#include "analogy_combine.inc"

}  // namespace analogy

// RSA Pearson sums.
namespace rsa {
void accum(const float* x, const float* y, std::size_t len, double kx, double ky, double* out) {
  const __m512d vkx = _mm512_set1_pd(kx), vky = _mm512_set1_pd(ky);
  // Two independent accumulator sets hide the add latency.
  __m512d sx0 = _mm512_setzero_pd(), sy0 = sx0, sxx0 = sx0, syy0 = sx0, sxy0 = sx0;
  __m512d sx1 = sx0, sy1 = sx0, sxx1 = sx0, syy1 = sx0, sxy1 = sx0;
  // Extremes in float (exact): a constant triangle must be recognised exactly, not from a
  // variance that rounds to 1e-32.
  const float inf = __builtin_inff();
  __m512 mnx = _mm512_set1_ps(inf), mxx = _mm512_set1_ps(-inf);
  __m512 mny = mnx, mxy = mxx;
  std::size_t j = 0;
  for (; j + 16 <= len; j += 16) {
    const __m512 xv = _mm512_loadu_ps(x + j), yv = _mm512_loadu_ps(y + j);
    mnx = _mm512_min_ps(mnx, xv);
    mxx = _mm512_max_ps(mxx, xv);
    mny = _mm512_min_ps(mny, yv);
    mxy = _mm512_max_ps(mxy, yv);
    const __m512d x0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(xv)), vkx);
    const __m512d y0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(yv)), vky);
    const __m512d x1 = _mm512_sub_pd(
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xv), 1))), vkx);
    const __m512d y1 = _mm512_sub_pd(
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(yv), 1))), vky);
    sx0 = _mm512_add_pd(sx0, x0);
    sy0 = _mm512_add_pd(sy0, y0);
    sxx0 = _mm512_fmadd_pd(x0, x0, sxx0);
    syy0 = _mm512_fmadd_pd(y0, y0, syy0);
    sxy0 = _mm512_fmadd_pd(x0, y0, sxy0);
    sx1 = _mm512_add_pd(sx1, x1);
    sy1 = _mm512_add_pd(sy1, y1);
    sxx1 = _mm512_fmadd_pd(x1, x1, sxx1);
    syy1 = _mm512_fmadd_pd(y1, y1, syy1);
    sxy1 = _mm512_fmadd_pd(x1, y1, sxy1);
  }
  if (j < len) {
    // Tail of 1..15 pairs: masked loads; masked-off lanes must contribute exactly 0, so the
    // shift is subtracted under the mask too, and the extremes ignore them.
    const __mmask16 m16 = static_cast<__mmask16>((1u << (len - j)) - 1u);
    const __m512 xv = _mm512_maskz_loadu_ps(m16, x + j), yv = _mm512_maskz_loadu_ps(m16, y + j);
    mnx = _mm512_mask_min_ps(mnx, m16, mnx, xv);
    mxx = _mm512_mask_max_ps(mxx, m16, mxx, xv);
    mny = _mm512_mask_min_ps(mny, m16, mny, yv);
    mxy = _mm512_mask_max_ps(mxy, m16, mxy, yv);
    const __mmask8 lo = static_cast<__mmask8>(m16 & 0xFF), hi = static_cast<__mmask8>(m16 >> 8);
    const __m512d x0 = _mm512_maskz_sub_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(xv)), vkx);
    const __m512d y0 = _mm512_maskz_sub_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(yv)), vky);
    const __m512d x1 = _mm512_maskz_sub_pd(
        hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xv), 1))),
        vkx);
    const __m512d y1 = _mm512_maskz_sub_pd(
        hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(yv), 1))),
        vky);
    sx0 = _mm512_add_pd(sx0, x0);
    sy0 = _mm512_add_pd(sy0, y0);
    sxx0 = _mm512_fmadd_pd(x0, x0, sxx0);
    syy0 = _mm512_fmadd_pd(y0, y0, syy0);
    sxy0 = _mm512_fmadd_pd(x0, y0, sxy0);
    sx1 = _mm512_add_pd(sx1, x1);
    sy1 = _mm512_add_pd(sy1, y1);
    sxx1 = _mm512_fmadd_pd(x1, x1, sxx1);
    syy1 = _mm512_fmadd_pd(y1, y1, syy1);
    sxy1 = _mm512_fmadd_pd(x1, y1, sxy1);
  }
  out[0] = _mm512_reduce_add_pd(_mm512_add_pd(sx0, sx1));
  out[1] = _mm512_reduce_add_pd(_mm512_add_pd(sy0, sy1));
  out[2] = _mm512_reduce_add_pd(_mm512_add_pd(sxx0, sxx1));
  out[3] = _mm512_reduce_add_pd(_mm512_add_pd(syy0, syy1));
  out[4] = _mm512_reduce_add_pd(_mm512_add_pd(sxy0, sxy1));
  out[5] = _mm512_reduce_min_ps(mnx);
  out[6] = _mm512_reduce_max_ps(mxx);
  out[7] = _mm512_reduce_min_ps(mny);
  out[8] = _mm512_reduce_max_ps(mxy);
}
}  // namespace rsa

/// Peak-rate probe for benchmarks/roofline.py: 12 independent register chains of the
/// instruction, so throughput (not latency) bounds it. Returns operations done
/// (32 per instruction: multiply and add counted separately).
double peak_probe(std::size_t iters) {
  for (std::size_t i = 0; i < iters; ++i) {
#define TS_P(j) asm volatile("vfmadd231ps %%zmm12,%%zmm13,%%zmm" #j::: "xmm" #j);
    TS_P(0)
    TS_P(1) TS_P(2) TS_P(3) TS_P(4) TS_P(5) TS_P(6) TS_P(7) TS_P(8) TS_P(9) TS_P(10) TS_P(11)
#undef TS_P
  }
  return static_cast<double>(iters) * 12.0 * 32.0;
}

// Data only, built at compile time: loading the table runs no instruction of this unit.
constexpr KernelTable make_table() {
  KernelTable t;
  t.fp32_shape = {MR, NR};
  t.micro_kernel = micro_kernel;
  t.gemv_rows = gemv_rows;
  t.filter_ge = filter_ge<Vec>;
  t.knn_tile = knn_tile;
  t.knn_tile_sym = knn_tile_sym;
  t.exact_ip = exact_ip;
  t.exact_l2 = exact_l2;
  t.sum_squares = sum_squares;
  t.combine_linear = analogy::combine_linear;
  t.combine_cosmul = analogy::combine_cosmul;
  t.combine3_filter = combine3_filter<Vec>;
  t.rsa_accum = rsa::accum;
  t.peak_fp32_fma_zmm = peak_probe;
  return t;
}

}  // namespace

const KernelTable kTable = make_table();

}  // namespace isa_avx512
}  // namespace tokenspace
