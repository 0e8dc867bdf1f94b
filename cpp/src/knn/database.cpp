// The kNN database: borrowed fp32 rows plus what repeated searches reuse (row norms, the bf16
// and int8 copies with their error norms, the cached per-row slack).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "common/blocking.hpp"
#include "dispatch/kernels.hpp"
#include "knn/quantize.hpp"
#include "tokenspace/knn.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {

using detail::ceil_div;
using detail::round_up;
using detail::row_to_bf16;
using detail::row_to_int8;

KnnDatabase::KnnDatabase(const float* x, std::size_t n, std::size_t ldx, std::size_t d)
    : x_(x), n_(n), ldx_(ldx), d_(d) {
  if (n >= (std::size_t{1} << 32))
    throw std::invalid_argument("a kNN database holds at most 2^32 - 1 rows; split it");
  const KernelTable& K = active_kernels();
  const std::size_t chunk = 4096, n_chunks = ceil_div(n, chunk);
  std::vector<double> part_max(n_chunks, 0.0);
  norms_.resize(n);
  l2_bias_.resize(n);
  parallel_for(n_chunks, [&](std::size_t t, std::size_t) {
    double mx = 0;
    for (std::size_t j = t * chunk; j < std::min(n, (t + 1) * chunk); ++j) {
      const double ss = K.sum_squares(x + j * ldx, d);
      norms_[j] = static_cast<float>(std::sqrt(ss) * (1 + 1e-6));  // rounded up
      l2_bias_[j] = static_cast<float>(-0.5 * ss);
      mx = std::max(mx, ss);
    }
    part_max[t] = mx;
  });
  double mx = 0;
  for (double v : part_max) mx = std::max(mx, v);
  max_norm_ = std::sqrt(mx) * (1 + 1e-12);
}

void KnnDatabase::prepare_bf16() {
  if (has_bf16() || n_ == 0) return;
  dp_ = round_up(std::max<std::size_t>(d_, 1), 32);
  std::vector<std::uint16_t> copy(n_ * dp_);
  const std::size_t chunk = 4096, n_chunks = ceil_div(n_, chunk);
  std::vector<double> mnorm(n_chunks, 0.0), merr(n_chunks, 0.0);
  bf16_norm_.resize(n_);
  bf16_err_.resize(n_);
  parallel_for(n_chunks, [&](std::size_t t, std::size_t) {
    for (std::size_t j = t * chunk; j < std::min(n_, (t + 1) * chunk); ++j) {
      auto [nh, ne] = row_to_bf16(x_ + j * ldx_, d_, dp_, copy.data() + j * dp_);
      bf16_norm_[j] = static_cast<float>(nh * (1 + 1e-6));
      bf16_err_[j] = static_cast<float>(ne * (1 + 1e-6));
      mnorm[t] = std::max(mnorm[t], nh);
      merr[t] = std::max(merr[t], ne);
    }
  });
  bf16_max_norm_ = *std::max_element(mnorm.begin(), mnorm.end());
  bf16_max_err_ = *std::max_element(merr.begin(), merr.end());
  bf16_ = std::move(copy);
}

std::shared_ptr<const std::vector<float>> KnnDatabase::slack(int precision, double a,
                                                             double b) const {
  std::lock_guard<std::mutex> guard(cache_m_);
  if (cache_ && cache_prec_ == precision && cache_a_ == a && cache_b_ == b) return cache_;
  const float* rnorm = precision == static_cast<int>(Precision::BF16)   ? bf16_norm_.data()
                       : precision == static_cast<int>(Precision::INT8) ? i8_norm_.data()
                                                                        : norms_.data();
  const float* rerr = precision == static_cast<int>(Precision::BF16)   ? bf16_err_.data()
                      : precision == static_cast<int>(Precision::INT8) ? i8_err_.data()
                                                                       : nullptr;
  auto out = std::make_shared<std::vector<float>>(n_);
  float* o = out->data();
  parallel_for(ceil_div(n_, 16384), [&](std::size_t t, std::size_t) {
    for (std::size_t j = t * 16384; j < std::min(n_, (t + 1) * 16384); ++j) {
      double sl =
          static_cast<double>(rnorm[j]) * a + (rerr ? static_cast<double>(rerr[j]) * b : 0.0);
      // the 1e-6 margin exceeds float rounding (6e-8), so the float is still an upper bound
      o[j] = static_cast<float>(sl * (1 + 1e-6));
    }
  });
  cache_prec_ = precision;
  cache_a_ = a;
  cache_b_ = b;
  cache_ = out;
  return out;
}

void KnnDatabase::prepare_int8() {
  if (has_int8() || n_ == 0) return;
  dp8_ = round_up(std::max<std::size_t>(d_, 1), 64);
  if (dp8_ > 60000) throw std::invalid_argument("int8 candidates support at most 60000 dimensions");
  std::vector<std::int8_t> copy(n_ * dp8_);
  std::vector<float> scale(n_);
  std::vector<std::int32_t> sum(n_);
  const std::size_t chunk = 4096, n_chunks = ceil_div(n_, chunk);
  std::vector<double> mnorm(n_chunks, 0.0), merr(n_chunks, 0.0);
  i8_norm_.resize(n_);
  i8_err_.resize(n_);
  parallel_for(n_chunks, [&](std::size_t t, std::size_t) {
    for (std::size_t j = t * chunk; j < std::min(n_, (t + 1) * chunk); ++j) {
      auto [nh, ne] =
          row_to_int8(x_ + j * ldx_, d_, dp8_, copy.data() + j * dp8_, &scale[j], &sum[j]);
      i8_norm_[j] = static_cast<float>(nh * (1 + 1e-6));
      i8_err_[j] = static_cast<float>(ne * (1 + 1e-6));
      mnorm[t] = std::max(mnorm[t], nh);
      merr[t] = std::max(merr[t], ne);
    }
  });
  i8_max_norm_ = *std::max_element(mnorm.begin(), mnorm.end());
  i8_max_err_ = *std::max_element(merr.begin(), merr.end());
  i8_scale_ = std::move(scale);
  i8_sum_ = std::move(sum);
  i8_ = std::move(copy);
}

}  // namespace tokenspace
