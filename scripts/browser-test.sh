#!/usr/bin/env bash
# The browser tests (tests/browser/, puppeteer-core on Debian's chromium): starts lab-orders on a
# free port in development mode with a throwaway store and runs one test file against it.
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
export_dev_service_env "$work" "$repo"
start_listening "$work/lab-orders.log" "$build/lab-orders" serve

if ! node "$repo/tests/browser/$test_file" "$listening_url" "$build/browser-artifacts"; then
  echo "browser-test: $test_file failed; the service's log:" >&2
  cat "$work/lab-orders.log" >&2
  exit 1
fi
