// The scalar unit, the reference level: plain C++ (the compiler may use the baseline SSE2), the
// end of every fallback chain: the fp32 set, the analogy combination and the RSA sums. Every
// SIMD level must give the same answers as this one up to rounding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "dispatch/kernels.hpp"

namespace tokenspace {
namespace isa_scalar {
namespace {

constexpr int MR = 4;
constexpr int NR = 8;

// The vector traits of the shared loops (filter_loops.inc): width 1, so they run only their
// scalar loop, which is the reference the other units' tails repeat.
struct Vec {
  static constexpr std::size_t kWidth = 1;
  static constexpr bool kMasked = false;
};

#include "filter_loops.inc"
#include "scalar_tails.inc"

void micro_kernel(const float* a, const float* b, std::size_t d, float* c, std::size_t ldc,
                  bool clamp_unit) {
  float acc[MR][NR] = {};
  for (std::size_t k = 0; k < d; ++k) {
    const float* ak = a + k * MR;
    const float* bk = b + k * NR;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += ak[i] * bk[j];
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      c[i * ldc + j] = clamp_unit ? std::min(1.0f, std::max(-1.0f, acc[i][j])) : acc[i][j];
}

void gemv_rows(const float* q, const float* x, std::size_t n, std::size_t ldx, std::size_t d,
               float* out) {
  for (std::size_t j = 0; j < n; ++j) {
    const float* xj = x + j * ldx;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t k = 0;
    for (; k + 4 <= d; k += 4) {
      s0 += q[k] * xj[k];
      s1 += q[k + 1] * xj[k + 1];
      s2 += q[k + 2] * xj[k + 2];
      s3 += q[k + 3] * xj[k + 3];
    }
    s0 = dot_tail(q, xj, k, d, s0);
    out[j] = (s0 + s1) + (s2 + s3);
  }
}

// The MR x NR score tile of the kNN kernels: rows a_i (stride lda) against the k-major panel b.
void score_tile(const float* a, std::size_t lda, const float* b, std::size_t d,
                float (&acc)[MR][NR]) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.0f;
  for (std::size_t k = 0; k < d; ++k) {
    const float* bk = b + k * NR;
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i * lda + k];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * bk[j];
    }
  }
}

std::size_t knn_tile(const float* a, std::size_t lda, const float* b, std::size_t d,
                     const float* bias, const float* thr, float* c, std::uint32_t* hits) {
  float acc[MR][NR];
  score_tile(a, lda, b, d, acc);
  std::size_t n = 0;
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      const float v = bias ? acc[i][j] + bias[i] : acc[i][j];
      c[i * NR + j] = v;
      if (v >= thr[j]) hits[n++] = static_cast<std::uint32_t>(i * NR + j);
    }
  return n;
}

// The self-join form (KernelTable::knn_tile_sym): the reference the SIMD epilogues repeat.
std::size_t knn_tile_sym(const float* a, std::size_t lda, const float* b, std::size_t d,
                         const float* bias_a, const float* thr_a, const float* bias_b,
                         const float* thr_b, float* c, std::uint32_t* hits) {
  float acc[MR][NR];
  score_tile(a, lda, b, d, acc);
  std::size_t n = 0;
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      const float v = acc[i][j];
      c[i * NR + j] = v;
      const std::uint32_t fwd = v + bias_a[i] >= thr_b[j], bwd = v + bias_b[j] >= thr_a[i];
      if (fwd | bwd) hits[n++] = static_cast<std::uint32_t>(i * NR + j) | (fwd << 30) | (bwd << 31);
    }
  return n;
}

// Canonical exact scores (see KernelTable::exact_ip): 16 partial sums, fixed tree.
double exact_ip(const float* q, const float* x, std::size_t d) {
  double t[16] = {};
  exact_tail<false>(q, x, 0, d, t);
  return tree16(t);
}

double exact_l2(const float* q, const float* x, std::size_t d) {
  double t[16] = {};
  exact_tail<true>(q, x, 0, d, t);
  return -0.5 * tree16(t);
}

double sum_squares(const float* x, std::size_t d) { return sum_squares_tail(x, 0, d, 0.0); }

namespace analogy {
#include "analogy_combine.inc"

}  // namespace analogy

// RSA Pearson sums.
namespace rsa {
void accum(const float* x, const float* y, std::size_t len, double kx, double ky, double* out) {
  double t[5] = {0, 0, 0, 0, 0};
  float ext[4] = {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  for (std::size_t j = 0; j < len; ++j) {
    ext[0] = std::min(ext[0], x[j]);
    ext[1] = std::max(ext[1], x[j]);
    ext[2] = std::min(ext[2], y[j]);
    ext[3] = std::max(ext[3], y[j]);
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
  return t;
}

}  // namespace

const KernelTable kTable = make_table();

}  // namespace isa_scalar
}  // namespace tokenspace
