#pragma once
// How the binding calls the engine: off the interpreter's lock, with a oneTBB thread limit, stoppable by Ctrl-C,
// and with the engine's exceptions raised as the module's Python exceptions (same messages).
#include <functional>

#include <pybind11/pybind11.h>

namespace meterbench::python {

/// Runs `work` on a thread of its own with the GIL released and at most `threads` oneTBB threads (0: every
/// hardware thread). Meanwhile this thread, which holds Python's signal handlers, checks them every few tens of
/// milliseconds: on KeyboardInterrupt it asks the engine to stop at its next block (request_stop), waits for
/// it and raises the KeyboardInterrupt; staged outputs are removed by the engine as it unwinds. An exception
/// of `work` is rethrown here. `work` must not touch Python objects.
void run_engine(int threads, const std::function<void()>& work);

/// meterbench.Error and its subclasses, and the translation of engine exceptions to them.
void register_exceptions(pybind11::module_& module);

}  // namespace meterbench::python
