// The candidate bounds of the kNN search: |candidate score - exact score| <= slack[j] + rest[i]
// for every (query i, row j), from the quantisation error norms of rows and queries
// (Cauchy-Schwarz), the float accumulation error (gamma_n), the bias rounding and flushed
// subnormals.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "dispatch/kernels.hpp"
#include "tokenspace/knn.hpp"

namespace tokenspace {
namespace detail {

struct CandidateBounds {
  std::shared_ptr<const std::vector<float>> slack;  ///< per row (cached by the database)
  std::vector<float> bias_sum;  ///< base bias + slack per row, when there is a base bias
  std::vector<double> rest;     ///< per query
  /// The per-row candidate bias the kernels add: base bias (caller's, or -|x|^2/2 for L2) + slack.
  const float* candidate_bias() const { return bias_sum.empty() ? slack->data() : bias_sum.data(); }
};

/// Checks row_bias (finite) and derives the bounds of a search at precision prec (not Auto).
CandidateBounds derive_bounds(const KernelTable& K, const KnnDatabase& db, const float* queries,
                              std::size_t m, std::size_t ldq, Metric metric, const float* row_bias,
                              Precision prec);

}  // namespace detail
}  // namespace tokenspace
