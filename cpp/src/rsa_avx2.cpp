// AVX2 sums of the RSA Pearson accumulation (compiled with -mavx2 -mfma only here).
// Plain intrinsics, no std templates: nothing here may be shared with portable code (ODR).
#include <immintrin.h>

#include <cstddef>

#include "tokenspace/rsa.hpp"

namespace tokenspace {
namespace rsa_avx2 {
namespace {

inline float hmin(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  float m = t[0];
  for (int q = 1; q < 8; ++q) m = t[q] < m ? t[q] : m;
  return m;
}

inline float hmax(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  float m = t[0];
  for (int q = 1; q < 8; ++q) m = t[q] > m ? t[q] : m;
  return m;
}

inline double hsum(__m256d v) {
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

}  // namespace

void accum(const float* x, const float* y, std::size_t len, double kx, double ky, double* out) {
  const __m256d vkx = _mm256_set1_pd(kx), vky = _mm256_set1_pd(ky);
  __m256d sx0 = _mm256_setzero_pd(), sy0 = sx0, sxx0 = sx0, syy0 = sx0, sxy0 = sx0;
  __m256d sx1 = sx0, sy1 = sx0, sxx1 = sx0, syy1 = sx0, sxy1 = sx0;
  // Extremes in float (exact): a constant triangle must be recognised exactly.
  const float inf = __builtin_inff();
  __m256 mnx = _mm256_set1_ps(inf), mxx = _mm256_set1_ps(-inf), mny = mnx, mxy = mxx;
  std::size_t j = 0;
  for (; j + 8 <= len; j += 8) {
    const __m256 xv = _mm256_loadu_ps(x + j), yv = _mm256_loadu_ps(y + j);
    mnx = _mm256_min_ps(mnx, xv);
    mxx = _mm256_max_ps(mxx, xv);
    mny = _mm256_min_ps(mny, yv);
    mxy = _mm256_max_ps(mxy, yv);
    const __m256d x0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)), vkx);
    const __m256d y0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(yv)), vky);
    const __m256d x1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)), vkx);
    const __m256d y1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(yv, 1)), vky);
    sx0 = _mm256_add_pd(sx0, x0);
    sy0 = _mm256_add_pd(sy0, y0);
    sxx0 = _mm256_fmadd_pd(x0, x0, sxx0);
    syy0 = _mm256_fmadd_pd(y0, y0, syy0);
    sxy0 = _mm256_fmadd_pd(x0, y0, sxy0);
    sx1 = _mm256_add_pd(sx1, x1);
    sy1 = _mm256_add_pd(sy1, y1);
    sxx1 = _mm256_fmadd_pd(x1, x1, sxx1);
    syy1 = _mm256_fmadd_pd(y1, y1, syy1);
    sxy1 = _mm256_fmadd_pd(x1, y1, sxy1);
  }
  double t[5] = {hsum(_mm256_add_pd(sx0, sx1)), hsum(_mm256_add_pd(sy0, sy1)),
                 hsum(_mm256_add_pd(sxx0, sxx1)), hsum(_mm256_add_pd(syy0, syy1)),
                 hsum(_mm256_add_pd(sxy0, sxy1))};
  float ext[4] = {hmin(mnx), hmax(mxx), hmin(mny), hmax(mxy)};
  for (; j < len; ++j) {
    ext[0] = x[j] < ext[0] ? x[j] : ext[0];
    ext[1] = x[j] > ext[1] ? x[j] : ext[1];
    ext[2] = y[j] < ext[2] ? y[j] : ext[2];
    ext[3] = y[j] > ext[3] ? y[j] : ext[3];
    const double a = static_cast<double>(x[j]) - kx, b = static_cast<double>(y[j]) - ky;
    t[0] += a;
    t[1] += b;
    t[2] += a * a;
    t[3] += b * b;
    t[4] += a * b;
  }
  for (int q = 0; q < 5; ++q) out[q] = t[q];
  for (int q = 0; q < 4; ++q) out[5 + q] = ext[q];
}

}  // namespace rsa_avx2
}  // namespace tokenspace
