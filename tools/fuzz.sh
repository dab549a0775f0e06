#!/usr/bin/env bash
# A bounded libFuzzer run of every fuzz target (tests/fuzz): builds build/fuzz (clang, tools/setup.sh fuzz), then
# runs each target for the given seconds on a scratch copy of its committed corpus (the committed corpus never
# grows here), with its regression inputs. Exits non-zero on any finding (crash, sanitizer report, timeout, out of
# memory, uncaught exception) and prints the input that caused it.
#   tools/fuzz.sh [seconds-per-target]     (default 25: about 2 minutes for the four targets with a built build/fuzz)
# Findings and logs: build/fuzz/findings/<target>/. Replay one input: build/fuzz/tests/fuzz/<target>_fuzz FILE
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-25}
targets=(ingest_csv ingest_labels scenario dataset)

"$root/tools/setup.sh" fuzz "${targets[@]/%/_fuzz}"
# The dataset target's seeds are made by the Release CLI (generated HDF5 files are not committed).
[[ -x $root/build/release/tools/meterbench ]] || "$root/tools/setup.sh" release meterbench
build="$root/build/fuzz"
findings="$build/findings"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/meterbench-fuzz-corpus.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Leaks inside libhdf5 on corrupt files are HDF5's, not findings (see the file).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan_suppressions.txt}

failed=()
for target in "${targets[@]}"; do
  rm -rf "${findings:?}/$target"
  mkdir -p "$findings/$target" "$scratch/$target"
  if [[ $target == dataset ]]; then
    "$root/tests/fuzz/make_dataset_corpus.sh" "$root/build/release/tools/meterbench" "$scratch/$target"
  else
    cp -R "$root/tests/fuzz/corpus/$target/." "$scratch/$target/"
  fi
  inputs=("$scratch/$target")
  [[ -d $root/tests/fuzz/regressions/$target ]] && inputs+=("$root/tests/fuzz/regressions/$target")
  log="$findings/$target/fuzz.log"
  echo "== fuzz: $target for ${seconds} s"
  # -timeout: one input running over 10 s is a hang; -rss_limit_mb: more than 2 GiB is a finding too.
  if "$build/tests/fuzz/${target}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$findings/$target/" "${inputs[@]}" >"$log" 2>&1; then
    echo "fuzz: $target: $(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [^ ]+' || true);" \
         "$(grep -E '^Done [0-9]+ runs' "$log" || true)"
  else
    failed+=("$target")
    echo "fuzz: FINDING in $target (log: $log)" >&2
    grep -E 'ERROR: |SUMMARY: |runtime error|check failed|Test unit written|terminate called|what\(\)' "$log" | head -20 >&2 || true
    for artifact in "$findings/$target"/crash-* "$findings/$target"/timeout-* "$findings/$target"/oom-* "$findings/$target"/leak-*; do
      [[ -e $artifact ]] && echo "fuzz: input: $artifact  (replay: $build/tests/fuzz/${target}_fuzz $artifact)" >&2
    done
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings in ${targets[*]} (${seconds} s each)"
