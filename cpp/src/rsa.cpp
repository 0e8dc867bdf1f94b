#include "tokenspace/rsa.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "common/aligned.hpp"
#include "common/blocking.hpp"
#include "dispatch/kernels.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace {

namespace {

// TS_RSA_TIMING=1 prints the wall and process-CPU time of each Spearman phase to stderr.
struct Stopwatch {
  bool on = std::getenv("TS_RSA_TIMING") != nullptr;
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
  std::clock_t c = std::clock();
  void lap(const char* what) {
    auto now = std::chrono::steady_clock::now();
    std::clock_t cn = std::clock();
    if (on)
      std::fprintf(stderr, "  %-10s wall %7.3f s  cpu %7.3f s\n", what,
                   std::chrono::duration<double>(now - t).count(),
                   static_cast<double>(cn - c) / CLOCKS_PER_SEC);
    t = now;
    c = cn;
  }
};

using u128 = unsigned __int128;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Position of pair (i, i+1) in the row-major upper triangle.
inline std::uint64_t row_offset(std::size_t i, std::size_t n) {
  return static_cast<std::uint64_t>(i) * (2 * static_cast<std::uint64_t>(n) - i - 1) / 2;
}

/// Neumaier-compensated running sums: the per-row partials are added to totals that grow to
/// ~10^8 times their size, where plain addition would drop their low digits.
struct CompensatedSums {
  double s[5] = {0, 0, 0, 0, 0};
  double c[5] = {0, 0, 0, 0, 0};
  double ext[4] = {HUGE_VAL, -HUGE_VAL, HUGE_VAL, -HUGE_VAL};  // min x, max x, min y, max y
  /// v[0..5) are sums, v[5..9) extremes (the layout of KernelTable::rsa_accum's output).
  void add_partial(const double* v) {
    add(v);
    ext[0] = std::min(ext[0], v[5]);
    ext[1] = std::max(ext[1], v[6]);
    ext[2] = std::min(ext[2], v[7]);
    ext[3] = std::max(ext[3], v[8]);
  }
  void add(const double* v) {
    for (int q = 0; q < 5; ++q) {
      const double t = s[q] + v[q];
      if (std::fabs(s[q]) >= std::fabs(v[q]))
        c[q] += (s[q] - t) + v[q];
      else
        c[q] += (v[q] - t) + s[q];
      s[q] = t;
    }
  }
  void add(const CompensatedSums& o) {
    double v[5];
    for (int q = 0; q < 5; ++q) v[q] = o.s[q];
    add(v);
    for (int q = 0; q < 5; ++q) v[q] = o.c[q];
    add(v);
    ext[0] = std::min(ext[0], o.ext[0]);
    ext[1] = std::max(ext[1], o.ext[1]);
    ext[2] = std::min(ext[2], o.ext[2]);
    ext[3] = std::max(ext[3], o.ext[3]);
  }
  double total(int q) const { return s[q] + c[q]; }
};

/// Streams the upper triangle of X X^T (and Y Y^T, tile for tile) through the GEMM
/// micro-kernel. Rows are cut into chunks of whole row blocks with about the same number of
/// pairs; a chunk is processed by one worker in a fixed order, so per-chunk results
/// (partial sums, histograms) do not depend on scheduling.
class TriangleTiler {
 public:
  struct Scratch {
    AlignedFloats ax, ay, cx, cy;
  };

  TriangleTiler(const KernelTable& K, const float* x, std::size_t dx, const float* y,
                std::size_t dy, std::size_t n)
      : x_(x), y_(y), dx_(dx), dy_(dy), n_(n), K_(K) {
    MR_ = K_.fp32_shape.mr;
    NR_ = K_.fp32_shape.nr;
    const std::size_t sides = y ? 2 : 1;
    const std::size_t d_avg = std::max<std::size_t>(1, (dx + (y ? dy : 0)) / sides);
    // The B blocks of both sides (NB rows each) and the packed A block share the L2 cache.
    NB_ = detail::round_up(std::max<std::size_t>(NR_, (384 * 1024) / (d_avg * 4 + 1)), NR_);
    MB_ = MR_ * std::max<std::size_t>(1, (192 * 1024) / (d_avg * 4 * MR_ + 1));
    n_rb_ = detail::ceil_div(n, MB_);
    n_cb_ = detail::ceil_div(n, NB_);
    pack_side(x, dx, bx_);
    if (y) pack_side(y, dy, by_);
    make_chunks();
  }

