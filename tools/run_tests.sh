#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every test; then the same suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer. Idempotent; exits non-zero if any test fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)
for flavour in release sanitize; do
  echo "== tests: $flavour build"
  "$root/tools/setup.sh" "$flavour"
  # Tests labelled "exact" compare floating-point results with a baseline recorded from the Release build.
  # Tests labelled "mpi" (mpirun -np 2) run in the Release build only: under LeakSanitizer every OpenMPI
  # process reports OpenMPI's own allocations from plugins it has unloaded ("<unknown module>", so no
  # suppression file can name them). The same code runs in-process under the sanitizers (distributed_test).
  # setup.sh's sanitizer build builds neither; the exclusion covers a sanitizer build configured by hand.
  # Tests labelled "browser" drive Chromium against the review server: once, in the Release build (the server's
  # HTTP tests, label "python", run under the sanitizers too).
  exclude=(); [[ $flavour == sanitize ]] && exclude=(-LE 'exact|mpi|browser')
  (cd "$root/build/$flavour" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$jobs" "${exclude[@]}")
done
# A bounded libFuzzer run of every fuzz target (clang build in build/fuzz); fails on any finding.
echo "== fuzz: every fuzz target for 25 s (tools/fuzz.sh)"
"$root/tools/fuzz.sh"
