// Bindings of the SIMD levels, the kernel table and the kernel threads.
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "convert.hpp"
#include "tokenspace/simd.hpp"
#include "tokenspace/threads.hpp"

namespace tokenspace_py {

using namespace tokenspace;

void bind_simd(py::module_& m) {
  m.def(
      "simd_level", [] { return std::string(simd_level_name(active_simd_level())); },
      "The SIMD level in use: 'scalar', 'avx2', 'avx512' or 'avx512_bf16'.");
  m.def(
      "detected_simd_level", [] { return std::string(simd_level_name(detected_simd_level())); },
      "The best SIMD level this CPU supports.");
  m.def(
      "set_simd_level", [](const std::string& name) { set_simd_level(parse_simd_level(name)); },
      py::arg("name"), "Use this SIMD level from now on (ValueError if the CPU lacks it).");
  m.def(
      "available_simd_levels",
      [] {
        std::vector<std::string> out;
        for (SimdLevel l : supported_simd_levels()) out.emplace_back(simd_level_name(l));
        return out;
      },
      "Every SIMD level this CPU can run, lowest first.");
  m.def(
      "kernel_table",
      [](const std::string& level) {
        py::dict out;
        for (const auto& [slot, unit] : kernel_table(parse_simd_level(level)))
          out[py::str(slot)] = unit;
        return out;
      },
      py::arg("level"),
      "{kernel slot: ISA unit providing it at this level, or 'none'} (any level, runnable or "
      "not).");
  m.def(
      "peak_rate",
      [](const std::string& kind, double seconds) {
        py::gil_scoped_release release;
        return peak_rate(kind, seconds);
      },
      py::arg("kind"), py::arg("seconds") = 0.3,
      "Benchmarks only: ops/second of one instruction kind on the calling thread.");
  m.def("num_threads", [] { return num_threads(); }, "Number of kernel threads.");
  m.def(
      "set_num_threads", [](std::size_t n) { set_num_threads(n); }, py::arg("n"),
      "Set the number of kernel threads (>= 1).");
}

}  // namespace tokenspace_py
