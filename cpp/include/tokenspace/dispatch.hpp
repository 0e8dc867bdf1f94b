// Runtime CPU dispatch: every kernel exists once per instruction set, compiled in its own
// translation unit with its own -m flags; the table for the active level is picked at run time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tokenspace {

enum class SimdLevel : int { Scalar = 0, AVX2 = 1, AVX512 = 2 };

/// Function table of the ISA-specific kernels. All matrices are row-major float32.
struct IsaKernels {
  const char* name;
  int mr;  ///< rows of the broadcast operand in one micro-kernel call
  int nr;  ///< columns (database rows) of the vector operand in one micro-kernel call
  /// C[mr x nr] (row stride ldc) = A_panel (d x mr, k-major) times B_panel (d x nr, k-major).
  void (*micro_kernel)(const float* a_panel, const float* b_panel, std::size_t d, float* c,
                       std::size_t ldc);
  /// out[j] = <q, x_j> for the n rows x_j of X (row stride ldx).
  void (*gemv_rows)(const float* q, const float* x, std::size_t n, std::size_t ldx, std::size_t d,
                    float* out);
  /// Writes the positions j < n with s[j] + bias[j] >= thr (bias may be null) to idx;
  /// returns how many. The SIMD pre-filter of the fused top-k.
  std::size_t (*filter_ge)(const float* s, const float* bias, std::size_t n, float thr,
                           std::uint32_t* idx);
  /// The fused kNN tile. C[mr x nr] = rows a_0..a_{mr-1} of a row-major matrix (stride lda,
  /// broadcast straight from the rows, no packing) times the query panel b (d x nr, k-major),
  /// plus bias[i] per row when bias is non-null; C is stored (row stride nr) and the positions
  /// i * nr + j with C[i][j] >= thr[j] are written to hits. Returns the number of hits.
  std::size_t (*knn_tile)(const float* a, std::size_t lda, const float* b, std::size_t d,
                          const float* bias, const float* thr, float* c, std::uint32_t* hits);
  /// Sum of squares of x[0..d) accumulated in double.
  double (*sum_squares)(const float* x, std::size_t d);
};

namespace isa_scalar { extern const IsaKernels kKernels; }
#if TS_HAVE_X86
namespace isa_avx2 { extern const IsaKernels kKernels; }
namespace isa_avx512 { extern const IsaKernels kKernels; }
#endif

/// Best level this CPU and OS support.
SimdLevel detected_simd_level();
/// Level in use: TOKENSPACE_SIMD (scalar|avx2|avx512) if set, else the detected one.
SimdLevel active_simd_level();
/// Forces a level; throws std::invalid_argument if the CPU does not support it.
void set_simd_level(SimdLevel level);
const char* simd_level_name(SimdLevel level);
/// Parses "scalar" | "avx2" | "avx512"; throws std::invalid_argument otherwise.
SimdLevel parse_simd_level(const std::string& name);
/// Every level this machine can run, lowest first.
std::vector<SimdLevel> supported_simd_levels();
/// Kernel table of the active level.
const IsaKernels& kernels();

}  // namespace tokenspace
