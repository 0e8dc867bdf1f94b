// Runtime CPU dispatch: every kernel exists once per instruction set, compiled in its own
// translation unit with its own -m flags; the table for the active level is picked at run time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tokenspace {

/// AVX512_BF16 stands for the AVX-512 BF16 + VNNI generation (Cooper Lake, Sapphire Rapids,
/// Zen 4): both low-precision candidate kernels are available from that level on.
enum class SimdLevel : int { Scalar = 0, AVX2 = 1, AVX512 = 2, AVX512_BF16 = 3 };

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
  /// Exact-ranking scores in double: sum q_c x_c and -sum (q_c - x_c)^2 / 2. Every level
  /// computes them in the same canonical order (16 partial sums by c mod 16, separate multiply
  /// and add, then a fixed pairwise tree), so they are bit-identical across levels.
  double (*exact_ip)(const float* q, const float* x, std::size_t d);
  double (*exact_l2)(const float* q, const float* x, std::size_t d);
  /// Sum of squares of x[0..d) accumulated in double.
  double (*sum_squares)(const float* x, std::size_t d);
  /// Self-join form of knn_tile (null where not specialised; knn.cpp then filters the stored
  /// tile itself). Both operands are rows of one matrix, so each score serves both directions:
  /// C (row stride nr) holds the raw scores and hits gets i * nr + j with bit 30 set when
  /// C[i][j] + bias_a[i] >= thr_b[j] and bit 31 set when C[i][j] + bias_b[j] >= thr_a[i].
  std::size_t (*knn_tile_sym)(const float* a, std::size_t lda, const float* b, std::size_t d,
                              const float* bias_a, const float* thr_a, const float* bias_b,
                              const float* thr_b, float* c, std::uint32_t* hits);
};

/// Low-precision candidate kernels (AVX-512 BF16). bf16 matrices are row-major with rows padded
/// with zeros to a multiple of 32 values (ld counts uint16 values).
struct Bf16Kernels {
  int mr, nr;
  /// out[j] = <q, x_j> for bf16 rows (q and rows have dp values, dp a multiple of 32).
  void (*gemv)(const std::uint16_t* q, const std::uint16_t* x, std::size_t n, std::size_t ldx,
               std::size_t dp, float* out);
  /// Same contract as IsaKernels::knn_tile, on bf16 rows (stride lda) and a bf16 query panel of
  /// dp / 2 k-pairs x nr queries (each 32-bit slot holds the query's values 2p and 2p+1).
  std::size_t (*knn_tile)(const std::uint16_t* a, std::size_t lda, const std::uint32_t* b,
                          std::size_t dp, const float* bias, const float* thr, float* c,
                          std::uint32_t* hits);
  /// Self-join form, same contract as IsaKernels::knn_tile_sym.
  std::size_t (*knn_tile_sym)(const std::uint16_t* a, std::size_t lda, const std::uint32_t* b,
                              std::size_t dp, const float* bias_a, const float* thr_a,
                              const float* bias_b, const float* thr_b, float* c,
                              std::uint32_t* hits);
};

/// int8 candidate kernels (AVX-512 VNNI). Database rows are int8 with a float scale per row
/// (x ~ scale * q8) and padded to a multiple of 64 values; queries are uint8 (q ~ t (u8 - 128)).
/// Scores come out as (sum u8 * q8 - 128 * rowsum) * scale * t, i.e. <xhat, qhat>.
struct Int8Kernels {
  int mr, nr;
  void (*gemv)(const std::uint8_t* q, float qscale, const std::int8_t* x, std::size_t n,
               std::size_t ldx, std::size_t dp, const float* row_scale,
               const std::int32_t* row_sum, float* out);
  /// knn_tile contract on int8 rows; b holds dp / 4 k-quads x nr query slots (4 uint8 each),
  /// qscale the nr query scales.
  std::size_t (*knn_tile)(const std::int8_t* a, std::size_t lda, const std::uint32_t* b,
                          std::size_t dp, const float* row_scale, const std::int32_t* row_sum,
                          const float* qscale, const float* bias, const float* thr, float* c,
                          std::uint32_t* hits);
};

namespace isa_scalar { extern const IsaKernels kKernels; }
#if TS_HAVE_X86
namespace isa_avx2 { extern const IsaKernels kKernels; }
namespace isa_avx512 { extern const IsaKernels kKernels; }
namespace isa_avx512bf16 { extern const Bf16Kernels kBf16Kernels; }
namespace isa_avx512vnni { extern const Int8Kernels kInt8Kernels; }
#endif

// Peak-rate probes (benchmarks only): each runs `iters` rounds of 12 independent instructions
// and returns the operations done. Call only when the CPU supports the instruction set.
namespace isa_avx2 { double peak_probe(std::size_t iters); }
namespace isa_avx512 { double peak_probe(std::size_t iters); }
namespace isa_avx512bf16 { double peak_probe(std::size_t iters); }
namespace isa_avx512vnni { double peak_probe(std::size_t iters); }

/// Best level this CPU and OS support.
SimdLevel detected_simd_level();
/// Level in use: TOKENSPACE_SIMD (scalar|avx2|avx512|avx512_bf16) if set, else the detected one.
SimdLevel active_simd_level();
/// Forces a level; throws std::invalid_argument if the CPU does not support it.
void set_simd_level(SimdLevel level);
const char* simd_level_name(SimdLevel level);
/// Parses "scalar" | "avx2" | "avx512" | "avx512_bf16"; throws std::invalid_argument otherwise.
SimdLevel parse_simd_level(const std::string& name);
/// Every level this machine can run, lowest first.
std::vector<SimdLevel> supported_simd_levels();
/// fp32 kernel table of the active level (avx512_bf16 uses the avx512 fp32 kernels).
const IsaKernels& kernels();
/// bf16 candidate kernels when the active level has them, else null.
const Bf16Kernels* bf16_kernels();
/// int8 (VNNI) candidate kernels when the active level has them, else null.
const Int8Kernels* int8_kernels();

}  // namespace tokenspace
