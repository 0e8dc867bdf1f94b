// Analogy score combination compiled for avx512 (this file alone gets the avx512 -m flags).
#include <cstddef>

namespace tokenspace {
namespace analogy_avx512 {
#include "analogy_combine.inc"
}  // namespace analogy_avx512
}  // namespace tokenspace
