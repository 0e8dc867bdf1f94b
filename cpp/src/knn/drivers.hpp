// The candidate-stage drivers of the kNN search: each scores every (query, row) pair of the
// Problem with one kernel family and feeds the collectors of the queries, leaving each part's
// exact top-k lists in Parts.
#pragma once
#include <cstddef>

#include "knn/collector.hpp"

namespace tokenspace {
namespace detail {

/// The tile loops broadcast a group of MR consecutive rows from L1 against every panel of a
/// block. While tile `part` of `parts` runs, this pulls its share of the next group's
/// cache lines (`bytes` from `next`) into L1, so no tile waits on L3 for its rows (+7% on the
/// AVX2 self-join tile loop, measured in isolation).
inline void prefetch_share(const void* next, std::size_t bytes, std::size_t part,
                           std::size_t parts) {
  const char* c = static_cast<const char*>(next);
  const std::size_t lines = (bytes + 63) / 64;
  for (std::size_t l = part * lines / parts; l < (part + 1) * lines / parts; ++l)
    __builtin_prefetch(c + l * 64, 0, 3);
}

/// Few queries (m < 8): database rows streamed as stored, one gemv per query and chunk.
void search_gemv(const Problem& P, Precision prec, Parts& out);
/// Many queries: fused tiles of database rows against packed query panels.
void search_tiles_fp32(const Problem& P, Parts& out);
void search_tiles_bf16(const Problem& P, Parts& out);
void search_tiles_int8(const Problem& P, Parts& out);
/// Self-join (the queries are the database rows): each pair of row blocks scored once.
void self_join_fp32(const Problem& P, Parts& out);
void self_join_bf16(const Problem& P, Parts& out);
/// One tile of the self-join (see knn_self_join_tile): P's queries are the rows [s0, s0 + P.m)
/// spanning both ranges; out gets |I| lists (then |J| when I != J), fp32 candidates.
void self_join_tile_fp32(const Problem& P, std::size_t s0, std::size_t i0, std::size_t i1,
                         std::size_t j0, std::size_t j1, Parts& out);

}  // namespace detail
}  // namespace tokenspace
