// meterbench._core: the engine's functions for Python. The pandas layer (python/meterbench/__init__.py) wraps
// them; nothing here decides what a result is, the engine does.
#include <stdexcept>
#include <string>

#include <pybind11/pybind11.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "binding.hpp"
#include "engine_call.hpp"
#include "meterbench/core/version.hpp"

namespace py = pybind11;

namespace meterbench::python {

namespace {

// The engine's progress and warnings go to standard error, as the CLI's do (spdlog's default is standard output).
void log_to_standard_error() {
  auto logger = spdlog::stderr_logger_mt("meterbench");
  logger->set_pattern("[%H:%M:%S.%e] [%l] %v");
  spdlog::set_default_logger(logger);
}

void set_log_level(const std::string& level) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    throw std::invalid_argument("log level must be trace, debug, info, warning, error, critical or off, got '" + level + "'");
  spdlog::set_level(parsed);
}

}  // namespace

py::object json_to_python(const std::string& json_text) { return py::module_::import("json").attr("loads")(json_text); }

}  // namespace meterbench::python

PYBIND11_MODULE(_core, module) {
  module.doc() = "The meterbench engine (C++, oneTBB); use the package meterbench, which wraps it with pandas.";
  module.attr("__version__") = meterbench::tool_version();
  meterbench::python::register_exceptions(module);
  meterbench::python::log_to_standard_error();
  module.def("set_log_level", &meterbench::python::set_log_level, py::arg("level"),
             "The engine's log level on standard error: trace, debug, info (the default: progress lines), warning, error, off.");
  meterbench::python::add_dataset_functions(module);
  meterbench::python::add_run_functions(module);
}
