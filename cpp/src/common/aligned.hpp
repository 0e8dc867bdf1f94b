// 64-byte aligned buffers for packed GEMM panels (private to the kernels).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace tokenspace {

/// Owning 64-byte aligned buffer of T (packed GEMM panels are read with aligned loads).
/// Buffers of 4 MB and more are 2 MB aligned and marked for transparent huge pages: a kernel's
/// fresh 12 MB panel copy otherwise takes ~3000 page faults on first touch (each a VM exit on a
/// virtual machine; 5-8% of cosine_matrix and cross_gram time in the profiles), 6 with them.
template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n) { reset(n); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  ~AlignedBuffer() { std::free(p_); }
  void reset(std::size_t n) {
    std::free(p_);
    p_ = nullptr;
    n_ = n;
    if (n == 0) return;
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    std::size_t align = 64;
    std::size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
    if (bytes >= 2 * kHuge) {
      align = kHuge;
      bytes = (bytes + kHuge - 1) / kHuge * kHuge;
    }
    p_ = static_cast<T*>(std::aligned_alloc(align, bytes));
    if (!p_) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == kHuge) madvise(p_, bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  std::size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

using AlignedFloats = AlignedBuffer<float>;

}  // namespace tokenspace
