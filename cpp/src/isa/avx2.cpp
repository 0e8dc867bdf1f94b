// The avx2 unit: AVX2 + FMA kernels (compiled with TS_AVX2_FLAGS only in this file): the fp32
// set, the analogy combination and the RSA sums. 6 x 16 register block: 12 accumulators, 2 vector
// loads and 1 broadcast fit the 16 ymm registers.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "dispatch/kernels.hpp"

namespace tokenspace {
namespace isa_avx2 {
namespace {

constexpr int MR = 6;
constexpr int NR = 16;

// The vector traits of the shared loops (filter_loops.inc): 8 floats, no mask registers.
struct Vec {
  using F = __m256;
  static constexpr std::size_t kWidth = 8;
  static constexpr bool kMasked = false;
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F zero() { return _mm256_setzero_ps(); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static unsigned ge(F a, F b) {
    return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GE_OQ)));
  }
  // No mask registers: the loops run whole vectors only, so the "masked" forms are the plain
  // ones and the mask is a placeholder.
  struct M {};
  static M head(std::size_t) { return {}; }
  static F load_masked(M, const float* p) { return load(p); }
  static void store_masked(float* p, M, F v) { store(p, v); }
  static unsigned ge_masked(M, F a, F b) { return ge(a, b); }
};

#include "filter_loops.inc"
#include "scalar_tails.inc"

// One k step of the 6 x 16 block: two vector loads of B, six broadcasts of A, 12 FMAs.
#define TS_MK_STEP(k)                                          \
  {                                                            \
    const __m256 b0 = _mm256_load_ps(b + (k) * NR);            \
    const __m256 b1 = _mm256_load_ps(b + (k) * NR + 8);        \
    _Pragma("GCC unroll 6") for (int i = 0; i < MR; ++i) {     \
      const __m256 av = _mm256_broadcast_ss(a + (k) * MR + i); \
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);                  \
      c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);                  \
    }                                                          \
  }

void micro_kernel(const float* a, const float* b, std::size_t d, float* c, std::size_t ldc,
                  bool clamp_unit) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
  // Four k steps per iteration: with one step the loop's own pointer and counter updates sit
  // between the FMAs and held the kernel at ~74% of the FMA peak with its operands in L1;
  // unrolled it reaches ~88% (measured on Zen 3, d = 384).
  std::size_t k = 0;
  for (; k + 4 <= d; k += 4) {
    TS_MK_STEP(k)
    TS_MK_STEP(k + 1)
    TS_MK_STEP(k + 2)
    TS_MK_STEP(k + 3)
  }
  for (; k < d; ++k) TS_MK_STEP(k)
  if (clamp_unit) {
    const __m256 lo = _mm256_set1_ps(-1.0f), hi = _mm256_set1_ps(1.0f);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      c0[i] = _mm256_min_ps(hi, _mm256_max_ps(lo, c0[i]));
      c1[i] = _mm256_min_ps(hi, _mm256_max_ps(lo, c1[i]));
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    _mm256_storeu_ps(c + i * ldc, c0[i]);
    _mm256_storeu_ps(c + i * ldc + 8, c1[i]);
  }
}
#undef TS_MK_STEP

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Lanes [0, rem) set: the last partial vector of a row is loaded masked (no read past the row,
// no scalar tail).
inline __m256i tail_mask(std::size_t rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void gemv_rows(const float* q, const float* x, std::size_t n, std::size_t ldx, std::size_t d,
               float* out) {
  // Rows of x are read once (memory-bound for large n), so the work per row must stay below
  // the memory time: four rows share each load of q, the partial last vector is one masked
  // FMA, and the four sums are reduced together (two hadds per pair of rows, not four hsums).
  const std::size_t dv = d & ~static_cast<std::size_t>(7), rem = d - dv;
  const __m256i mask = tail_mask(rem);
  const __m256 qt = rem ? _mm256_maskload_ps(q + dv, mask) : _mm256_setzero_ps();
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* x0 = x + j * ldx;
    const float* x1 = x0 + ldx;
    const float* x2 = x1 + ldx;
    const float* x3 = x2 + ldx;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    for (std::size_t k = 0; k < dv; k += 8) {
      const __m256 qv = _mm256_loadu_ps(q + k);
      s0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x0 + k), s0);
      s1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x1 + k), s1);
      s2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x2 + k), s2);
      s3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x3 + k), s3);
    }
    if (rem) {
      s0 = _mm256_fmadd_ps(qt, _mm256_maskload_ps(x0 + dv, mask), s0);
      s1 = _mm256_fmadd_ps(qt, _mm256_maskload_ps(x1 + dv, mask), s1);
      s2 = _mm256_fmadd_ps(qt, _mm256_maskload_ps(x2 + dv, mask), s2);
      s3 = _mm256_fmadd_ps(qt, _mm256_maskload_ps(x3 + dv, mask), s3);
    }
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3));
    _mm_storeu_ps(out + j, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
  for (; j < n; ++j) {
    const float* xj = x + j * ldx;
    __m256 s0 = _mm256_setzero_ps();
    for (std::size_t k = 0; k < dv; k += 8)
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + k), _mm256_loadu_ps(xj + k), s0);
    if (rem) s0 = _mm256_fmadd_ps(qt, _mm256_maskload_ps(xj + dv, mask), s0);
    out[j] = hsum(s0);
  }
}

