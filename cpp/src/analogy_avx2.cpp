// Analogy score combination compiled for avx2 (this file alone gets the avx2 -m flags).
#include <cstddef>

namespace tokenspace {
namespace analogy_avx2 {
#include "analogy_combine.inc"
}  // namespace analogy_avx2
}  // namespace tokenspace
