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
node "$sdk/node_modules/typescript/bin/tsc" --target ES2022 --module commonjs --lib ES2022,DOM \
  --types node --typeRoots "$sdk/node_modules/@types" --strict --noUnusedLocals \
  --noUnusedParameters --outDir "$app" "$app/create-order.ts"

cd "$work"
start_listening "$work/junction-sim.log" "$build/junction-sim" --listen 127.0.0.1:0
sim_url=$listening_url

# Development mode (a loopback webhook endpoint is allowed), with the simulator's key; short polls
# so the appointment is booked at once, and deliveries looked for often.
export LAB_ORDERS_ENV=development LAB_ORDERS_LISTEN=127.0.0.1:0
export LAB_ORDERS_DATABASE=sqlite:$work/lab-orders.db LAB_ORDERS_PANELS=$repo/config/panels.json
export LAB_ORDERS_PHI_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
export LAB_ORDERS_JWT_SECRET=sdk-example-secret-of-at-least-32-characters
export JUNCTION_BASE_URL=$sim_url LAB_ORDERS_REQUISITION_POLL_MS=20 LAB_ORDERS_CONFIRMATION_POLL_MS=20
export LAB_ORDERS_WEBHOOK_INTERVAL_MS=50
export LAB_ORDERS_SHUTDOWN_GRACE_MS=0  # nothing to drain when the program is done
start_listening "$work/lab-orders.log" "$build/lab-orders" serve
service_url=$listening_url

token=$("$build/lab-orders" token --brand sdk-example --user sdk-user \
  --scope "labs:orders:read labs:orders:write labs:webhooks:manage" 2>/dev/null)
if ! LAB_ORDERS_URL=$service_url LAB_ORDERS_TOKEN=$token node "$app/create-order.js"; then
  echo "sdk-example: the program failed; the service's log:" >&2
  cat "$work/lab-orders.log" >&2
  exit 1
fi
