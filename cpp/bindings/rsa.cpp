// Bindings of RSA: correlations of the upper triangles of two similarity matrices.
#include "tokenspace/rsa.hpp"
#include "convert.hpp"

namespace tokenspace_py {
namespace {

using namespace tokenspace;

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
    KernelCall call;
    m = rsa_pearson(x.data(), x.shape(1), y.data(), y.shape(1), x.shape(0));
  }
  return moments_dict(m);
}

py::dict rsa_spearman_py(FloatArray x, FloatArray y, bool store_values) {
  require_same_items(x, y);
  SpearmanResult r;
  {
    KernelCall call;
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
    KernelCall call;
    similarity_triangle(x.data(), d, n, out.mutable_data());
  }
  return out;
}

py::array_t<double> rsa_permuted_cross_py(
    py::array_t<double, py::array::c_style | py::array::forcecast> a,
    py::array_t<double, py::array::c_style | py::array::forcecast> b,
    py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> perms) {
  if (perms.ndim() != 2) throw std::invalid_argument("perms must be 2-D (n_perms, n)");
  const std::size_t P = perms.shape(0), n = perms.shape(1);
  const std::uint64_t N = n_triangle_pairs(n);
  if (a.ndim() != 1 || b.ndim() != 1 || static_cast<std::uint64_t>(a.shape(0)) != N ||
      static_cast<std::uint64_t>(b.shape(0)) != N)
    throw std::invalid_argument("a and b must be 1-D triangles of n (n - 1) / 2 = " +
                                std::to_string(N) + " values for n = " + std::to_string(n));
  py::array_t<double> out(static_cast<py::ssize_t>(P));
  {
    KernelCall call;
    rsa_permuted_cross(a.data(), b.data(), n, perms.data(), P, out.mutable_data());
  }
  return out;
}

}  // namespace

void bind_rsa(py::module_& m) {
  m.def("rsa_pearson", &rsa_pearson_py, py::arg("x"), py::arg("y"),
        "Pearson statistics of the upper triangles (i < j) of X X^T and Y Y^T, streamed.");
  m.def("rsa_spearman", &rsa_spearman_py, py::arg("x"), py::arg("y"),
        py::arg("store_values") = false,
        "Exact Spearman (average ranks for ties) of the upper triangles of X X^T and Y Y^T.");
  m.def("similarity_triangle", &similarity_triangle_py, py::arg("x"),
        "Upper triangle (k=1, row-major) of X X^T as a flat float32 array.");
  m.def("rsa_permuted_cross", &rsa_permuted_cross_py, py::arg("a"), py::arg("b"), py::arg("perms"),
        "For each permutation row p: sum over pairs i < j of a[(i, j)] * b[(p[i], p[j])].");
}

}  // namespace tokenspace_py
