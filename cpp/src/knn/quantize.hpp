// Low-precision copies of rows and queries (bf16, int8 rows, uint8 queries) with the norms of
// the quantised vectors and of their errors, which feed the candidate bounds.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "common/blocking.hpp"

namespace tokenspace {
namespace detail {

// bf16 of a float, round to nearest even; subnormals flush to zero as the hardware's DAZ would.
inline std::uint16_t to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0) return static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}
inline float from_bf16(std::uint16_t h) {
  std::uint32_t u = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Converts a row to bf16 (dp values, zero padded); returns (|xhat|, |x - xhat|) in double.
inline std::pair<double, double> row_to_bf16(const float* x, std::size_t d, std::size_t dp,
                                             std::uint16_t* out) {
  double nh = 0, ne = 0;
  for (std::size_t c = 0; c < d; ++c) {
    out[c] = to_bf16(x[c]);
    const double h = from_bf16(out[c]);
    const double e = static_cast<double>(x[c]) - h;
    nh += h * h;
    ne += e * e;
  }
  for (std::size_t c = d; c < dp; ++c) out[c] = 0;
  // round the square roots up a little: they feed an upper bound
  return {std::sqrt(nh) * (1 + 1e-12), std::sqrt(ne) * (1 + 1e-12)};
}

// int8 row: x ~ scale * q8 with scale = max|x| / 127. Returns (|xhat|, |x - xhat|); the products
// scale * q8 are exact in double, so both norms are computed exactly before the final rounding.
inline std::pair<double, double> row_to_int8(const float* x, std::size_t d, std::size_t dp,
                                             std::int8_t* out, float* scale, std::int32_t* sum) {
  float mx = 0;
  for (std::size_t c = 0; c < d; ++c) mx = std::max(mx, std::fabs(x[c]));
  const float s = mx / 127.0f;
  double nh = 0, ne = 0;
  std::int32_t total = 0;
  for (std::size_t c = 0; c < d; ++c) {
    long v = s > 0 ? std::lround(static_cast<double>(x[c]) / s) : 0;
    v = std::min(127L, std::max(-127L, v));
    out[c] = static_cast<std::int8_t>(v);
    total += static_cast<std::int32_t>(v);
    const double h = static_cast<double>(s) * v;
    const double e = static_cast<double>(x[c]) - h;
    nh += h * h;
    ne += e * e;
  }
  for (std::size_t c = d; c < dp; ++c) out[c] = 0;
  *scale = s;
  *sum = total;
  return {std::sqrt(nh) * (1 + 1e-12), std::sqrt(ne) * (1 + 1e-12)};
}

// uint8 query: q ~ t * (u8 - 128) with t = max|q| / 127.
inline std::pair<double, double> row_to_uint8(const float* q, std::size_t d, std::size_t dp,
                                              std::uint8_t* out, float* scale) {
  float mx = 0;
  for (std::size_t c = 0; c < d; ++c) mx = std::max(mx, std::fabs(q[c]));
  const float t = mx / 127.0f;
  double nh = 0, ne = 0;
  for (std::size_t c = 0; c < d; ++c) {
    long v = t > 0 ? std::lround(static_cast<double>(q[c]) / t) : 0;
    v = std::min(127L, std::max(-127L, v));
    out[c] = static_cast<std::uint8_t>(v + 128);
    const double h = static_cast<double>(t) * v;
    const double e = static_cast<double>(q[c]) - h;
    nh += h * h;
    ne += e * e;
  }
  for (std::size_t c = d; c < dp; ++c) out[c] = 128;  // zero after the -128 shift
  *scale = t;
  return {std::sqrt(nh) * (1 + 1e-12), std::sqrt(ne) * (1 + 1e-12)};
}

// bf16 query panels: panel p holds dp/2 k-pairs x nr query slots, each slot the two bf16
// values 2p, 2p+1 of one query; slots past m are zero.
inline void pack_bf16_panels(const float* q, std::size_t m, std::size_t ldq, std::size_t d,
                             std::size_t dp, std::size_t nr, float* dst) {
  std::uint32_t* out32 = reinterpret_cast<std::uint32_t*>(dst);
  std::vector<std::uint16_t> row(dp);
  const std::size_t np = ceil_div(m, nr);
  std::fill(out32, out32 + np * nr * (dp / 2), 0u);
  for (std::size_t i = 0; i < m; ++i) {
    row_to_bf16(q + i * ldq, d, dp, row.data());
    std::uint32_t* panel = out32 + (i / nr) * nr * (dp / 2);
    for (std::size_t p = 0; p < dp / 2; ++p)
      panel[p * nr + i % nr] = static_cast<std::uint32_t>(row[2 * p]) |
                               (static_cast<std::uint32_t>(row[2 * p + 1]) << 16);
  }
}

}  // namespace detail
}  // namespace tokenspace
