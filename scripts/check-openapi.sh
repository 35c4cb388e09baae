#!/usr/bin/env bash
# The OpenAPI document's checks, run by scripts/test.sh:
#   1. @redocly/cli lints schemas/openapi.json (redocly.yaml: the recommended rules, as errors);
#   2. sdk/typescript/v1.d.ts must be what openapi-typescript generates from it now;
#   3. docs/reference.html (the API reference page GET /docs serves) must be what the pinned
#      @redocly/cli builds from it now (scripts/lib/reference-page.js).
# The tools are the versions pinned in sdk/typescript/package-lock.json, installed with npm ci
# (again only when the lock file changed). --write regenerates both files instead of failing.
set -euo pipefail
cd "$(dirname "$0")/.."

sdk=sdk/typescript
installed_lock=$sdk/node_modules/.installed-package-lock.json
if ! cmp -s "$sdk/package-lock.json" "$installed_lock"; then
  echo "check-openapi: npm ci in $sdk"
  # No install scripts: none of the pinned tools needs one.
  (cd "$sdk" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$sdk/package-lock.json" "$installed_lock"
fi
bin=$sdk/node_modules/.bin

echo "check-openapi: lint"
"$bin/redocly" lint --config redocly.yaml schemas/openapi.json

generated=$(mktemp)
page=$(mktemp)
trap 'rm -f "$generated" "$page"' EXIT
# From $sdk, where openapi-typescript finds no redocly.yaml: it would apply the lint rules again
# without their list of exceptions (.redocly.lint-ignore.yaml).
(cd "$sdk" && node_modules/.bin/openapi-typescript ../../schemas/openapi.json --output "$generated" \
  >/dev/null)
if [ "${1:-}" = "--write" ]; then
  cp "$generated" "$sdk/v1.d.ts"
  echo "check-openapi: wrote $sdk/v1.d.ts"
elif ! diff -u "$sdk/v1.d.ts" "$generated"; then
  echo "check-openapi: $sdk/v1.d.ts is stale: run scripts/check-openapi.sh --write and commit it" >&2
  exit 1
else
  echo "check-openapi: $sdk/v1.d.ts is up to date"
fi

node scripts/lib/reference-page.js schemas/openapi.json "$page"
if [ "${1:-}" = "--write" ]; then
  cat "$page" >docs/reference.html
  echo "check-openapi: wrote docs/reference.html"
elif ! cmp -s docs/reference.html "$page"; then
  echo "check-openapi: docs/reference.html is stale: run scripts/check-openapi.sh --write and" \
    "commit it" >&2
  exit 1
else
  echo "check-openapi: docs/reference.html is up to date"
fi
