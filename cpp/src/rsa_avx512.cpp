// AVX-512 sums of the RSA Pearson accumulation (compiled with the AVX-512 -m flags only here).
// Plain intrinsics, no std templates: nothing here may be shared with portable code (ODR).
#include <immintrin.h>

#include <cstddef>

#include "tokenspace/rsa.hpp"

namespace tokenspace {
namespace rsa_avx512 {

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
        hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xv), 1))), vkx);
    const __m512d y1 = _mm512_maskz_sub_pd(
        hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(yv), 1))), vky);
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

}  // namespace rsa_avx512
}  // namespace tokenspace
