#!/usr/bin/env bash
# The floor check must fail on an upward include: plant one (orders including http, a floor up)
# and one sideways (workflow including orders, the same floor) in a copy of the tree, and expect
# scripts/check-floors.sh to name both and exit 1. (The real tree is checked by the build.)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cp -r "$root/cmake" "$root/src" "$root/include" "$scratch/"
sed -i '1a #include "lab_orders/http/api.h"' "$scratch/src/orders/panels.cpp"
sed -i '1a #include "lab_orders/orders/order_service.h"' "$scratch/include/lab_orders/workflow/state.h"
status=0
bash "$root/scripts/check-floors.sh" "$scratch" 2>"$scratch/errors" || status=$?
cat "$scratch/errors"
if [ "$status" -ne 1 ]; then
  echo "FAIL: check-floors exited $status on a tree with planted includes (expected 1)"
  exit 1
fi
for expected in 'src/orders/panels.cpp:2: orders (floor 3) includes "lab_orders/http/api.h"' \
                'include/lab_orders/workflow/state.h:2: workflow (floor 3) includes "lab_orders/orders/order_service.h"'; do
  grep -qF "$expected" "$scratch/errors" || { echo "FAIL: not reported: $expected"; exit 1; }
done
echo "check-floors refused both planted includes"
