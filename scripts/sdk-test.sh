#!/usr/bin/env bash
# The TypeScript SDK's own tests (sdk/typescript/test/): compiled with the pinned tsc, run with
# node's test runner; no service needed. ctest runs it as sdk.typescript.unit.
set -euo pipefail
sdk=$(cd "$(dirname "$0")/../sdk/typescript" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node "$sdk/node_modules/typescript/bin/tsc" --target ES2022 --module commonjs --lib ES2022,DOM \
  --types node --typeRoots "$sdk/node_modules/@types" --strict --noUnusedLocals \
  --noUnusedParameters --rootDir "$sdk" --outDir "$out" "$sdk/test/sdk.test.ts"
node --test "$out/test/sdk.test.js"
