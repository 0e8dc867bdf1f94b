#include <chrono>
#include <stdexcept>

#include "kernels.hpp"

namespace tokenspace {
namespace {

// The slot-wise union: every slot of `dst` still empty takes `src`'s and remembers its unit.
constexpr int kSlots = 0
#define TS_COUNT(member, name) +1
    TS_KERNEL_SLOTS(TS_COUNT)
#undef TS_COUNT
    ;

struct Resolved {
  KernelTable table;
  const char* unit[kSlots] = {};
};

void merge(Resolved& dst, const KernelTable& src, const char* src_unit, const Resolved* src_res) {
  int slot = 0;
#define TS_MERGE(member, name)                                 \
  if (!dst.table.member && src.member) {                       \
    dst.table.member = src.member;                             \
    dst.unit[slot] = src_res ? src_res->unit[slot] : src_unit; \
  }                                                            \
  ++slot;
  TS_KERNEL_SLOTS(TS_MERGE)
#undef TS_MERGE
}

void add_unit(Resolved& dst, const KernelTable& own, const char* unit) {
  merge(dst, own, unit, nullptr);
}

// The fallback chain: a level = its own units, then everything its fallback level resolves to.
struct Tables {
  Resolved level[4];
  Tables() {
    add_unit(level[0], isa_scalar::kTable, "scalar");
#if TS_HAVE_X86
    add_unit(level[1], isa_avx2::kTable, "avx2");
    add_unit(level[2], isa_avx512::kTable, "avx512");
    add_unit(level[3], isa_avx512_bf16::kTable, "avx512_bf16");
    add_unit(level[3], isa_avx512_vnni::kTable, "avx512_vnni");
#endif
    for (int l = 1; l < 4; ++l) merge(level[l], level[l - 1].table, nullptr, &level[l - 1]);
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const KernelTable& kernels_for(SimdLevel level) {
  return tables().level[static_cast<int>(level)].table;
}

const KernelTable& active_kernels() { return kernels_for(active_simd_level()); }

std::vector<std::pair<std::string, std::string>> kernel_table(SimdLevel level) {
  const Resolved& r = tables().level[static_cast<int>(level)];
  std::vector<std::pair<std::string, std::string>> out;
  int slot = 0;
#define TS_LIST(member, name)                                   \
  out.emplace_back(name, r.unit[slot] ? r.unit[slot] : "none"); \
  ++slot;
  TS_KERNEL_SLOTS(TS_LIST)
#undef TS_LIST
  return out;
}

double peak_rate(const std::string& kind, double seconds) {
  // The detected level's table holds every probe this CPU can run.
  const KernelTable& K = kernels_for(detected_simd_level());
  double (*probe)(std::size_t) = nullptr;
  if (kind == "fp32_fma_ymm")
    probe = K.peak_fp32_fma_ymm;
  else if (kind == "fp32_fma_zmm")
    probe = K.peak_fp32_fma_zmm;
  else if (kind == "bf16_dpbf16ps_zmm")
    probe = K.peak_bf16_dpbf16ps_zmm;
  else if (kind == "int8_vpdpbusd_zmm")
    probe = K.peak_int8_vpdpbusd_zmm;
  else
    throw std::invalid_argument("unknown probe '" + kind + "'");
  if (!probe)
    throw std::invalid_argument("this CPU lacks the instructions of probe '" + kind + "'");
  const auto t0 = std::chrono::steady_clock::now();
  double ops = 0, elapsed = 0;
  do {
    ops += probe(1u << 20);
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  return ops / elapsed;
}

}  // namespace tokenspace
