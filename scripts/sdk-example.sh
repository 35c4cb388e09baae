#!/usr/bin/env bash
# The TypeScript SDK's example against the running service: compiles
# sdk/typescript/example/create-order.ts with tsc against the generated v1.d.ts, starts
# junction-sim and lab-orders on free ports, and runs the program (it creates an order, waits for
# its appointment, lists orders). ctest runs it as sdk.typescript.example.
# Usage: scripts/sdk-example.sh BUILD_DIR (where lab-orders and junction-sim are)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: sdk-example.sh BUILD_DIR}" && pwd)
sdk=$repo/sdk/typescript
source "$repo/scripts/lib/listening.sh"

out=$build/sdk-example
node "$sdk/node_modules/typescript/bin/tsc" -p "$sdk/example" --outDir "$out"

work=$(mktemp -d)
trap 'stop_started; rm -rf "$work"' EXIT
cd "$work"
start_listening "$work/junction-sim.log" "$build/junction-sim" --listen 127.0.0.1:0
sim_url=$listening_url

# Development mode, with the simulator's key; short polls so the appointment is booked at once.
export LAB_ORDERS_ENV=development LAB_ORDERS_LISTEN=127.0.0.1:0
export LAB_ORDERS_DATABASE=sqlite:$work/lab-orders.db LAB_ORDERS_PANELS=$repo/config/panels.json
export LAB_ORDERS_PHI_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
export LAB_ORDERS_JWT_SECRET=sdk-example-secret-of-at-least-32-characters
export JUNCTION_BASE_URL=$sim_url LAB_ORDERS_REQUISITION_POLL_MS=20 LAB_ORDERS_CONFIRMATION_POLL_MS=20
export LAB_ORDERS_SHUTDOWN_GRACE_MS=0  # nothing to drain when the program is done
start_listening "$work/lab-orders.log" "$build/lab-orders" serve
service_url=$listening_url

token=$("$build/lab-orders" token --brand sdk-example --user sdk-user 2>/dev/null)
if ! LAB_ORDERS_URL=$service_url LAB_ORDERS_TOKEN=$token node "$out/create-order.js"; then
  echo "sdk-example: the program failed; the service's log:" >&2
  cat "$work/lab-orders.log" >&2
  exit 1
fi
