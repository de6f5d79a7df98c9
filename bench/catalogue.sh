# Sourced by bench/http.sh --catalogue N: For You over HTTP on a synthetic
# catalogue of $catalogue videos, server on 1 core then 2 (wrk unpinned),
# at each of $CONNS connections (default "16 32 64"): wrk keeps that many
# requests in flight, so by Little's law a page's mean latency is the
# connections over the rate, and one rate's p99 depends on how many
# clients it is shared among; the table shows each.
# With BASELINE_BIN: instead, this build and that one on 2 cores, $ROUNDS
# rounds (default 3) alternating between them, each run's pages/s and the
# server's CPU time per page, then the medians and their ratio.
users=$(( catalogue / 10 > 1000 ? catalogue / 10 : 1000 ))
data="$out/data-catalogue-$catalogue"
[[ -f "$data/.seeded" ]] || {
  rm -rf "$data"
  # An A/B seeds with the baseline: the newer build then migrates its copy.
  # (A seed a newer build has migrated is refused by an older baseline:
  # remove $data to seed again.)
  "${BASELINE_BIN:-target/release/flick}" seed --synthetic --data-dir "$data" \
    --videos "$catalogue" --users "$users" --events-per-user 30 | tail -1 >&2
  touch "$data/.seeded"
}
# The shipped configuration, except that logging in the accounts from one
# address is allowed (only the token set-up logs in; it is not measured).
config="$out/catalogue.toml"
printf '[rate_limits]\nlogin = { burst = 1000, per_secs = 1 }\n' > "$config"