  std::size_t n_chunks() const { return chunk_rb_.size() - 1; }
  std::size_t chunk_row_begin(std::size_t c) const { return std::min(n_, chunk_rb_[c] * MB_); }
  std::size_t chunk_row_end(std::size_t c) const { return std::min(n_, chunk_rb_[c + 1] * MB_); }

  void init(Scratch& s) const {
    if (s.cx.size()) return;
    s.ax.reset(MB_ * dx_);
    s.cx.reset(MR_ * NB_);
    if (y_) {
      s.ay.reset(MB_ * dy_);
      s.cy.reset(MR_ * NB_);
    }
  }

  /// Calls visit(i, jb, len, vx, vy) for every row i of chunk c and every run of columns
  /// j = jb .. jb+len-1 (all > i) of one column block; vx / vy hold the len similarities of X /
  /// Y (null when that side is not wanted).
  template <class Visit>
  void run_chunk(std::size_t c, Scratch& s, bool want_x, bool want_y, Visit&& visit) const {
    init(s);
    want_y = want_y && y_;
    for (std::size_t rb = chunk_rb_[c]; rb < chunk_rb_[c + 1]; ++rb) {
      const std::size_t i0 = rb * MB_, mi = std::min(MB_, n_ - i0);
      if (want_x) detail::pack_panels(x_ + i0 * dx_, mi, dx_, dx_, MR_, s.ax.data());
      if (want_y) detail::pack_panels(y_ + i0 * dy_, mi, dy_, dy_, MR_, s.ay.data());
      for (std::size_t cb = (i0 + 1) / NB_; cb < n_cb_; ++cb) {
        const std::size_t j0 = cb * NB_, nj = std::min(NB_, n_ - j0), jend = j0 + nj;
        const std::size_t np = detail::ceil_div(nj, NR_);
        for (std::size_t ip = 0; ip * MR_ < mi; ++ip) {
          const std::size_t a0 = i0 + ip * MR_, rows = std::min(MR_, mi - ip * MR_);
          if (a0 + 1 >= jend) break;
          // Panels left of column a0 + 1 hold no pair of this row panel.
          const std::size_t p0 = a0 + 1 > j0 ? (a0 + 1 - j0) / NR_ : 0;
          if (want_x) {
            const float* ap = s.ax.data() + ip * MR_ * dx_;
            const float* bp = bx_.data() + (j0 / NR_) * NR_ * dx_;
            for (std::size_t p = p0; p < np; ++p)
              K_.micro_kernel(ap, bp + p * NR_ * dx_, dx_, s.cx.data() + p * NR_, NB_, false);
          }
          if (want_y) {
            const float* ap = s.ay.data() + ip * MR_ * dy_;
            const float* bp = by_.data() + (j0 / NR_) * NR_ * dy_;
            for (std::size_t p = p0; p < np; ++p)
              K_.micro_kernel(ap, bp + p * NR_ * dy_, dy_, s.cy.data() + p * NR_, NB_, false);
          }
          for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t i = a0 + r, jb = std::max(i + 1, j0);
            if (jb >= jend) break;
            const std::size_t off = r * NB_ + (jb - j0);
            visit(i, jb, jend - jb, want_x ? s.cx.data() + off : nullptr,
                  want_y ? s.cy.data() + off : nullptr);
          }
        }
      }
    }
  }

 private:
  void pack_side(const float* v, std::size_t d, AlignedFloats& out) {
    const std::size_t n_panels = detail::ceil_div(n_, NR_);
    out.reset(n_panels * NR_ * d);
    parallel_for(detail::ceil_div(n_panels, 64), [&](std::size_t t, std::size_t) {
      const std::size_t p0 = t * 64, p1 = std::min(n_panels, p0 + 64);
      const std::size_t r0 = p0 * NR_, r1 = std::min(n_, p1 * NR_);
      detail::pack_panels(v + r0 * d, r1 - r0, d, d, NR_, out.data() + p0 * NR_ * d);
    });
  }

