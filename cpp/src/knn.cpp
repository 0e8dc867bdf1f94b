#include "tokenspace/knn.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "blocking.hpp"
#include "topk.hpp"
#include "tokenspace/common.hpp"
#include "tokenspace/dispatch.hpp"
#include "tokenspace/thread_pool.hpp"

namespace tokenspace {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();
constexpr double kUnitRoundoff = 1.0 / (1 << 24);  // fp32 u = 2^-24
// Norm products above this could overflow fp32 accumulators.
constexpr double kMaxNormProduct = 1e37;

// gamma_n = n u / (1 - n u): the classic bound on the relative error of an n-term fp32 sum.
double gamma(std::size_t n) {
  const double nu = static_cast<double>(n) * kUnitRoundoff;
  return nu / (1.0 - nu);
}

// ---- exact ranking: double scores, ties to the lower id ---------------------------------
using detail::better;
using ExactTopK = detail::BoundedTopK<double>;

inline bool excluded(const std::int64_t* ex, std::size_t n_ex, std::int64_t id) {
  for (std::size_t e = 0; e < n_ex; ++e)
    if (ex[e] == id) return true;
  return false;
}

struct Problem {
  const KnnDatabase* db;
  const float* q;
  std::size_t m, ldq, k;
  Metric metric;
  const float* bias;        // per-row additive term of the candidate score (user bias or L2)
  const float* user_bias;   // the caller's bias (added to exact scores too), or null
  const std::int64_t* exclude;
  std::size_t n_exclude;
  // |candidate - exact| <= slack[j] + rest[i]; the kernels see bias[j] = base bias + slack[j],
  // so a candidate score u is an upper bound (minus rest) and u - 2 slack[j] a lower bound.
  const float* slack;
  const double* rest;
};

double exact_for(const Problem& P, std::size_t qi, std::int64_t id) {
  const KnnDatabase& db = *P.db;
  const float* x = db.x() + static_cast<std::size_t>(id) * db.ldx();
  double s = exact_score(P.q + qi * P.ldq, x, db.d(), P.metric);
  if (P.user_bias) s += P.user_bias[id];
  return s;
}

// Candidate collector of one query. Candidate scores u_j arrive with the row's slack already
// added, so u_j + rest >= exact_j >= u_j - 2 slack_j - rest. The collector keeps the k largest
// lower bounds (a min-heap) and admits u_j >= floor - rest with floor = the k-th largest lower
// bound: a row of the exact top-k has exact score >= exact k-th score >= floor, so it is
// admitted whenever it is scanned, whatever the order. The buffer is pruned as the floor rises
// and flushed through exact double scoring into an ExactTopK when it grows large.
class Collector {
 public:
  Collector(const Problem& P, std::size_t qi, double* es, std::int64_t* eid)
      : P_(&P), qi_(qi), k_(P.k), rest_(P.rest[qi]), exact_(es, eid, P.k) {
    approx_.reserve(k_);
  }

  float threshold() const { return thr_; }

  void add(float a, std::int64_t id) {
    if (a < thr_) return;  // the SIMD filter may have used an older, lower threshold
    if (P_->n_exclude && excluded(P_->exclude + qi_ * P_->n_exclude, P_->n_exclude, id)) return;
    const double lower = static_cast<double>(a) - 2.0 * P_->slack[id] - rest_;
    if (approx_.size() < k_) {
      approx_.push_back(lower);
      std::push_heap(approx_.begin(), approx_.end(), std::greater<double>());
      if (approx_.size() == k_) update_threshold();
    } else if (lower > approx_.front()) {
      std::pop_heap(approx_.begin(), approx_.end(), std::greater<double>());
      approx_.back() = lower;
      std::push_heap(approx_.begin(), approx_.end(), std::greater<double>());
      update_threshold();
    }
    buf_.push_back({a, static_cast<std::uint32_t>(id)});
    if (buf_.size() >= cap_) {
      prune();
      if (buf_.size() >= kHardCap) flush();
      cap_ = std::max<std::size_t>(2 * buf_.size(), 2 * k_ + 64);
    }
  }

  /// Final flush: the exact top-k of everything admitted lands in the exact heap.
  void finish() {
    prune();
    flush();
  }

  /// Between tasks of a collector that lives across many (the self-join keeps one per row):
  /// a buffer grown past 2k + 32 slots is pruned, flushed when still half full, and shrunk,
  /// so memory stays O(k) per row. Cheap rows (the common case) cost one comparison.
  void park() {
    const std::size_t small = 2 * k_ + 32;
    if (buf_.capacity() <= small) return;  // O(1) for the common case
    prune();
    if (buf_.size() > small / 2) flush();
    std::vector<Cand>(buf_).swap(buf_);
    cap_ = small;
  }

 private:
  static constexpr std::size_t kHardCap = 4096;
  struct Cand {  // 8 bytes: row ids fit 32 bits (KnnDatabase checks n < 2^32)
    float a;
    std::uint32_t id;
  };

  void update_threshold() {
    // admit u >= floor - rest, rounded down so float rounding never drops a needed candidate
    const double floor = approx_.front() - rest_;
    float t = static_cast<float>(floor);
    if (static_cast<double>(t) > floor) t = std::nextafter(t, kNegInf);
    thr_ = t;
  }
  void prune() {
    std::size_t w = 0;
    for (const Cand& c : buf_)
      if (c.a >= thr_) buf_[w++] = c;
    buf_.resize(w);
  }
  void flush() {
    for (const Cand& c : buf_) exact_.push(exact_for(*P_, qi_, c.id), c.id);
    buf_.clear();
  }

