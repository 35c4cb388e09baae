#!/usr/bin/env bash
# The benchmark command. Builds lab-orders, junction-sim and the benchmarks in Release, then
# prints the load table (scenarios a to e, each against the /healthz ceiling of the same run,
# with wrk's figure for the same ceiling beside the driver's, and a, b, c against the Node peer
# in turn with lab-orders) on SQLite, then the same on PostgreSQL 15, and the micro-benchmarks.
# One throwaway durable PostgreSQL 15 cluster (scripts/with-postgres.sh, fsync on) serves both
# passes: the peer runs on it in the SQLite pass too (it has no SQLite), each service in a
# database of its own.
# Arguments go to bench_load (bench/README.md), e.g. --database URL, --duration S, --profile.
# PEER_DIR is the peer's folder (../shared/peer); it is copied to a scratch folder and `npm ci`
# installs its packages there. Without it the loads run without the peer.
# BENCH_POSTGRES=0 skips the PostgreSQL pass; BENCH_MICRO_ARGS replaces bench_micro's
# arguments; BUILD_DIR is the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# wrk checks the load driver; perf profiles with --profile and counts fsyncs (bench/README.md).
# install-deps.sh installs node and npm, which run the peer.
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

# The peer, in a scratch folder (its own folder is read-only) with its locked packages.
peer_dir=""
peer_source=${PEER_DIR:-../shared/peer}
if [ ! -f "$peer_source/server.js" ]; then
  echo "bench: no peer at $peer_source (PEER_DIR): the loads run without it" >&2
elif ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "bench: node or npm missing: the loads run without the peer" >&2
else
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" -ge 20 ] ||
    echo "bench: the peer wants Node 20 or later, and this is $(node --version)" >&2
  peer_dir=$(mktemp -d "${TMPDIR:-/tmp}/lab-orders-peer.XXXXXX")
  trap 'rm -rf "$peer_dir"' EXIT
  cp -r "$peer_source/." "$peer_dir/"
  rm -rf "$peer_dir/node_modules"
  echo "bench: the peer from $peer_source in $peer_dir (npm ci, Node $(node --version))"
  if ! (cd "$peer_dir" && npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1); then
    cat "$peer_dir/npm-ci.log" >&2
    echo "bench: npm ci failed: the loads run without the peer" >&2
    peer_dir=""
  fi
fi
wrk_path=$(command -v wrk || true)
# The PostgreSQL pass, unless the arguments chose a database already or BENCH_POSTGRES=0. A
# PostgreSQL database chosen there serves the peer too; else the cluster does.
postgres_pass=1
if [ "${BENCH_POSTGRES:-1}" = "0" ] || [[ " $* " == *" --database"[\ =]* ]]; then
  postgres_pass=0
fi
own_postgres=0
if [[ " $* " == *" --database"[\ =]postgres* ]]; then own_postgres=1; fi
export build_dir peer_dir postgres_pass own_postgres wrk_path

# The load passes, inside the cluster when there is one (LAB_ORDERS_TEST_POSTGRES_URL).
run_passes() {
  set -euo pipefail
  local postgres_url=${LAB_ORDERS_TEST_POSTGRES_URL:-}
  # The cluster script's own variables are not settings of the services.
  unset LAB_ORDERS_TEST_POSTGRES_URL LAB_ORDERS_TEST_POSTGRES_STOP LAB_ORDERS_TEST_POSTGRES_START \
    LAB_ORDERS_TEST_POSTGRES_LOG \
    LAB_ORDERS_PG_DURABLE
  local wrk=() peer=()
  if [ -n "$wrk_path" ]; then wrk=(--wrk "$wrk_path"); fi
  if [ -n "$peer_dir" ] && [ -n "$postgres_url" ]; then
    peer=(--peer "$peer_dir" --peer-database "$postgres_url")
  elif [ -n "$peer_dir" ]; then
    peer=(--peer "$peer_dir")  # on the PostgreSQL database of the arguments
  fi
  echo "== $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo |
    cut -d: -f2 | sed 's/^ //')), $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$build_dir/bench/bench_load" "${wrk[@]}" "${peer[@]}" "$@"
  echo "== load average after bench_load: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$postgres_pass" = "1" ]; then
    echo "== the same loads on PostgreSQL 15 (scripts/with-postgres.sh, durable)"
    "$build_dir/bench/bench_load" "${wrk[@]}" "${peer[@]}" --database "$postgres_url" "$@"
    echo "== load average after bench_load on PostgreSQL: $(cut -d' ' -f1-3 /proc/loadavg)"
  fi
}
export -f run_passes

if [ "$postgres_pass" = "1" ] || { [ -n "$peer_dir" ] && [ "$own_postgres" = "0" ]; }; then
  LAB_ORDERS_PG_DURABLE=1 scripts/with-postgres.sh bash -c 'run_passes "$@"' run_passes "$@"
else
  run_passes "$@"
fi
echo "== micro-benchmarks (bench_micro)"
# shellcheck disable=SC2086
"$build_dir/bench/bench_micro" ${BENCH_MICRO_ARGS:---benchmark_min_time=0.5}
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
