# Shared by the bench scripts: start a release `flick serve` on a data dir.
# Sets FLICK_PID and FLICK_URL. FLICK_BIN picks another binary (a baseline).
start_flick() {
  local data_dir=$1; shift
  local log="$data_dir.log"
  "${FLICK_BIN:-target/release/flick}" serve --listen 127.0.0.1:0 --data-dir "$data_dir" "$@" > "$log.out" 2> "$log" &
  FLICK_PID=$!
  for _ in $(seq 100); do
    FLICK_URL=$(grep -o 'http://[0-9.:]*' "$log.out" 2>/dev/null || true)
    [[ -n "$FLICK_URL" ]] && return 0
    sleep 0.1
  done
  echo "flick did not start; see $log" >&2
  return 1
}

stop_flick() {
  # Unset when no server was started in this shell (the A/B loop starts
  # them in a pipeline's subshell).
  [[ -n ${FLICK_PID:-} ]] || return 0
  kill "$FLICK_PID" 2>/dev/null || true
  wait "$FLICK_PID" 2>/dev/null || true
}

# Creates an account and prints a session token.
token_for() {
  local handle=$1
  curl -sf -X POST "$FLICK_URL/api/v1/accounts" -H 'Content-Type: application/json' \
    -d "{\"handle\":\"$handle\",\"password\":\"bench password\"}" > /dev/null || true
  curl -sf -X POST "$FLICK_URL/api/v1/sessions" -H 'Content-Type: application/json' \
    -d "{\"handle\":\"$handle\",\"password\":\"bench password\"}" | sed -E 's/.*"token":"([^"]+)".*/\1/'
}
