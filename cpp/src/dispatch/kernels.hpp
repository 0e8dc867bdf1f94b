// The one kernel table of the library (private). Every ISA kernel exists once per instruction
// set, compiled in its unit (cpp/src/isa/) with that level's -m flags. A unit fills the slots it
// provides; a level's table is its units' slots with every missing slot filled from the
// fallback level (avx512_bf16 -> avx512 -> avx2 -> scalar), as faiss' get_simd_fallback does.
// A kernel call takes one table at entry and passes it down, so set_simd_level from another
// thread never swaps kernels in the middle of a call.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tokenspace/simd.hpp"

namespace tokenspace {

/// Register-block shape of a family of tile kernels; {0, 0} = the unit has none.
struct TileShape {
  int mr = 0;  ///< rows of the broadcast operand in one tile call
  int nr = 0;  ///< columns (database rows or queries) of the vector operand in one tile call
  explicit operator bool() const { return mr != 0; }
};

/// All matrices are row-major float32 unless said otherwise. Null = no kernel at this level.
struct KernelTable {
  // fp32
  TileShape fp32_shape;
  /// C[mr x nr] (row stride ldc) = A_panel (d x mr, k-major) times B_panel (d x nr, k-major),
  /// each entry clipped to [-1, 1] in registers when clamp_unit (cosines of unit rows: clipping
  /// the stored tile afterwards reads it back through a store-forwarding stall).
  void (*micro_kernel)(const float* a_panel, const float* b_panel, std::size_t d, float* c,
                       std::size_t ldc, bool clamp_unit) = nullptr;
  /// out[j] = <q, x_j> for the n rows x_j of X (row stride ldx).
  void (*gemv_rows)(const float* q, const float* x, std::size_t n, std::size_t ldx, std::size_t d,
                    float* out) = nullptr;
  /// Writes the positions j < n with s[j] + bias[j] >= thr (bias may be null) to idx;
  /// returns how many. The SIMD pre-filter of the fused top-k.
  std::size_t (*filter_ge)(const float* s, const float* bias, std::size_t n, float thr,
                           std::uint32_t* idx) = nullptr;
  /// The fused kNN tile. C[mr x nr] = rows a_0..a_{mr-1} of a row-major matrix (stride lda,
  /// broadcast straight from the rows, no packing) times the query panel b (d x nr, k-major),
  /// plus bias[i] per row when bias is non-null; C is stored (row stride nr) and the positions
  /// i * nr + j with C[i][j] >= thr[j] are written to hits. Returns the number of hits.
  std::size_t (*knn_tile)(const float* a, std::size_t lda, const float* b, std::size_t d,
                          const float* bias, const float* thr, float* c,
                          std::uint32_t* hits) = nullptr;
  /// Self-join form of knn_tile. Both operands are rows of one matrix, so each score serves
  /// both directions: C (row stride nr) holds the raw scores and hits gets i * nr + j with bit
  /// 30 set when C[i][j] + bias_a[i] >= thr_b[j] and bit 31 set when C[i][j] + bias_b[j] >=
  /// thr_a[i].
  std::size_t (*knn_tile_sym)(const float* a, std::size_t lda, const float* b, std::size_t d,
                              const float* bias_a, const float* thr_a, const float* bias_b,
                              const float* thr_b, float* c, std::uint32_t* hits) = nullptr;
  /// Exact-ranking scores in double: sum q_c x_c and -sum (q_c - x_c)^2 / 2. Every level
  /// computes them in the same canonical order (16 partial sums by c mod 16, separate multiply
  /// and add, then a fixed pairwise tree), so they are bit-identical across levels.
  double (*exact_ip)(const float* q, const float* x, std::size_t d) = nullptr;
  double (*exact_l2)(const float* q, const float* x, std::size_t d) = nullptr;
  /// Sum of squares of x[0..d) accumulated in double.
  double (*sum_squares)(const float* x, std::size_t d) = nullptr;

  // bf16 candidates (AVX-512 BF16): rows padded with zeros to a multiple of 32 values (ld
  // counts uint16 values).
  TileShape bf16_shape;
  /// out[j] = <q, x_j> for bf16 rows (q and rows have dp values, dp a multiple of 32).
  void (*bf16_gemv)(const std::uint16_t* q, const std::uint16_t* x, std::size_t n, std::size_t ldx,
                    std::size_t dp, float* out) = nullptr;
  /// knn_tile contract on bf16 rows (stride lda) and a bf16 query panel of dp / 2 k-pairs x nr
  /// queries (each 32-bit slot holds the query's values 2p and 2p+1).
  std::size_t (*bf16_knn_tile)(const std::uint16_t* a, std::size_t lda, const std::uint32_t* b,
                               std::size_t dp, const float* bias, const float* thr, float* c,
                               std::uint32_t* hits) = nullptr;
  /// Self-join form, knn_tile_sym contract.
  std::size_t (*bf16_knn_tile_sym)(const std::uint16_t* a, std::size_t lda, const std::uint32_t* b,
                                   std::size_t dp, const float* bias_a, const float* thr_a,
                                   const float* bias_b, const float* thr_b, float* c,
                                   std::uint32_t* hits) = nullptr;

