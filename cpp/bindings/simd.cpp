// Bindings of the SIMD levels, the kernel table, the kernel threads and long-call jobs.
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
        KernelCall call;
        return peak_rate(kind, seconds);
      },
      py::arg("kind"), py::arg("seconds") = 0.3,
      "Benchmarks only: ops/second of one instruction kind on the calling thread.");
  m.def("num_threads", [] { return num_threads(); }, "Number of kernel threads.");
  m.def(
      "set_num_threads", [](std::size_t n) { set_num_threads(n); }, py::arg("n"),
      "Set the number of kernel threads (1 <= n <= max_threads()); running kernels keep theirs.");
  m.def("max_threads", [] { return max_threads(); }, "Largest accepted number of kernel threads.");
  // A subclass of KeyboardInterrupt: a cancelled kernel is an interrupted one.
  py::register_exception<Cancelled>(m, "Cancelled", PyExc_KeyboardInterrupt);
  py::class_<Job>(m, "Job",
                  "Cancellation flag and progress of the kernel calls made inside `with job:` "
                  "on one thread.")
      .def(py::init<>())
      .def(
          "__enter__",
          [](Job& self) -> Job& {
            if (current_job())
              throw std::invalid_argument("a Job is already active on this thread");
            set_current_job(&self);
            return self;
          },
          py::return_value_policy::reference)
      .def("__exit__",
           [](Job&, py::object, py::object, py::object) {
             set_current_job(nullptr);
             return false;
           })
      .def(
          "cancel", [](Job& self) { self.cancelled.store(true); },
          "Ask the running kernel to stop at its next task boundary (it raises Cancelled).")
      .def_property_readonly(
          "cancelled", [](const Job& self) { return self.cancelled.load(); },
          "Whether cancel() was called.")
      .def(
          "progress",
          [](const Job& self) { return py::make_tuple(self.done.load(), self.total.load()); },
          "(tasks done, tasks started so far) over every parallel phase of the calls.");
}

}  // namespace tokenspace_py
