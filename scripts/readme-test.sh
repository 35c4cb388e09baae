#!/usr/bin/env bash
# The README, run as a new user would: first its run command, ./scripts/dev.sh, whose printed
# curl must create an order (then it is stopped, as Ctrl-C would); then every fenced shell block
# marked `<!-- readme-test -->`, in the order written, as one shell session, in a throwaway copy of the repository as a clone would
# have it (tracked and new files; no build, no var/, no node_modules). It runs in namespaces of
# its own: a network with only loopback (so the README's fixed ports are nobody else's, and a
# command that needs the internet fails), and a process tree whose every process ends with it.
# npm works from its cache (npm_config_offline): the test command's own `npm ci` filled it.
# Beyond each command's exit status, every curl must get a 2xx (curl runs with
# --fail-with-body). As root; scripts/test.sh runs it after the first pass.
#   scripts/readme-test.sh          run them
#   scripts/readme-test.sh --list   print the script it would run
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

# The marked blocks, each introduced by an echo of where it stands in the README.
extract() {
  awk '
    /^<!-- readme-test -->$/ { marked = 1; next }
    marked && /^```sh$/ { inside = 1; marked = 0; printf "echo \"== README.md line %d\"\n", NR; next }
    inside && /^```$/ { inside = 0; print ""; next }
    inside { print; next }
    { marked = 0 }
  ' "$repo/README.md"
}

script=$(extract)
markers=$(grep -c '^<!-- readme-test -->$' "$repo/README.md" || true)
blocks=$(grep -c '^echo "== README.md line' <<<"$script" || true)
if [ "$blocks" -eq 0 ] || [ "$blocks" -ne "$markers" ]; then
  echo "readme-test: $markers markers in README.md, $blocks of them before a \`\`\`sh block" >&2
  exit 1
fi
if [ "${1:-}" = "--list" ]; then
  echo "$script"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "readme-test: run as root (it makes network and process namespaces)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/lab-orders-readme.XXXXXX)
# Removed when every block ran; kept, with its logs in repo/var/, when one failed.
trap 'status=$?; if [ $status -eq 0 ]; then rm -rf "$work"; else
  echo "readme-test: failed ($status); the copy and its logs are in $work/repo" >&2; fi' EXIT
mkdir "$work/repo"
git -C "$repo" ls-files -z --cached --others --exclude-standard |
  (cd "$repo" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
  tar -C "$repo" --null -T - -cf - | tar -C "$work/repo" -xf -
{
  echo 'set -eo pipefail'
  echo 'curl() { command curl --fail-with-body "$@"; }'
  echo 'export -f curl'
  cat <<'DEV'
echo "== README.md: ./scripts/dev.sh, and the curl it prints"
exec {dev_output}< <(exec ./scripts/dev.sh 2>&1)
dev_pid=$!
printed=""
# Its build takes minutes; a blocking read of each line it prints, no polling.
while IFS= read -r -t 1800 -u "$dev_output" line; do
  printf '%s\n' "$line"
  printed+="$line"$'\n'
  [[ $line == "Press Ctrl-C to stop." ]] && break
done
if [[ $printed != *"Press Ctrl-C to stop."* ]]; then
  echo "readme-test: ./scripts/dev.sh ended or went silent before it was ready" >&2
  exit 1
fi
# The command under "Create an order:", up to the blank line after it.
create=$(printf '%s' "$printed" |
  awk '/^Create an order:/ { on = 1; next } on && /^$/ { if (seen) exit; next } on { seen = 1; print }')
if [[ -z $create ]]; then
  echo "readme-test: ./scripts/dev.sh printed no command under \"Create an order:\"" >&2
  exit 1
fi
echo "+ $create"
answer=$(bash -c "$create")
echo "$answer"
if [[ $answer != *'"status":"ordered"'* ]]; then
  echo "readme-test: the printed curl did not create an order" >&2
  exit 1
fi
# Ctrl-C at a terminal; SIGTERM here (a background job ignores SIGINT), which dev.sh traps alike.
kill -TERM "$dev_pid"
wait "$dev_pid" || true
# Its simulator and service are gone, so what follows meets its own, not these.
for port in 8080 8090; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "readme-test: something still listens on port $port after dev.sh stopped" >&2
    exit 1
  fi
done
DEV
  echo 'set -x'
  echo "$script"
} >"$work/readme.sh"

echo "readme-test: $(grep -c '^echo "== README.md line' "$work/readme.sh") blocks of README.md, in $work/repo"
cd "$work/repo"
started=$(date +%s)
# PID 1 of the new namespace is this bash: when it ends, the kernel ends every process left.
unshare --net --pid --fork --mount-proc bash -c '
  ip link set lo up
  export npm_config_offline=true
  exec bash "$1"' readme "$work/readme.sh"
echo "readme-test: every marked block ran, in $(($(date +%s) - started)) s"
