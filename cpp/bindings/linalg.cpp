// Bindings of the dense linear algebra: unit rows, Gram matrices, projections, alignment.
#include <string>

#include "convert.hpp"
#include "tokenspace/align.hpp"
#include "tokenspace/cosine.hpp"
#include "tokenspace/rows.hpp"

namespace tokenspace_py {
namespace {

using namespace tokenspace;

py::tuple normalize(FloatArray x) {
  require_matrix(x, "x");
  const std::size_t n = x.shape(0), d = x.shape(1);
  py::array_t<float> out({n, d});
  py::array_t<float> norms(n);
  {
    KernelCall call;
    normalize_rows(x.data(), n, d, d, out.mutable_data(), norms.mutable_data());
  }
  return py::make_tuple(out, norms);
}

std::int64_t nonfinite_row(FloatArray x) {
  require_matrix(x, "x");
  KernelCall call;
  return first_nonfinite_row(x.data(), x.shape(0), x.shape(1), x.shape(1));
}

py::array gram(FloatArray a, FloatArray b, py::object out_obj, bool clamp_unit, bool unit_rows) {
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
      throw std::invalid_argument(
          "out must have contiguous rows (a C-ordered array or a row slice of one)");
  }
  const std::size_t ldo = out.strides(0) / sizeof(float);
  float* o = out.mutable_data();
  {
    KernelCall call;
    gram_matrix(a.data(), m, d, b.data(), n, d, d, o, ldo, clamp_unit, unit_rows);
  }
  return out;
}

py::array_t<float> project(FloatArray x, FloatArray axis, float offset, py::object center) {
  require_matrix(x, "x");
  const std::size_t n = x.shape(0), d = x.shape(1);
  if (axis.ndim() != 1 || static_cast<std::size_t>(axis.shape(0)) != d)
    throw std::invalid_argument("axis must be a 1-D array of length " + std::to_string(d));
  FloatArray c = optional_vector(center, d, "center");
  py::array_t<float> out(n);
  {
    KernelCall call;
    project_rows(x.data(), n, d, d, axis.data(), offset, out.mutable_data(),
                 center.is_none() ? nullptr : c.data());
  }
  return out;
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
    KernelCall call;
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
    KernelCall call;
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
    KernelCall call;
    softmax_log_normalizer(t.data(), m, d, s.data(), n, d, d, beta,
                           row_max.is_none() ? nullptr : rm.data(), out.mutable_data());
  }
  return out;
}

}  // namespace

void bind_linalg(py::module_& m) {
  m.def("normalize_rows", &normalize, py::arg("x"), "Unit-length rows and the row norms.");
  m.def("first_nonfinite_row", &nonfinite_row, py::arg("x"),
        "Index of the first row with NaN/Inf, or -1.");
  m.def("gram", &gram, py::arg("a"), py::arg("b"), py::arg("out") = py::none(),
        py::arg("clamp_unit") = false, py::arg("unit_rows") = false,
        "A @ B.T through the blocked SIMD kernels (clamp_unit: clip to [-1, 1]; unit_rows: "
        "normalise the rows while packing them, i.e. cosines of the raw rows).");
  m.def(
      "read_pass",
      [](FloatArray x) {
        KernelCall call;
        return read_pass(x.data(), static_cast<std::size_t>(x.size()));
      },
      py::arg("x"),
      "Benchmarks' bandwidth reference: one read of every value with all kernel threads, no "
      "other work; returns the OR of the bit patterns.");
  m.def("project", &project, py::arg("x"), py::arg("axis"), py::arg("offset") = 0.0f,
        py::arg("center") = py::none(), "(x - center) @ axis - offset in one multithreaded pass.");
  m.def(
      "cross_gram", &cross_gram_py, py::arg("x"), py::arg("y"), py::arg("x_shift") = py::none(),
      py::arg("y_shift") = py::none(),
      "(X - x_shift)^T (Y - y_shift) in float64 with the squared Frobenius norms: (M, sxx, syy).");
  m.def("column_means", &column_means_py, py::arg("x"), "Column means in float64.");
  m.def("softmax_log_normalizer", &softmax_log_normalizer_py, py::arg("targets"),
        py::arg("sources"), py::arg("beta"), py::arg("row_max") = py::none(),
        "log sum_j exp(beta <t_i, s_j>) for every target row (row_max: each row's largest "
        "inner product, default 1 for unit rows).");
}

}  // namespace tokenspace_py
