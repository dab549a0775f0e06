#pragma once
// The pieces of the module, each defined in its own file; module.cpp assembles them.
#include <cstdint>
#include <memory>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace meterbench::python {

void add_dataset_functions(pybind11::module_& module);  // dataset_binding.cpp
void add_run_functions(pybind11::module_& module);      // runs_binding.cpp

/// A numpy array of `shape` over the vector's memory, which the array then owns: no copy.
template <class T>
pybind11::array_t<T> array_owning(std::vector<T>&& data, std::vector<pybind11::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(data));
  const pybind11::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return pybind11::array_t<T>(std::move(shape), owned->data(), owner);
}

/// A JSON document of the engine as Python objects (dicts, lists, numbers, strings), via the json module.
pybind11::object json_to_python(const std::string& json_text);

}  // namespace meterbench::python
