#!/usr/bin/env bash
# The cost per request of PostgreSQL against SQLite: the same release
# binary and demo clips, once with every database in SQLite files and once
# on a throwaway PostgreSQL on the same machine, measured with wrk in
# alternating rounds: a profile, For You (64 accounts in turn), Following
# and a view posted (a write), each as a logged-in account. Two cores: wrk, the server and PostgreSQL share them.
#   bench/postgres.sh [SECONDS] [ROUNDS]
# Prints a markdown table of medians: req/s and p99 for each backend, and
# the ratio PostgreSQL / SQLite of req/s.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
secs=${1:-10}
rounds=${2:-3}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -p flick -q
out=bench/out/postgres
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

limits='[rate_limits]
view = { burst = 100000000, per_secs = 1 }
impressions = { burst = 100000000, per_secs = 1 }
signup = { burst = 1000, per_secs = 1 }
login = { burst = 1000, per_secs = 1 }'
eval "$(scripts/postgres.sh start "$out/pg")"
printf '%s\n' "$limits" > "$out/sqlite.toml"
printf 'public_db = "%s"\n%s\n' "$FLICK_TEST_POSTGRES_URL" "$limits" > "$out/postgres.toml"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/postgres.sh stop "$out/pg"
}
trap cleanup EXIT

declare -A URL TOKEN VIDEO
for backend in sqlite postgres; do
  export FLICK_CONFIG="$out/$backend.toml"
  target/release/flick seed --data-dir "$out/data-$backend" --clips 8 --seconds 4 > /dev/null
  start_flick "$out/data-$backend"
  pids+=("$FLICK_PID")
  URL[$backend]=$FLICK_URL
  TOKEN[$backend]=$(token_for benchuser)
  curl -sf -X PUT -H "Authorization: Bearer ${TOKEN[$backend]}" "$FLICK_URL/api/v1/users/ana/follow" > /dev/null
  # For You is asked by 64 accounts in turn, as real traffic would: one
  # account's pages wait on its own impression log one after another.
  for i in $(seq 64); do token_for "viewer$i"; done > "$out/tokens-$backend.txt"
  VIDEO[$backend]=$(curl -sf "$FLICK_URL/api/v1/feed/for-you?limit=1" | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)
done
unset FLICK_CONFIG

# wrk once; prints "req/s p99".
measure() {
  local backend=$1 label=$2 path=$3 file="$out/$label-$backend-$4.txt"
  local args=(-H "Authorization: Bearer ${TOKEN[$backend]}")
  [[ $label == view ]] && args=(-s bench/view.lua)
  [[ $label == for-you ]] && args=(-s bench/tokens.lua)
  TOKENS=$out/tokens-$backend.txt TOKEN=${TOKEN[$backend]} VIDEO=${VIDEO[$backend]} \
    wrk -t2 -c16 -d"${secs}s" --latency "${args[@]}" "${URL[$backend]}$path" > "$file"
  echo "$(awk '/Requests\/sec/ {print $2}' "$file") $(awk '$1 == "99%" {print $2}' "$file")"
}
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

echo "| request | SQLite req/s | SQLite p99 | PostgreSQL req/s | PostgreSQL p99 | PostgreSQL / SQLite |"
echo "|---|---:|---:|---:|---:|---:|"
for case in "profile:/api/v1/users/ana" "for-you:/api/v1/feed/for-you?limit=10" "following:/api/v1/feed/following?limit=10" "view:/"; do
  label=${case%%:*}
  path=${case#*:}
  declare -A rps=() p99=()
  for r in $(seq "$rounds"); do
    for backend in sqlite postgres; do
      read -r q p <<< "$(measure "$backend" "$label" "$path" "$r")"
      rps[$backend]+="$q "
      p99[$backend]+="$p "
    done
  done
  s=$(tr ' ' '\n' <<< "${rps[sqlite]}" | grep . | median)
  g=$(tr ' ' '\n' <<< "${rps[postgres]}" | grep . | median)
  # p99 as wrk prints it (e.g. 12.3ms); the median of the rounds' values.
  sp=$(tr ' ' '\n' <<< "${p99[sqlite]}" | grep . | sort -V | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  gp=$(tr ' ' '\n' <<< "${p99[postgres]}" | grep . | sort -V | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  echo "| $label | $s | $sp | $g | $gp | $(awk -v a="$g" -v b="$s" 'BEGIN {printf "%.2f", a / b}') |"
done