  const Problem* P_;
  std::size_t qi_, k_;
  double rest_;
  float thr_ = kNegInf;
  std::vector<double> approx_;
  std::vector<Cand> buf_;
  std::size_t cap_ = 256;
  ExactTopK exact_;
};

// Per-part exact results: parts split the database when there are too few query blocks.
struct Parts {
  std::size_t n_parts = 1;
  std::vector<double> s;
  std::vector<std::int64_t> id;
  void init(std::size_t parts, std::size_t m, std::size_t k) {
    n_parts = parts;
    s.assign(parts * m * k, -std::numeric_limits<double>::infinity());
    id.assign(parts * m * k, -1);
  }
  double* s_at(std::size_t part, std::size_t m, std::size_t qi, std::size_t k) {
    return s.data() + (part * m + qi) * k;
  }
  std::int64_t* id_at(std::size_t part, std::size_t m, std::size_t qi, std::size_t k) {
    return id.data() + (part * m + qi) * k;
  }
};

// bf16 of a float, round to nearest even; subnormals flush to zero as the hardware's DAZ would.
inline std::uint16_t to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0) return static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}
inline float from_bf16(std::uint16_t h) {
  std::uint32_t u = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Converts a row to bf16 (dp values, zero padded); returns (|xhat|, |x - xhat|) in double.
std::pair<double, double> row_to_bf16(const float* x, std::size_t d, std::size_t dp,
                                      std::uint16_t* out) {
  double nh = 0, ne = 0;
  for (std::size_t c = 0; c < d; ++c) {
    out[c] = to_bf16(x[c]);
    const double h = from_bf16(out[c]);
    const double e = static_cast<double>(x[c]) - h;
    nh += h * h;
    ne += e * e;
  }
  for (std::size_t c = d; c < dp; ++c) out[c] = 0;
  // round the square roots up a little: they feed an upper bound
  return {std::sqrt(nh) * (1 + 1e-12), std::sqrt(ne) * (1 + 1e-12)};
}

// int8 row: x ~ scale * q8 with scale = max|x| / 127. Returns (|xhat|, |x - xhat|); the products
// scale * q8 are exact in double, so both norms are computed exactly before the final rounding.
std::pair<double, double> row_to_int8(const float* x, std::size_t d, std::size_t dp,
                                      std::int8_t* out, float* scale, std::int32_t* sum) {
  float mx = 0;
  for (std::size_t c = 0; c < d; ++c) mx = std::max(mx, std::fabs(x[c]));
  const float s = mx / 127.0f;
  double nh = 0, ne = 0;
  std::int32_t total = 0;
  for (std::size_t c = 0; c < d; ++c) {
    long v = s > 0 ? std::lround(static_cast<double>(x[c]) / s) : 0;
    v = std::min(127L, std::max(-127L, v));
    out[c] = static_cast<std::int8_t>(v);
    total += static_cast<std::int32_t>(v);
    const double h = static_cast<double>(s) * v;
    const double e = static_cast<double>(x[c]) - h;
    nh += h * h;
    ne += e * e;
  }
  for (std::size_t c = d; c < dp; ++c) out[c] = 0;
  *scale = s;
  *sum = total;
  return {std::sqrt(nh) * (1 + 1e-12), std::sqrt(ne) * (1 + 1e-12)};
}

// uint8 query: q ~ t * (u8 - 128) with t = max|q| / 127.
std::pair<double, double> row_to_uint8(const float* q, std::size_t d, std::size_t dp,
                                       std::uint8_t* out, float* scale) {
  float mx = 0;
  for (std::size_t c = 0; c < d; ++c) mx = std::max(mx, std::fabs(q[c]));
  const float t = mx / 127.0f;
  double nh = 0, ne = 0;
  for (std::size_t c = 0; c < d; ++c) {
    long v = t > 0 ? std::lround(static_cast<double>(q[c]) / t) : 0;
    v = std::min(127L, std::max(-127L, v));
    out[c] = static_cast<std::uint8_t>(v + 128);
    const double h = static_cast<double>(t) * v;
    const double e = static_cast<double>(q[c]) - h;
    nh += h * h;
    ne += e * e;
  }
  for (std::size_t c = d; c < dp; ++c) out[c] = 128;  // zero after the -128 shift
  *scale = t;
  return {std::sqrt(nh) * (1 + 1e-12), std::sqrt(ne) * (1 + 1e-12)};
}

// bf16 query panels: panel p holds dp/2 k-pairs x nr query slots, each slot the two bf16
// values 2p, 2p+1 of one query; slots past m are zero.
void pack_bf16_panels(const float* q, std::size_t m, std::size_t ldq, std::size_t d,
                      std::size_t dp, std::size_t nr, float* dst) {
  std::uint32_t* out32 = reinterpret_cast<std::uint32_t*>(dst);
  std::vector<std::uint16_t> row(dp);
  const std::size_t np = detail::ceil_div(m, nr);
  std::fill(out32, out32 + np * nr * (dp / 2), 0u);
  for (std::size_t i = 0; i < m; ++i) {
    row_to_bf16(q + i * ldq, d, dp, row.data());
    std::uint32_t* panel = out32 + (i / nr) * nr * (dp / 2);
    for (std::size_t p = 0; p < dp / 2; ++p)
      panel[p * nr + i % nr] = static_cast<std::uint32_t>(row[2 * p]) |
                               (static_cast<std::uint32_t>(row[2 * p + 1]) << 16);
  }
}

// ---- candidate stages --------------------------------------------------------------------

// Few queries: stream database rows as stored (packing would cost a full extra pass), split
// into chunks that stay in L2 while each query reads them.
void search_gemv(const Problem& P, Precision prec, Parts& out) {
  const IsaKernels& K = kernels();
  const Bf16Kernels* B = bf16_kernels();
  const Int8Kernels* I8 = int8_kernels();
  const bool use_bf16 = prec == Precision::BF16, use_int8 = prec == Precision::INT8;
  const KnnDatabase& db = *P.db;
  const std::size_t n = db.n(), d = db.d(), dp = db.bf16_dim(), dp8 = db.int8_dim();
  const std::size_t row_bytes = use_bf16 ? dp * 2 : use_int8 ? dp8 : d * 4;
  const std::size_t chunk = std::max<std::size_t>(64, (256 * 1024) / (row_bytes + 1));
  const std::size_t n_chunks = detail::ceil_div(n, chunk);
  const std::size_t workers = std::min(num_threads(), n_chunks);
  out.init(workers, P.m, P.k);
  std::vector<std::uint16_t> qh;
  if (use_bf16) {
    qh.resize(P.m * dp);
    for (std::size_t i = 0; i < P.m; ++i) row_to_bf16(P.q + i * P.ldq, d, dp, qh.data() + i * dp);
  }
  std::vector<std::uint8_t> q8;
  std::vector<float> q8s(P.m);
  if (use_int8) {
    q8.resize(P.m * dp8);
    for (std::size_t i = 0; i < P.m; ++i)
      row_to_uint8(P.q + i * P.ldq, d, dp8, q8.data() + i * dp8, &q8s[i]);
  }
  std::vector<std::vector<Collector>> col(workers);
  for (std::size_t w = 0; w < workers; ++w)
    for (std::size_t i = 0; i < P.m; ++i)
      col[w].emplace_back(P, i, out.s_at(w, P.m, i, P.k), out.id_at(w, P.m, i, P.k));
  std::vector<std::vector<float>> buf(workers, std::vector<float>(chunk));
  std::vector<std::vector<std::uint32_t>> cand(workers, std::vector<std::uint32_t>(chunk));
  parallel_for(n_chunks, [&](std::size_t c, std::size_t w) {
    const std::size_t j0 = c * chunk, nj = std::min(chunk, n - j0);
    float* s = buf[w].data();
    for (std::size_t i = 0; i < P.m; ++i) {
      if (use_bf16)
        B->gemv(qh.data() + i * dp, db.bf16() + j0 * dp, nj, dp, dp, s);
      else if (use_int8)
        I8->gemv(q8.data() + i * dp8, q8s[i], db.int8() + j0 * dp8, nj, dp8, dp8,
                 db.int8_scale() + j0, db.int8_sum() + j0, s);
      else
        K.gemv_rows(P.q + i * P.ldq, db.x() + j0 * db.ldx(), nj, db.ldx(), d, s);
      Collector& cl = col[w][i];
      const float* bias = P.bias ? P.bias + j0 : nullptr;
      const std::size_t nc = K.filter_ge(s, bias, nj, cl.threshold(), cand[w].data());
      for (std::size_t t = 0; t < nc; ++t) {
        const std::uint32_t j = cand[w][t];
        cl.add(bias ? s[j] + bias[j] : s[j], static_cast<std::int64_t>(j0 + j));
      }
    }
  });
  parallel_for(workers, [&](std::size_t w, std::size_t) {
    for (Collector& cl : col[w]) cl.finish();
  });
}

// Many queries: queries are packed into nr-wide panels (small, per task); database rows are
// broadcast straight from the stored matrix, mr at a time, so the database is never copied
// and extra memory stays O(m k + one block per thread). The fused tile kernel compares each
// mr x nr score tile with the queries' admission thresholds and reports only hits.
// tile(a, lda, r0, is_tail, qpack, p, bias, thr, c, hits) scores the MR rows at a (rows r0..,
// or the padded tail copy) against query panel p of the task's packed queries; pack(i0, mi,
// dst) fills np * NR * (panel_units + 1) floats (panels, then one float of extra per slot).
template <typename T, typename Tile, typename Pack>
void search_tiles(const Problem& P, const T* rows, std::size_t ld, std::size_t kdim,
                  std::size_t MR, std::size_t NR, std::size_t panel_units, Tile tile, Pack pack,
                  Parts& out) {
  const KnnDatabase& db = *P.db;
  const std::size_t n = db.n();
  const std::size_t panel_bytes = panel_units * 4 * NR;
  // A query block (MB queries) stays in L2 while the database streams past.
  const std::size_t panels_per_block =
      std::max<std::size_t>(1, std::min<std::size_t>(16, (384 * 1024) / (panel_bytes + 1)));
  const std::size_t MB = NR * panels_per_block;
  const std::size_t n_qblocks = detail::ceil_div(P.m, MB);
  const std::size_t n_groups = detail::ceil_div(n, MR);
  const std::size_t parts =
      std::min(n_groups, std::max<std::size_t>(1, detail::ceil_div(num_threads(), n_qblocks)));
  out.init(parts, P.m, P.k);
  const std::size_t groups_per_part = detail::ceil_div(n_groups, parts);
  // The last rows, zero-padded to a full group, so the tile never reads past the matrix.
  const std::size_t tail_rows = n % MR;
  const std::size_t tail_group = tail_rows ? n_groups - 1 : n_groups;
  std::vector<T> tail(MR * ld, T(0));
  for (std::size_t r = 0; r < tail_rows; ++r)
    std::copy(rows + (n - tail_rows + r) * ld, rows + (n - tail_rows + r) * ld + kdim,
              tail.data() + r * ld);
  std::vector<float> tail_bias(MR, 0.0f);
  if (P.bias && tail_rows) std::copy(P.bias + (n - tail_rows), P.bias + n, tail_bias.begin());

  parallel_for(n_qblocks * parts, [&](std::size_t task, std::size_t) {
    const std::size_t qb = task / parts, part = task % parts;
    const std::size_t i0 = qb * MB, mi = std::min(MB, P.m - i0);
    const std::size_t np = detail::ceil_div(mi, NR);
    AlignedFloats qpack(np * NR * (panel_units + 1));
    pack(i0, mi, qpack.data());
    std::vector<Collector> col;
    col.reserve(mi);
    for (std::size_t i = 0; i < mi; ++i)
      col.emplace_back(P, i0 + i, out.s_at(part, P.m, i0 + i, P.k),
                       out.id_at(part, P.m, i0 + i, P.k));
    // admission threshold per query slot; padded slots never admit anything
    std::vector<float> thr(np * NR, kPosInf);
    for (std::size_t i = 0; i < mi; ++i) thr[i] = kNegInf;
    std::vector<float> ctile(MR * NR);
    std::vector<std::uint32_t> hits(MR * NR);
    const std::size_t g0 = part * groups_per_part, g1 = std::min(n_groups, g0 + groups_per_part);
    for (std::size_t g = g0; g < g1; ++g) {
      const std::size_t r0 = g * MR;
      const bool is_tail = g == tail_group;
      const T* a = is_tail ? tail.data() : rows + r0 * ld;
      const float* bias = P.bias ? (is_tail ? tail_bias.data() : P.bias + r0) : nullptr;
      const std::size_t valid = is_tail ? tail_rows : MR;
      for (std::size_t p = 0; p < np; ++p) {
        float* t = thr.data() + p * NR;
        const std::size_t nh =
            tile(a, ld, r0, is_tail, qpack.data(), p, bias, t, ctile.data(), hits.data());
        for (std::size_t h = 0; h < nh; ++h) {
          const std::uint32_t code = hits[h];
          const std::size_t r = code / NR, j = code % NR;
          if (r >= valid) continue;  // zero padding of the tail group
          Collector& cl = col[p * NR + j];
          cl.add(ctile[code], static_cast<std::int64_t>(r0 + r));
          t[j] = cl.threshold();
        }
      }
    }
    for (Collector& cl : col) cl.finish();
  });
}

// Self-join (the queries are the database rows themselves, as in knn_graph): the score matrix
// is symmetric, so each pair of row blocks (I, J) is scored once and feeds both the collectors
// of I (candidates from J) and those of J (candidates from I); half the work of search_tiles.
// The blocks are scheduled in rounds of disjoint pairs (the circle method of round-robin
// tournaments), so one collector per row suffices and no two tasks ever touch the same row.
// tile(a, lda, is_tail, qpack, p, bias_a, thr_a, bias_b, thr_b, c, hits) follows the
// knn_tile_sym contract on the MR rows at a against panel p of the packed block qpack.
template <typename T, typename Tile, typename Pack>
void search_tiles_sym(const Problem& P, const T* rows, std::size_t ld, std::size_t kdim,
                      std::size_t MR, std::size_t NR, std::size_t panel_units, Tile tile,
                      Pack pack, Parts& out) {
  const std::size_t n = P.m;
  const std::size_t panel_bytes = panel_units * 4 * NR;
  const std::size_t panels_per_block =
      std::max<std::size_t>(1, std::min<std::size_t>(16, (384 * 1024) / (panel_bytes + 1)));
  // Blocks are whole panels and whole row groups, so only the last group of the matrix is
  // partial.
  const std::size_t L = std::lcm(MR, NR);
  const std::size_t MB = std::max(L, NR * panels_per_block / L * L);
  const std::size_t n_blocks = detail::ceil_div(n, MB), n_pad = n_blocks * MB;
  const std::size_t np = MB / NR, block_floats = np * NR * (panel_units + 1);
  out.init(1, n, P.k);

  // Candidate bias and admission threshold of every row, padded rows never admit anything.
  std::vector<float> bias(n_pad, 0.0f), thr(n_pad, kPosInf);
  std::copy(P.bias, P.bias + n, bias.begin());
  std::fill(thr.begin(), thr.begin() + n, kNegInf);
  const std::vector<float> no_thr(MR, kPosInf);  // the diagonal blocks: one direction only
  const std::size_t tail_rows = n % MR, tail0 = n - tail_rows;
  std::vector<T> tail(MR * ld, T(0));
  for (std::size_t r = 0; r < tail_rows; ++r)
    std::copy(rows + (tail0 + r) * ld, rows + (tail0 + r) * ld + kdim, tail.data() + r * ld);

  std::vector<Collector> col;
  col.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    col.emplace_back(P, i, out.s_at(0, n, i, P.k), out.id_at(0, n, i, P.k));

  // Every block serves as the packed side of about n_blocks / 2 tasks: pack each once (a
  // copy of the matrix in panel order) rather than once per task (which measured ~25% slower).
  AlignedFloats packed(n_blocks * block_floats);
  parallel_for(n_blocks, [&](std::size_t b, std::size_t) {
    pack(b * MB, std::min(MB, n - b * MB), packed.data() + b * block_floats);
  });
  const std::size_t workers = std::min(num_threads(), n_blocks);
  std::vector<std::vector<float>> ctile(workers, std::vector<float>(MR * NR));
  std::vector<std::vector<std::uint32_t>> hits(workers, std::vector<std::uint32_t>(MR * NR));
  constexpr std::uint32_t kFwd = 1u << 30, kBwd = 1u << 31, kPos = kFwd - 1;

  // Block qb (packed, forward direction) against the rows of block rb; qb == rb scores the
  // diagonal block, whose pairs all arrive in the forward direction.
  auto run_pair = [&](std::size_t qb, std::size_t rb, std::size_t w) {
    const std::size_t q0 = qb * MB, rr0 = rb * MB, rr1 = std::min(n, rr0 + MB);
    const float* qp = packed.data() + qb * block_floats;
    float* c = ctile[w].data();
    std::uint32_t* h = hits[w].data();
    const std::size_t q_panels = detail::ceil_div(std::min(MB, n - q0), NR);
    for (std::size_t r0 = rr0; r0 < rr1; r0 += MR) {
      const bool is_tail = r0 == tail0 && tail_rows;
      const T* a = is_tail ? tail.data() : rows + r0 * ld;
      const float* thr_a = qb == rb ? no_thr.data() : thr.data() + r0;
      for (std::size_t p = 0; p < q_panels; ++p) {
        const std::size_t c0 = q0 + p * NR;
        const std::size_t nh = tile(a, ld, is_tail, qp, p, bias.data() + r0, thr_a,
                                    bias.data() + c0, thr.data() + c0, c, h);
        for (std::size_t e = 0; e < nh; ++e) {
          const std::uint32_t code = h[e];
          const std::size_t pos = code & kPos, i = pos / NR, j = pos % NR;
          const std::size_t row = r0 + i, qc = c0 + j;
          if (row >= n || qc >= n) continue;  // zero padding
          if (code & kFwd) {
            Collector& cl = col[qc];
            cl.add(c[pos] + bias[row], static_cast<std::int64_t>(row));
            thr[qc] = cl.threshold();
          }
          if (code & kBwd) {
            Collector& cl = col[row];
            cl.add(c[pos] + bias[qc], static_cast<std::int64_t>(qc));
            thr[row] = cl.threshold();
          }
        }
      }
    }
    for (std::size_t i = q0; i < std::min(n, q0 + MB); ++i) col[i].park();
    if (qb != rb)
      for (std::size_t i = rr0; i < rr1; ++i) col[i].park();
  };

  // Round-robin: with B' = n_blocks rounded up to even, round r pairs block B'-1 with r and
  // (r + t) with (r - t) mod (B'-1); every unordered pair meets exactly once. A block paired
  // with the phantom block B' - 1 (odd n_blocks) scores its diagonal in that round instead;
  // with even n_blocks the diagonals get one extra round.
  const std::size_t Bp = n_blocks + (n_blocks & 1), R = Bp - 1;
  std::vector<std::pair<std::size_t, std::size_t>> round;
  auto run_round = [&]() {
    parallel_for(round.size(), [&](std::size_t t, std::size_t w) {
      run_pair(round[t].first, round[t].second, w);
    });
  };
  for (std::size_t r = 0; r < R; ++r) {
    round.clear();
    for (std::size_t t = 0; t < Bp / 2; ++t) {
      std::size_t x = t == 0 ? Bp - 1 : (r + t) % R, y = t == 0 ? r : (r + R - t) % R;
      if (x >= n_blocks) x = y;  // the phantom block: y's diagonal
      if (y >= n_blocks) y = x;
      round.emplace_back(std::min(x, y), std::max(x, y));
    }
    run_round();
  }
  if (!(n_blocks & 1)) {
    round.clear();
    for (std::size_t b = 0; b < n_blocks; ++b) round.emplace_back(b, b);
    run_round();
  }
  parallel_for(detail::ceil_div(n, 1024), [&](std::size_t t, std::size_t) {
    for (std::size_t i = t * 1024; i < std::min(n, (t + 1) * 1024); ++i) col[i].finish();
  });
}

}  // namespace

