#!/usr/bin/env bash
# Rewrites results/ci_digests.json: the content digest of every dataset that `meterbench generate` writes for the
# CI scenario (datasets/scenarios/ci.toml), which tests/regression/cross_environment_test.cpp compares with.
# Run it only when the generator's output is meant to change, and commit the new digests with the reason.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/setup.sh" release meterbench cross_environment_test
METERBENCH_UPDATE_DIGESTS=1 "$root/build/release/tests/cross_environment_test" --gtest_filter='CiDigests.*' >/dev/null
# And a check that the recorded digests hold without FMA/AVX2 too (a machine-dependent recording would be useless).
GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,-AVX2 METERBENCH_KERNELS=baseline \
  "$root/build/release/tests/cross_environment_test" --gtest_filter='CiDigests.*' >/dev/null
echo "wrote $root/results/ci_digests.json"
cat "$root/results/ci_digests.json"
