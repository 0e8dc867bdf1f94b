// The only file that includes pybind11: validate arguments, allocate outputs with the GIL
// held, release the GIL around the kernel. C++ std::invalid_argument becomes ValueError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>

#include "tokenspace/align.hpp"
#include "tokenspace/analogy.hpp"
#include "tokenspace/cosine.hpp"
#include "tokenspace/dispatch.hpp"
#include "tokenspace/knn.hpp"
#include "tokenspace/rsa.hpp"
#include "tokenspace/parse.hpp"
#include "tokenspace/thread_pool.hpp"

namespace py = pybind11;
using namespace tokenspace;

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IdArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

namespace {

void require_matrix(const py::array& a, const char* name) {
  if (a.ndim() != 2)
    throw std::invalid_argument(std::string(name) + " must be a 2-D array (rows = vectors), got " +
                                std::to_string(a.ndim()) + "-D");
}

Metric parse_metric(const std::string& m) {
  if (m == "ip" || m == "dot") return Metric::InnerProduct;
  if (m == "l2") return Metric::L2;
  throw std::invalid_argument("unknown kernel metric '" + m + "'; expected 'ip' or 'l2'");
}

// A database prepared once and searched many times (EmbeddingSpace caches one per metric).
// It holds a reference to the rows, so the numpy array outlives the C++ view of it.
struct PyDatabase {
  FloatArray rows;
  std::unique_ptr<KnnDatabase> db;
  std::shared_mutex lock;  // searches share it; preparing the bf16 copy takes it alone
};

Precision parse_precision(const std::string& p) {
  if (p == "auto") return Precision::Auto;
  if (p == "fp32") return Precision::FP32;
  if (p == "bf16") return Precision::BF16;
  if (p == "int8") return Precision::INT8;
  throw std::invalid_argument("unknown precision '" + p +
                              "'; expected 'auto', 'fp32', 'bf16' or 'int8'");
}

std::unique_ptr<PyDatabase> make_database(FloatArray rows) {
  require_matrix(rows, "base");
  auto out = std::make_unique<PyDatabase>();
  out->rows = rows;
  const std::size_t n = rows.shape(0), d = rows.shape(1);
  py::gil_scoped_release release;
  out->db = std::make_unique<KnnDatabase>(out->rows.data(), n, d, d);
  return out;
}

py::tuple knn_db(PyDatabase& base, FloatArray queries, std::size_t k, const std::string& metric,
                 py::object exclude, py::object bias, const std::string& precision) {
  require_matrix(queries, "queries");
  const KnnDatabase& db = *base.db;
  const std::size_t m = queries.shape(0), d = queries.shape(1), n = db.n();
  if (d != db.d())
    throw std::invalid_argument("queries have dimension " + std::to_string(d) +
                                " but the database has " + std::to_string(db.d()));
  if (k == 0) throw std::invalid_argument("k must be >= 1");
  if (k > n)
    throw std::invalid_argument("k=" + std::to_string(k) + " is larger than the database (" +
                                std::to_string(n) + " rows)");
  Metric met = parse_metric(metric);
  Precision prec = parse_precision(precision);
  IdArray ex;
  std::size_t n_ex = 0;
  if (!exclude.is_none()) {
    ex = IdArray::ensure(exclude);
    if (!ex) throw std::invalid_argument("exclude must be an integer array");
    if (ex.ndim() != 2 || static_cast<std::size_t>(ex.shape(0)) != m)
      throw std::invalid_argument("exclude must have shape (n_queries, n_excluded)");
    n_ex = ex.shape(1);
  }
  FloatArray bias_arr;
  if (!bias.is_none()) {
    bias_arr = FloatArray::ensure(bias);
    if (!bias_arr || bias_arr.ndim() != 1 || static_cast<std::size_t>(bias_arr.shape(0)) != n)
      throw std::invalid_argument("bias must be a float array with one value per database row");
    if (met != Metric::InnerProduct)
      throw std::invalid_argument("bias is only supported with metric='ip'");
  }
  py::array_t<std::int64_t> idx({m, k});
  py::array_t<float> scores({m, k});
  {
    py::gil_scoped_release release;
    std::shared_lock<std::shared_mutex> guard(base.lock);
    knn_search(db, queries.data(), m, d, k, met, bias.is_none() ? nullptr : bias_arr.data(),
               n_ex ? ex.data() : nullptr, n_ex, prec, idx.mutable_data(),
               scores.mutable_data());
  }
  return py::make_tuple(idx, scores);
}

py::tuple knn(FloatArray queries, FloatArray base, std::size_t k, const std::string& metric,
              py::object exclude, py::object bias, const std::string& precision) {
  require_matrix(queries, "queries");
  require_matrix(base, "base");
  if (base.shape(1) != queries.shape(1))
    throw std::invalid_argument("queries have dimension " + std::to_string(queries.shape(1)) +
                                " but the database has " + std::to_string(base.shape(1)));
  auto db = make_database(base);
  // A one-off search pays for the bf16 copy only when enough queries amortise it.
  const Precision prec = parse_precision(precision);
  if (bf16_kernels() &&
      (prec == Precision::BF16 || (prec == Precision::Auto && queries.shape(0) >= 64))) {
    py::gil_scoped_release release;
    db->db->prepare_bf16();
  }
  if (int8_kernels() && prec == Precision::INT8) {
    py::gil_scoped_release release;
    db->db->prepare_int8();
  }
  return knn_db(*db, queries, k, metric, exclude, bias, precision);
}

py::tuple normalize(FloatArray x) {
  require_matrix(x, "x");
  const std::size_t n = x.shape(0), d = x.shape(1);
  py::array_t<float> out({n, d});
  py::array_t<float> norms(n);
  {
    py::gil_scoped_release release;
    normalize_rows(x.data(), n, d, d, out.mutable_data(), norms.mutable_data());
  }
  return py::make_tuple(out, norms);
}

std::int64_t nonfinite_row(FloatArray x) {
  require_matrix(x, "x");
  py::gil_scoped_release release;
  return first_nonfinite_row(x.data(), x.shape(0), x.shape(1), x.shape(1));
}

py::array gram(FloatArray a, FloatArray b, py::object out_obj) {
  require_matrix(a, "A");
  require_matrix(b, "B");
  const std::size_t m = a.shape(0), d = a.shape(1), n = b.shape(0);
  if (static_cast<std::size_t>(b.shape(1)) != d)
    throw std::invalid_argument("A has dimension " + std::to_string(d) + " but B has " +
                                std::to_string(b.shape(1)));
  py::array_t<float> out;
  if (out_obj.is_none()) {
    out = py::array_t<float>({m, n});
  } else {
    if (!py::isinstance<py::array_t<float>>(out_obj))
      throw py::type_error("out must be a float32 numpy array");
    out = out_obj.cast<py::array_t<float>>();
    if (out.ndim() != 2 || static_cast<std::size_t>(out.shape(0)) != m ||
        static_cast<std::size_t>(out.shape(1)) != n)
      throw std::invalid_argument("out must have shape (" + std::to_string(m) + ", " +
                                  std::to_string(n) + ")");
    if (!out.writeable()) throw std::invalid_argument("out is read-only");
    if (out.strides(1) != static_cast<py::ssize_t>(sizeof(float)) ||
        out.strides(0) % static_cast<py::ssize_t>(sizeof(float)) != 0 ||
        out.strides(0) < static_cast<py::ssize_t>(n * sizeof(float)))
      throw std::invalid_argument("out must have contiguous rows (a C-ordered array or a row slice of one)");
  }
  const std::size_t ldo = out.strides(0) / sizeof(float);
  float* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    gram_matrix(a.data(), m, d, b.data(), n, d, d, o, ldo);
  }
  return out;
}

}  // namespace