  // At most 64 chunks of about equal pair counts (fixed, not tied to the thread count, so the
  // summation order and the result are the same on any machine with this ISA level).
  void make_chunks() {
    const std::size_t C = std::min<std::size_t>(n_rb_, 64);
    const std::uint64_t total = n_triangle_pairs(n_);
    chunk_rb_.assign(1, 0);
    std::size_t rb = 0;
    for (std::size_t c = 1; c < C; ++c) {
      const std::uint64_t target = total / C * c;
      while (rb < n_rb_ && row_offset(std::min(n_, (rb + 1) * MB_), n_) <= target) ++rb;
      chunk_rb_.push_back(std::max(rb, chunk_rb_.back()));
    }
    chunk_rb_.push_back(n_rb_);
  }

  const float* x_;
  const float* y_;
  std::size_t dx_, dy_, n_;
  const KernelTable& K_;
  std::size_t MR_, NR_, MB_, NB_, n_rb_, n_cb_;
  AlignedFloats bx_, by_;
  std::vector<std::size_t> chunk_rb_;
};

// Runs fn(chunk, scratch) over all chunks on the thread pool, one scratch per worker.
template <class Fn>
void for_chunks(const TriangleTiler& T, Fn&& fn) {
  std::vector<TriangleTiler::Scratch> scratch(std::max<std::size_t>(1, num_threads()));
  parallel_for(T.n_chunks(), [&](std::size_t c, std::size_t w) {
    if (w >= scratch.size()) throw std::runtime_error("thread count changed during a kernel");
    fn(c, scratch[w]);
  });
}

void check_args(const float* x, std::size_t dx, const float* y, std::size_t dy, std::size_t n) {
  if (!x || !y) throw std::invalid_argument("null input");
  if (n < 3)
    throw std::invalid_argument("RSA needs at least 3 items (2 pairs) to correlate, got " +
                                std::to_string(n));
  if (dx == 0 || dy == 0) throw std::invalid_argument("vectors have dimension 0");
}

/// Mean of the pair similarities of up to 64 evenly spaced items: the shift that keeps the
/// float64 sums free of cancellation (any value near the mean works; it need not be exact).
double estimate_mean(const float* x, std::size_t d, std::size_t n) {
  const std::size_t S = std::min<std::size_t>(n, 64);
  double sum = 0;
  std::size_t cnt = 0;
  for (std::size_t a = 0; a < S; ++a)
    for (std::size_t b = a + 1; b < S; ++b) {
      const float* u = x + (a * n / S) * d;
      const float* v = x + (b * n / S) * d;
      double dot = 0;
      for (std::size_t k = 0; k < d; ++k) dot += static_cast<double>(u[k]) * v[k];
      sum += dot;
      ++cnt;
    }
  return cnt ? sum / static_cast<double>(cnt) : 0.0;
}

TriangleMoments finish_moments(std::uint64_t N, double kx, double ky, const CompensatedSums& S) {
  TriangleMoments m;
  m.n_pairs = N;
  const double n = static_cast<double>(N);
  const double sx = S.total(0), sy = S.total(1), sxx = S.total(2), syy = S.total(3),
               sxy = S.total(4);
  const double dmx = sx / n, dmy = sy / n;
  m.mean_x = kx + dmx;
  m.mean_y = ky + dmy;
  // A constant side (all similarities equal) has variance exactly 0, whatever the rounding.
  m.var_x = S.ext[0] == S.ext[1] ? 0.0 : std::max(0.0, sxx / n - dmx * dmx);
  m.var_y = S.ext[2] == S.ext[3] ? 0.0 : std::max(0.0, syy / n - dmy * dmy);
  m.min_x = S.ext[0];
  m.max_x = S.ext[1];
  m.min_y = S.ext[2];
  m.max_y = S.ext[3];
  m.cov = (m.var_x == 0 || m.var_y == 0) ? 0.0 : sxy / n - dmx * dmy;
  const double den = std::sqrt(m.var_x) * std::sqrt(m.var_y);
  m.pearson = den > 0 ? std::clamp(m.cov / den, -1.0, 1.0) : kNaN;
  // Uncentred sums recovered from the shifted ones (all terms are O(n), no cancellation).
  const double rxx = sxx + 2 * kx * sx + n * kx * kx;
  const double ryy = syy + 2 * ky * sy + n * ky * ky;
  const double rxy = sxy + kx * sy + ky * sx + n * kx * ky;
  const double cden = std::sqrt(rxx) * std::sqrt(ryy);
  m.cosine = cden > 0 ? std::clamp(rxy / cden, -1.0, 1.0) : kNaN;
  return m;
}

