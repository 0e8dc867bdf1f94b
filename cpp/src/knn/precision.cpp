#include "knn/precision.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace tokenspace {
namespace detail {

bool fp32_forced() {
  const char* env = std::getenv("TOKENSPACE_PRECISION");
  return env && std::string(env) == "fp32";
}

void prepare_copies(KnnDatabase& db, const KernelTable& K, Precision precision,
                    std::size_t n_queries) {
  if (precision == Precision::Auto && fp32_forced()) return;
  // A one-shot search pays for the bf16 copy only when enough queries amortise it; a kept
  // database gets both (together 3/4 of the float32 matrix: bf16 serves batches, int8 single
  // queries).
  const bool bf16 = precision == Precision::BF16 ||
                    (precision == Precision::Auto && (n_queries == 0 || n_queries >= 64));
  const bool int8 =
      precision == Precision::INT8 || (precision == Precision::Auto && n_queries == 0);
  if (bf16 && K.bf16_knn_tile) db.prepare_bf16();
  if (int8 && K.int8_gemv) db.prepare_int8();
}

Precision search_precision(const KernelTable& K, const KnnDatabase& db, std::size_t n_queries,
                           Precision precision) {
  if (precision == Precision::Auto && fp32_forced()) precision = Precision::FP32;
  // int8 runs wherever its gemv does (few queries; batches too when there are no int8 tiles)
  const bool bf16_ok = K.bf16_knn_tile != nullptr, int8_ok = K.int8_gemv != nullptr;
  if (precision == Precision::Auto) {
    // Measured on Zen 4: bf16 tiles beat int8 tiles (int8's larger error bound admits ~15x more
    // candidates to re-rank), while a few queries are memory-bound and int8 reads a quarter of
    // the fp32 bytes. Without int8 tiles (AVX2), batches stay on the fp32 tiles.
    const bool i8 = db.has_int8() && int8_ok, b16 = db.has_bf16() && bf16_ok;
    if (n_queries < 8) return i8 ? Precision::INT8 : b16 ? Precision::BF16 : Precision::FP32;
    return b16 ? Precision::BF16 : i8 && K.int8_knn_tile ? Precision::INT8 : Precision::FP32;
  }
  if (precision == Precision::BF16 && !bf16_ok)
    throw std::invalid_argument(
        "bf16 candidates need the avx512_bf16 SIMD level (this CPU or TOKENSPACE_SIMD lacks it); "
        "use precision='fp32' or 'auto'");
  if (precision == Precision::INT8 && !int8_ok)
    throw std::invalid_argument(
        "int8 candidates need the avx2 SIMD level or above (TOKENSPACE_SIMD or this CPU gives "
        "scalar); use precision='fp32' or 'auto'");
  if (precision == Precision::BF16 && !db.has_bf16())
    throw std::invalid_argument(
        "the database has no bf16 copy; prepare it for precision='bf16' first, or search with "
        "precision='auto'");
  if (precision == Precision::INT8 && !db.has_int8())
    throw std::invalid_argument(
        "the database has no int8 copy; prepare it for precision='int8' first, or search with "
        "precision='auto'");
  return precision;
}

}  // namespace detail

Precision parse_precision(const std::string& p) {
  if (p == "auto") return Precision::Auto;
  if (p == "fp32") return Precision::FP32;
  if (p == "bf16") return Precision::BF16;
  if (p == "int8") return Precision::INT8;
  throw std::invalid_argument("unknown precision '" + p +
                              "'; expected 'auto', 'fp32', 'bf16' or 'int8'");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::Auto:
      return "auto";
    case Precision::FP32:
      return "fp32";
    case Precision::BF16:
      return "bf16";
    case Precision::INT8:
      return "int8";
  }
  return "unknown";
}

void KnnDatabase::prepare(Precision precision, std::size_t n_queries) {
  detail::prepare_copies(*this, active_kernels(), precision, n_queries);
}

Precision KnnDatabase::precision_for(std::size_t n_queries, Precision precision) const {
  return detail::search_precision(active_kernels(), *this, n_queries, precision);
}

}  // namespace tokenspace
