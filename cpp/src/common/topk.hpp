// Bounded top-k heap and the per-part merge shared by the search kernels (portable code only).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/blocking.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {
namespace detail {

/// Total order on candidates: higher score first, then lower id (the faiss/numpy stable rule).
template <typename S>
inline bool better(S a, std::int64_t ia, S b, std::int64_t ib) {
  return a > b || (a == b && ia < ib);
}

/// The k best (score, id) pairs seen so far, in caller-owned arrays; the root is the worst kept
/// entry, so once full its score is the admission threshold.
template <typename S>
class BoundedTopK {
 public:
  BoundedTopK(S* s, std::int64_t* id, std::size_t k) : s_(s), id_(id), k_(k) {}
  S threshold() const { return size_ < k_ ? -std::numeric_limits<S>::infinity() : s_[0]; }
  std::size_t size() const { return size_; }

  void push(S sc, std::int64_t id) {
    if (size_ < k_) {
      std::size_t i = size_++;
      while (i > 0) {  // sift up: a parent stays worse than its children
        std::size_t p = (i - 1) / 2;
        if (!better(s_[p], id_[p], sc, id)) break;
        s_[i] = s_[p];
        id_[i] = id_[p];
        i = p;
      }
      s_[i] = sc;
      id_[i] = id;
      return;
    }
    if (!better(sc, id, s_[0], id_[0])) return;
    std::size_t i = 0;
    for (;;) {  // sift down from the root
      std::size_t l = 2 * i + 1, r = l + 1, w = i;
      S ws = sc;
      std::int64_t wi = id;
      if (l < k_ && better(ws, wi, s_[l], id_[l])) {
        w = l;
        ws = s_[l];
        wi = id_[l];
      }
      if (r < k_ && better(ws, wi, s_[r], id_[r])) {
        w = r;
        ws = s_[r];
        wi = id_[r];
      }
      if (w == i) break;
      s_[i] = s_[w];
      id_[i] = id_[w];
      i = w;
    }
    s_[i] = sc;
    id_[i] = id;
  }

  /// Writes the entries best-first; missing entries get id -1 and score -inf.
  void write_sorted(S* out_s, std::int64_t* out_id) const {
    std::vector<std::size_t> order(size_);
    for (std::size_t i = 0; i < size_; ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return better(s_[a], id_[a], s_[b], id_[b]); });
    for (std::size_t i = 0; i < size_; ++i) {
      out_s[i] = s_[order[i]];
      out_id[i] = id_[order[i]];
    }
    for (std::size_t i = size_; i < k_; ++i) {
      out_s[i] = -std::numeric_limits<S>::infinity();
      out_id[i] = -1;
    }
  }

 private:
  S* s_;
  std::int64_t* id_;
  std::size_t k_;
  std::size_t size_ = 0;
};

/// Per-part top-k lists: a search whose workers each scan a part of the database keeps one
/// list of k (score, id) per (part, query), -inf / -1 where unfilled.
template <typename S>
struct PartLists {
  std::size_t n_parts = 1, m = 0, k = 0;
  std::vector<S> s;
  std::vector<std::int64_t> id;
  void init(std::size_t parts, std::size_t m_, std::size_t k_) {
    n_parts = parts;
    m = m_;
    k = k_;
    s.assign(parts * m * k, -std::numeric_limits<S>::infinity());
    id.assign(parts * m * k, -1);
  }
  S* s_at(std::size_t part, std::size_t qi) { return s.data() + (part * m + qi) * k; }
  std::int64_t* id_at(std::size_t part, std::size_t qi) { return id.data() + (part * m + qi) * k; }
};

/// Merges the parts' lists of every query into its exact top-k and hands them to
/// emit(query, scores, ids) best-first (k entries, -inf / -1 past the filled ones).
/// Queries are merged in parallel blocks of 256.
template <typename S, typename Emit>
void merge_parts(PartLists<S>& parts, Emit emit) {
  const std::size_t m = parts.m, k = parts.k;
  parallel_for(ceil_div(m, 256), [&](std::size_t t, std::size_t) {
    std::vector<S> hs(k), os(k);
    std::vector<std::int64_t> hid(k), oid(k);
    for (std::size_t i = t * 256; i < std::min(m, (t + 1) * 256); ++i) {
      BoundedTopK<S> heap(hs.data(), hid.data(), k);
      for (std::size_t part = 0; part < parts.n_parts; ++part) {
        const S* ps = parts.s_at(part, i);
        const std::int64_t* pid = parts.id_at(part, i);
        for (std::size_t e = 0; e < k; ++e)
          if (pid[e] >= 0) heap.push(ps[e], pid[e]);
      }
      heap.write_sorted(os.data(), oid.data());
      emit(i, os.data(), oid.data());
    }
  });
}

}  // namespace detail
}  // namespace tokenspace