// ---- KnnDatabase ---------------------------------------------------------------------------

KnnDatabase::KnnDatabase(const float* x, std::size_t n, std::size_t ldx, std::size_t d)
    : x_(x), n_(n), ldx_(ldx), d_(d) {
  if (n >= (std::size_t{1} << 32))
    throw std::invalid_argument("a kNN database holds at most 2^32 - 1 rows; split it");
  const IsaKernels& K = kernels();
  const std::size_t chunk = 4096, n_chunks = detail::ceil_div(n, chunk);
  std::vector<double> part_max(n_chunks, 0.0);
  norms_.resize(n);
  l2_bias_.resize(n);
  parallel_for(n_chunks, [&](std::size_t t, std::size_t) {
    double mx = 0;
    for (std::size_t j = t * chunk; j < std::min(n, (t + 1) * chunk); ++j) {
      const double ss = K.sum_squares(x + j * ldx, d);
      norms_[j] = static_cast<float>(std::sqrt(ss) * (1 + 1e-6));  // rounded up
      l2_bias_[j] = static_cast<float>(-0.5 * ss);
      mx = std::max(mx, ss);
    }
    part_max[t] = mx;
  });
  double mx = 0;
  for (double v : part_max) mx = std::max(mx, v);
  max_norm_ = std::sqrt(mx) * (1 + 1e-12);
}

