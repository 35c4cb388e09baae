#!/usr/bin/env bash
# The TypeScript SDK's own tests (sdk/typescript/test/): compiled with the pinned tsc, run with
# node's test runner; no service needed. ctest runs it as sdk.typescript.unit.
set -euo pipefail
source "$(dirname "$0")/lib/dev-service.sh"
sdk=$(cd "$(dirname "$0")/../sdk/typescript" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tsc_strict "$sdk" --rootDir "$sdk" --outDir "$out" "$sdk/test/sdk.test.ts"
node --test "$out/test/sdk.test.js"
