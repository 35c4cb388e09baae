#!/usr/bin/env bash
# Builds lab-orders and runs it locally beside the Junction simulator, with the embedded SQLite
# store, then prints a request that creates an order. The README's run command. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${BUILD_DIR:-build/dev}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAB_ORDERS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target junction-sim lab-orders

sim_listen=${JUNCTION_SIM_LISTEN:-127.0.0.1:8090}
export LAB_ORDERS_ENV=development
export LAB_ORDERS_LISTEN=${LAB_ORDERS_LISTEN:-127.0.0.1:8080}
export LAB_ORDERS_DATABASE=${LAB_ORDERS_DATABASE:-sqlite:var/lab-orders.db}
export JUNCTION_BASE_URL=http://$sim_listen
# The simulator signs its webhooks with this development secret; the service verifies them.
export JUNCTION_WEBHOOK_SECRET=${JUNCTION_WEBHOOK_SECRET:-whsec_ZGV2ZWxvcG1lbnQtd2ViaG9vay1zZWNyZXQtMzJi}

# Each binary prints one "listening on" line once it accepts connections: start_listening waits
# for that line.
source scripts/lib/listening.sh
trap stop_started EXIT INT TERM
mkdir -p var
start_listening var/junction-sim.log "$build_dir/junction-sim" --listen "$sim_listen" \
  --webhook-url "http://$LAB_ORDERS_LISTEN/v1/webhooks/junction" \
  --webhook-secret "$JUNCTION_WEBHOOK_SECRET"
start_listening var/lab-orders.log "$build_dir/lab-orders" serve

token=$("$build_dir/lab-orders" token --brand demo-brand --user demo-user 2>/dev/null)
key="demo-$(date +%s)"

cat <<MSG

lab-orders is running on http://$LAB_ORDERS_LISTEN (development mode, SQLite in var/),
with the Junction simulator on http://$sim_listen. Logs: var/lab-orders.log, var/junction-sim.log.

Create an order:

  curl -s -X POST http://$LAB_ORDERS_LISTEN/v1/labs/orders \\
    -H 'Authorization: Bearer $token' \\
    -H 'Idempotency-Key: $key' -H 'Content-Type: application/json' \\
    -d '{"panel_slug": "pcos", "patient": {"first_name": "Ana", "last_name": "Lopez",
         "dob": "1990-04-12", "email": "ana@example.com", "phone": "602-555-0100", "sex": "female"},
         "address": {"line1": "1 West Lincoln Street", "city": "Phoenix", "state": "AZ",
         "zip": "85004", "country": "US"}}'

Send it twice: the second answer is the first one replayed (Idempotent-Replayed: true).
Then watch it reach appointment_scheduled (the workflow books the earliest slot by itself):
  curl -s http://$LAB_ORDERS_LISTEN/v1/labs/orders/<id> -H 'Authorization: Bearer $token'
List orders:  curl -s http://$LAB_ORDERS_LISTEN/v1/labs/orders -H 'Authorization: Bearer $token'
What Junction saw:  curl -s http://$sim_listen/_sim/calls

Press Ctrl-C to stop.
MSG
wait -n "${started_pids[@]}"