# Starts the server on CPUs $1 (taskset list) and data dir $2; sets
# FLICK_PID, FLICK_URL and STARTUP (seconds until it listens: snapshot
# load plus replay).
start_on() {
  local cpus=$1 dir=$2 t0 log="$2.log"
  t0=$(date +%s.%N)
  taskset -c "$cpus" "${SERVER_BIN:-target/release/flick}" --config "$config" serve --listen 127.0.0.1:0 --data-dir "$dir" \
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

# How many accounts share the load ($ACCOUNTS, default 2048). Each logs
# the impressions of at most 60 pages a minute after a burst of 60 (the
# shipped limit; past it a page is served but not logged, which is
# cheaper), so the accounts must be many enough that every measured page
# is logged, as a real user's would be: at 2,000 pages/s, 2,048 accounts
# ask 1 page/s each. The tables report the share of pages logged.
accounts=${ACCOUNTS:-2048}

# Makes the server at $FLICK_URL ready to measure: session tokens for
# $accounts accounts in file $1 (kept while the data dir keeps the
# sessions), then waits for what a server that has been up a while would
# have done. Sets REFIT (seconds it waited).
ready() {
  local tokens=$1
  if [[ ! -f "$tokens" || $(wc -l < "$tokens") -ne $accounts ]]; then
    # A failed login must stop the script: an empty token would be a
    # visitor's page, cheaper than a user's, counted as one.
    export FLICK_URL
    seq 1 "$accounts" | xargs -P 4 -n 1 bash -c '
      for try in 1 2 3; do
        answer=$(curl -s -w "\n%{http_code}" -X POST "$FLICK_URL/api/v1/sessions" \
          -H "Content-Type: application/json" -d "{\"handle\":\"s$1\",\"password\":\"flick-synthetic\"}")
        if [[ ${answer##*$'"'"'\n'"'"'} == 200 ]]; then
          sed -E "s/.*\"token\":\"([^\"]+)\".*/\1/" <<< "${answer%$'"'"'\n'"'"'*}"
          exit 0
        fi
        echo "login of s$1 (try $try): $answer" >&2
        sleep 1
      done
      exit 1' _ > "$tokens.part" || { echo "could not log in $accounts accounts" >&2; exit 1; }
    mv "$tokens.part" "$tokens"
  fi
  # The first refit after start, and the index build after it, run in the
  # background; measure after both.
  local t0
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
  REFIT=$(( $(date +%s) - t0 ))
  # A page for one of them must be full, or the figure would flatter.
  local n
  n=$(curl -sf -H "Authorization: Bearer $(head -1 "$tokens")" \
    "$FLICK_URL/api/v1/feed/for-you?limit=10" | grep -o '"reasons"' | wc -l)
  [[ $n -eq 10 ]] || { echo "a page had $n items, not 10" >&2; exit 1; }
}

# The newest event id in the region file of data dir $1 (read-only).
last_event() {
  python3 -c 'import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}/regions/local/flick.db?mode=ro", uri=True)
print(c.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])' "$1"
}

# For You at $FLICK_URL (server $FLICK_PID, data dir $1) for $secs
# seconds, the accounts of token file $2 in turn over $3 connections,
# wrk's report in file $4. Sets CPU (the server's milliseconds, user +
# system from /proc, per page served) and LOGGED (the share of pages whose
# impressions reached the log).
for_you() {
  local cpu0 cpu1 pages ev0 ev1
  ev0=$(last_event "$1")
  cpu0=$(awk '{print $14 + $15}' "/proc/$FLICK_PID/stat")
  TOKENS="$2" wrk -t2 -c"$3" -d"${secs}s" --latency -s bench/tokens.lua \
    "$FLICK_URL/api/v1/feed/for-you?limit=10" > "$4"
  cpu1=$(awk '{print $14 + $15}' "/proc/$FLICK_PID/stat")
  ev1=$(last_event "$1")
  pages=$(awk '/requests in/ {print $1}' "$4")
  CPU=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$pages" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%.2f", (b - a) * 1000 / hz / n}')
  # Ten impressions a page; nothing else writes the log meanwhile.
  LOGGED=$(awk -v e="$((ev1 - ev0))" -v n="$pages" 'BEGIN {printf "%.0f %%", e / 10 / n * 100}')
}

measure_on() {
  local cpus=$1 label=$2 conns
  start_on "$cpus" "$data"
  ready "$out/tokens-$catalogue-$accounts.txt"
  local rss
  # Resident memory once warm (after the refit and the token logins).
  rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$FLICK_PID/status")
  local h="$out/cat-healthz-$label.txt"
  wrk -t2 -c64 -d"${secs}s" --latency "$FLICK_URL/healthz" > "$h"
  # A first pass over the accounts, not measured: the first row would
  # otherwise pay for every account's first page (its state and pages
  # read from disk), which the later rows do not.
  TOKENS="$out/tokens-$catalogue-$accounts.txt" wrk -t2 -c64 -d5s -s bench/tokens.lua \
    "$FLICK_URL/api/v1/feed/for-you?limit=10" > /dev/null
  for conns in ${CONNS:-16 32 64}; do
    local f="$out/cat-foryou-$label-$conns.txt"
    for_you "$data" "$out/tokens-$catalogue-$accounts.txt" "$conns" "$f"
    echo "| $label | $conns | $(awk '/Requests\/sec/ {print $2}' "$f") | $(awk '$1 == "50%" {print $2}' "$f") | $(awk '$1 == "99%" {print $2}' "$f") | $CPU | $LOGGED | $(awk '/Non-2xx/ {print $NF}' "$f") | $(awk '/Requests\/sec/ {print $2}' "$h") | ${STARTUP} s | ${REFIT} s | ${rss} MiB |"
  done
  stop_flick
}

# With BASELINE_BIN: both builds serve at once, each on its own copy of
# the seeded data dir (a build may migrate its copy; the seed is made by
# the baseline, so the newer build meets the upgrade it would in
# production), and the rounds alternate between them, so the host's drift
# from minute to minute falls on both alike. Each round: For You for
# $secs seconds at ${AB_CONNS:-64} connections, the server's CPU time per
# page, and /healthz for 5 s as the host's yardstick.
if [[ -n "${BASELINE_BIN:-}" ]]; then
  echo "catalogue: $catalogue synthetic videos; this build against $BASELINE_BIN, 2 cores, alternating"
  declare -A url pid
  trap 'kill "${pid[@]}" 2>/dev/null || true' EXIT
  for build in baseline current; do
    bin=target/release/flick
    [[ $build == baseline ]] && bin=$BASELINE_BIN
    rm -rf "$data-$build"
    cp -a "$data" "$data-$build"
    rm -f "$data-$build.tokens"
    SERVER_BIN=$bin
    start_on 0,1 "$data-$build"
    url[$build]=$FLICK_URL
    pid[$build]=$FLICK_PID
    ready "$data-$build.tokens"
  done
  echo "| run | build | For You pages/s | p99 | server CPU ms per page | pages logged | /healthz req/s |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for round in $(seq 1 "${ROUNDS:-3}"); do
    for build in baseline current; do
      FLICK_URL=${url[$build]} FLICK_PID=${pid[$build]}
      f="$out/cat-foryou-ab-$build.txt" h="$out/cat-healthz-ab-$build.txt"
      wrk -t2 -c64 -d5s "$FLICK_URL/healthz" > "$h"
      for_you "$data-$build" "$data-$build.tokens" "${AB_CONNS:-64}" "$f"
      echo "| $round | $build | $(awk '/Requests\/sec/ {print $2}' "$f") | $(awk '$1 == "99%" {print $2}' "$f") | $CPU | $LOGGED | $(awk '/Requests\/sec/ {print $2}' "$h") |"
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
pairs = [c[1] / b[1] for b, c in zip(by["baseline"], by["current"])]
print("CPU per page, each round's current / baseline: " + ", ".join(f"{r:.2f}x" for r in pairs))
PY
  exit 0
fi

echo "catalogue: $catalogue synthetic videos, $users accounts; For You by $accounts of them in turn"
echo "| server CPUs | connections | For You pages/s | p50 | p99 | server CPU ms per page | pages logged | non-2xx | /healthz req/s | start-up | refit and index after | RSS |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
measure_on 0 "1 core"
measure_on 0,1 "2 cores"
