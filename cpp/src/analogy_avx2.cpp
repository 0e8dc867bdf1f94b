// Analogy score combination compiled for AVX2 (this file alone gets the AVX2 -m flags).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace tokenspace {
namespace analogy_avx2 {
#include "analogy_combine.inc"

/// See analogy_avx512::combine3_filter.
std::size_t combine3_filter(const float* a, const float* b, const float* c, float wa, float wb,
                            float wc, int cosmul, float eps, float slack, std::size_t n,
                            float thr, float* s, std::uint32_t* idx) {
  const __m256 t = _mm256_set1_ps(thr);
  const __m256 va = _mm256_set1_ps(wa), vb = _mm256_set1_ps(wb), vc = _mm256_set1_ps(wc);
  const float up1 = 1.0f + slack, lo1 = 1.0f - slack;
  const float scale1 = slack > 0.0f ? 1.0f + 0x1p-20f : 1.0f;
  const __m256 up = _mm256_set1_ps(up1), lo = _mm256_set1_ps(lo1), scale = _mm256_set1_ps(scale1);
  const __m256 half = _mm256_set1_ps(0.5f), ve = _mm256_set1_ps(eps), zero = _mm256_setzero_ps();
  std::size_t cnt = 0, j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 x = _mm256_loadu_ps(a + j);
    const __m256 y = _mm256_loadu_ps(b + j);
    const __m256 z = _mm256_loadu_ps(c + j);
    __m256 v;
    if (cosmul) {
      const __m256 px = _mm256_mul_ps(_mm256_add_ps(up, x), half);
      const __m256 py = _mm256_mul_ps(_mm256_add_ps(up, y), half);
      const __m256 pz = _mm256_fmadd_ps(_mm256_max_ps(_mm256_add_ps(lo, z), zero), half, ve);
      v = _mm256_mul_ps(_mm256_div_ps(_mm256_mul_ps(px, py), pz), scale);
    } else {
      v = _mm256_fmadd_ps(vc, z, _mm256_fmadd_ps(vb, y, _mm256_mul_ps(va, x)));
    }
    _mm256_storeu_ps(s + j, v);
    unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, t, _CMP_GE_OQ)));
    while (m) {
      idx[cnt++] = static_cast<std::uint32_t>(j + __builtin_ctz(m));
      m &= m - 1;
    }
  }
  for (; j < n; ++j) {
    const float dz = lo1 + c[j];
    float v = cosmul ? ((up1 + a[j]) * 0.5f) * ((up1 + b[j]) * 0.5f) /
                           ((dz > 0.0f ? dz : 0.0f) * 0.5f + eps) * scale1
                     : wa * a[j] + wb * b[j] + wc * c[j];
    s[j] = v;
    if (v >= thr) idx[cnt++] = static_cast<std::uint32_t>(j);
  }
  return cnt;
}

}  // namespace analogy_avx2
}  // namespace tokenspace