// Exact ranks.

/// Uninitialised array for the per-pair buffers (GBs at vocabulary scale). On Linux it asks
/// for transparent huge pages: first-touch page faults on 4 KB pages cost more than the
/// ranking itself at these sizes.
template <class T>
class BigArray {
 public:
  BigArray() = default;
  explicit BigArray(std::uint64_t n) { reset(n); }
  BigArray(const BigArray&) = delete;
  BigArray& operator=(const BigArray&) = delete;
  ~BigArray() { release(); }
  void reset(std::uint64_t n) {
    release();
    if (n == 0) return;
    bytes_ = static_cast<std::size_t>(n) * sizeof(T);
#if defined(__linux__)
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, bytes_, MADV_HUGEPAGE);  // a hint; failure just means 4 KB pages
    p_ = static_cast<T*>(p);
#else
    p_ = static_cast<T*>(std::malloc(bytes_));
    if (!p_) throw std::bad_alloc();
#endif
  }
  void release() {
    if (!p_) return;
#if defined(__linux__)
    munmap(p_, bytes_);
#else
    std::free(p_);
#endif
    p_ = nullptr;
    bytes_ = 0;
  }
  T* get() { return p_; }
  const T* get() const { return p_; }
  T& operator[](std::uint64_t i) { return p_[i]; }

 private:
  T* p_ = nullptr;
  std::size_t bytes_ = 0;
};

constexpr std::size_t kBuckets = 65536;

/// Order-preserving unsigned key of a float (-0 and +0 map to the same key, so they tie).
inline std::uint32_t sort_key(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  if ((b << 1) == 0) b = 0;
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

/// Turns per-chunk bucket counts (C x kBuckets, in place) into each chunk's first write
/// position per bucket; returns the kBuckets + 1 bucket starts.
std::vector<std::uint64_t> counts_to_offsets(std::vector<std::uint32_t>& h, std::size_t C) {
  // Row-wise passes only: walking one bucket across the chunks would stride by 256 KB.
  std::vector<std::uint64_t> start(kBuckets + 1, 0);
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t b = 0; b < kBuckets; ++b) start[b + 1] += h[c * kBuckets + b];
  for (std::size_t b = 0; b < kBuckets; ++b) start[b + 1] += start[b];
  std::vector<std::uint64_t> run(start.begin(), start.end() - 1);
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t b = 0; b < kBuckets; ++b) {
      const std::uint32_t cnt = h[c * kBuckets + b];
      h[c * kBuckets + b] = static_cast<std::uint32_t>(run[b]);
      run[b] += cnt;
    }
  return start;
}