void KnnDatabase::prepare_bf16() {
  if (has_bf16() || n_ == 0) return;
  dp_ = detail::round_up(std::max<std::size_t>(d_, 1), 32);
  std::vector<std::uint16_t> copy(n_ * dp_);
  const std::size_t chunk = 4096, n_chunks = detail::ceil_div(n_, chunk);
  std::vector<double> mnorm(n_chunks, 0.0), merr(n_chunks, 0.0);
  bf16_norm_.resize(n_);
  bf16_err_.resize(n_);
  parallel_for(n_chunks, [&](std::size_t t, std::size_t) {
    for (std::size_t j = t * chunk; j < std::min(n_, (t + 1) * chunk); ++j) {
      auto [nh, ne] = row_to_bf16(x_ + j * ldx_, d_, dp_, copy.data() + j * dp_);
      bf16_norm_[j] = static_cast<float>(nh * (1 + 1e-6));
      bf16_err_[j] = static_cast<float>(ne * (1 + 1e-6));
      mnorm[t] = std::max(mnorm[t], nh);
      merr[t] = std::max(merr[t], ne);
    }
  });
  bf16_max_norm_ = *std::max_element(mnorm.begin(), mnorm.end());
  bf16_max_err_ = *std::max_element(merr.begin(), merr.end());
  bf16_ = std::move(copy);
}

