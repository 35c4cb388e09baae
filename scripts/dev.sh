#!/usr/bin/env bash
# Builds lab-orders and runs the Junction simulator locally, printing a request that works.
# The README's run command. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${BUILD_DIR:-build/dev}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAB_ORDERS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target junction-sim

sim_listen=${JUNCTION_SIM_LISTEN:-127.0.0.1:8090}
"$build_dir/junction-sim" --listen "$sim_listen" &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 50); do
  curl -fsS "http://$sim_listen/_sim/health" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG

junction-sim is running on http://$sim_listen (the Junction sandbox, simulated).
Try it:

  curl -s -X POST http://$sim_listen/v2/user \\
       -H 'x-vital-api-key: sk_us_dev' -H 'Content-Type: application/json' \\
       -d '{"client_user_id": "brand-demo:patient-1"}'

  curl -s http://$sim_listen/v3/lab_tests -H 'x-vital-api-key: sk_us_dev'
  curl -s http://$sim_listen/_sim/calls

Press Ctrl-C to stop.
MSG
wait "$sim_pid"
