#!/usr/bin/env bash
# The browser tests (tests/browser/, puppeteer-core on Debian's chromium): starts junction-sim and
# lab-orders on free ports, the service in development mode with a throwaway store and the
# simulator's webhooks, and runs one test file against them:
#   node TEST_FILE SERVICE_URL ARTIFACT_DIR SIM_URL, with LAB_ORDERS_TOKEN a brand's token.
# Screenshots land in BUILD_DIR/browser-artifacts/. ctest runs it as browser.<name>.
# Usage: scripts/browser-test.sh BUILD_DIR TEST_FILE (e.g. reference-page.js)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: browser-test.sh BUILD_DIR TEST_FILE}" && pwd)
test_file=${2:?usage: browser-test.sh BUILD_DIR TEST_FILE}
source "$repo/scripts/lib/listening.sh"
source "$repo/scripts/lib/dev-service.sh"

work=$(mktemp -d)
trap 'stop_started; rm -rf "$work"' EXIT
cd "$work"
start_listening "$work/junction-sim.log" "$build/junction-sim" --listen 127.0.0.1:0
sim_url=$listening_url
export_dev_service_env "$work" "$repo"
# The simulator's news comes by webhook (signed with a test-only secret), and the workflow polls
# often: a booking's confirmation reaches the page at once.
hooks=whsec_YnJvd3Nlci10ZXN0cyB3ZWJob29rIHNlY3JldA==
export JUNCTION_BASE_URL=$sim_url JUNCTION_WEBHOOK_SECRET=$hooks
export LAB_ORDERS_REQUISITION_POLL_MS=50 LAB_ORDERS_CONFIRMATION_POLL_MS=50
start_listening "$work/lab-orders.log" "$build/lab-orders" serve
service_url=$listening_url
curl -sf -X POST "$sim_url/_sim/webhooks/config" -H 'Content-Type: application/json' \
  -d "{\"url\": \"$service_url/v1/webhooks/junction\", \"secret\": \"$hooks\"}" >/dev/null
LAB_ORDERS_TOKEN=$("$build/lab-orders" token --brand browser-brand --user browser-user \
  --scope "labs:orders:read labs:orders:write" 2>/dev/null)
export LAB_ORDERS_TOKEN

if ! node "$repo/tests/browser/$test_file" "$service_url" "$build/browser-artifacts" "$sim_url"; then
  echo "browser-test: $test_file failed; the service's log:" >&2
  cat "$work/lab-orders.log" >&2
  exit 1
fi
