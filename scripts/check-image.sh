#!/usr/bin/env bash
# Proves the Dockerfile's runtime stage complete without a Docker engine. It builds the binaries
# as the build stage does, makes a fresh Debian 12 root with debootstrap (minbase, as
# debian:12-slim), and carries out the runtime stage's own instructions in it: RUN (in a chroot),
# COPY, ENV, USER, WORKDIR. Then, in that root, as that user and with only the environment:
#   lab-orders --help; lab-orders serve against junction-sim (on the host, free ports), which
#   takes an order to appointment_scheduled; the HEALTHCHECK command; SIGTERM, which must exit 0.
# Usage (as root): scripts/check-image.sh. BUILD_DIR=DIR reuses a build holding lab-orders and
# junction-sim; KEEP_ROOT=1 keeps the root file system for a look.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
source scripts/lib/listening.sh

if [ "$(id -u)" -ne 0 ]; then
  echo "check-image: run as root (debootstrap and chroot)" >&2
  exit 1
fi
bash scripts/install-deps.sh --build-only
command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
    >/dev/null
}

# ---- the build stage's binaries -----------------------------------------------------------------
build=${BUILD_DIR:-build/image}
if [ -z "${BUILD_DIR:-}" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAB_ORDERS_BUILD_TESTS=OFF \
    -DLAB_ORDERS_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build" -j "$(nproc)" --target lab-orders junction-sim
fi
build=$(cd "$build" && pwd)

# ---- the runtime stage's instructions, as the Dockerfile says them ------------------------------
# One instruction a line (continuations joined, comments dropped), from "FROM ... AS runtime" to
# the next FROM.
runtime_instructions() {
  local line joined="" in_runtime=0
  while IFS= read -r line || [ -n "$line" ]; do
    [[ $line =~ ^[[:space:]]*# ]] && continue
    if [[ $line == *\\ ]]; then
      joined+="${line%\\} "
      continue
    fi
    joined+=$line
    if [[ $joined =~ ^FROM[[:space:]] ]]; then
      in_runtime=0
      [[ $joined =~ [[:space:]][Aa][Ss][[:space:]]+runtime[[:space:]]*$ ]] && in_runtime=1
    elif [ "$in_runtime" = 1 ] && [[ $joined =~ [^[:space:]] ]]; then
      echo "$joined"
    fi
    joined=""
  done <Dockerfile
}

# ["lab-orders", "serve"] -> lab-orders serve (the simple exec form the Dockerfile uses).
exec_form_words() { sed -e 's/^[[:space:]]*\[//; s/\][[:space:]]*$//; s/"//g; s/,/ /g' <<<"$1"; }

# The Debian mirror this machine uses (deb822 or one-line sources), else Debian's own.
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && /debian\/?$/ {print $2; exit}')
[ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list 2>/dev/null |
  awk '$1 == "deb" && $2 ~ /debian\/?$/ {print $2; exit}')
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/lab-orders-image.XXXXXX)
root=$work/root
cleanup() {
  stop_started
  umount "$root/dev" "$root/proc" 2>/dev/null || true
  if [ "${KEEP_ROOT:-0}" = 1 ]; then echo "check-image: root kept in $root"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "check-image: debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"

base_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
image_env=("PATH=$base_path")
image_user=root
image_workdir=/
healthcheck=""
entrypoint=""
command=""
while IFS= read -r instruction; do
  keyword=${instruction%% *}
  arguments=${instruction#* }
  case $keyword in
    RUN)
      echo "check-image: RUN $arguments"
      env -i "${image_env[@]}" DEBIAN_FRONTEND=noninteractive chroot "$root" /bin/sh -c \
        "$arguments" >>"$work/run.log" 2>&1 || {
        tail -20 "$work/run.log" >&2
        exit 1
      }
      ;;
    COPY)
      read -r -a words <<<"$arguments"
      destination=${words[-1]}
      if [[ ${words[0]} == --from=build ]]; then
        # The build stage builds in /src/build, as this script does in $build.
        source_path=$build/${words[1]#/src/build/}
      else
        source_path=$repo/${words[0]}
      fi
      echo "check-image: COPY $source_path -> $destination"
      mkdir -p "$root$(dirname "$destination")"
      cp "$source_path" "$root$destination"
      ;;
    ENV)
      # KEY=VALUE pairs without spaces in the values, as the Dockerfile writes them.
      read -r -a pairs <<<"$arguments"
      image_env+=("${pairs[@]}")
      ;;
    USER) image_user=$arguments ;;
    WORKDIR)
      image_workdir=$arguments
      mkdir -p "$root$image_workdir"
      ;;
    HEALTHCHECK) healthcheck=$(exec_form_words "${arguments#*CMD }") ;;
    ENTRYPOINT) entrypoint=$(exec_form_words "$arguments") ;;
    CMD) command=$(exec_form_words "$arguments") ;;
    EXPOSE | STOPSIGNAL) ;;
    *)
      echo "check-image: the runtime stage uses $keyword, which this script does not know" >&2
      exit 1
      ;;
  esac