/// Calls apply(acc, pair_id, 2 * average_rank) for every pair, bucket by bucket on the thread
/// pool, with acc a task-local Acc (no shared cache lines in the hot loop); then
/// finish(task, acc) once per task. Ranks are 1-based.
/// apply touches a per-pair array (@p target) at the pair id: those accesses are scattered
/// over GBs, so the id kPrefetch entries ahead is prefetched (latency- to bandwidth-bound).
template <class Acc, class Apply, class Finish>
std::size_t rank_buckets(const std::vector<std::uint64_t>& start, const std::uint32_t* ids,
                         const std::uint16_t* low, const std::uint32_t* target,
                         std::size_t n_tasks_hint, Apply&& apply, Finish&& finish) {
  constexpr std::uint64_t kPrefetch = 24;
  const std::uint64_t N = start[kBuckets];
  // Consecutive bucket ranges with about equal element counts.
  std::vector<std::size_t> task_bucket(1, 0);
  const std::uint64_t per = std::max<std::uint64_t>(1, N / n_tasks_hint);
  std::uint64_t acc = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    acc += start[b + 1] - start[b];
    if (acc >= per && b + 1 < kBuckets) {
      task_bucket.push_back(b + 1);
      acc = 0;
    }
  }
  task_bucket.push_back(kBuckets);
  const std::size_t n_tasks = task_bucket.size() - 1;
  // Bucket sizes decide how the low 16 key bits are ordered: a comparison sort for tiny
  // buckets, two 8-bit LSD radix passes for mid-size ones, one 64K-bin count for big ones
  // (its fixed 64K prefix sum is then cheap per element).
  constexpr std::uint64_t kTiny = 64, kRadixMax = 65536;
  struct Work {
    std::vector<std::uint64_t> tmp, tmp2;
    std::vector<std::uint32_t> cnt;
  };
  std::vector<Work> work(std::max<std::size_t>(1, num_threads()));
  parallel_for(n_tasks, [&](std::size_t t, std::size_t w) {
    if (w >= work.size()) throw std::runtime_error("thread count changed during a kernel");
    Work& W = work[w];
    Acc acc{};
    for (std::size_t b = task_bucket[t]; b < task_bucket[t + 1]; ++b) {
      const std::uint64_t s = start[b], e = start[b + 1], size = e - s;
      if (size == 0) continue;
      if (size <= kRadixMax) {
        W.tmp.resize(size);
        for (std::uint64_t q = 0; q < size; ++q)
          W.tmp[q] = (static_cast<std::uint64_t>(low[s + q]) << 32) | ids[s + q];
        if (size <= kTiny) {
          std::sort(W.tmp.begin(), W.tmp.end());
        } else {
          W.tmp2.resize(size);
          for (int shift = 32; shift <= 40; shift += 8) {
            std::uint32_t c256[257] = {0};
            for (std::uint64_t q = 0; q < size; ++q) ++c256[((W.tmp[q] >> shift) & 0xFF) + 1];
            for (int v = 1; v <= 256; ++v) c256[v] += c256[v - 1];
            for (std::uint64_t q = 0; q < size; ++q)
              W.tmp2[c256[(W.tmp[q] >> shift) & 0xFF]++] = W.tmp[q];
            W.tmp.swap(W.tmp2);
          }
        }
        for (std::uint64_t q = 0; q < size;) {
          const std::uint64_t key = W.tmp[q] >> 32;
          std::uint64_t q2 = q + 1;
          while (q2 < size && (W.tmp[q2] >> 32) == key) ++q2;
          const std::uint64_t r2 = 2 * (s + q) + (q2 - q) + 1;
          for (std::uint64_t u = q; u < q2; ++u) {
            if (u + kPrefetch < size)
              __builtin_prefetch(target + static_cast<std::uint32_t>(W.tmp[u + kPrefetch]), 1);
            apply(acc, static_cast<std::uint32_t>(W.tmp[u]), r2);
          }
          q = q2;
        }
      } else {
        if (W.cnt.empty()) W.cnt.assign(kBuckets + 1, 0);
        std::uint32_t* C = W.cnt.data();
        for (std::uint64_t q = s; q < e; ++q) ++C[low[q] + 1];
        for (std::size_t v = 1; v <= kBuckets; ++v) C[v] += C[v - 1];  // C[v] = # keys < v
        for (std::uint64_t q = s; q < e; ++q) {
          if (q + kPrefetch < e) __builtin_prefetch(target + ids[q + kPrefetch], 1);
          const std::uint32_t lv = low[q];
          const std::uint64_t r2 = 2 * (s + C[lv]) + (C[lv + 1] - C[lv]) + 1;
          apply(acc, ids[q], r2);
        }
        std::fill(W.cnt.begin(), W.cnt.end(), 0u);
      }
    }
    finish(t, acc);
  });
  return n_tasks;
}

inline long double u128_to_ld(u128 v) { return static_cast<long double>(v); }

}  // namespace

TriangleMoments rsa_pearson(const float* x, std::size_t dx, const float* y, std::size_t dy,
                            std::size_t n) {
  check_args(x, dx, y, dy, n);
  const double kx = estimate_mean(x, dx, n), ky = estimate_mean(y, dy, n);
  const KernelTable& K = active_kernels();  // one table for the whole call
  TriangleTiler T(K, x, dx, y, dy, n);
  const auto accum = K.rsa_accum;
  std::vector<CompensatedSums> part(T.n_chunks());
  for_chunks(T, [&](std::size_t c, TriangleTiler::Scratch& s) {
    CompensatedSums& P = part[c];
    T.run_chunk(c, s, true, true,
                [&](std::size_t, std::size_t, std::size_t len, const float* vx, const float* vy) {
                  double v[9];
                  accum(vx, vy, len, kx, ky, v);
                  P.add_partial(v);
                });
  });
  CompensatedSums S;
  for (const auto& P : part) S.add(P);
  return finish_moments(n_triangle_pairs(n), kx, ky, S);
}

