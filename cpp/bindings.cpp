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

#include "tokenspace/cosine.hpp"
#include "tokenspace/dispatch.hpp"
#include "tokenspace/knn.hpp"
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
#define TS_STR2(x) #x
#define TS_STR(x) TS_STR2(x)
#ifdef TS_VERSION_INFO
  m.attr("__version__") = TS_STR(TS_VERSION_INFO);
#endif
}
