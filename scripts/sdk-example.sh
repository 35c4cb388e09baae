#!/usr/bin/env bash
# The TypeScript SDK as a customer gets it, against the running service: `npm pack` of
# sdk/typescript (its prepack step compiles src/ with tsc), the tarball installed by name into a
# scratch project, sdk/typescript/example/create-order.ts compiled there against it, then run
# against junction-sim and lab-orders started on free ports (it registers a webhook endpoint on a
# receiver of its own, creates an order, waits for its appointment, lists orders and verifies the
# deliveries with the SDK's verifyWebhook). ctest runs it as sdk.typescript.example.
# Usage: scripts/sdk-example.sh BUILD_DIR (where lab-orders and junction-sim are)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: sdk-example.sh BUILD_DIR}" && pwd)
sdk=$repo/sdk/typescript
source "$repo/scripts/lib/listening.sh"
source "$repo/scripts/lib/dev-service.sh"

work=$(mktemp -d)
trap 'stop_started; rm -rf "$work"' EXIT

# The package, as npm would publish it.
(cd "$sdk" && npm pack --pack-destination "$work" --silent >/dev/null)
tarball=$(ls "$work"/*.tgz)
app=$work/app
mkdir -p "$app"
cp "$sdk/example/create-order.ts" "$app/"
echo '{"name": "sdk-example", "private": true}' >"$app/package.json"
# The SDK has no dependencies: nothing is fetched.
npm install --prefix "$app" "$tarball" --offline --ignore-scripts --no-audit --no-fund \
  --loglevel=error >/dev/null
# Compiled as the customer's own code: strict, resolving the SDK from node_modules by name.
tsc_strict "$sdk" --outDir "$app" "$app/create-order.ts"

cd "$work"
start_listening "$work/junction-sim.log" "$build/junction-sim" --listen 127.0.0.1:0
sim_url=$listening_url

# Development mode (a loopback webhook endpoint is allowed), with the simulator's key; short polls
# so the appointment is booked at once, and deliveries looked for often.
export_dev_service_env "$work" "$repo"
export LAB_ORDERS_JWT_SECRET=sdk-example-secret-of-at-least-32-characters
export JUNCTION_BASE_URL=$sim_url LAB_ORDERS_REQUISITION_POLL_MS=20 LAB_ORDERS_CONFIRMATION_POLL_MS=20
export LAB_ORDERS_WEBHOOK_INTERVAL_MS=50
start_listening "$work/lab-orders.log" "$build/lab-orders" serve
service_url=$listening_url

token=$("$build/lab-orders" token --brand sdk-example --user sdk-user \
  --scope "labs:orders:read labs:orders:write labs:webhooks:manage" 2>/dev/null)
if ! LAB_ORDERS_URL=$service_url LAB_ORDERS_TOKEN=$token node "$app/create-order.js"; then
  echo "sdk-example: the program failed; the service's log:" >&2
  cat "$work/lab-orders.log" >&2
  exit 1
fi
