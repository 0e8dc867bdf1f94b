// Analogy score combination compiled for AVX-512 (this file alone gets the AVX-512 -m flags).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace tokenspace {
namespace analogy_avx512 {
#include "analogy_combine.inc"

/// Three-term queries: combines the cosine rows a, b, c (3CosAdd: wa a + wb b + wc c;
/// 3CosMul: (1+a)/2 (1+b)/2 / ((1+c)/2 + eps), or its upper bound when slack > 0, see
/// combine_cosmul), writes the scores to s and the positions whose score is >= thr to idx, in
/// one pass. Returns how many positions were written.
std::size_t combine3_filter(const float* a, const float* b, const float* c, float wa, float wb,
                            float wc, int cosmul, float eps, float slack, std::size_t n,
                            float thr, float* s, std::uint32_t* idx) {
  const __m512 t = _mm512_set1_ps(thr);
  const __m512 va = _mm512_set1_ps(wa), vb = _mm512_set1_ps(wb), vc = _mm512_set1_ps(wc);
  const __m512 up = _mm512_set1_ps(1.0f + slack), lo = _mm512_set1_ps(1.0f - slack);
  const __m512 half = _mm512_set1_ps(0.5f), ve = _mm512_set1_ps(eps), zero = _mm512_setzero_ps();
  const __m512 scale = _mm512_set1_ps(slack > 0.0f ? 1.0f + 0x1p-20f : 1.0f);
  std::size_t cnt = 0;
  for (std::size_t j = 0; j < n; j += 16) {
    const std::size_t r = n - j;
    const __mmask16 lm = r >= 16 ? static_cast<__mmask16>(0xFFFF)
                                 : static_cast<__mmask16>((1u << r) - 1u);
    const __m512 x = _mm512_maskz_loadu_ps(lm, a + j);
    const __m512 y = _mm512_maskz_loadu_ps(lm, b + j);
    const __m512 z = _mm512_maskz_loadu_ps(lm, c + j);
    __m512 v;
    if (cosmul) {
      const __m512 px = _mm512_mul_ps(_mm512_add_ps(up, x), half);
      const __m512 py = _mm512_mul_ps(_mm512_add_ps(up, y), half);
      const __m512 pz = _mm512_fmadd_ps(_mm512_max_ps(_mm512_add_ps(lo, z), zero), half, ve);
      v = _mm512_mul_ps(_mm512_div_ps(_mm512_mul_ps(px, py), pz), scale);
    } else {
      v = _mm512_fmadd_ps(vc, z, _mm512_fmadd_ps(vb, y, _mm512_mul_ps(va, x)));
    }
    _mm512_mask_storeu_ps(s + j, lm, v);
    unsigned m = _mm512_mask_cmp_ps_mask(lm, v, t, _CMP_GE_OQ);
    while (m) {
      idx[cnt++] = static_cast<std::uint32_t>(j + __builtin_ctz(m));
      m &= m - 1;
    }
  }
  return cnt;
}

}  // namespace analogy_avx512
}  // namespace tokenspace
