#!/usr/bin/env bash
# Property-based fuzzing of Flick's HTTP API with Schemathesis (PyPI, 4.x).
#
# Starts a throw-away Flick server with a little data, and lets Schemathesis
# generate requests for every operation of the server's own OpenAPI document,
# three times: as a visitor (no credentials), signed in, and as an admin for the
# staff-only operations (transparency log, data reads). The only thing
# checked is "no 5xx and no crash": the OpenAPI document does not describe every
# 4xx body precisely, and schema conformance is covered by the API tests.
#
#   FLICK_BIN        the server binary     (default target/debug/flick; not built here)
#   FLICK_FUZZ_VENV  the Python venv       (default target/fuzz-venv; created once, reused)
#   FLICK_FUZZ_OUT   reports + server log  (default target/fuzz-api; replaced each run)
#   FLICK_FUZZ_EXAMPLES  test cases per operation in the fuzzing phase (default 100)
#   FLICK_FUZZ_SEED      Schemathesis seed (default fixed, so CI runs are reproducible)
#
# Exit status: 0 when the runs found nothing and the server is still healthy;
# 1 otherwise (2: no binary). On the 2-core dev machine with a debug build, a
# run took 63 s (up to ~90 s while a cargo build shared the CPU), plus ~15 s
# once to create the venv: ~8,500 requests, almost all of the time
# Schemathesis's own CPU. 30 examples/op take ~35 s, 300 take ~3.5 min.
set -euo pipefail
shopt -s inherit_errexit   # so a failing curl inside $(...) stops the script too
cd "$(dirname "$0")/.."

FLICK_BIN=${FLICK_BIN:-target/debug/flick}
VENV=${FLICK_FUZZ_VENV:-target/fuzz-venv}
OUT=${FLICK_FUZZ_OUT:-target/fuzz-api}
EXAMPLES=${FLICK_FUZZ_EXAMPLES:-100}
SEED=${FLICK_FUZZ_SEED:-20261130}

if [[ ! -x "$FLICK_BIN" ]]; then
  echo "fuzz-api: no server binary at $FLICK_BIN (build it, or set FLICK_BIN)" >&2
  exit 2
fi
FLICK_BIN=$(realpath "$FLICK_BIN")

# --- Schemathesis -----------------------------------------------------------
# A venv of our own rather than the system Python: nothing is installed
# globally, and the major version is pinned because the CLI flags used below
# changed between 3.x and 4.x. pip only runs when the venv lacks a 4.x.
if [[ ! -x "$VENV/bin/schemathesis" ]] ||
   ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q 'version 4\.'; then
  echo "fuzz-api: installing schemathesis 4.x into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'schemathesis==4.*'
fi
ST="$VENV/bin/schemathesis"