void similarity_triangle(const float* x, std::size_t d, std::size_t n, float* out) {
  if (n < 2) return;
  if (d == 0) {
    std::fill(out, out + n_triangle_pairs(n), 0.0f);
    return;
  }
  TriangleTiler T(active_kernels(), x, d, nullptr, 0, n);
  for_chunks(T, [&](std::size_t c, TriangleTiler::Scratch& s) {
    T.run_chunk(c, s, true, false,
                [&](std::size_t i, std::size_t jb, std::size_t len, const float* vx, const float*) {
                  std::copy(vx, vx + len, out + row_offset(i, n) + (jb - i - 1));
                });
  });
}

SpearmanResult rsa_spearman(const float* x, std::size_t dx, const float* y, std::size_t dy,
                            std::size_t n, bool store_values) {
  check_args(x, dx, y, dy, n);
  const std::uint64_t N = n_triangle_pairs(n);
  if (N >= (std::uint64_t{1} << 31))
    throw std::invalid_argument(
        "exact Spearman RSA supports fewer than 2^31 pairs (n <= 65536), got n=" +
        std::to_string(n));
  Stopwatch sw;
  const double kx = estimate_mean(x, dx, n), ky = estimate_mean(y, dy, n);
  const KernelTable& K = active_kernels();  // one table for the whole call
  TriangleTiler T(K, x, dx, y, dy, n);
  const std::size_t C = T.n_chunks();
  sw.lap("pack");
  const auto accum = K.rsa_accum;

  // Pass 1: both sides; Pearson sums, per-chunk bucket counts (and the values, if stored).
  std::vector<std::uint32_t> hx(C * kBuckets, 0), hy(C * kBuckets, 0);
  BigArray<float> tx, ty;
  if (store_values) {
    tx.reset(N);
    ty.reset(N);
  }
  std::vector<CompensatedSums> part(C);
  for_chunks(T, [&](std::size_t c, TriangleTiler::Scratch& s) {
    CompensatedSums& P = part[c];
    std::uint32_t* cx = hx.data() + c * kBuckets;
    std::uint32_t* cy = hy.data() + c * kBuckets;
    T.run_chunk(
        c, s, true, true,
        [&](std::size_t i, std::size_t jb, std::size_t len, const float* vx, const float* vy) {
          double v[9];
          accum(vx, vy, len, kx, ky, v);
          P.add_partial(v);
          for (std::size_t t = 0; t < len; ++t) {
            ++cx[sort_key(vx[t]) >> 16];
            ++cy[sort_key(vy[t]) >> 16];
          }
          if (store_values) {
            const std::uint64_t p = row_offset(i, n) + (jb - i - 1);
            std::copy(vx, vx + len, tx.get() + p);
            std::copy(vy, vy + len, ty.get() + p);
          }
        });
  });
  CompensatedSums S;
  for (const auto& P : part) S.add(P);
  SpearmanResult res;
  res.moments = finish_moments(N, kx, ky, S);
  sw.lap("pass 1");

  BigArray<std::uint32_t> ids(N);
  BigArray<std::uint16_t> low(N);

  // Pass 2 / 3: scatter one side's (pair id, low key bits) into its buckets. Each chunk
  // writes to its own precomputed slots, so no atomics are needed.
  auto scatter = [&](bool side_x, std::vector<std::uint32_t>& h) {
    const float* stored = side_x ? tx.get() : ty.get();
    auto put = [&](std::uint32_t* off, std::uint64_t p, const float* v, std::size_t len) {
      for (std::size_t t = 0; t < len; ++t) {
        const std::uint32_t k = sort_key(v[t]);
        const std::uint32_t pos = off[k >> 16]++;
        ids[pos] = static_cast<std::uint32_t>(p + t);
        low[pos] = static_cast<std::uint16_t>(k & 0xFFFFu);
      }
    };
    for_chunks(T, [&](std::size_t c, TriangleTiler::Scratch& s) {
      std::uint32_t* off = h.data() + c * kBuckets;
      if (store_values) {
        for (std::size_t i = T.chunk_row_begin(c); i < T.chunk_row_end(c); ++i) {
          const std::uint64_t p = row_offset(i, n);
          put(off, p, stored + p, n - 1 - i);
        }
      } else {
        T.run_chunk(
            c, s, side_x, !side_x,
            [&](std::size_t i, std::size_t jb, std::size_t len, const float* vx, const float* vy) {
              put(off, row_offset(i, n) + (jb - i - 1), side_x ? vx : vy, len);
            });
      }
    });
  };

  const std::size_t hint = 4 * 64;
  std::vector<std::uint64_t> start = counts_to_offsets(hx, C);
  scatter(true, hx);
  hx = std::vector<std::uint32_t>();
  tx.release();
  sw.lap("scatter x");
  BigArray<std::uint32_t> rank_x(N);
  struct AccX {
    u128 sxx;
  };
  std::vector<u128> task_sxx(kBuckets + 1, 0);
  std::size_t n_tasks = rank_buckets<AccX>(
      start, ids.get(), low.get(), rank_x.get(), hint,
      [&](AccX& acc, std::uint32_t p, std::uint64_t r2) {
        rank_x[p] = static_cast<std::uint32_t>(r2);
        acc.sxx += static_cast<u128>(r2 * r2);
      },
      [&](std::size_t t, const AccX& acc) { task_sxx[t] = acc.sxx; });
  u128 sxx = 0;
  for (std::size_t t = 0; t < n_tasks; ++t) sxx += task_sxx[t];
  sw.lap("rank x");

  start = counts_to_offsets(hy, C);
  scatter(false, hy);
  hy = std::vector<std::uint32_t>();
  ty.release();
  sw.lap("scatter y");
  struct AccY {
    u128 syy, sxy;
  };
  std::vector<AccY> task_y(kBuckets + 1, AccY{0, 0});
  n_tasks = rank_buckets<AccY>(
      start, ids.get(), low.get(), rank_x.get(), hint,
      [&](AccY& acc, std::uint32_t p, std::uint64_t r2) {
        acc.syy += static_cast<u128>(r2 * r2);
        acc.sxy += static_cast<u128>(static_cast<std::uint64_t>(rank_x[p]) * r2);
      },
      [&](std::size_t t, const AccY& acc) { task_y[t] = acc; });
  u128 syy = 0, sxy = 0;
  for (std::size_t t = 0; t < n_tasks; ++t) {
    syy += task_y[t].syy;
    sxy += task_y[t].sxy;
  }
  sw.lap("rank y");

  // Doubled average ranks sum to N (N + 1) on each side; everything below is exact until the
  // last division.
  const u128 NN = N, sr = NN * (NN + 1);
  const u128 vx = NN * sxx - sr * sr, vy = NN * syy - sr * sr;
  const u128 a = NN * sxy, b = sr * sr;
  const long double num = a >= b ? u128_to_ld(a - b) : -u128_to_ld(b - a);
  if (vx == 0 || vy == 0) {
    res.spearman = kNaN;
  } else {
    const long double den = std::sqrt(u128_to_ld(vx)) * std::sqrt(u128_to_ld(vy));
    res.spearman = static_cast<double>(std::clamp(num / den, -1.0L, 1.0L));
  }
  return res;
}