// ==== rsa ====
namespace {

void require_same_items(const FloatArray& x, const FloatArray& y) {
  require_matrix(x, "X");
  require_matrix(y, "Y");
  if (x.shape(0) != y.shape(0))
    throw std::invalid_argument("X has " + std::to_string(x.shape(0)) + " rows but Y has " +
                                std::to_string(y.shape(0)) +
                                "; RSA needs the same items (rows) in both");
}

py::dict moments_dict(const TriangleMoments& m) {
  py::dict d;
  d["n_pairs"] = m.n_pairs;
  d["mean_x"] = m.mean_x;
  d["mean_y"] = m.mean_y;
  d["var_x"] = m.var_x;
  d["var_y"] = m.var_y;
  d["cov"] = m.cov;
  d["pearson"] = m.pearson;
  d["cosine"] = m.cosine;
  d["min_x"] = m.min_x;
  d["max_x"] = m.max_x;
  d["min_y"] = m.min_y;
  d["max_y"] = m.max_y;
  return d;
}

py::dict rsa_pearson_py(FloatArray x, FloatArray y) {
  require_same_items(x, y);
  TriangleMoments m;
  {
    py::gil_scoped_release release;
    m = rsa_pearson(x.data(), x.shape(1), y.data(), y.shape(1), x.shape(0));
  }
  return moments_dict(m);
}

py::dict rsa_spearman_py(FloatArray x, FloatArray y, bool store_values) {
  require_same_items(x, y);
  SpearmanResult r;
  {
    py::gil_scoped_release release;
    r = rsa_spearman(x.data(), x.shape(1), y.data(), y.shape(1), x.shape(0), store_values);
  }
  py::dict d = moments_dict(r.moments);
  d["spearman"] = r.spearman;
  return d;
}

py::array similarity_triangle_py(FloatArray x) {
  require_matrix(x, "X");
  const std::size_t n = x.shape(0), d = x.shape(1);
  py::array_t<float> out(static_cast<py::ssize_t>(n_triangle_pairs(n)));
  {
    py::gil_scoped_release release;
    similarity_triangle(x.data(), d, n, out.mutable_data());
  }
  return out;
}

}  // namespace
// ==== end rsa ====

