#!/usr/bin/env bash
# The benchmark command. Builds lab-orders, junction-sim and the benchmarks in Release, then
# prints the load table (scenarios a to d, each against the /healthz ceiling of the same run,
# with wrk's figure for the same ceiling beside the driver's) and the micro-benchmarks.
# Arguments go to bench_load (bench/README.md), e.g. --database URL, --duration S, --profile.
# BENCH_MICRO_ARGS replaces bench_micro's arguments; BUILD_DIR the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# wrk checks the load driver; perf profiles with --profile (bench/README.md).
missing=()
for package in wrk linux-perf; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "bench: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null || { apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null; }
  else
    echo "bench: ${missing[*]} missing (run as root to install); going on without" >&2
  fi
fi

build_dir=${BUILD_DIR:-build/bench}
# -j2: the machines this runs on have two cores, shared.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLAB_ORDERS_BUILD_TESTS=OFF \
  -DLAB_ORDERS_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" -j 2 --target bench_load bench_pending_appointments bench_micro

echo "== $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo |
  cut -d: -f2 | sed 's/^ //')), $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
wrk_flag=()
if command -v wrk >/dev/null; then wrk_flag=(--wrk "$(command -v wrk)"); fi
"$build_dir/bench/bench_load" "${wrk_flag[@]}" "$@"
echo "== load average after bench_load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== micro-benchmarks (bench_micro)"
# shellcheck disable=SC2086
"$build_dir/bench/bench_micro" ${BENCH_MICRO_ARGS:---benchmark_min_time=0.5}
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
