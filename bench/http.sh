#!/usr/bin/env bash
# Requests per second on loopback with wrk: For You (visitor and logged in),
# Following, and /healthz as the floor of what the stack can do, on a data dir
# seeded with demo clips. Two cores: wrk and the server share them.
#   bench/http.sh [SECONDS]
#   BASELINE_BIN=/path/to/older/flick bench/http.sh [SECONDS]
#   bench/http.sh --catalogue VIDEOS [SECONDS]
#   BASELINE_BIN=/path/to/older/flick [ROUNDS=3] bench/http.sh --catalogue VIDEOS [SECONDS]
# With BASELINE_BIN, the same requests also go to that binary (its own data
# dir, seeded by itself), endpoint by endpoint in turn, and the table gets a
# ratio column: this build's req/s over the baseline's.
# With --catalogue, the data dir is a synthetic catalogue of VIDEOS videos
# (`flick seed --synthetic`, VIDEOS/10 accounts, 30 views each), and For You
# is requested by ACCOUNTS (2048) of its accounts in turn (bench/tokens.lua), so pages
# are full; the server runs on one core, then on two, at 16, 32 and 64
# connections (CONNS="…" to choose). With BASELINE_BIN too, the two builds
# serve copies of that data dir at once and ROUNDS rounds alternate between
# them (see bench/catalogue.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [[ ${1:-} == --catalogue ]]; then
  catalogue=$2
  shift 2
fi
secs=${1:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -p flick -q
out=bench/out/http
mkdir -p "$out"

# Starts a seeded server of binary $2 as "$1"; sets URL_$1, PID_$1, TOKEN_$1.
serve_as() {
  local name=$1 bin=$2 data="$out/data-$1"
  # Data dirs are per binary: layouts differ between versions.
  [[ -f "$data/.seeded" ]] || {
    rm -rf "$data"
    "$bin" seed --data-dir "$data" --clips 24 --seconds 4 > /dev/null
    touch "$data/.seeded"
  }
  FLICK_BIN=$bin start_flick "$data"
  local token
  token=$(token_for benchuser)
  curl -sf -X PUT -H "Authorization: Bearer $token" "$FLICK_URL/api/v1/users/ana/follow" > /dev/null
  curl -sf -X PUT -H "Authorization: Bearer $token" "$FLICK_URL/api/v1/users/bo/follow" > /dev/null
  # A keyword filter that matches nothing, so pages pay for checking one
  # (builds before keyword filters answer 404 here, which is fine).
  curl -s -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"words":["unmatched phrase"],"action":"hide"}' "$FLICK_URL/api/v1/me/filters" > /dev/null || true
  printf -v "URL_$name" '%s' "$FLICK_URL"
  printf -v "PID_$name" '%s' "$FLICK_PID"
  printf -v "TOKEN_$name" '%s' "$token"
}

if [[ -n "${catalogue:-}" ]]; then
  source bench/catalogue.sh
  exit 0
fi

names=(current)
serve_as current target/release/flick
if [[ -n "${BASELINE_BIN:-}" ]]; then
  names+=(baseline)
  serve_as baseline "$BASELINE_BIN"
fi
cleanup() {
  for n in "${names[@]}"; do
    local pid="PID_$n"
    kill "${!pid}" 2>/dev/null || true
    wait "${!pid}" 2>/dev/null || true
  done
}
trap cleanup EXIT

# wrk against server $1; prints "req/s p50 p99".
measure() {
  local name=$1 label=$2 path=$3 auth=$4
  local url="URL_$name" token="TOKEN_$name" file="$out/$label-$name.txt"
  local headers=()
  [[ $auth == user ]] && headers=(-H "Authorization: Bearer ${!token}")
  wrk -t2 -c64 -d"${secs}s" --latency "${headers[@]}" "${!url}$path" > "$file"
  echo "$(awk '/Requests\/sec/ {print $2}' "$file") $(awk '$1 == "50%" {print $2}' "$file") $(awk '$1 == "99%" {print $2}' "$file")"
}

run() {
  local label=$1 path=$2 auth=${3:-visitor}
  read -r rps p50 p99 <<< "$(measure current "$label" "$path" "$auth")"
  if [[ -n "${BASELINE_BIN:-}" ]]; then
    read -r brps _ _ <<< "$(measure baseline "$label" "$path" "$auth")"
    echo "| $label | \`$path\` | $rps | $p50 | $p99 | $brps | $(awk -v a="$rps" -v b="$brps" 'BEGIN {printf "%.2f", a / b}') |"
  else
    echo "| $label | \`$path\` | $rps | $p50 | $p99 |"
  fi
}
if [[ -n "${BASELINE_BIN:-}" ]]; then
  echo "| endpoint | path | req/s | p50 | p99 | baseline req/s | ratio |"
  echo "|---|---|---:|---:|---:|---:|---:|"
else
  echo "| endpoint | path | req/s | p50 | p99 |"
  echo "|---|---|---:|---:|---:|"
fi
run healthz /healthz
run for-you-visitor "/api/v1/feed/for-you?limit=10"
run for-you-user "/api/v1/feed/for-you?limit=10" user
run following "/api/v1/feed/following?limit=10" user
