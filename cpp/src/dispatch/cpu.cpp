// CPU detection, TOKENSPACE_SIMD and the level in use.
#include "tokenspace/simd.hpp"
#include "tokenspace/threads.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace tokenspace {
namespace {

bool cpu_supports(SimdLevel level) {
  switch (level) {
    case SimdLevel::Scalar:
      return true;
#if TS_HAVE_X86 && (defined(__GNUC__) || defined(__clang__))
    // libgcc's cpu model also checks XCR0, so an OS that does not save the AVX/AVX-512 state
    // reports the feature as absent.
    case SimdLevel::AVX2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SimdLevel::AVX512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("fma");
    case SimdLevel::AVX512_BF16:
      return cpu_supports(SimdLevel::AVX512) && __builtin_cpu_supports("avx512bf16") &&
             __builtin_cpu_supports("avx512vnni");
#endif
    default:
      return false;
  }
}

SimdLevel initial_level() {
  const char* env = std::getenv("TOKENSPACE_SIMD");
  if (env && *env) {
    SimdLevel wanted = parse_simd_level(env);
    if (!cpu_supports(wanted))
      throw std::invalid_argument(std::string("TOKENSPACE_SIMD=") + env +
                                  " is not supported by this CPU; unset it or pick one of the "
                                  "levels tokenspace.available_simd_levels() lists");
    return wanted;
  }
  return detected_simd_level();
}

std::atomic<int>& level_slot() {
  static std::atomic<int> slot{static_cast<int>(initial_level())};
  return slot;
}

}  // namespace

SimdLevel detected_simd_level() {
  if (cpu_supports(SimdLevel::AVX512_BF16)) return SimdLevel::AVX512_BF16;
  if (cpu_supports(SimdLevel::AVX512)) return SimdLevel::AVX512;
  if (cpu_supports(SimdLevel::AVX2)) return SimdLevel::AVX2;
  return SimdLevel::Scalar;
}

SimdLevel active_simd_level() {
  const int pinned = pinned_simd_level();  // a running kernel keeps the level it started with
  return static_cast<SimdLevel>(pinned >= 0 ? pinned : level_slot().load());
}

void set_simd_level(SimdLevel level) {
  if (!cpu_supports(level))
    throw std::invalid_argument(std::string("SIMD level '") + simd_level_name(level) +
                                "' is not supported by this CPU");
  level_slot().store(static_cast<int>(level));
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Scalar:
      return "scalar";
    case SimdLevel::AVX2:
      return "avx2";
    case SimdLevel::AVX512:
      return "avx512";
    case SimdLevel::AVX512_BF16:
      return "avx512_bf16";
  }
  return "unknown";
}

SimdLevel parse_simd_level(const std::string& name) {
  if (name == "scalar") return SimdLevel::Scalar;
  if (name == "avx2") return SimdLevel::AVX2;
  if (name == "avx512") return SimdLevel::AVX512;
  if (name == "avx512_bf16") return SimdLevel::AVX512_BF16;
  throw std::invalid_argument("unknown SIMD level '" + name +
                              "'; expected 'scalar', 'avx2', 'avx512' or 'avx512_bf16'");
}

std::vector<SimdLevel> supported_simd_levels() {
  std::vector<SimdLevel> out;
  for (SimdLevel l :
       {SimdLevel::Scalar, SimdLevel::AVX2, SimdLevel::AVX512, SimdLevel::AVX512_BF16})
    if (cpu_supports(l)) out.push_back(l);
  return out;
}

}  // namespace tokenspace