// int8 candidate scores without VNNI. The contract's integer, sum (u8 - 128) * q8 =
// sum v * x with v, x in [-127, 127], is formed exactly: vpmaddubsw multiplies unsigned by
// signed bytes, so it gets |x| and v with x's sign (vpsignb); a pair sum is at most
// 2 * 127 * 127 < 2^15, so the 16-bit step never saturates. The int32 sums and the two scalings
// are those of the VNNI kernel, so the scores are bit-identical to it.
void int8_gemv(const std::uint8_t* q, float qscale, const std::int8_t* x, std::size_t n,
               std::size_t ldx, std::size_t dp, const float* row_scale, const std::int32_t*,
               float* out) {
  const std::size_t nv = dp / 32;  // dp is a multiple of 64
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
  auto term = [&](__m256i qv, const std::int8_t* xr) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xr));
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_abs_epi8(xv), _mm256_sign_epi8(qv, xv));
    return _mm256_madd_epi16(p16, ones);
  };
  // the query's signed bytes v = u8 - 128 (its vectors stay in L1 across the rows)
  auto load_q = [&](std::size_t v) {
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + v * 32)), flip);
  };
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const std::int8_t* x0 = x + j * ldx;
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (std::size_t v = 0; v < nv; ++v) {
      const __m256i qv = load_q(v);
      s0 = _mm256_add_epi32(s0, term(qv, x0 + v * 32));
      s1 = _mm256_add_epi32(s1, term(qv, x0 + ldx + v * 32));
      s2 = _mm256_add_epi32(s2, term(qv, x0 + 2 * ldx + v * 32));
      s3 = _mm256_add_epi32(s3, term(qv, x0 + 3 * ldx + v * 32));
    }
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(s0, s1), _mm256_hadd_epi32(s2, s3));
    const __m128i d4 = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    alignas(16) std::int32_t dv[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(dv), d4);
    for (int r = 0; r < 4; ++r)
      out[j + r] = static_cast<float>(dv[r]) * (row_scale[j + r] * qscale);
  }
  for (; j < n; ++j) {
    __m256i s0 = _mm256_setzero_si256();
    for (std::size_t v = 0; v < nv; ++v)
      s0 = _mm256_add_epi32(s0, term(load_q(v), x + j * ldx + v * 32));
    const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s0), _mm256_extracti128_si256(s0, 1));
    const __m128i t = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    const std::int32_t d0 = _mm_cvtsi128_si32(_mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1)));
    out[j] = static_cast<float>(d0) * (row_scale[j] * qscale);
  }
}

// The MR x NR score tile of the kNN kernels: rows a_i (stride lda) broadcast straight from the
// matrix against the k-major query panel b.
inline void score_tile(const float* a, std::size_t lda, const float* b, std::size_t d,
                       __m256 (&c0)[MR], __m256 (&c1)[MR]) {
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
}

inline unsigned ge_mask(__m256 v0, __m256 v1, __m256 t0, __m256 t1) {
  return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v0, t0, _CMP_GE_OQ))) |
         (static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v1, t1, _CMP_GE_OQ))) << 8);
}

