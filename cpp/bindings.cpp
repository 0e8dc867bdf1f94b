// The only file that includes pybind11: validate arguments, allocate outputs with the GIL
// held, release the GIL around the kernel. C++ std::invalid_argument becomes ValueError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>

#include "tokenspace/cosine.hpp"
#include "tokenspace/dispatch.hpp"
#include "tokenspace/knn.hpp"
#include "tokenspace/rsa.hpp"
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

py::tuple knn(FloatArray queries, FloatArray base, std::size_t k, const std::string& metric,
              py::object exclude, py::object bias) {
  require_matrix(queries, "queries");
  require_matrix(base, "base");
  const std::size_t m = queries.shape(0), d = queries.shape(1), n = base.shape(0);
  if (static_cast<std::size_t>(base.shape(1)) != d)
    throw std::invalid_argument("queries have dimension " + std::to_string(d) +
                                " but the database has " + std::to_string(base.shape(1)));
  if (k == 0) throw std::invalid_argument("k must be >= 1");
  if (k > n)
    throw std::invalid_argument("k=" + std::to_string(k) + " is larger than the database (" +
                                std::to_string(n) + " rows)");
  Metric met = parse_metric(metric);
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
    knn_search(queries.data(), m, d, base.data(), n, d, d, k, met,
               bias.is_none() ? nullptr : bias_arr.data(), n_ex ? ex.data() : nullptr, n_ex,
               idx.mutable_data(), scores.mutable_data());
  }
  return py::make_tuple(idx, scores);
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

PYBIND11_MODULE(_core, m) {
  m.doc() = "tokenspace compiled kernels (private: use the tokenspace package)";
  m.def("knn", &knn, py::arg("queries"), py::arg("base"), py::arg("k"), py::arg("metric") = "ip",
        py::arg("exclude") = py::none(), py::arg("bias") = py::none(),
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
  m.def("num_threads", [] { return num_threads(); });
  m.def("set_num_threads", [](std::size_t n) { set_num_threads(n); }, py::arg("n"));
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