void rsa_permuted_cross(const double* a, const double* b, std::size_t n, const std::int64_t* perms,
                        std::size_t n_perms, double* out) {
  if (n < 2) throw std::invalid_argument("a permutation test needs at least 2 items");
  for (std::size_t k = 0; k < n_perms * n; ++k)
    if (perms[k] < 0 || static_cast<std::uint64_t>(perms[k]) >= n)
      throw std::invalid_argument("permutation entry out of range [0, n)");
  // b's pair (u, v), u < v, sits at boff[u] + v.
  std::vector<std::int64_t> boff(n);
  for (std::size_t u = 0; u < n; ++u)
    boff[u] = static_cast<std::int64_t>(row_offset(u, n)) - static_cast<std::int64_t>(u) - 1;
  parallel_for(n_perms, [&](std::size_t k, std::size_t) {
    const std::int64_t* pk = perms + k * n;
    CompensatedSums total;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const double* arow = a + row_offset(i, n) - i - 1;
      const std::int64_t pi = pk[i];
      double s = 0;
      for (std::size_t j = i + 1; j < n; ++j) {
        const std::int64_t pj = pk[j];
        const std::int64_t lo = pi < pj ? pi : pj, hi = pi < pj ? pj : pi;
        s += arow[j] * b[boff[lo] + hi];
      }
      const double v[5] = {s, 0, 0, 0, 0};
      total.add(v);
    }
    out[k] = total.total(0);
  });
}

}  // namespace tokenspace