std::size_t knn_tile(const float* a, std::size_t lda, const float* b, std::size_t d,
                     const float* bias, const float* thr, float* c, std::uint32_t* hits) {
  __m256 c0[MR], c1[MR];
  score_tile(a, lda, b, d, c0, c1);
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
    unsigned m = ge_mask(v0, v1, t0, t1);
    while (m) {
      hits[n++] = static_cast<std::uint32_t>(i * NR + __builtin_ctz(m));
      m &= m - 1;
    }
  }
  return n;
}

// The self-join form (KernelTable::knn_tile_sym): the filter of both directions runs on the
// registers, so the driver touches only the hits (a scalar pass over the stored tile measured
// 17% of knn_graph).
std::size_t knn_tile_sym(const float* a, std::size_t lda, const float* b, std::size_t d,
                         const float* bias_a, const float* thr_a, const float* bias_b,
                         const float* thr_b, float* c, std::uint32_t* hits) {
  __m256 c0[MR], c1[MR];
  score_tile(a, lda, b, d, c0, c1);
  const __m256 t0 = _mm256_loadu_ps(thr_b), t1 = _mm256_loadu_ps(thr_b + 8);
  const __m256 b0 = _mm256_loadu_ps(bias_b), b1 = _mm256_loadu_ps(bias_b + 8);
  std::size_t n = 0;
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    _mm256_storeu_ps(c + i * NR, c0[i]);
    _mm256_storeu_ps(c + i * NR + 8, c1[i]);
    const __m256 ba = _mm256_broadcast_ss(bias_a + i), ta = _mm256_broadcast_ss(thr_a + i);
    const unsigned fwd = ge_mask(_mm256_add_ps(c0[i], ba), _mm256_add_ps(c1[i], ba), t0, t1);
    const unsigned bwd = ge_mask(_mm256_add_ps(c0[i], b0), _mm256_add_ps(c1[i], b1), ta, ta);
    unsigned m = fwd | bwd;
    while (m) {
      const unsigned j = static_cast<unsigned>(__builtin_ctz(m));
      hits[n++] = static_cast<std::uint32_t>(i * NR + j) | (((fwd >> j) & 1u) << 30) |
                  (((bwd >> j) & 1u) << 31);
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
  __m256d a[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                  _mm256_setzero_pd()};
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
  exact_tail<L2>(q, x, c, d, t);
  const double s = tree16(_mm256_load_pd(t), _mm256_load_pd(t + 4), _mm256_load_pd(t + 8),
                          _mm256_load_pd(t + 12));
  return L2 ? -0.5 * s : s;
}

double exact_ip(const float* q, const float* x, std::size_t d) {
  return exact_score<false>(q, x, d);
}
double exact_l2(const float* q, const float* x, std::size_t d) {
  return exact_score<true>(q, x, d);
}

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
  return sum_squares_tail(x, k, d, (t[0] + t[1]) + (t[2] + t[3]));
}

namespace analogy {
#include "analogy_combine.inc"

}  // namespace analogy

// RSA Pearson sums.
namespace rsa {

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
}  // namespace rsa

/// Peak-rate probe for benchmarks/roofline.py: 12 independent register chains of the
/// instruction, so throughput (not latency) bounds it. Returns operations done
/// (16 per instruction: multiply and add counted separately).
double peak_probe(std::size_t iters) {
  for (std::size_t i = 0; i < iters; ++i) {
#define TS_P(j) asm volatile("vfmadd231ps %%ymm12,%%ymm13,%%ymm" #j::: "xmm" #j);
    TS_P(0)
    TS_P(1) TS_P(2) TS_P(3) TS_P(4) TS_P(5) TS_P(6) TS_P(7) TS_P(8) TS_P(9) TS_P(10) TS_P(11)
#undef TS_P
  }
  return static_cast<double>(iters) * 12.0 * 16.0;
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
  t.int8_gemv = int8_gemv;  // no int8 tiles: batches run the fp32 tiles (faster without VNNI)
  t.exact_ip = exact_ip;
  t.exact_l2 = exact_l2;
  t.sum_squares = sum_squares;
  t.combine_linear = analogy::combine_linear;
  t.combine_cosmul = analogy::combine_cosmul;
  t.combine3_filter = combine3_filter<Vec>;
  t.rsa_accum = rsa::accum;
  t.peak_fp32_fma_ymm = peak_probe;
  return t;
}

}  // namespace

const KernelTable kTable = make_table();

}  // namespace isa_avx2
}  // namespace tokenspace