// ==== alignment ====
namespace {

FloatArray optional_vector(py::object v, std::size_t d, const char* name) {
  FloatArray a;
  if (v.is_none()) return a;
  a = FloatArray::ensure(v);
  if (!a || a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != d)
    throw std::invalid_argument(std::string(name) + " must be a float array of length " +
                                std::to_string(d));
  return a;
}

py::tuple cross_gram_py(FloatArray x, FloatArray y, py::object x_shift, py::object y_shift) {
  require_matrix(x, "X");
  require_matrix(y, "Y");
  const std::size_t n = x.shape(0), d1 = x.shape(1), d2 = y.shape(1);
  if (static_cast<std::size_t>(y.shape(0)) != n)
    throw std::invalid_argument("X has " + std::to_string(n) + " rows but Y has " +
                                std::to_string(y.shape(0)) + "; rows must be paired");
  if (d1 == 0 || d2 == 0) throw std::invalid_argument("X and Y must have at least one column");
  FloatArray xs = optional_vector(x_shift, d1, "x_shift");
  FloatArray ys = optional_vector(y_shift, d2, "y_shift");
  py::array_t<double> out({d1, d2});
  double sxx = 0, syy = 0;
  {
    py::gil_scoped_release release;
    cross_gram(x.data(), n, d1, d1, y.data(), d2, d2, x_shift.is_none() ? nullptr : xs.data(),
               y_shift.is_none() ? nullptr : ys.data(), out.mutable_data(), &sxx, &syy);
  }
  return py::make_tuple(out, sxx, syy);
}

py::array_t<double> column_means_py(FloatArray x) {
  require_matrix(x, "X");
  const std::size_t n = x.shape(0), d = x.shape(1);
  if (n == 0) throw std::invalid_argument("X has no rows; the mean is undefined");
  py::array_t<double> out(d);
  {
    py::gil_scoped_release release;
    column_means(x.data(), n, d, d, out.mutable_data());
  }
  return out;
}

py::array_t<double> softmax_log_normalizer_py(FloatArray t, FloatArray s, float beta,
                                              py::object row_max) {
  require_matrix(t, "targets");
  require_matrix(s, "sources");
  const std::size_t m = t.shape(0), d = t.shape(1), n = s.shape(0);
  if (static_cast<std::size_t>(s.shape(1)) != d)
    throw std::invalid_argument("targets have dimension " + std::to_string(d) +
                                " but sources have " + std::to_string(s.shape(1)));
  FloatArray rm = optional_vector(row_max, m, "row_max");
  py::array_t<double> out(m);
  {
    py::gil_scoped_release release;
    softmax_log_normalizer(t.data(), m, d, s.data(), n, d, d, beta,
                           row_max.is_none() ? nullptr : rm.data(), out.mutable_data());
  }
  return out;
}

}  // namespace
// ==== end alignment ====

