// Reference level: plain C++ (the compiler may use the baseline SSE2), also the fallback for
// CPUs without AVX2. Every SIMD level must give the same answers as this one up to rounding.
#include <cstddef>
#include <cstdint>

#include "tokenspace/dispatch.hpp"

namespace tokenspace {
namespace isa_scalar {
namespace {

constexpr int MR = 4;
constexpr int NR = 8;

void micro_kernel(const float* a, const float* b, std::size_t d, float* c, std::size_t ldc) {
  float acc[MR][NR] = {};
  for (std::size_t k = 0; k < d; ++k) {
    const float* ak = a + k * MR;
    const float* bk = b + k * NR;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += ak[i] * bk[j];
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) c[i * ldc + j] = acc[i][j];
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
    for (; k < d; ++k) s0 += q[k] * xj[k];
    out[j] = (s0 + s1) + (s2 + s3);
  }
}

std::size_t filter_ge(const float* s, const float* bias, std::size_t n, float thr,
                      std::uint32_t* idx) {
  std::size_t c = 0;
  if (bias) {
    for (std::size_t j = 0; j < n; ++j)
      if (s[j] + bias[j] >= thr) idx[c++] = static_cast<std::uint32_t>(j);
  } else {
    for (std::size_t j = 0; j < n; ++j)
      if (s[j] >= thr) idx[c++] = static_cast<std::uint32_t>(j);
  }
  return c;
}

std::size_t knn_tile(const float* a, std::size_t lda, const float* b, std::size_t d,
                     const float* bias, const float* thr, float* c, std::uint32_t* hits) {
  float acc[MR][NR] = {};
  for (std::size_t k = 0; k < d; ++k) {
    const float* bk = b + k * NR;
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i * lda + k];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * bk[j];
    }
  }
  std::size_t n = 0;
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      const float v = bias ? acc[i][j] + bias[i] : acc[i][j];
      c[i * NR + j] = v;
      if (v >= thr[j]) hits[n++] = static_cast<std::uint32_t>(i * NR + j);
    }
  return n;
}

// Canonical exact scores (see IsaKernels::exact_ip): 16 partial sums, fixed tree.
inline double tree16(const double* t) {
  double s8[8], s4[4];
  for (int p = 0; p < 8; ++p) s8[p] = t[p] + t[p + 8];
  for (int p = 0; p < 4; ++p) s4[p] = s8[p] + s8[p + 4];
  return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

double exact_ip(const float* q, const float* x, std::size_t d) {
  double t[16] = {};
  for (std::size_t c = 0; c < d; ++c) t[c % 16] += static_cast<double>(q[c]) * x[c];
  return tree16(t);
}

double exact_l2(const float* q, const float* x, std::size_t d) {
  double t[16] = {};
  for (std::size_t c = 0; c < d; ++c) {
    const double e = static_cast<double>(q[c]) - x[c];
    t[c % 16] += e * e;
  }
  return -0.5 * tree16(t);
}

double sum_squares(const float* x, std::size_t d) {
  double s = 0;
  for (std::size_t k = 0; k < d; ++k) s += static_cast<double>(x[k]) * x[k];
  return s;
}

}  // namespace

const IsaKernels kKernels = {"scalar", MR, NR, micro_kernel, gemv_rows, filter_ge,
                             knn_tile, exact_ip, exact_l2, sum_squares,
                             nullptr};  // knn_tile_sym: knn.cpp filters the stored tile

}  // namespace isa_scalar
}  // namespace tokenspace