std::shared_ptr<const std::vector<float>> KnnDatabase::slack(int precision, double a,
                                                             double b) const {
  std::lock_guard<std::mutex> guard(cache_m_);
  if (cache_ && cache_prec_ == precision && cache_a_ == a && cache_b_ == b) return cache_;
  const float* rnorm = precision == static_cast<int>(Precision::BF16)   ? bf16_norm_.data()
                       : precision == static_cast<int>(Precision::INT8) ? i8_norm_.data()
                                                                        : norms_.data();
  const float* rerr = precision == static_cast<int>(Precision::BF16)   ? bf16_err_.data()
                      : precision == static_cast<int>(Precision::INT8) ? i8_err_.data()
                                                                       : nullptr;
  auto out = std::make_shared<std::vector<float>>(n_);
  float* o = out->data();
  parallel_for(detail::ceil_div(n_, 16384), [&](std::size_t t, std::size_t) {
    for (std::size_t j = t * 16384; j < std::min(n_, (t + 1) * 16384); ++j) {
      double sl = static_cast<double>(rnorm[j]) * a + (rerr ? static_cast<double>(rerr[j]) * b : 0.0);
      // the 1e-6 margin exceeds float rounding (6e-8), so the float is still an upper bound
      o[j] = static_cast<float>(sl * (1 + 1e-6));
    }
  });
  cache_prec_ = precision;
  cache_a_ = a;
  cache_b_ = b;
  cache_ = out;
  return out;
}

void KnnDatabase::prepare_int8() {
  if (has_int8() || n_ == 0) return;
  dp8_ = detail::round_up(std::max<std::size_t>(d_, 1), 64);
  if (dp8_ > 60000)
    throw std::invalid_argument("int8 candidates support at most 60000 dimensions");
  std::vector<std::int8_t> copy(n_ * dp8_);
  std::vector<float> scale(n_);
  std::vector<std::int32_t> sum(n_);
  const std::size_t chunk = 4096, n_chunks = detail::ceil_div(n_, chunk);
  std::vector<double> mnorm(n_chunks, 0.0), merr(n_chunks, 0.0);
  i8_norm_.resize(n_);
  i8_err_.resize(n_);
  parallel_for(n_chunks, [&](std::size_t t, std::size_t) {
    for (std::size_t j = t * chunk; j < std::min(n_, (t + 1) * chunk); ++j) {
      auto [nh, ne] = row_to_int8(x_ + j * ldx_, d_, dp8_, copy.data() + j * dp8_, &scale[j], &sum[j]);
      i8_norm_[j] = static_cast<float>(nh * (1 + 1e-6));
      i8_err_[j] = static_cast<float>(ne * (1 + 1e-6));
      mnorm[t] = std::max(mnorm[t], nh);
      merr[t] = std::max(merr[t], ne);
    }
  });
  i8_max_norm_ = *std::max_element(mnorm.begin(), mnorm.end());
  i8_max_err_ = *std::max_element(merr.begin(), merr.end());
  i8_scale_ = std::move(scale);
  i8_sum_ = std::move(sum);
  i8_ = std::move(copy);
}

// ---- search --------------------------------------------------------------------------------

double exact_score(const float* q, const float* x, std::size_t d, Metric metric) {
  const IsaKernels& K = kernels();
  return metric == Metric::InnerProduct ? K.exact_ip(q, x, d) : K.exact_l2(q, x, d);
}