# --- Server -----------------------------------------------------------------
tmp=$(mktemp -d -t flick-fuzz.XXXXXX)
server_pid=""
fuzz_pid=""
cleanup() {
  local pid
  for pid in $fuzz_pid $server_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # run the EXIT trap on Ctrl-C / kill too

rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(realpath "$OUT")

# The default rate limits (10 signups an hour, ...) would turn most generated
# requests into 429s within seconds and hide whatever the handlers behind them
# do, so this server gets limits the fuzzer can never reach.
limits() { for action in "$@"; do echo "$action = { burst = 100000, per_secs = 1 }"; done; }
{ echo '[rate_limits]'; limits signup login login_account upload comment export view share report; } \
  >"$tmp/flick.toml"

# Port 0 lets the kernel pick a free port, so the address is only known from
# the server's first stdout line, "listening on http://ADDR". Poll for it
# (stdout goes to a file; Rust's stdout is line-buffered, so the line arrives
# whole). stderr (the tracing log, and any panic message) goes to a file kept
# in $OUT, to match a 5xx against what the server said about it.
# Returns 1 if the server exits during startup, and gives up after 30 s.
start_server() {
  "$FLICK_BIN" --config "$tmp/flick.toml" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" \
    >"$tmp/stdout" 2>"$OUT/server.log" &
  server_pid=$!
  base=""
  for _ in $(seq 1 300); do
    kill -0 "$server_pid" 2>/dev/null || { server_pid=""; return 1; }
    line=$(head -n 1 "$tmp/stdout" 2>/dev/null || true)
    if [[ "$line" == "listening on http://"* ]]; then
      base=${line#listening on }
      return 0
    fi
    sleep 0.1
  done
  echo "fuzz-api: no 'listening on' line from the server within 30 s" >&2
  exit 1
}
start_server || true
if [[ -z "$server_pid" ]]; then
  echo "fuzz-api: the server exited during startup; its log:" >&2
  cat "$OUT/server.log" >&2
  exit 1
fi
echo "fuzz-api: server pid $server_pid at $base"

# --- Accounts, a session, and something to fuzz against ---------------------
# Random ids and handles almost never name a real video or account, so without
# data every operation on /videos/{id}, /users/{handle}, ... stops at 404. A
# second account, @fuzzbuddy, posts one short clip and comments on it, and the
# fuzzer draws those ids and handles from a dictionary (below). They belong to
# @fuzzbuddy so that the signed-in run, as @fuzzer, cannot delete them halfway.
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
post_json() { # PATH BODY [curl args...]
  curl -fsS -X POST "$base$1" -H 'Content-Type: application/json' -d "$2" "${@:3}"
}
sign_up_and_in() { # HANDLE -> prints a session token
  local creds="{\"handle\":\"$1\",\"password\":\"correct horse battery\"}"
  post_json /api/v1/accounts "$creds" >/dev/null
  post_json /api/v1/sessions "$creds" | json_field token
}
token=$(sign_up_and_in fuzzer)
buddy=$(sign_up_and_in fuzzbuddy)
# The transparency log and the admin's data reads answer 403 to everyone but
# auditors and admins, so a third account is made an admin (with the CLI, on
# the live data dir: roles are read from the database on each request).
admin=$(sign_up_and_in fuzzadmin)
"$FLICK_BIN" --config "$tmp/flick.toml" admin set-role --data-dir "$tmp/data" \
  --handle fuzzadmin --role admin >/dev/null

# A 2-second vertical clip, made with the ffmpeg that Flick itself needs.
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=360x640:rate=24:duration=2 \
  -f lavfi -i sine=frequency=440:duration=2 -shortest \
  -c:v libx264 -pix_fmt yuv420p -c:a aac "$tmp/clip.mp4"
video=$(curl -fsS -X POST "$base/api/v1/videos" -H "Authorization: Bearer $buddy" \
  -F "file=@$tmp/clip.mp4;type=video/mp4" -F 'caption=seed clip #fuzz' | json_field id)
# Most /videos/{id} operations only act on a ready clip; transcoding it takes
# a few seconds. Until then only its author sees it (others get 404).
vstatus=processing
for _ in $(seq 1 120); do
  vstatus=$(curl -fsS -H "Authorization: Bearer $buddy" "$base/api/v1/videos/$video" |
    json_field status)
  [[ "$vstatus" == processing ]] || break
  sleep 0.5
done
if [[ "$vstatus" != ready ]]; then
  echo "fuzz-api: the seed clip did not become ready (status: $vstatus)" >&2
  exit 1
fi
comment=$(post_json "/api/v1/videos/$video/comments" '{"body":"seed comment #fuzz"}' \
  -H "Authorization: Bearer $buddy" | json_field id)
echo "fuzz-api: seed data: video $video and comment $comment by @fuzzbuddy"

# Half of the generated values of these parameters are replaced by a real one
# (Schemathesis dictionaries); the other half stay random, for the not-found
# and malformed cases. `id` is a video, sound (= video) or comment id.
# The cache is off: it would replay crashes recorded by earlier runs (and it
# writes .schemathesis/ into the working tree).
cat >"$tmp/schemathesis.toml" <<EOF
[cache]
enabled = false

[dictionaries.ids]
values = [$video, $comment]
[dictionaries.handles]
values = ["fuzzer", "fuzzbuddy"]
[dictionaries.tags]
values = ["fuzz"]
[dictionaries.queries]
values = ["fuzz", "#fuzz", "@fuzz"]

[parameters]
"path.id" = { dictionary = "ids", probability = 0.5 }
"path.handle" = { dictionary = "handles", probability = 0.5 }
"path.tag" = { dictionary = "tags", probability = 0.5 }
"query.q" = { dictionary = "queries", probability = 0.5 }
EOF

# --- The schema ---------------------------------------------------------------
# The server's own document, as clients get it (a unit test keeps every
# parameter declared where it is sent).
curl -fsS -o "$tmp/openapi.json" "$base/api/openapi.json"

# --- Fuzzing ----------------------------------------------------------------
# Flags (checked against `schemathesis run --help` of 4.32):
#  --config-file, --url          the dictionaries above; a schema file needs
#                                the API's address.
#  --checks not_a_server_error   only 5xx and transport errors (a crash shows up
#                                as a connection error) count as failures.
#  --exclude-name                operations that would end the signed-in session
#                                (DELETE /me deletes the account, DELETE
#                                /sessions/current logs out) or are slow
#                                (POST /videos is a multipart upload that runs
#                                ffmpeg; the API tests cover it).
#  --max-examples, --seed        a fixed budget and fixed inputs, for CI.
#  --generation-database none    no example database carried between runs, which
#                                would make two runs with one seed differ.
#  --continue-on-failure         report every failing input of an operation, not
#                                only the first.
#  --request-timeout             a request that hangs fails instead of stalling.
#  --workers 1                   with 2 workers the order of operations, and so
#                                the server's state each one sees, varies from
#                                run to run; 1 keeps a seed reproducible (same
#                                cases, same counts) for ~15 s more.
#  --report                      JUnit and NDJSON into $OUT for CI and triage;
#                                the console output already has a curl command
#                                for each failure.
# `timeout` bounds each run, so a wedged fuzzer cannot hold CI for long
# (--foreground: in its own process group, Schemathesis would miss Ctrl-C).
# Hypothesis (under Schemathesis) would otherwise write .hypothesis/ into the
# working tree.
export HYPOTHESIS_STORAGE_DIRECTORY="$tmp/hypothesis"
fuzz() {
  local name=$1; shift
  timeout --foreground --kill-after=10 600 "$ST" --config-file "$tmp/schemathesis.toml" \
    run "$tmp/openapi.json" --url "$base" \
    --checks not_a_server_error \
    --exclude-name 'DELETE /api/v1/me' \
    --exclude-name 'DELETE /api/v1/sessions/current' \
    --exclude-name 'POST /api/v1/videos' \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --generation-database none \
    --continue-on-failure \
    --request-timeout 10 \
    --workers 1 \
    --no-color \
    --report junit,ndjson \
    --report-junit-path "$OUT/$name.junit.xml" \
    --report-ndjson-path "$OUT/$name.ndjson" \
    "$@"
}

status=0
started=$SECONDS
# NAME TITLE [flags...]: one run, skipped once the server is gone (it would
# only add a page of "connection refused" per operation).
run() {
  local name=$1 title=$2; shift 2
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "fuzz-api: skipping the $name run: the server is gone"
    status=1
    return
  fi
  echo "fuzz-api: $title"
  # In the background and waited for, so that a TERM reaches the trap (which
  # stops this run and the server) at once rather than after the run.
  fuzz "$name" "$@" &
  fuzz_pid=$!
  local rc=0
  wait "$fuzz_pid" || rc=$?
  fuzz_pid=""
  if [[ "$rc" -ne 0 ]]; then
    echo "fuzz-api: the $name run failed (exit $rc)"
    status=1
  fi
}
run visitor "run 1/3, visitor (no credentials)"
run signed-in "run 2/3, signed in as @fuzzer" -H "Authorization: Bearer $token"
# Only the staff operations: as admin, the rest would mostly repeat run 2.
run admin "run 3/3, the staff operations as admin @fuzzadmin" \
  -H "Authorization: Bearer $admin" --include-path-regex '^/api/v1/(transparency|admin)/'
elapsed=$((SECONDS - started))

# --- Is the server still up? --------------------------------------------------
# A panic in a handler shows up above as a 500 or a dropped connection, but
# an abort, a stack overflow or an OOM kill ends the process, and a panic in a
# background task (transcoding, the recommender) answers no request at all:
# check that the process still runs and answers, and that its log has no panic.
alive=yes
if ! kill -0 "$server_pid" 2>/dev/null; then
  alive="no (process exited)"
elif ! curl -fsS -o /dev/null --max-time 5 "$base/healthz"; then
  alive="no (/healthz did not answer 200)"
fi
[[ "$alive" == yes ]] || status=1

panics=$(grep -c 'panicked' "$OUT/server.log" || true)
[[ "$panics" -eq 0 ]] || status=1
if [[ "$status" -eq 0 ]]; then verdict=PASS; else verdict=FAIL; fi
echo "fuzz-api: $verdict in ${elapsed}s, seed $SEED, $EXAMPLES examples/op; server alive: $alive;" \
  "panics in server log: $panics; reports and server log in $OUT"
exit "$status"
