#!/usr/bin/env bash
# Installs the Debian packages meterbench needs (only those missing) and builds it.
#   tools/setup.sh [release|sanitize|fuzz] [target...]   -> build/<flavour> (all targets by default)
# fuzz: the libFuzzer targets of tests/fuzz, built with clang (run them with tools/fuzz.sh).
# Idempotent: a second run installs nothing and rebuilds only what changed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
flavour=${1:-release}
shift || true
targets=("$@")

packages=(cmake make ninja-build g++ git pkg-config
          libtbb-dev libeigen3-dev libhdf5-dev hdf5-tools libspdlog-dev libfmt-dev
          libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev zlib1g-dev
          python3-matplotlib python3-h5py python3-pandas python3-numpy)  # python3-*: `meterbench report`, capacity figures
# `meterbench review`: its HTTP server (cpp-httplib), its browser tests (headless Chromium driven by Selenium).
packages+=(libcpp-httplib-dev chromium chromium-driver python3-selenium)
# npm vendors the review page's charting library at build time. Debian's package is `npm`; a machine whose Node.js
# comes from elsewhere (e.g. NodeSource's nodejs, which bundles npm and conflicts with Debian's npm) keeps its own.
command -v npm >/dev/null || packages+=(npm)
packages+=(python3-dev pybind11-dev python3-pybind11 python3-pytest)  # the Python module (python/, docs/python.md) and its tests
# The fuzz build only: clang and its runtimes (libclang-rt-14-dev holds libFuzzer, ASan and UBSan for clang 14).
if [[ $flavour == fuzz ]]; then packages+=(clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Optional: OpenMPI, for `mpirun -np K meterbench ...` (README "Running on a cluster (MPI)"). Everything builds
# and tests without it; METERBENCH_NO_MPI=1 skips it and builds the one-process implementation only.
optional=(libopenmpi-dev openmpi-bin)
mpi_flag=(-UMETERBENCH_MPI)  # re-decided from whether MPI is found
if [[ ${METERBENCH_NO_MPI:-0} == 1 ]]; then
  mpi_flag=(-DMETERBENCH_MPI=OFF)
else
  missing=()
  for p in "${optional[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})) && [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing optional ${missing[*]}"
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      echo "setup: could not install ${missing[*]}: building without MPI" >&2
  fi
fi

case "$flavour" in
  release) build_type=Release; extra=() ;;
  # -O1 -g1: the sanitizers' usual setting (line tables are enough for their stack traces); compiles in about
  # half the time of -O2 -g, which keeps the two-flavour CI run within its budget.
  # Without MPI: the mpirun tests run in the Release build only (see run_tests.sh); the in-process implementation
  # of the same scale-out code is what the sanitizers check.
  sanitize) build_type=RelWithDebInfo
            extra=(-DMETERBENCH_SANITIZE=ON -DMETERBENCH_BUILD_BENCH=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
            mpi_flag=(-DMETERBENCH_MPI=OFF) ;;
  # The engine instrumented for libFuzzer, ASan and UBSan, and the fuzz targets; no tests, benchmarks or CLI.
  # -O1 -g1 as for the sanitizer build. Without MPI: fuzzing runs one process.
  fuzz) build_type=RelWithDebInfo
        extra=(-DMETERBENCH_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14
               "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
        mpi_flag=(-DMETERBENCH_MPI=OFF) ;;
  *) echo "setup: unknown build '$flavour' (release, sanitize or fuzz)" >&2; exit 2 ;;
esac
# ccache, when the machine has it, makes rebuilds across worktrees and flavours cheap (not required).
command -v ccache >/dev/null && extra+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
build="$root/build/$flavour"
# Ninja keeps both cores busy across target boundaries (the CLI and tests compile while the engine links). A build
# directory made earlier with another generator is reconfigured from scratch: CMake refuses to switch in place.
if [[ -f "$build/CMakeCache.txt" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build/CMakeCache.txt"; then
  echo "setup: $build was configured for another generator: reconfiguring it for Ninja"
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="$build_type" "${extra[@]}" "${mpi_flag[@]}" >/dev/null
if ((${#targets[@]})); then
  cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
else
  cmake --build "$build" -j "$(nproc)"
fi
# The Python module, when pybind11 was found (docs/python.md): importable with this PYTHONPATH.
if compgen -G "$build/python/meterbench/_core*.so" >/dev/null; then
  echo "setup: Python module built: PYTHONPATH=$build/python /usr/bin/python3 -c 'import meterbench'"
fi
