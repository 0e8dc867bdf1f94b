// The candidate-stage drivers of the kNN search: each scores every (query, row) pair of the
// Problem with one kernel family and feeds the collectors of the queries, leaving each part's
// exact top-k lists in Parts.
#pragma once
#include "knn/collector.hpp"

namespace tokenspace {
namespace detail {

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
