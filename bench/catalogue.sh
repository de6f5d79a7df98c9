# Sourced by bench/http.sh --catalogue N: For You over HTTP on a synthetic
# catalogue of $catalogue videos, server on 1 core then 2 (wrk unpinned).
# With BASELINE_BIN: instead, this build and that one in turn on the same
# data dir and 2 cores, $ROUNDS times (default 3), each run's pages/s and
# the server's CPU time per page, then the medians and their ratio.
users=$(( catalogue / 10 > 1000 ? catalogue / 10 : 1000 ))
data="$out/data-catalogue-$catalogue"
[[ -f "$data/.seeded" ]] || {
  rm -rf "$data"
  target/release/flick seed --synthetic --data-dir "$data" \
    --videos "$catalogue" --users "$users" --events-per-user 30 | tail -1 >&2
  touch "$data/.seeded"
}
tokens="$out/tokens-$catalogue.txt"
# The shipped configuration, except that logging in 256 accounts from one
# address is allowed (only the token set-up logs in; it is not measured).
config="$out/catalogue.toml"
printf '[rate_limits]\nlogin = { burst = 1000, per_secs = 1 }\n' > "$config"

# Starts the server on CPUs $1 (taskset list); sets FLICK_PID, FLICK_URL
# and STARTUP (seconds until it listens: snapshot load plus replay).
start_on() {
  local cpus=$1 t0 log="$data.log"
  t0=$(date +%s.%N)
  taskset -c "$cpus" "${SERVER_BIN:-target/release/flick}" --config "$config" serve --listen 127.0.0.1:0 --data-dir "$data" \
    > "$log.out" 2> "$log" &
  FLICK_PID=$!
  FLICK_URL=
  until [[ -n "$FLICK_URL" ]]; do
    kill -0 "$FLICK_PID" 2>/dev/null || { echo "flick did not start; see $log" >&2; exit 1; }
    sleep 0.2
    FLICK_URL=$(grep -o 'http://[0-9.:]*' "$log.out" 2>/dev/null || true)
  done
  STARTUP=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
}
trap stop_flick EXIT

measure_on() {
  local cpus=$1 label=$2
  start_on "$cpus"
  if [[ ! -s "$tokens" ]]; then
    for i in $(seq 1 256); do
      curl -sf -X POST "$FLICK_URL/api/v1/sessions" -H 'Content-Type: application/json' \
        -d "{\"handle\":\"s$i\",\"password\":\"flick-synthetic\"}" |
        sed -E 's/.*"token":"([^"]+)".*/\1\n/'
    done > "$tokens"
  fi
  # The first refit after start, and the index build after it, run in the
  # background; measure after both, as a server that has been up a while
  # would be.
  local t0 refit
  t0=$(date +%s)
  until curl -sf "$FLICK_URL/api/v1/algorithm" | grep '"refitted_at_events":[0-9]' |
    grep -q '"retrieval":"index"'; do
    sleep 1
  done
  # A data dir whose log gained events since its last refit (a view
  # stream, an earlier benchmark) refits again after start, for minutes of
  # one core at this size: wait for it, or it would share the measurement.
  until curl -sf "$FLICK_URL/api/v1/algorithm" | python3 -c '
import json, sys
a = json.load(sys.stdin)
every = a["config"]["batch"]["refresh_every"]
sys.exit(any(m["events"] - (m["refitted_at_events"] or 0) >= every for m in a["models"]))'; do
    sleep 2
  done
  refit=$(( $(date +%s) - t0 ))
  # A page for one of them must be full, or the figure would flatter.
  local n
  n=$(curl -sf -H "Authorization: Bearer $(head -1 "$tokens")" \
    "$FLICK_URL/api/v1/feed/for-you?limit=10" | grep -o '"reasons"' | wc -l)
  [[ $n -eq 10 ]] || { echo "a page had $n items, not 10" >&2; exit 1; }
  local rss
  # Resident memory once warm (after the refit and the token logins).
  rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$FLICK_PID/status")
  wrk -t2 -c64 -d"${secs}s" --latency "$FLICK_URL/healthz" > "$out/cat-healthz-$label.txt"
  local cpu0 cpu1 pages
  cpu0=$(awk '{print $14 + $15}' "/proc/$FLICK_PID/stat")
  TOKENS="$tokens" wrk -t2 -c64 -d"${secs}s" --latency -s bench/tokens.lua \
    "$FLICK_URL/api/v1/feed/for-you?limit=10" > "$out/cat-foryou-$label.txt"
  cpu1=$(awk '{print $14 + $15}' "/proc/$FLICK_PID/stat")
  pages=$(awk '/requests in/ {print $1}' "$out/cat-foryou-$label.txt")
  # Clock ticks (100 a second) to milliseconds, per page.
  awk -v a="$cpu0" -v b="$cpu1" -v n="$pages" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%.2f", (b - a) * 1000 / hz / n}' > "$out/cat-cpu-$label.txt"
  local f="$out/cat-foryou-$label.txt" h="$out/cat-healthz-$label.txt"
  echo "| $label | $(awk '/Requests\/sec/ {print $2}' "$f") | $(awk '$1 == "50%" {print $2}' "$f") | $(awk '$1 == "99%" {print $2}' "$f") | $(awk '/Non-2xx/ {print $NF}' "$f") | $(awk '/Requests\/sec/ {print $2}' "$h") | ${STARTUP} s | ${refit} s | ${rss} MiB |"
  stop_flick
}

