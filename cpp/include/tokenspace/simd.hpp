// SIMD levels: detection, the level in use (TOKENSPACE_SIMD or set_simd_level), and which
// instruction-set unit provides each kernel at a level.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace tokenspace {

/// AVX512_BF16 stands for the AVX-512 BF16 + VNNI generation (Cooper Lake, Sapphire Rapids,
/// Zen 4): both low-precision candidate kernels are available from that level on.
enum class SimdLevel : int { Scalar = 0, AVX2 = 1, AVX512 = 2, AVX512_BF16 = 3 };

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

/// (slot, unit) for every kernel slot of a level's table: the unit ("scalar", "avx2",
/// "avx512", "avx512_bf16", "avx512_vnni") that provides it, or "none". Reads the static
/// tables only, so it answers for levels this CPU cannot run too.
std::vector<std::pair<std::string, std::string>> kernel_table(SimdLevel level);

/// Benchmarks only: operations per second of one instruction kind ("fp32_fma_ymm",
/// "fp32_fma_zmm", "bf16_dpbf16ps_zmm", "int8_vpdpbusd_zmm") on the calling thread, measured
/// for about `seconds`. Throws std::invalid_argument for an unknown kind or one this CPU lacks.
double peak_rate(const std::string& kind, double seconds);

}  // namespace tokenspace
