#!/usr/bin/env bash
# Installs what lab-orders needs to build and test, from Debian 12's packages only.
# Safe to run again: it installs only what is missing.
# --build-only: just what building the binaries needs (the Dockerfile's build stage).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates curl openssl
  libpoco-dev nlohmann-json3-dev libvalijson-dev libspdlog-dev libssl-dev
  libsqlite3-dev libpq-dev libgoogle-perftools-dev
  # Compiles once what two builds of the same flags share (CMakeLists.txt: LAB_ORDERS_CCACHE).
  ccache
  # The zone files a fasting panel's morning slots are told by (common/time_zone.h).
  tzdata
)
if [ "${1:-}" != "--build-only" ]; then
  packages+=(libgtest-dev libgmock-dev libbenchmark-dev)
  # The store's tests and the replica tests run on throwaway clusters (scripts/with-postgres.sh).
  packages+=(postgresql-15)
  # The fuzz harnesses (scripts/fuzz.sh): clang and its libFuzzer runtime.
  packages+=(clang libclang-rt-14-dev)
  # The OpenAPI lint, the SDK's generation check and its example (scripts/check-openapi.sh) run
  # on Node: Debian's own unless a node is already installed.
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
  # The browser tests (tests/browser/) drive Debian's own Chromium (no browser download), with a
  # font for their screenshots.
  packages+=(chromium fonts-dejavu-core)
  # The README's commands run in a network namespace of their own (scripts/readme-test.sh), whose
  # loopback ip brings up.
  packages+=(iproute2)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root (or with sudo)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The tests start throwaway clusters of their own (scripts/with-postgres.sh): no system-wide
  # cluster is created or started by the package.
  mkdir -p /etc/postgresql-common
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