namespace {

// Runs one instruction set's peak-rate probe for `seconds` on this thread; returns ops/second.
double peak_rate(const std::string& kind, double seconds) {
#if TS_HAVE_X86
  double (*probe)(std::size_t) = nullptr;
  SimdLevel need = SimdLevel::AVX512_BF16;
  if (kind == "fp32_fma_ymm") { probe = isa_avx2::peak_probe; need = SimdLevel::AVX2; }
  else if (kind == "fp32_fma_zmm") { probe = isa_avx512::peak_probe; need = SimdLevel::AVX512; }
  else if (kind == "bf16_dpbf16ps_zmm") probe = isa_avx512bf16::peak_probe;
  else if (kind == "int8_vpdpbusd_zmm") probe = isa_avx512vnni::peak_probe;
  else throw std::invalid_argument("unknown probe '" + kind + "'");
  bool ok = false;
  for (SimdLevel l : supported_simd_levels()) ok = ok || l == need;
  if (!ok) throw std::invalid_argument("this CPU lacks the instructions of probe '" + kind + "'");
  py::gil_scoped_release release;
  const auto t0 = std::chrono::steady_clock::now();
  double ops = 0, elapsed = 0;
  do {
    ops += probe(1u << 20);
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  return ops / elapsed;
#else
  (void)seconds;
  throw std::invalid_argument("peak probes exist only on x86-64 (asked for '" + kind + "')");
#endif
}

}  // namespace

// ==== loaders ====
namespace {

// Words are decoded here, with the GIL, after the parallel parse; a word that is not valid in
// `encoding` under `errors` becomes a ValueError naming the line/record instead of a crash.
py::list decode_words(const char* data, const std::uint64_t* begin, const std::uint32_t* len,
                      std::size_t n, const std::string& encoding, const std::string& errors,
                      const std::string& where_prefix, const std::size_t* where) {
  py::list out(n);
  const bool utf8 = encoding == "utf-8" || encoding == "utf8";
  for (std::size_t i = 0; i < n; ++i) {
    const char* p = data + begin[i];
    PyObject* s = utf8 ? PyUnicode_DecodeUTF8(p, len[i], errors.c_str())
                       : PyUnicode_Decode(p, len[i], encoding.c_str(), errors.c_str());
    if (!s) {
      py::error_already_set err;
      throw std::invalid_argument(
          where_prefix + std::to_string(where ? where[i] : i + 1) + ": the word is not valid " +
          encoding + " (" + std::string(py::str(err.value())) +
          "); pass encoding_errors='replace' (or 'ignore', 'backslashreplace') to load it anyway, "
          "or encoding= for a file in another encoding");
    }
    PyList_SET_ITEM(out.ptr(), i, s);
  }
  return out;
}

const char* buffer_bytes(const py::buffer_info& info) {
  if (info.ndim != 1 || info.itemsize != 1)
    throw std::invalid_argument("expected a 1-D byte buffer (bytes, mmap or memoryview)");
  return static_cast<const char*>(info.ptr);
}

py::tuple parse_text(py::buffer buffer, std::size_t begin, std::size_t max_records, std::size_t dim,
                     std::size_t first_line_no, const std::string& source,
                     const std::string& encoding, const std::string& errors) {
  py::buffer_info info = buffer.request();
  const char* data = buffer_bytes(info);
  const std::size_t size = static_cast<std::size_t>(info.size);
  if (begin > size) throw std::invalid_argument("begin is past the end of the buffer");
  TextIndex index;
  {
    py::gil_scoped_release release;
    index = index_text_lines(data, size, begin, max_records, first_line_no);
  }
  const std::size_t n = index.starts.size();
  if (n == 0) throw std::invalid_argument(source + ": no vectors in the file (it is empty or blank)");
  if (dim == 0) {
    if (index.first_fields < 2)
      throw std::invalid_argument(source + ", line " + std::to_string(index.line_no[0]) +
                                  ": expected 'word v1 v2 ...' but the line has " +
                                  std::to_string(index.first_fields) + " field(s)");
    dim = index.first_fields - 1;
  }
  py::array_t<float> vectors({n, dim});
  std::vector<std::uint64_t> wb(n);
  std::vector<std::uint32_t> wl(n);
  float* out = vectors.mutable_data();
  try {
    py::gil_scoped_release release;
    parse_text_records(data, size, index, n, dim, out, wb.data(), wl.data());
  } catch (const ParseError& e) {
    throw std::invalid_argument(source + ", line " + std::to_string(e.where()) + ": " + e.what());
  }
  py::list words = decode_words(data, wb.data(), wl.data(), n, encoding, errors,
                                source + ", line ", index.line_no.data());
  py::array_t<std::int64_t> lines(n);
  std::copy(index.line_no.begin(), index.line_no.end(), lines.mutable_data());
  return py::make_tuple(vectors, words, lines);
}

py::tuple parse_binary(py::buffer buffer, std::size_t begin, std::size_t max_records, std::size_t dim,
                       const std::string& source, const std::string& encoding,
                       const std::string& errors) {
  py::buffer_info info = buffer.request();
  const char* data = buffer_bytes(info);
  const std::size_t size = static_cast<std::size_t>(info.size);
  if (begin > size) throw std::invalid_argument("begin is past the end of the buffer");
  if (dim == 0) throw std::invalid_argument(source + ": the header gives dimension 0");
  std::vector<std::uint64_t> vo, wb;
  std::vector<std::uint32_t> wl;
  const std::size_t reserve = std::min<std::size_t>(max_records, size / (dim * 4 + 2) + 1);
  vo.reserve(reserve);
  wb.reserve(reserve);
  wl.reserve(reserve);
  try {
    py::gil_scoped_release release;
    index_binary_records(data, size, begin, max_records, dim, vo, wb, wl);
  } catch (const ParseError& e) {
    throw std::invalid_argument(source + ", record " + std::to_string(e.where()) + ": " + e.what());
  }
  const std::size_t n = vo.size();
  py::array_t<float> vectors({n, dim});
  float* out = vectors.mutable_data();
  try {
    py::gil_scoped_release release;
    copy_binary_records(data, vo.data(), n, dim, out);
  } catch (const ParseError& e) {
    throw std::invalid_argument(source + ", record " + std::to_string(e.where()) + ": " + e.what());
  }
  py::list words =
      decode_words(data, wb.data(), wl.data(), n, encoding, errors, source + ", record ", nullptr);
  return py::make_tuple(vectors, words);
}

py::list format_word_vectors(const py::list& words, FloatArray vectors, bool binary) {
  require_matrix(vectors, "vectors");
  const std::size_t n = vectors.shape(0), dim = vectors.shape(1);
  if (static_cast<std::size_t>(py::len(words)) != n)
    throw std::invalid_argument("words and vectors differ in length");
  std::string blob;
  std::vector<std::uint64_t> offsets(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    py::handle w = words[i];
    if (!PyUnicode_Check(w.ptr())) throw py::type_error("word " + std::to_string(i) + " is not a str");
    Py_ssize_t len = 0;
    const char* u = PyUnicode_AsUTF8AndSize(w.ptr(), &len);
    if (!u) throw py::error_already_set();
    if (len == 0) throw std::invalid_argument("word " + std::to_string(i) + " is empty; the formats cannot store it");
    for (Py_ssize_t j = 0; j < len; ++j)
      if (u[j] == ' ' || u[j] == '\n' || (!binary && (u[j] == '\t' || u[j] == '\r')))
        throw std::invalid_argument(
            "word " + std::to_string(i) + " (" + std::string(py::repr(w)) +
            ") contains whitespace the format uses as a separator; rename it before saving");
    blob.append(u, len);
    offsets[i + 1] = blob.size();
  }
  std::vector<std::string> chunks;
  {
    py::gil_scoped_release release;
    chunks = format_records(blob.data(), offsets.data(), vectors.data(), n, dim, binary);
  }
  py::list out;
  for (auto& c : chunks) out.append(py::bytes(c));
  return out;
}

// word -> first row, built presized: 400k inserts without the intermediate resizes a Python
// dict(zip(...)) goes through (fresh memory is slow to touch in VMs).
py::dict word_index(const py::list& words) {
  const Py_ssize_t n = PyList_GET_SIZE(words.ptr());
  PyObject* d = _PyDict_NewPresized(n);
  if (!d) throw py::error_already_set();
  py::dict out = py::reinterpret_steal<py::dict>(d);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* key = PyList_GET_ITEM(words.ptr(), i);
    if (!PyUnicode_Check(key)) throw py::type_error("word " + std::to_string(i) + " is not a str");
    PyObject* v = PyLong_FromSsize_t(i);
    if (!v) throw py::error_already_set();
    PyObject* r = PyDict_SetDefault(d, key, v);  // keeps the first occurrence
    Py_DECREF(v);
    if (!r) throw py::error_already_set();
  }
  return out;
}

}  // namespace
// ==== end loaders ====

