#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang with AddressSanitizer and UndefinedBehaviorSanitizer)
# and runs each for SECONDS (default 60), two at a time, on its seed corpus (fuzz/corpus/<name>,
# in the repository) and what earlier runs here found (build/fuzz/corpus/<name>).
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     e.g. scripts/fuzz.sh 3600 request_head jwt
# Harnesses: request_head json_body jwt svix_headers idempotency_key query_string junction_answers.
# Prints each harness's executions and coverage; a crash, leak, timeout or sanitizer report
# fails the run and names the input that caused it (build/fuzz/artifacts/<name>/).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ $# -gt 0 ] && shift
all=(request_head json_body jwt svix_headers idempotency_key query_string junction_answers)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")
build=${FUZZ_BUILD_DIR:-build/fuzz}

CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLAB_ORDERS_BUILD_FUZZ=ON -DLAB_ORDERS_BUILD_TESTS=OFF -DLAB_ORDERS_BUILD_BENCH=OFF \
  -DLAB_ORDERS_TCMALLOC=OFF >/dev/null
targets=()
for name in "${harnesses[@]}"; do targets+=(--target "fuzz_$name"); done
cmake --build "$build" "${targets[@]}" -j "$(nproc)"

run() {
  local name=$1
  mkdir -p "$build/corpus/$name" "$build/artifacts/$name"
  # -timeout: an input that takes this long is a hang, and a failure. New inputs go to the
  # scratch corpus; the seed corpus in the repository is only read.
  "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$name/" \
    "$build/corpus/$name" "fuzz/corpus/$name" >"$build/fuzz_$name.log" 2>&1
}

failed=0
pids=()
names=()
for name in "${harnesses[@]}"; do
  run "$name" &
  pids+=($!)
  names+=("$name")
  if [ ${#pids[@]} -ge "$(nproc)" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

for name in "${harnesses[@]}"; do
  log="$build/fuzz_$name.log"
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  features=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
    echo "fuzz: $name FAILED after $runs runs:"
    grep -E 'ERROR:|runtime error:|SUMMARY:|Test unit written to' "$log" | head -20
    failed=1
  else
    echo "fuzz: $name: $runs runs in ${seconds} s, coverage $cov edges, $features features, no crash"
  fi
done
exit $failed