# One A/B run of binary $1 labelled $2: pages/s, p99 and the server's CPU
# milliseconds (user + system, from /proc) per page served.
ab_run() {
  SERVER_BIN=$1
  measure_on 0,1 "$2" > /dev/null
}

if [[ -n "${BASELINE_BIN:-}" ]]; then
  echo "catalogue: $catalogue synthetic videos; this build against $BASELINE_BIN, 2 cores, in turn"
  echo "| run | build | For You pages/s | p99 | server CPU ms per page | /healthz req/s |"
  echo "|---|---|---:|---:|---:|---:|"
  for round in $(seq 1 "${ROUNDS:-3}"); do
    for build in baseline current; do
      bin=target/release/flick
      [[ $build == baseline ]] && bin=$BASELINE_BIN
      ab_run "$bin" "ab-$build"
      f="$out/cat-foryou-ab-$build.txt"
      echo "| $round | $build | $(awk '/Requests\/sec/ {print $2}' "$f") | $(awk '$1 == "99%" {print $2}' "$f") | $(cat "$out/cat-cpu-ab-$build.txt") | $(awk '/Requests\/sec/ {print $2}' "$out/cat-healthz-ab-$build.txt") |"
    done
  done | tee "$out/cat-ab.md"
  python3 - "$out/cat-ab.md" <<'PY'
import statistics, sys
rows = [l.split("|")[1:-1] for l in open(sys.argv[1]) if l.startswith("| ")]
by = {}
for r in rows:
    by.setdefault(r[1].strip(), []).append((float(r[2]), float(r[4])))
med = {b: (statistics.median(p for p, _ in v), statistics.median(c for _, c in v)) for b, v in by.items()}
for b in ("baseline", "current"):
    print(f"median {b}: {med[b][0]:.0f} pages/s, {med[b][1]:.2f} ms CPU per page")
print(f"current / baseline: pages/s {med['current'][0] / med['baseline'][0]:.2f}x, CPU per page {med['current'][1] / med['baseline'][1]:.2f}x")
PY
  exit 0
fi

echo "catalogue: $catalogue synthetic videos, $users accounts; For You by 256 of them in turn"
echo "| server CPUs | For You req/s | p50 | p99 | non-2xx | /healthz req/s | start-up | refit and index after | RSS |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
measure_on 0 "1 core"
measure_on 0,1 "2 cores"