// ==== analogies ====
namespace {

py::tuple analogy(FloatArray terms, IdArray qterms, FloatArray base, std::size_t k,
                  const std::string& method, py::object weights, std::size_t n_pos, float eps,
                  py::object exclude, float cos_slack) {
  require_matrix(terms, "terms");
  require_matrix(base, "base");
  if (qterms.ndim() != 2) throw std::invalid_argument("qterms must be a 2-D (n_queries, n_terms) array");
  const std::size_t u = terms.shape(0), m = qterms.shape(0), T = qterms.shape(1);
  const std::size_t d = base.shape(1), n = base.shape(0);
  if (static_cast<std::size_t>(terms.shape(1)) != d)
    throw std::invalid_argument("terms have dimension " + std::to_string(terms.shape(1)) +
                                " but the database has " + std::to_string(d));
  AnalogyMode mode;
  if (method == "3cosadd") mode = AnalogyMode::Linear;
  else if (method == "3cosmul") mode = AnalogyMode::CosMul;
  else throw std::invalid_argument("method must be '3cosadd' or '3cosmul'");
  if (k == 0 || k > n)
    throw std::invalid_argument("k must be between 1 and the number of database rows (" +
                                std::to_string(n) + ")");
  FloatArray w;
  if (!weights.is_none()) {
    w = FloatArray::ensure(weights);
    if (!w || w.ndim() != 1 || static_cast<std::size_t>(w.shape(0)) != T)
      throw std::invalid_argument("weights must be a float array with one value per term");
  } else if (mode == AnalogyMode::Linear) {
    throw std::invalid_argument("3cosadd needs weights");
  }
  IdArray ex;
  std::size_t n_ex = 0;
  if (!exclude.is_none()) {
    ex = IdArray::ensure(exclude);
    if (!ex || ex.ndim() != 2 || static_cast<std::size_t>(ex.shape(0)) != m)
      throw std::invalid_argument("exclude must be an integer array of shape (n_queries, n_excluded)");
    n_ex = ex.shape(1);
  }
  py::array_t<std::int64_t> idx({m, k});
  py::array_t<float> scores({m, k});
  {
    py::gil_scoped_release release;
    analogy_search(terms.data(), u, qterms.data(), m, T, mode,
                   weights.is_none() ? nullptr : w.data(), n_pos, eps, cos_slack, base.data(), n,
                   d, d, k,
                   n_ex ? ex.data() : nullptr, n_ex, idx.mutable_data(), scores.mutable_data());
  }
  return py::make_tuple(idx, scores);
}

py::array_t<float> project(FloatArray x, FloatArray axis, float offset) {
  require_matrix(x, "x");
  const std::size_t n = x.shape(0), d = x.shape(1);
  if (axis.ndim() != 1 || static_cast<std::size_t>(axis.shape(0)) != d)
    throw std::invalid_argument("axis must be a 1-D array of length " + std::to_string(d));
  py::array_t<float> out(n);
  {
    py::gil_scoped_release release;
    project_rows(x.data(), n, d, d, axis.data(), offset, out.mutable_data());
  }
  return out;
}

}  // namespace
// ==== end analogies ====

