// meterbench._core: the engine's functions for Python. The pandas layer (python/meterbench/__init__.py) wraps
// them; nothing here decides what a result is, the engine does.
#include <pybind11/pybind11.h>

#include "binding.hpp"
#include "engine_call.hpp"
#include "meterbench/core/version.hpp"

namespace py = pybind11;

namespace meterbench::python {

py::object json_to_python(const std::string& json_text) { return py::module_::import("json").attr("loads")(json_text); }

}  // namespace meterbench::python

PYBIND11_MODULE(_core, module) {
  module.doc() = "The meterbench engine (C++, oneTBB); use the package meterbench, which wraps it with pandas.";
  module.attr("__version__") = meterbench::tool_version();
  meterbench::python::register_exceptions(module);
  meterbench::python::add_dataset_functions(module);
  meterbench::python::add_run_functions(module);
}
