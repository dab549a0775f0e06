#include "engine_call.hpp"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "meterbench/io/csv.hpp"
#include "meterbench/io/dataset_file.hpp"
#include "meterbench/io/output_path.hpp"
#include "meterbench/runtime/parallel.hpp"
#include "meterbench/runtime/progress.hpp"

namespace py = pybind11;

namespace meterbench::python {

void run_engine(int threads, const std::function<void()>& work) {
  if (threads < 0 || threads > 1024) throw std::invalid_argument(fmt::format("threads must be between 0 (all) and 1024, got {}", threads));
  const int limit = threads == 0 ? hardware_threads() : threads;
  clear_stop_request();
  std::exception_ptr failure;
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  PyObject* interrupt_type = nullptr;
  PyObject* interrupt_value = nullptr;
  PyObject* interrupt_traceback = nullptr;
  {
    const py::gil_scoped_release release;
    std::thread worker([&] {
      try {
        const ThreadLimit thread_limit(limit);
        work();
      } catch (...) {
        failure = std::current_exception();
      }
      const std::lock_guard lock(mutex);
      done = true;
      finished.notify_all();
    });
    std::unique_lock lock(mutex);
    while (!finished.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
      if (interrupt_type != nullptr) continue;  // already stopping: wait for the engine's next block
      lock.unlock();
      {
        const py::gil_scoped_acquire acquire;
        if (PyErr_CheckSignals() != 0) {
          PyErr_Fetch(&interrupt_type, &interrupt_value, &interrupt_traceback);
          request_stop();
        }
      }
      lock.lock();
    }
    lock.unlock();
    worker.join();
  }
  clear_stop_request();
  if (interrupt_type != nullptr) {
    PyErr_Restore(interrupt_type, interrupt_value, interrupt_traceback);
    throw py::error_already_set();
  }
  if (failure) std::rethrow_exception(failure);
}

namespace {

// Python classes made at import; the translator raises them.
struct ErrorClasses {
  PyObject* base = nullptr;
  PyObject* input = nullptr;
  PyObject* dataset = nullptr;
  PyObject* output = nullptr;
  PyObject* engine = nullptr;
};
ErrorClasses error_classes;

// `bases`: one class, or a tuple of classes (the new class takes its own references).
PyObject* add_error_class(py::module_& module, const char* name, py::handle bases, const char* doc) {
  const std::string qualified = fmt::format("meterbench.{}", name);
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  module.add_object(name, py::handle(type));
  return type;
}

}  // namespace

void register_exceptions(py::module_& module) {
  ErrorClasses& e = error_classes;
  e.base = add_error_class(module, "Error", py::handle(PyExc_Exception), "Base of every error the meterbench engine raises.");
  e.input = add_error_class(module, "InputError", py::make_tuple(py::handle(e.base), py::handle(PyExc_ValueError)),
                            "Bad input: an argument, a parameter, a scenario or a row of a frame or CSV file.");
  e.dataset = add_error_class(module, "DatasetError", py::make_tuple(py::handle(e.base), py::handle(PyExc_RuntimeError)),
                              "A file that cannot be read or written as a meterbench dataset.");
  e.output = add_error_class(module, "OutputError", py::make_tuple(py::handle(e.base), py::handle(PyExc_RuntimeError)),
                             "An output that cannot be written (exists without overwrite, no space, unsafe to replace).");
  e.engine = add_error_class(module, "EngineError", py::make_tuple(py::handle(e.base), py::handle(PyExc_RuntimeError)), "Any other failure of the engine.");
  py::register_exception_translator([](std::exception_ptr failure) {
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const py::error_already_set&) {
      throw;
    } catch (const std::invalid_argument& x) {  // also ScenarioError and every detector parameter error
      PyErr_SetString(error_classes.input, x.what());
    } catch (const CsvError& x) {
      PyErr_SetString(error_classes.input, x.what());
    } catch (const DatasetError& x) {
      PyErr_SetString(error_classes.dataset, x.what());
    } catch (const OutputError& x) {
      PyErr_SetString(error_classes.output, x.what());
    } catch (const std::exception& x) {  // SweepTooLarge, DistributedError and the rest
      PyErr_SetString(error_classes.engine, x.what());
    }
  });
}

}  // namespace meterbench::python
