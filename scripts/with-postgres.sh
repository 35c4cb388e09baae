#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL 15 cluster, then stops and deletes the cluster.
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
#
# The cluster listens on 127.0.0.1 on a free port and on a socket in its own directory. The
# command sees:
#   LAB_ORDERS_TEST_POSTGRES_URL   postgresql://postgres@127.0.0.1:PORT/postgres (trust auth)
#   LAB_ORDERS_TEST_POSTGRES_STOP  a command that stops the cluster (for outage tests)
#   LAB_ORDERS_TEST_POSTGRES_START a command that starts it again on the same port
#   LAB_ORDERS_TEST_POSTGRES_LOG   the server's log file (quoted when a control command fails)
# PostgreSQL refuses to run as root, so as root the cluster belongs to the postgres user.
# Durability is off (fsync, full_page_writes): the cluster is thrown away after the tests.
# LAB_ORDERS_PG_DURABLE=1 keeps PostgreSQL's durable defaults, for benchmarks that compare stores.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

bin_dir=/usr/lib/postgresql/15/bin
if [ ! -x "$bin_dir/pg_ctl" ]; then
  echo "with-postgres: PostgreSQL 15 is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  as_owner=(runuser -u postgres --)
fi

work_dir=$(mktemp -d /tmp/lab-orders-pg.XXXXXX)
chmod 755 "$work_dir"
[ ${#as_owner[@]} -gt 0 ] && chown postgres: "$work_dir"
data_dir=$work_dir/data
log_file=$work_dir/postgres.log

stop_cluster() {
  if [ -f "$data_dir/postmaster.pid" ]; then
    "${as_owner[@]}" "$bin_dir/pg_ctl" -D "$data_dir" stop -m fast >/dev/null 2>&1 || true
  fi
  rm -rf "$work_dir"
}
trap stop_cluster EXIT

"${as_owner[@]}" "$bin_dir/initdb" -D "$data_dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
  --no-sync >"$work_dir/initdb.log" 2>&1 || {
  cat "$work_dir/initdb.log" >&2
  exit 1
}

# Settings live in a file the configuration includes, so a restart (the outage tests) keeps them.
settings=$data_dir/lab-orders-test.conf
echo "include '$settings'" >>"$data_dir/postgresql.conf"

# A free port: the first that a started cluster actually binds. Another process can take a port
# between a check and the start, so a failed start simply tries the next candidate.
# Candidates lie below the kernel's ephemeral range: the outage test restarts the cluster on the
# same port while clients keep connecting, and a port in that range can meanwhile be taken as
# some connection's local port (even by a client connecting to itself while nothing listens),
# and the restart then fails with "Address already in use".
read -r ephemeral_low ephemeral_high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
  { ephemeral_low=32768; ephemeral_high=60999; }
port_base=10000
port_span=$((ephemeral_low - port_base))
if [ "$port_span" -lt 1000 ]; then  # a wide ephemeral range: above it, if there is room
  port_base=$((ephemeral_high + 1))
  port_span=$((65536 - port_base))
fi
if [ "$port_span" -lt 1000 ]; then
  echo "with-postgres: no room outside the ephemeral port range ($ephemeral_low-$ephemeral_high)" >&2
  exit 1
fi
port=""
for _ in $(seq 1 20); do
  candidate=$((port_base + RANDOM % port_span))
  cat >"$settings" <<SETTINGS
port = $candidate
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work_dir'
max_connections = 300
SETTINGS
  if [ "${LAB_ORDERS_PG_DURABLE:-0}" != "1" ]; then
    printf 'fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n' >>"$settings"
  fi
  if "${as_owner[@]}" "$bin_dir/pg_ctl" -D "$data_dir" -l "$log_file" -w -t 30 start \
    >/dev/null 2>&1; then
    port=$candidate
    break
  fi
done
if [ -z "$port" ]; then
  echo "with-postgres: the cluster did not start; its log:" >&2
  cat "$log_file" >&2 || true
  exit 1
fi

# Commands for outage tests.
owner_prefix=""
[ ${#as_owner[@]} -gt 0 ] && owner_prefix="runuser -u postgres -- "
export LAB_ORDERS_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
export LAB_ORDERS_TEST_POSTGRES_STOP="${owner_prefix}$bin_dir/pg_ctl -D $data_dir -m fast -w stop"
export LAB_ORDERS_TEST_POSTGRES_START="${owner_prefix}$bin_dir/pg_ctl -D $data_dir -l $log_file -w start"
export LAB_ORDERS_TEST_POSTGRES_LOG="$log_file"
echo "with-postgres: PostgreSQL 15 on 127.0.0.1:$port (data in $data_dir)"

status=0
"$@" || status=$?
exit $status