  // int8 candidates (AVX-512 VNNI): int8 rows with a float scale per row (x ~ scale * q8),
  // padded to a multiple of 64 values; uint8 queries (q ~ t (u8 - 128)). Scores come out as
  // (sum u8 * q8 - 128 * rowsum) * scale * t, i.e. <xhat, qhat>.
  TileShape int8_shape;
  void (*int8_gemv)(const std::uint8_t* q, float qscale, const std::int8_t* x, std::size_t n,
                    std::size_t ldx, std::size_t dp, const float* row_scale,
                    const std::int32_t* row_sum, float* out) = nullptr;
  /// knn_tile contract on int8 rows; b holds dp / 4 k-quads x nr query slots (4 uint8 each),
  /// qscale the nr query scales.
  std::size_t (*int8_knn_tile)(const std::int8_t* a, std::size_t lda, const std::uint32_t* b,
                               std::size_t dp, const float* row_scale, const std::int32_t* row_sum,
                               const float* qscale, const float* bias, const float* thr, float* c,
                               std::uint32_t* hits) = nullptr;

  // analogy combination of term cosines (see isa/analogy_combine.inc)
  /// s[j] = sum_t w[t] * rows[t][j].
  void (*combine_linear)(const float* const* rows, const float* w, std::size_t T, std::size_t n,
                         float* s) = nullptr;
  /// s[j] = prod_pos (1 + c)/2 / (prod_neg (1 + c)/2 + eps), upper bounds when slack > 0.
  void (*combine_cosmul)(const float* const* rows, std::size_t n_pos, std::size_t n_neg, float eps,
                         float slack, std::size_t n, float* s, float* den) = nullptr;
  /// Three-term queries: combines the cosine rows a, b, c (3CosAdd: wa a + wb b + wc c;
  /// 3CosMul: see combine_cosmul), writes the scores to s and the positions whose score is
  /// >= thr to idx, in one pass. Returns how many positions were written.
  std::size_t (*combine3_filter)(const float* a, const float* b, const float* c, float wa, float wb,
                                 float wc, int cosmul, float eps, float slack, std::size_t n,
                                 float thr, float* s, std::uint32_t* idx) = nullptr;

  // RSA
  /// Sums over p < len of (x_p - kx), (y_p - ky), their squares and their product, written to
  /// out[0..5) = {sx, sy, sxx, syy, sxy}, then out[5..9) = {min x, max x, min y, max y}; len >= 1.
  void (*rsa_accum)(const float* x, const float* y, std::size_t len, double kx, double ky,
                    double* out) = nullptr;

  // Peak-rate probes (benchmarks only): each runs `iters` rounds of 12 independent instructions
  // and returns the operations done. Call only when the CPU supports the instruction set.
  double (*peak_fp32_fma_ymm)(std::size_t iters) = nullptr;
  double (*peak_fp32_fma_zmm)(std::size_t iters) = nullptr;
  double (*peak_bf16_dpbf16ps_zmm)(std::size_t iters) = nullptr;
  double (*peak_int8_vpdpbusd_zmm)(std::size_t iters) = nullptr;
};

/// Every slot, in KernelTable order: X(member, "name reported by kernel_table").
// clang-format off
#define TS_KERNEL_SLOTS(X)                                                                     \
  X(fp32_shape, "mr_nr") X(micro_kernel, "micro_kernel") X(gemv_rows, "gemv_rows")             \
  X(filter_ge, "filter_ge") X(knn_tile, "knn_tile") X(knn_tile_sym, "knn_tile_sym")            \
  X(exact_ip, "exact_ip") X(exact_l2, "exact_l2") X(sum_squares, "sum_squares")                \
  X(bf16_shape, "bf16_mr_nr") X(bf16_gemv, "bf16_gemv") X(bf16_knn_tile, "bf16_knn_tile")      \
  X(bf16_knn_tile_sym, "bf16_knn_tile_sym")                                                    \
  X(int8_shape, "int8_mr_nr") X(int8_gemv, "int8_gemv") X(int8_knn_tile, "int8_knn_tile")      \
  X(combine_linear, "combine_linear") X(combine_cosmul, "combine_cosmul")                      \
  X(combine3_filter, "combine3_filter") X(rsa_accum, "rsa_accum")                              \
  X(peak_fp32_fma_ymm, "peak_fp32_fma_ymm") X(peak_fp32_fma_zmm, "peak_fp32_fma_zmm")          \
  X(peak_bf16_dpbf16ps_zmm, "peak_bf16_dpbf16ps_zmm")                                          \
  X(peak_int8_vpdpbusd_zmm, "peak_int8_vpdpbusd_zmm")
// clang-format on

// The units' own tables: each holds the slots its unit provides (null elsewhere). They are
// constant-initialised data, so reading them is safe on any CPU.
namespace isa_scalar {
extern const KernelTable kTable;
}
#if TS_HAVE_X86
namespace isa_avx2 {
extern const KernelTable kTable;
}
namespace isa_avx512 {
extern const KernelTable kTable;
}
namespace isa_avx512_bf16 {
extern const KernelTable kTable;
}
namespace isa_avx512_vnni {
extern const KernelTable kTable;
}
#endif

/// The resolved table of a level (static: valid for every level, runnable or not).
const KernelTable& kernels_for(SimdLevel level);
/// The table of the active level. Take it once per kernel call and pass it down.
const KernelTable& active_kernels();

}  // namespace tokenspace