void knn_search(const KnnDatabase& db, const float* queries, std::size_t m, std::size_t ldq,
                std::size_t k, Metric metric, const float* row_bias, const std::int64_t* exclude,
                std::size_t n_exclude, Precision precision, std::int64_t* out_idx,
                float* out_score) {
  const std::size_t n = db.n(), d = db.d();
  if (k == 0) throw std::invalid_argument("k must be >= 1");
  if (n == 0) throw std::invalid_argument("the database is empty");
  if (k > n) throw std::invalid_argument("k is larger than the number of database rows");
  if (d == 0) throw std::invalid_argument("vectors have dimension 0");
  if (metric == Metric::L2 && row_bias)
    throw std::invalid_argument("row_bias is only supported with the inner-product metric");
  if (m == 0) return;

  if (precision == Precision::Auto) {
    // TOKENSPACE_PRECISION=fp32 forces the fp32 candidate stage (answers are identical).
    static const bool force_fp32 = [] {
      const char* env = std::getenv("TOKENSPACE_PRECISION");
      return env && std::string(env) == "fp32";
    }();
    if (force_fp32) precision = Precision::FP32;
  }
  Precision prec = precision;
  if (prec == Precision::Auto) {
    // Measured on Zen 4: bf16 tiles beat int8 tiles (int8's larger error bound admits ~15x more
    // candidates to re-rank), while a few queries are memory-bound and int8 reads half the bytes.
    const bool i8 = db.has_int8() && int8_kernels(), b16 = db.has_bf16() && bf16_kernels();
    if (m < 8)
      prec = i8 ? Precision::INT8 : b16 ? Precision::BF16 : Precision::FP32;
    else
      prec = b16 ? Precision::BF16 : i8 ? Precision::INT8 : Precision::FP32;
  }
  if ((prec == Precision::BF16 && !bf16_kernels()) || (prec == Precision::INT8 && !int8_kernels()))
    throw std::invalid_argument(
        "bf16/int8 candidates need the avx512_bf16 SIMD level (this CPU or TOKENSPACE_SIMD "
        "lacks it); use precision='fp32'");
  if (prec == Precision::BF16 && !db.has_bf16())
    throw std::invalid_argument("the database has no bf16 copy; call prepare_bf16() first");
  if (prec == Precision::INT8 && !db.has_int8())
    throw std::invalid_argument("the database has no int8 copy; call prepare_int8() first");
  const bool want_bf16 = prec == Precision::BF16;

  // Candidate-score bias: the caller's, or -|x|^2 / 2 which turns L2 into an inner product.
  double max_bias = 0;
  if (metric == Metric::L2) {
    max_bias = 0.5 * db.max_norm() * db.max_norm() * (1 + 1e-6);
  } else if (row_bias) {
    for (std::size_t j = 0; j < n; ++j) {
      if (!std::isfinite(row_bias[j]))
        throw std::invalid_argument("bias has a NaN or Inf value at row " + std::to_string(j));
      max_bias = std::max(max_bias, static_cast<double>(std::fabs(row_bias[j])));
    }
  }

  // The error bound, split into a per-row slack (folded into the candidate bias) and a
  // per-query rest. With xhat, qhat the quantised vectors (xhat = x for fp32):
  //   |approx - x.q| <= |xhat.(qhat - q)| + |(xhat - x).q| + accumulation error
  //                  <= |xhat_j| |e_q| + |e_x_j| |q| + g |xhat_j| |qhat|      (Cauchy-Schwarz)
  // The |e_x_j| |q| and g |xhat_j| |qhat| terms become a per-row slack (with the maxima of |q|
  // and |qhat| over the queries); |xhat_j| |e_q| <= max_j |xhat_j| |e_q| stays per query, so one
  // badly quantised query does not widen every other query's window.
  const IsaKernels& K = kernels();
  const double R = db.max_norm();
  std::vector<double> qn(m), qhn(m), qen(m);
  {
    std::vector<std::uint16_t> tmp16(prec == Precision::BF16 ? db.bf16_dim() : 0);
    std::vector<std::uint8_t> tmp8(prec == Precision::INT8 ? db.int8_dim() : 0);
    for (std::size_t i = 0; i < m; ++i) {
      const float* q = queries + i * ldq;
      qn[i] = std::sqrt(K.sum_squares(q, d)) * (1 + 1e-12);
      if (R * qn[i] > kMaxNormProduct)
        throw std::invalid_argument(
            "vector norms are too large for float32 scores (|q| |x| > 1e37); rescale the vectors");
      if (prec == Precision::BF16) {
        std::tie(qhn[i], qen[i]) = row_to_bf16(q, d, db.bf16_dim(), tmp16.data());
      } else if (prec == Precision::INT8) {
        float t;
        std::tie(qhn[i], qen[i]) = row_to_uint8(q, d, db.int8_dim(), tmp8.data(), &t);
      } else {
        qhn[i] = qn[i];
        qen[i] = 0;
      }
    }
  }
  const double Qmax = *std::max_element(qn.begin(), qn.end());
  const double Qhmax = *std::max_element(qhn.begin(), qhn.end());
  // accumulation: fp32 sums in any order with or without FMA (2 d roundings); bf16: 2 per pair
  // plus the reduction; int8: the integer sum is exact, its conversion and 2 scalings round.
  const double g = prec == Precision::FP32   ? gamma(2 * d + 64)
                   : prec == Precision::BF16 ? gamma(2 * db.bf16_dim() + 64)
                                             : 4 * kUnitRoundoff;
  // Round the query factors up to a coarse grid (<= 9% looser) so that repeated searches reuse
  // the database's cached slack vector instead of an O(n) pass per call.
  auto grid_up = [](double v) {
    if (v <= 0) return 0.0;
    return std::exp2(std::ceil(8 * std::log2(v)) / 8) * (1 + 1e-12);
  };
  const double fa = grid_up(g * Qhmax), fb = grid_up(Qmax);
  std::shared_ptr<const std::vector<float>> slack_ptr = db.slack(static_cast<int>(prec), fa, fb);
  const std::vector<float>& slack = *slack_ptr;
  const float* base_bias = metric == Metric::L2 ? db.half_sq_norms() : row_bias;
  std::vector<float> cand_bias_buf;
  const float* cand_bias = slack.data();
  if (base_bias) {
    cand_bias_buf.resize(n);
    for (std::size_t j = 0; j < n; ++j) cand_bias_buf[j] = base_bias[j] + slack[j];
    cand_bias = cand_bias_buf.data();
  }
  std::vector<double> rest(m);
  const double Rh = prec == Precision::BF16 ? db.bf16_max_norm()
                    : prec == Precision::INT8 ? db.int8_max_norm()
                                              : R;
  // An upper bound of max_j slack[j] from the stored maxima (no pass over the n rows): each
  // slack is (|xhat_j| fa + |e_j| fb)(1 + 1e-6) with both norms stored rounded up by ~1e-6.
  const double Emax = prec == Precision::BF16 ? db.bf16_max_error()
                      : prec == Precision::INT8 ? db.int8_max_error()
                                                : 0.0;
  const double max_slack = (Rh * fa + Emax * fb) * (1 + 1e-5);
  for (std::size_t i = 0; i < m; ++i) {
    // adding the bias and rounding to float (twice), flushed bf16 subnormals, and the error of
    // the double re-rank itself (the reference the proof compares with)
    double r = Rh * qen[i];
    r += 4 * kUnitRoundoff * (Rh * qhn[i] + max_bias + 2 * max_slack);
    r += 2e-37 * static_cast<double>(std::max(db.bf16_dim(), d));
    r += 1e-12 * (R * qn[i] + max_bias + (metric == Metric::L2 ? 0.5 * (qn[i] * qn[i] + R * R) : 0.0));
    rest[i] = r * (1 + 1e-6);
  }

  Problem P{&db, queries, m, ldq, k, metric, cand_bias,
            metric == Metric::L2 ? nullptr : row_bias, exclude, n_exclude, slack.data(),
            rest.data()};
  Parts parts;
  // knn_graph searches the database with its own rows: score each pair once (bf16 and fp32;
  // int8 quantises queries and rows differently, so its scores are not symmetric).
  const bool self_join = queries == db.x() && ldq == db.ldx() && m == n;
  if (m < 8) {
    search_gemv(P, prec, parts);
  } else if (self_join && prec == Precision::BF16) {
    const Bf16Kernels* B = bf16_kernels();
    const std::size_t dp = db.bf16_dim(), NR = B->nr;
    // the queries are the rows: transpose their stored bf16 pairs into panels
    auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
      const std::size_t words = dp / 2;
      const auto* src = reinterpret_cast<const std::uint32_t*>(db.bf16()) + i0 * words;
      auto* out = reinterpret_cast<std::uint32_t*>(dst);
      const std::size_t np = detail::ceil_div(mi, NR);
      std::fill(out, out + np * NR * words, 0u);
      for (std::size_t i = 0; i < mi; ++i) {
        std::uint32_t* panel = out + (i / NR) * NR * words + i % NR;
        const std::uint32_t* row = src + i * words;
        for (std::size_t w = 0; w < words; ++w) panel[w * NR] = row[w];
      }
    };
    auto tile = [&](const std::uint16_t* a, std::size_t lda, bool, const float* qp,
                    std::size_t p, const float* ba, const float* ta, const float* bb,
                    const float* tb, float* c, std::uint32_t* hits) {
      const auto* b = reinterpret_cast<const std::uint32_t*>(qp) + p * NR * (dp / 2);
      return B->knn_tile_sym(a, lda, b, dp, ba, ta, bb, tb, c, hits);
    };
    search_tiles_sym<std::uint16_t>(P, db.bf16(), dp, dp, B->mr, NR, dp / 2, tile, pack, parts);
  } else if (self_join && prec == Precision::FP32) {
    const std::size_t NR = K.nr, MR = K.mr;
    const std::vector<float> no_thr(NR, kPosInf);
    auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
      detail::pack_panels(queries + i0 * ldq, mi, ldq, d, NR, dst);
    };
    auto tile = [&](const float* a, std::size_t lda, bool, const float* qp, std::size_t p,
                    const float* ba, const float* ta, const float* bb, const float* tb, float* c,
                    std::uint32_t* hits) -> std::size_t {
      const float* b = qp + p * NR * d;
      if (K.knn_tile_sym) return K.knn_tile_sym(a, lda, b, d, ba, ta, bb, tb, c, hits);
      // no specialised kernel at this level: score the raw tile, then filter it here
      K.knn_tile(a, lda, b, d, nullptr, no_thr.data(), c, hits);
      std::size_t nh = 0;
      for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t j = 0; j < NR; ++j) {
          const float v = c[i * NR + j];
          const std::uint32_t f = v + ba[i] >= tb[j], bw = v + bb[j] >= ta[i];
          if (f | bw) hits[nh++] = static_cast<std::uint32_t>(i * NR + j) | (f << 30) | (bw << 31);
        }
      return nh;
    };
    search_tiles_sym<float>(P, db.x(), db.ldx(), d, MR, NR, d, tile, pack, parts);
  } else if (prec == Precision::INT8) {
    const Int8Kernels* I8 = int8_kernels();
    const std::size_t dp8 = db.int8_dim(), NR = I8->nr, MR = I8->mr;
    const std::size_t units = dp8 / 4;  // one 32-bit slot per k-quad and query
    // panel p = units x NR uint32 slots (4 query bytes each), then the NR query scales
    const std::size_t stride = NR * (units + 1);
    auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
      const std::size_t np = detail::ceil_div(mi, NR);
      std::vector<std::uint8_t> row(dp8);
      for (std::size_t p = 0; p < np; ++p) {
        std::uint32_t* panel = reinterpret_cast<std::uint32_t*>(dst + p * stride);
        std::fill(panel, panel + NR * units, 0x80808080u);  // padded slots: zero after shift
        std::fill(dst + p * stride + NR * units, dst + (p + 1) * stride, 0.0f);
      }
      for (std::size_t i = 0; i < mi; ++i) {
        float* base = dst + (i / NR) * stride;
        row_to_uint8(queries + (i0 + i) * ldq, d, dp8, row.data(), base + NR * units + i % NR);
        std::uint32_t* panel = reinterpret_cast<std::uint32_t*>(base);
        for (std::size_t p = 0; p < units; ++p) {
          std::uint32_t v;
          std::memcpy(&v, row.data() + 4 * p, 4);
          panel[p * NR + i % NR] = v;
        }
      }
    };
    // the padded tail group needs scales and sums too
    const std::size_t tail_rows = db.n() % MR, tail0 = db.n() - tail_rows;
    std::vector<float> tail_scale(MR, 0.0f);
    std::vector<std::int32_t> tail_sum(MR, 0);
    for (std::size_t r = 0; r < tail_rows; ++r) {
      tail_scale[r] = db.int8_scale()[tail0 + r];
      tail_sum[r] = db.int8_sum()[tail0 + r];
    }
    auto tile = [&](const std::int8_t* a, std::size_t lda, std::size_t r0, bool is_tail,
                    const float* qp, std::size_t p, const float* bias, const float* thr, float* c,
                    std::uint32_t* hits) {
      const float* panel = qp + p * stride;
      return I8->knn_tile(a, lda, reinterpret_cast<const std::uint32_t*>(panel), dp8,
                          is_tail ? tail_scale.data() : db.int8_scale() + r0,
                          is_tail ? tail_sum.data() : db.int8_sum() + r0, panel + NR * units,
                          bias, thr, c, hits);
    };
    search_tiles<std::int8_t>(P, db.int8(), dp8, dp8, MR, NR, units, tile, pack, parts);
  } else if (want_bf16) {
    const Bf16Kernels* B = bf16_kernels();
    const std::size_t dp = db.bf16_dim(), NR = B->nr;
    auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
      pack_bf16_panels(queries + i0 * ldq, mi, ldq, d, dp, NR, dst);
    };
    auto tile = [&](const std::uint16_t* a, std::size_t lda, std::size_t, bool, const float* qp,
                    std::size_t p, const float* bias, const float* thr, float* c,
                    std::uint32_t* hits) {
      const auto* b = reinterpret_cast<const std::uint32_t*>(qp) + p * NR * (dp / 2);
      return B->knn_tile(a, lda, b, dp, bias, thr, c, hits);
    };
    search_tiles<std::uint16_t>(P, db.bf16(), dp, dp, B->mr, NR, dp / 2, tile, pack, parts);
  } else {
    const std::size_t NR = K.nr;
    auto pack = [&](std::size_t i0, std::size_t mi, float* dst) {
      detail::pack_panels(queries + i0 * ldq, mi, ldq, d, NR, dst);
    };
    auto tile = [&](const float* a, std::size_t lda, std::size_t, bool, const float* qp,
                    std::size_t p, const float* bias, const float* thr, float* c,
                    std::uint32_t* hits) {
      return K.knn_tile(a, lda, qp + p * NR * d, d, bias, thr, c, hits);
    };
    search_tiles<float>(P, db.x(), db.ldx(), d, K.mr, NR, d, tile, pack, parts);
  }

  // Merge the parts' exact top-k lists of each query and write them best-first.
  parallel_for(detail::ceil_div(m, 256), [&](std::size_t t, std::size_t) {
    std::vector<double> ms(k);
    std::vector<std::int64_t> mid(k);
    std::vector<std::size_t> order(k);
    for (std::size_t i = t * 256; i < std::min(m, (t + 1) * 256); ++i) {
      std::fill(ms.begin(), ms.end(), -std::numeric_limits<double>::infinity());
      std::fill(mid.begin(), mid.end(), -1);
      ExactTopK heap(ms.data(), mid.data(), k);
      std::size_t filled = 0;
      for (std::size_t part = 0; part < parts.n_parts; ++part) {
        const double* ps = parts.s_at(part, m, i, k);
        const std::int64_t* pid = parts.id_at(part, m, i, k);
        for (std::size_t e = 0; e < k; ++e)
          if (pid[e] >= 0) {
            heap.push(ps[e], pid[e]);
            ++filled;
          }
      }
      const std::size_t have = std::min(filled, k);
      for (std::size_t e = 0; e < k; ++e) order[e] = e;
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (mid[a] < 0 || mid[b] < 0) return mid[b] < 0 && mid[a] >= 0;
        return better(ms[a], mid[a], ms[b], mid[b]);
      });
      for (std::size_t e = 0; e < k; ++e) {
        const std::size_t o = order[e];
        if (e < have) {
          out_idx[i * k + e] = mid[o];
          out_score[i * k + e] = static_cast<float>(
              metric == Metric::L2 ? std::sqrt(std::max(0.0, -2.0 * ms[o])) : ms[o]);
        } else {
          out_idx[i * k + e] = -1;
          out_score[i * k + e] = metric == Metric::L2 ? kPosInf : kNegInf;
        }
      }
    }
  });
}

