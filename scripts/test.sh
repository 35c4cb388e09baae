#!/usr/bin/env bash
# Checks the floors of the code (cmake/floors.txt), lints the OpenAPI document and checks the
# generated TypeScript SDK and reference page are up to date, builds lab-orders and runs every test
# (unit, integration, the SDK's example against the service, the browser tests), then the
# README's commands as written (scripts/readme-test.sh), then the libFuzzer harnesses briefly,
# then the same suites again under AddressSanitizer and UndefinedBehaviorSanitizer. The README's
# test command.
# Each pass runs beside a throwaway PostgreSQL 15 cluster (scripts/with-postgres.sh), so the store
# suite and the replica tests run on PostgreSQL as well as SQLite; they fail rather than skip here.
# LAB_ORDERS_SANITIZE=0 skips the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# Every include points down a floor (cmake/floors.txt): seconds, so before any build.
bash scripts/check-floors.sh
bash scripts/check-openapi.sh
# The npm-verified webhook receiver (tests/webhooks/receiver): its tests fail, not skip, here.
npm ci --prefix tests/webhooks/receiver --ignore-scripts --no-audit --no-fund --loglevel=error
export LAB_ORDERS_REQUIRE_NODE_RECEIVER=1
# The browser tests' puppeteer-core (tests/browser/): they fail, not skip, here.
npm ci --prefix tests/browser --ignore-scripts --no-audit --no-fund --loglevel=error

jobs=$(nproc)
build_dir=${BUILD_DIR:-build/test}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAB_ORDERS_BUILD_TESTS=ON \
  -DLAB_ORDERS_REQUIRE_SDK_TEST=ON -DLAB_ORDERS_REQUIRE_BROWSER_TEST=ON >/dev/null
cmake --build "$build_dir" -j "$jobs"
export LAB_ORDERS_REQUIRE_POSTGRES=1
scripts/with-postgres.sh ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 300

# The README's commands, marked `<!-- readme-test -->`, run as written in a fresh copy (a build of
# their own, about 5 minutes): once, not in the sanitizer pass.
echo "== the README's commands, as written"
bash scripts/readme-test.sh

# Every parser an outsider reaches, fuzzed briefly (clang, ASan, UBSan): scripts/fuzz.sh runs
# them for as long as asked.
echo "== the fuzz harnesses, ${LAB_ORDERS_FUZZ_SECONDS:-10} s each"
bash scripts/fuzz.sh "${LAB_ORDERS_FUZZ_SECONDS:-10}"

if [ "${LAB_ORDERS_SANITIZE:-1}" != "0" ]; then
  echo "== the same tests under AddressSanitizer and UndefinedBehaviorSanitizer"
  sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  # Startup is what this pass pays most for, in every process a test starts. Not
  # position-independent (-no-pie): the sanitizers' metadata makes millions of relocations that a
  # PIE binary applies, page by page, each time it starts (unit_tests: 1.8 s to list its tests as
  # a PIE, 0.8 s not). Line tables only (-g1): a sanitizer's report still names files and lines.
  # The unit tests run as one process per core, each a shard of the binary (tests/CMakeLists.txt).
  # The benchmarks were built (checked to compile) by the first pass; no test runs them.
  cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DLAB_ORDERS_BUILD_TESTS=ON \
    -DLAB_ORDERS_BUILD_BENCH=OFF -DLAB_ORDERS_REQUIRE_SDK_TEST=ON \
    -DLAB_ORDERS_REQUIRE_BROWSER_TEST=ON -DLAB_ORDERS_UNIT_TEST_SHARDS="$jobs" \
    -DCMAKE_CXX_FLAGS="$sanitize -fno-pie" -DCMAKE_CXX_FLAGS_DEBUG="-g1" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined -no-pie" >/dev/null
  cmake --build build/sanitize -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    scripts/with-postgres.sh ctest --test-dir build/sanitize --output-on-failure -j "$jobs" --timeout 600
fi
