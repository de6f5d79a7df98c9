#!/usr/bin/env bash
# Requests per second on loopback with wrk: For You (visitor and logged in),
# Following, and /healthz as the floor of what the stack can do, on a data dir
# seeded with demo clips. Two cores: wrk and the server share them.
#   bench/http.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
secs=${1:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -p flick -q
out=bench/out/http
mkdir -p "$out"
data="$out/data"
[[ -f "$data/flick.db" ]] || target/release/flick seed --data-dir "$data" --clips 24 --seconds 4
start_flick "$data"
trap stop_flick EXIT
token=$(token_for benchuser)
curl -sf -X PUT -H "Authorization: Bearer $token" "$FLICK_URL/api/v1/users/ana/follow" > /dev/null
curl -sf -X PUT -H "Authorization: Bearer $token" "$FLICK_URL/api/v1/users/bo/follow" > /dev/null

run() {
  local name=$1 path=$2; shift 2
  local rps p50 p99
  wrk -t2 -c64 -d"${secs}s" --latency "$@" "$FLICK_URL$path" > "$out/$name.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/$name.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$out/$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out/$name.txt")
  echo "| $name | \`$path\` | $rps | $p50 | $p99 |"
}
echo "| endpoint | path | req/s | p50 | p99 |"
echo "|---|---|---:|---:|---:|"
run healthz /healthz
run for-you-visitor "/api/v1/feed/for-you?limit=10"
run for-you-user "/api/v1/feed/for-you?limit=10" -H "Authorization: Bearer $token"
run following "/api/v1/feed/following?limit=10" -H "Authorization: Bearer $token"
