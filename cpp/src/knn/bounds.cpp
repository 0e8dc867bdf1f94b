#include "knn/bounds.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>

#include "knn/collector.hpp"
#include "knn/quantize.hpp"

namespace tokenspace {
namespace detail {

CandidateBounds derive_bounds(const KernelTable& K, const KnnDatabase& db, const float* queries,
                              std::size_t m, std::size_t ldq, Metric metric, const float* row_bias,
                              Precision prec) {
  const std::size_t n = db.n(), d = db.d();
  CandidateBounds out;
  // Candidate-score bias: the caller's, or -|x|^2 / 2 which turns L2 into an inner product.
  double max_bias = 0;
  if (metric == Metric::L2) {
    max_bias = 0.5 * db.max_norm() * db.max_norm() * (1 + 1e-6);
  } else if (row_bias) {
    for (std::size_t j = 0; j < n; ++j) {
      if (!std::isfinite(row_bias[j]))
        throw std::invalid_argument("bias has a NaN or Inf value at row " + std::to_string(j));
      max_bias = std::max(max_bias, static_cast<double>(std::fabs(row_bias[j])));
    }
  }

  // The error bound, split into a per-row slack (folded into the candidate bias) and a
  // per-query rest. With xhat, qhat the quantised vectors (xhat = x for fp32):
  //   |approx - x.q| <= |xhat.(qhat - q)| + |(xhat - x).q| + accumulation error
  //                  <= |xhat_j| |e_q| + |e_x_j| |q| + g |xhat_j| |qhat|      (Cauchy-Schwarz)
  // The |e_x_j| |q| and g |xhat_j| |qhat| terms become a per-row slack (with the maxima of |q|
  // and |qhat| over the queries); |xhat_j| |e_q| <= max_j |xhat_j| |e_q| stays per query, so one
  // badly quantised query does not widen every other query's window.
  const double R = db.max_norm();
  std::vector<double> qn(m), qhn(m), qen(m);
  {
    std::vector<std::uint16_t> tmp16(prec == Precision::BF16 ? db.bf16_dim() : 0);
    std::vector<std::uint8_t> tmp8(prec == Precision::INT8 ? db.int8_dim() : 0);
    for (std::size_t i = 0; i < m; ++i) {
      const float* q = queries + i * ldq;
      qn[i] = std::sqrt(K.sum_squares(q, d)) * (1 + 1e-12);
      if (R * qn[i] > kMaxNormProduct)
        throw std::invalid_argument(
            "vector norms are too large for float32 scores (|q| |x| > 1e37); rescale the vectors");
      if (prec == Precision::BF16) {
        std::tie(qhn[i], qen[i]) = row_to_bf16(q, d, db.bf16_dim(), tmp16.data());
      } else if (prec == Precision::INT8) {
        float t;
        std::tie(qhn[i], qen[i]) = row_to_uint8(q, d, db.int8_dim(), tmp8.data(), &t);
      } else {
        qhn[i] = qn[i];
        qen[i] = 0;
      }
    }
  }
  const double Qmax = *std::max_element(qn.begin(), qn.end());
  const double Qhmax = *std::max_element(qhn.begin(), qhn.end());
  // accumulation: fp32 sums in any order with or without FMA (2 d roundings); bf16: 2 per pair
  // plus the reduction; int8: the integer sum is exact, its conversion and 2 scalings round.
  const double g = prec == Precision::FP32   ? gamma(2 * d + 64)
                   : prec == Precision::BF16 ? gamma(2 * db.bf16_dim() + 64)
                                             : 4 * kUnitRoundoff;
  // Round the query factors up to a coarse grid (<= 9% looser) so that repeated searches reuse
  // the database's cached slack vector instead of an O(n) pass per call.
  auto grid_up = [](double v) {
    if (v <= 0) return 0.0;
    return std::exp2(std::ceil(8 * std::log2(v)) / 8) * (1 + 1e-12);
  };
  const double fa = grid_up(g * Qhmax), fb = grid_up(Qmax);
  out.slack = db.slack(static_cast<int>(prec), fa, fb);
  const std::vector<float>& slack = *out.slack;
  const float* base_bias = metric == Metric::L2 ? db.half_sq_norms() : row_bias;
  if (base_bias) {
    out.bias_sum.resize(n);
    for (std::size_t j = 0; j < n; ++j) out.bias_sum[j] = base_bias[j] + slack[j];
  }
  std::vector<double>& rest = out.rest;
  rest.resize(m);
  const double Rh = prec == Precision::BF16   ? db.bf16_max_norm()
                    : prec == Precision::INT8 ? db.int8_max_norm()
                                              : R;
  // An upper bound of max_j slack[j] from the stored maxima (no pass over the n rows): each
  // slack is (|xhat_j| fa + |e_j| fb)(1 + 1e-6) with both norms stored rounded up by ~1e-6.
  const double Emax = prec == Precision::BF16   ? db.bf16_max_error()
                      : prec == Precision::INT8 ? db.int8_max_error()
                                                : 0.0;
  const double max_slack = (Rh * fa + Emax * fb) * (1 + 1e-5);
  for (std::size_t i = 0; i < m; ++i) {
    // adding the bias and rounding to float (twice), flushed bf16 subnormals, and the error of
    // the double re-rank itself (the reference the proof compares with)
    double r = Rh * qen[i];
    r += 4 * kUnitRoundoff * (Rh * qhn[i] + max_bias + 2 * max_slack);
    r += 2e-37 * static_cast<double>(std::max(db.bf16_dim(), d));
    r += 1e-12 *
         (R * qn[i] + max_bias + (metric == Metric::L2 ? 0.5 * (qn[i] * qn[i] + R * R) : 0.0));
    rest[i] = r * (1 + 1e-6);
  }
  return out;
}

}  // namespace detail
}  // namespace tokenspace