void knn_search(const float* queries, std::size_t m, std::size_t ldq, const float* base,
                std::size_t n, std::size_t ldb, std::size_t d, std::size_t k, Metric metric,
                const float* row_bias, const std::int64_t* exclude, std::size_t n_exclude,
                std::int64_t* out_idx, float* out_score) {
  KnnDatabase db(base, n, ldb, d);
  knn_search(db, queries, m, ldq, k, metric, row_bias, exclude, n_exclude, Precision::FP32,
             out_idx, out_score);
}

void normalize_rows(const float* x, std::size_t n, std::size_t ldx, std::size_t d, float* out,
                    float* norms) {
  const IsaKernels& K = kernels();
  parallel_for(detail::ceil_div(n, 2048), [&](std::size_t t, std::size_t) {
    for (std::size_t i = t * 2048; i < std::min(n, (t + 1) * 2048); ++i) {
      const float* xi = x + i * ldx;
      double nn = std::sqrt(K.sum_squares(xi, d));
      if (norms) norms[i] = static_cast<float>(nn);
      float* oi = out + i * d;
      if (nn > 0) {
        const double inv = 1.0 / nn;
        for (std::size_t c = 0; c < d; ++c) oi[c] = static_cast<float>(xi[c] * inv);
      } else {
        for (std::size_t c = 0; c < d; ++c) oi[c] = 0.0f;
      }
    }
  });
}

std::int64_t first_nonfinite_row(const float* x, std::size_t n, std::size_t ldx, std::size_t d) {
  // A float is NaN or +-Inf exactly when its exponent bits are all ones; testing the bits is
  // branch-free and vectorises (a float sum would not, without fast-math). Row chunks run in
  // parallel; the smallest bad row wins.
  const std::size_t chunk = 2048, n_chunks = detail::ceil_div(n, chunk);
  std::vector<std::int64_t> first(n_chunks, -1);
  parallel_for(n_chunks, [&](std::size_t t, std::size_t) {
    for (std::size_t i = t * chunk; i < std::min(n, (t + 1) * chunk); ++i) {
      const float* xi = x + i * ldx;
      std::uint32_t bad = 0;
      for (std::size_t c = 0; c < d; ++c) {
        std::uint32_t u;
        std::memcpy(&u, xi + c, 4);
        bad |= static_cast<std::uint32_t>((u & 0x7f800000u) == 0x7f800000u);
      }
      if (bad) {
        first[t] = static_cast<std::int64_t>(i);
        return;
      }
    }
  });
  for (std::int64_t f : first)
    if (f >= 0) return f;
  return -1;
}

}  // namespace tokenspace
