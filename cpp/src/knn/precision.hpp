// The precision policy of the kNN search, in one place: which low-precision copies a database
// keeps and which candidate stage a search runs. Bindings and Python only ask it.
#pragma once
#include <cstddef>

#include "dispatch/kernels.hpp"
#include "tokenspace/knn.hpp"

namespace tokenspace {
namespace detail {

/// TOKENSPACE_PRECISION=fp32: Auto means fp32 (the answers are identical).
bool fp32_forced();
/// See KnnDatabase::prepare; K is the table of the level the searches will run at.
void prepare_copies(KnnDatabase& db, const KernelTable& K, Precision precision,
                    std::size_t n_queries);
/// See KnnDatabase::precision_for.
Precision search_precision(const KernelTable& K, const KnnDatabase& db, std::size_t n_queries,
                           Precision precision);

}  // namespace detail
}  // namespace tokenspace