done < <(runtime_instructions)
[ -n "$entrypoint" ] && [ -n "$healthcheck" ] || {
  echo "check-image: the runtime stage has no ENTRYPOINT or no HEALTHCHECK" >&2
  exit 1
}

# Runs a command in the image as its user, in its working directory, with its environment plus
# the given VAR=VALUE words (before the command).
in_image() {
  local settings=()
  while [[ ${1:-} == *=* ]]; do
    settings+=("$1")
    shift
  done
  exec env -i "${image_env[@]}" "${settings[@]}" chroot --userspec="$image_user:$image_user" \
    "$root" /bin/sh -c "cd '$image_workdir' && exec $*"
}

echo "check-image: $entrypoint --help"
(in_image "$entrypoint" --help) >"$work/help.txt"
grep -q "serve" "$work/help.txt" || {
  cat "$work/help.txt" >&2
  exit 1
}

# The service in production mode: every secret from the environment. A free port instead of the
# image's 8080, so nothing else on this machine is in the way.
start_listening "$work/junction-sim.log" "$build/junction-sim" --listen 127.0.0.1:0
settings=(LAB_ORDERS_LISTEN=127.0.0.1:0 "JUNCTION_BASE_URL=$listening_url"
  JUNCTION_API_KEY=sk_us_image_check
  LAB_ORDERS_JWT_SECRET=image-check-secret-of-at-least-32-characters
  LAB_ORDERS_PHI_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
  LAB_ORDERS_REQUISITION_POLL_MS=20 LAB_ORDERS_CONFIRMATION_POLL_MS=20)
echo "check-image: $entrypoint $command"
start_listening "$work/lab-orders.log" in_image "${settings[@]}" "$entrypoint" "$command"
service_url=$listening_url
service_pid=$listening_pid
echo "check-image: serving on $service_url"

token=$(in_image "${settings[@]}" "$entrypoint" token --brand image-check --user image-user)
order=$(curl -sS -X POST "$service_url/v1/labs/orders" -H "Authorization: Bearer $token" \
  -H 'Idempotency-Key: image-check-1' -H 'Content-Type: application/json' \
  -d @- <<'JSON'
{"panel_slug": "pcos", "patient": {"first_name": "Ana", "last_name": "Lopez",
 "dob": "1990-04-12", "email": "ana@example.com", "phone": "602-555-0100", "sex": "female"},
 "address": {"line1": "1 West Lincoln Street", "city": "Phoenix", "state": "AZ",
 "zip": "85004", "country": "US"}}
JSON
)
order_id=$(sed -n 's/.*"id":"\([0-9a-f-]*\)".*"junction_order_id".*/\1/p' <<<"$order")
[ -n "$order_id" ] || {
  echo "check-image: no order created: $order" >&2
  cat "$work/lab-orders.log" >&2
  exit 1
}
scheduled=$(curl -sS "$service_url/v1/labs/orders/$order_id?wait_status=appointment_scheduled,failed&wait_ms=20000" \
  -H "Authorization: Bearer $token")
[[ $scheduled == *'"status":"appointment_scheduled"'* ]] || {
  echo "check-image: the order did not reach appointment_scheduled: $scheduled" >&2
  exit 1
}
echo "check-image: order $order_id reached appointment_scheduled"

port=${service_url##*:}
(in_image "${settings[@]}" "LAB_ORDERS_LISTEN=127.0.0.1:$port" $healthcheck)
echo "check-image: HEALTHCHECK ($healthcheck) passed"

kill -TERM "$service_pid"
status=0
wait "$service_pid" || status=$?
started_pids=("${started_pids[@]/$service_pid/}")
[ "$status" = 0 ] || {
  echo "check-image: lab-orders exited $status on SIGTERM" >&2
  exit 1
}
echo "check-image: SIGTERM stopped lab-orders cleanly (exit 0)"
echo "check-image: passed"
