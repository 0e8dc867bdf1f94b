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
  std::size_t j = 0;
  for (; j + 16 <= len; j += 16) {
    const __m512 xv = _mm512_loadu_ps(x + j), yv = _mm512_loadu_ps(y + j);
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
  for (; j + 8 <= len; j += 8) {
    const __m512d x0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + j)), vkx);
    const __m512d y0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(y + j)), vky);
    sx0 = _mm512_add_pd(sx0, x0);
    sy0 = _mm512_add_pd(sy0, y0);
    sxx0 = _mm512_fmadd_pd(x0, x0, sxx0);
    syy0 = _mm512_fmadd_pd(y0, y0, syy0);
    sxy0 = _mm512_fmadd_pd(x0, y0, sxy0);
  }
  if (j < len) {
    const __mmask8 m = static_cast<__mmask8>((1u << (len - j)) - 1u);
    // Masked-off lanes must contribute exactly 0, so subtract the shift under the mask too.
    const __m512d x0 = _mm512_maskz_sub_pd(m, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + j)), vkx);
    const __m512d y0 = _mm512_maskz_sub_pd(m, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, y + j)), vky);
    sx0 = _mm512_add_pd(sx0, x0);
    sy0 = _mm512_add_pd(sy0, y0);
    sxx0 = _mm512_fmadd_pd(x0, x0, sxx0);
    syy0 = _mm512_fmadd_pd(y0, y0, syy0);
    sxy0 = _mm512_fmadd_pd(x0, y0, sxy0);
  }
  out[0] = _mm512_reduce_add_pd(_mm512_add_pd(sx0, sx1));
  out[1] = _mm512_reduce_add_pd(_mm512_add_pd(sy0, sy1));
  out[2] = _mm512_reduce_add_pd(_mm512_add_pd(sxx0, sxx1));
  out[3] = _mm512_reduce_add_pd(_mm512_add_pd(syy0, syy1));
  out[4] = _mm512_reduce_add_pd(_mm512_add_pd(sxy0, sxy1));
}

}  // namespace rsa_avx512
}  // namespace tokenspace
