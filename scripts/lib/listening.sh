# Sourced by scripts that run junction-sim and lab-orders on free ports (port 0).
#
# start_listening LOG COMMAND...: starts COMMAND in the background with its standard error in LOG
# and waits for the "... listening on URL" line both binaries print on standard output once they
# accept connections: a blocking read of that line, no polling. Sets listening_url and
# listening_pid, and appends the pid to started_pids. Fails, showing LOG, when the command exits
# or stays silent for 60 s.
started_pids=()

start_listening() {
  local log=$1
  shift
  local fifo output line=""
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  # A plain background job (so wait and wait -n know it) writing into a FIFO that this shell keeps
  # open, so later output never meets a closed pipe. The pid is the command's own, so signals
  # reach it (a shell function given as COMMAND must exec its command itself).
  "$@" >"$fifo" 2>"$log" &
  listening_pid=$!
  started_pids+=("$listening_pid")
  exec {output}<"$fifo"
  rm -f "$fifo"
  if ! read -r -t 60 -u "$output" line || [[ $line != *"listening on "* ]]; then
    echo "$1 did not start (said: \"$line\"); its log $log:" >&2
    cat "$log" >&2
    return 1
  fi
  listening_url=${line##*listening on }
}

# Sends SIGTERM to everything start_listening started and waits for it to exit.
stop_started() {
  local pid
  for pid in "${started_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  started_pids=()
}