PYBIND11_MODULE(_core, m) {
  m.doc() = "tokenspace compiled kernels (private: use the tokenspace package)";
  py::class_<PyDatabase>(m, "Database", "Rows prepared for repeated exact k-NN searches.")
      .def(py::init(&make_database), py::arg("rows"))
      .def("prepare_bf16",
           [](PyDatabase& self) {
             py::gil_scoped_release release;
             std::unique_lock<std::shared_mutex> guard(self.lock);
             self.db->prepare_bf16();
           },
           "Build the bf16 copy used by the fast candidate stage (idempotent).")
      .def("prepare_int8",
           [](PyDatabase& self) {
             py::gil_scoped_release release;
             std::unique_lock<std::shared_mutex> guard(self.lock);
             self.db->prepare_int8();
           },
           "Build the int8 copy used by the VNNI candidate stage (idempotent).")
      .def_property_readonly("has_bf16", [](PyDatabase& self) { return self.db->has_bf16(); })
      .def_property_readonly("has_int8", [](PyDatabase& self) { return self.db->has_int8(); })
      .def_property_readonly("n", [](PyDatabase& self) { return self.db->n(); })
      .def_property_readonly("d", [](PyDatabase& self) { return self.db->d(); })
      .def_property_readonly("max_norm", [](PyDatabase& self) { return self.db->max_norm(); });
  m.def("knn_db", &knn_db, py::arg("db"), py::arg("queries"), py::arg("k"),
        py::arg("metric") = "ip", py::arg("exclude") = py::none(), py::arg("bias") = py::none(),
        py::arg("precision") = "auto", "Exact top-k against a prepared Database: (ids, scores).");
  m.def("knn", &knn, py::arg("queries"), py::arg("base"), py::arg("k"), py::arg("metric") = "ip",
        py::arg("exclude") = py::none(), py::arg("bias") = py::none(),
        py::arg("precision") = "fp32",
        "Exact top-k by inner product ('ip', plus an optional per-row bias) or Euclidean "
        "distance ('l2'): (ids, scores).");
  m.def("normalize_rows", &normalize, py::arg("x"), "Unit-length rows and the row norms.");
  m.def("first_nonfinite_row", &nonfinite_row, py::arg("x"),
        "Index of the first row with NaN/Inf, or -1.");
  m.def("gram", &gram, py::arg("a"), py::arg("b"), py::arg("out") = py::none(),
        "A @ B.T through the blocked SIMD kernels.");
  m.def("simd_level", [] { return std::string(simd_level_name(active_simd_level())); });
  m.def("detected_simd_level", [] { return std::string(simd_level_name(detected_simd_level())); });
  m.def("set_simd_level", [](const std::string& name) { set_simd_level(parse_simd_level(name)); },
        py::arg("name"));
  m.def("available_simd_levels", [] {
    std::vector<std::string> out;
    for (SimdLevel l : supported_simd_levels()) out.emplace_back(simd_level_name(l));
    return out;
  });
  m.def("peak_rate", &peak_rate, py::arg("kind"), py::arg("seconds") = 0.3,
        "Benchmarks only: ops/second of one instruction kind on the calling thread.");
  m.def("num_threads", [] { return num_threads(); });
  m.def("set_num_threads", [](std::size_t n) { set_num_threads(n); }, py::arg("n"));
  // ==== loaders ====
  m.def("parse_text", &parse_text, py::arg("buffer"), py::arg("begin") = 0,
        py::arg("max_records") = static_cast<std::size_t>(-1), py::arg("dim") = 0,
        py::arg("first_line_no") = 1, py::arg("source") = "<buffer>", py::arg("encoding") = "utf-8",
        py::arg("errors") = "strict",
        "Parse word2vec/GloVe text records: (vectors, words, line numbers).");
  m.def("parse_binary", &parse_binary, py::arg("buffer"), py::arg("begin"), py::arg("max_records"),
        py::arg("dim"), py::arg("source") = "<buffer>", py::arg("encoding") = "utf-8",
        py::arg("errors") = "strict", "Parse word2vec binary records: (vectors, words).");
  m.def("format_word_vectors", &format_word_vectors, py::arg("words"), py::arg("vectors"),
        py::arg("binary") = false, "word2vec/GloVe records as a list of byte chunks.");
  m.def("word_index", &word_index, py::arg("words"),
        "{word: first row} (duplicates keep their first row).");
  // ==== end loaders ====
  // ==== analogies ====
  m.def("analogy", &analogy, py::arg("terms"), py::arg("qterms"), py::arg("base"), py::arg("k"),
        py::arg("method") = "3cosadd", py::arg("weights") = py::none(), py::arg("n_pos") = 1,
        py::arg("eps") = 1e-6f, py::arg("exclude") = py::none(), py::arg("cos_slack") = 0.0f,
        "Fused top-k of batched analogy queries over shared terms: (ids, combined scores). "
        "3cosmul with cos_slack > 0 ranks by upper bounds of the objective.");
  m.def("project", &project, py::arg("x"), py::arg("axis"), py::arg("offset") = 0.0f,
        "x @ axis - offset in one multithreaded pass.");
  // ==== end analogies ====
  // ==== alignment ====
  m.def("cross_gram", &cross_gram_py, py::arg("x"), py::arg("y"), py::arg("x_shift") = py::none(),
        py::arg("y_shift") = py::none(),
        "(X - x_shift)^T (Y - y_shift) in float64 with the squared Frobenius norms: (M, sxx, syy).");
  m.def("column_means", &column_means_py, py::arg("x"), "Column means in float64.");
  m.def("softmax_log_normalizer", &softmax_log_normalizer_py, py::arg("targets"),
        py::arg("sources"), py::arg("beta"), py::arg("row_max") = py::none(),
        "log sum_j exp(beta <t_i, s_j>) for every target row (row_max: each row's largest "
        "inner product, default 1 for unit rows).");
  // ==== end alignment ====
  // ==== rsa ====
  m.def("rsa_pearson", &rsa_pearson_py, py::arg("x"), py::arg("y"),
        "Pearson statistics of the upper triangles (i < j) of X X^T and Y Y^T, streamed.");
  m.def("rsa_spearman", &rsa_spearman_py, py::arg("x"), py::arg("y"),
        py::arg("store_values") = false,
        "Exact Spearman (average ranks for ties) of the upper triangles of X X^T and Y Y^T.");
  m.def("similarity_triangle", &similarity_triangle_py, py::arg("x"),
        "Upper triangle (k=1, row-major) of X X^T as a flat float32 array.");
  // ==== end rsa ====
#define TS_STR2(x) #x
#define TS_STR(x) TS_STR2(x)
#ifdef TS_VERSION_INFO
  m.attr("__version__") = TS_STR(TS_VERSION_INFO);
#endif
}
