#pragma once
// Internal invariants only: a broken one is a bug in meterbench, never bad user input
// (user input is validated and reported with exceptions that name the problem).
#include <cstdio>
#include <cstdlib>

#define METERBENCH_CHECK(condition)                                                          \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "meterbench internal error: check failed: %s (%s:%d)\n", #condition, \
                   __FILE__, __LINE__);                                                      \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
