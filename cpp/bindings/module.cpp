// tokenspace._core: the compiled kernels (private: the tokenspace package wraps them).
// C++ std::invalid_argument becomes ValueError.
#include "convert.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "tokenspace compiled kernels (private: use the tokenspace package)";
  tokenspace_py::bind_knn(m);
  tokenspace_py::bind_linalg(m);
  tokenspace_py::bind_rsa(m);
  tokenspace_py::bind_text_io(m);
  tokenspace_py::bind_simd(m);
#define TS_STR2(x) #x
#define TS_STR(x) TS_STR2(x)
#ifdef TS_VERSION_INFO
  m.attr("__version__") = TS_STR(TS_VERSION_INFO);
#endif
}
