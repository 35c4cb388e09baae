# Sourced by the scripts that run the service for a test program (sdk-example.sh,
# browser-test.sh) and compile TypeScript against the SDK's pinned tools.
#
# export_dev_service_env WORK_DIR REPO: development mode on a free port, with a throwaway SQLite
# store in WORK_DIR, the repository's panels, a fixed test PHI key and no shutdown drain. The
# caller adds what its program needs, then start_listening (scripts/lib/listening.sh).
export_dev_service_env() {
  export LAB_ORDERS_ENV=development LAB_ORDERS_LISTEN=127.0.0.1:0
  export LAB_ORDERS_DATABASE=sqlite:$1/lab-orders.db LAB_ORDERS_PANELS=$2/config/panels.json
  export LAB_ORDERS_PHI_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
  export LAB_ORDERS_SHUTDOWN_GRACE_MS=0  # nothing to drain when the program is done
}

# tsc_strict SDK_DIR TSC_OPTIONS... FILE: the SDK's pinned tsc, strict, CommonJS for Node, with
# the SDK's @types (node); as a customer's own code is compiled.
tsc_strict() {
  local sdk=$1
  shift
  node "$sdk/node_modules/typescript/bin/tsc" --target ES2022 --module commonjs --lib ES2022,DOM \
    --types node --typeRoots "$sdk/node_modules/@types" --strict --noUnusedLocals \
    --noUnusedParameters "$@"
}
