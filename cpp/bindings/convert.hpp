// Shared argument conversions of the bindings (the only pybind11 code is in cpp/bindings/).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "tokenspace/threads.hpp"

namespace tokenspace_py {

namespace py = pybind11;

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IdArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

/// Held around every kernel: pins the thread count and SIMD level for the call (a change from
/// another thread applies to the next call), then releases the GIL.
struct KernelCall {
  tokenspace::KernelScope scope;
  py::gil_scoped_release release;
};

inline void require_matrix(const py::array& a, const char* name) {
  if (a.ndim() != 2)
    throw std::invalid_argument(std::string(name) + " must be a 2-D array (rows = vectors), got " +
                                std::to_string(a.ndim()) + "-D");
}

/// None, or a float vector of length d.
inline FloatArray optional_vector(py::object v, std::size_t d, const char* name) {
  FloatArray a;
  if (v.is_none()) return a;
  a = FloatArray::ensure(v);
  if (!a || a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != d)
    throw std::invalid_argument(std::string(name) + " must be a float array of length " +
                                std::to_string(d));
  return a;
}

void bind_knn(py::module_& m);
void bind_linalg(py::module_& m);
void bind_rsa(py::module_& m);
void bind_text_io(py::module_& m);
void bind_simd(py::module_& m);

}  // namespace tokenspace_py
