// The candidate collector of the kNN search: admission by proven bounds, exact re-rank.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "common/topk.hpp"
#include "dispatch/kernels.hpp"
#include "tokenspace/knn.hpp"

namespace tokenspace {
namespace detail {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();
constexpr double kUnitRoundoff = 1.0 / (1 << 24);  // fp32 u = 2^-24
// Norm products above this could overflow fp32 accumulators.
constexpr double kMaxNormProduct = 1e37;

// gamma_n = n u / (1 - n u): the classic bound on the relative error of an n-term fp32 sum.
inline double gamma(std::size_t n) {
  const double nu = static_cast<double>(n) * kUnitRoundoff;
  return nu / (1.0 - nu);
}

// Exact ranking: double scores, ties to the lower id.
using ExactTopK = BoundedTopK<double>;

inline bool excluded(const std::int64_t* ex, std::size_t n_ex, std::int64_t id) {
  for (std::size_t e = 0; e < n_ex; ++e)
    if (ex[e] == id) return true;
  return false;
}

/// One search: what the drivers and collectors share (the kernel table is taken once, at entry).
struct Problem {
  const KernelTable* K;
  const KnnDatabase* db;
  const float* q;
  std::size_t m, ldq, k;
  Metric metric;
  const float* bias;       // per-row additive term of the candidate score (user bias or L2)
  const float* user_bias;  // the caller's bias (added to exact scores too), or null
  const std::int64_t* exclude;
  std::size_t n_exclude;
  // |candidate - exact| <= slack[j] + rest[i]; the kernels see bias[j] = base bias + slack[j],
  // so a candidate score u is an upper bound (minus rest) and u - 2 slack[j] a lower bound.
  const float* slack;
  const double* rest;
};

inline double exact_for(const Problem& P, std::size_t qi, std::int64_t id) {
  const KnnDatabase& db = *P.db;
  const float* x = db.x() + static_cast<std::size_t>(id) * db.ldx();
  const float* q = P.q + qi * P.ldq;
  double s =
      P.metric == Metric::InnerProduct ? P.K->exact_ip(q, x, db.d()) : P.K->exact_l2(q, x, db.d());
  if (P.user_bias) s += P.user_bias[id];
  return s;
}

// Candidate collector of one query. Candidate scores u_j arrive with the row's slack already
// added, so u_j + rest >= exact_j >= u_j - 2 slack_j - rest. The collector keeps the k largest
// lower bounds (a min-heap) and admits u_j >= floor - rest with floor = the k-th largest lower
// bound: a row of the exact top-k has exact score >= exact k-th score >= floor, so it is
// admitted whenever it is scanned, whatever the order. The buffer is pruned as the floor rises
// and flushed through exact double scoring into an ExactTopK when it grows large.
class Collector {
 public:
  Collector(const Problem& P, std::size_t qi, double* es, std::int64_t* eid)
      : P_(&P), qi_(qi), k_(P.k), rest_(P.rest[qi]), exact_(es, eid, P.k) {
    approx_.reserve(k_);
  }

  float threshold() const { return thr_; }

  void add(float a, std::int64_t id) {
    if (a < thr_) return;  // the SIMD filter may have used an older, lower threshold
    if (P_->n_exclude && excluded(P_->exclude + qi_ * P_->n_exclude, P_->n_exclude, id)) return;
    const double lower = static_cast<double>(a) - 2.0 * P_->slack[id] - rest_;
    if (approx_.size() < k_) {
      approx_.push_back(lower);
      std::push_heap(approx_.begin(), approx_.end(), std::greater<double>());
      if (approx_.size() == k_) update_threshold();
    } else if (lower > approx_.front()) {
      std::pop_heap(approx_.begin(), approx_.end(), std::greater<double>());
      approx_.back() = lower;
      std::push_heap(approx_.begin(), approx_.end(), std::greater<double>());
      update_threshold();
    }
    buf_.push_back({a, static_cast<std::uint32_t>(id)});
    if (buf_.size() >= cap_) {
      prune();
      if (buf_.size() >= kHardCap) flush();
      cap_ = std::max<std::size_t>(2 * buf_.size(), 2 * k_ + 64);
    }
  }

  /// Final flush: the exact top-k of everything admitted lands in the exact heap.
  void finish() {
    prune();
    flush();
  }

  /// Between tasks of a collector that lives across many (the self-join keeps one per row):
  /// a buffer grown past 2k + 32 slots is pruned, flushed when still half full, and shrunk,
  /// so memory stays O(k) per row. Cheap rows (the common case) cost one comparison.
  void park() {
    const std::size_t small = 2 * k_ + 32;
    if (buf_.capacity() <= small) return;  // O(1) for the common case
    prune();
    if (buf_.size() > small / 2) flush();
    std::vector<Cand>(buf_).swap(buf_);
    cap_ = small;
  }

 private:
  static constexpr std::size_t kHardCap = 4096;
  struct Cand {  // 8 bytes: row ids fit 32 bits (KnnDatabase checks n < 2^32)
    float a;
    std::uint32_t id;
  };

  void update_threshold() {
    // admit u >= floor - rest, rounded down so float rounding never drops a needed candidate
    const double floor = approx_.front() - rest_;
    float t = static_cast<float>(floor);
    if (static_cast<double>(t) > floor) t = std::nextafter(t, kNegInf);
    thr_ = t;
  }
  void prune() {
    std::size_t w = 0;
    for (const Cand& c : buf_)
      if (c.a >= thr_) buf_[w++] = c;
    buf_.resize(w);
  }
  void flush() {
    for (const Cand& c : buf_) exact_.push(exact_for(*P_, qi_, c.id), c.id);
    buf_.clear();
  }

  const Problem* P_;
  std::size_t qi_, k_;
  double rest_;
  float thr_ = kNegInf;
  std::vector<double> approx_;
  std::vector<Cand> buf_;
  std::size_t cap_ = 256;
  ExactTopK exact_;
};

using Parts = PartLists<double>;

}  // namespace detail
}  // namespace tokenspace
