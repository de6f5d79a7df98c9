#!/usr/bin/env bash
# Flick on 1, 2 and 3 nodes of one deployment on this machine: PostgreSQL,
# Garage and nginx in front (as scripts/cluster.sh runs them), measured the
# same way for each count:
#   - For You pages/s through nginx (wrk, 32 connections, 64 accounts in
#     turn: bench/tokens.lua), every page's impressions logged;
#   - upload to ready: 6 clips (4 s, 720x1280) uploaded at once through
#     nginx, seconds until all are published (each node transcodes one at a
#     time);
#   - with 3 nodes, a node killed (kill -9) while it transcodes: seconds
#     from the kill until another node has published the clip.
# Two cores for everything, so more nodes cannot add CPU: the figures show
# what a node costs and that the work spreads, not a speed-up.
#   bench/nodes.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
secs=${1:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
scripts/deps.sh --cluster
cargo build --release --locked -p flick -q
bin=$PWD/target/release/flick
out=bench/out/nodes
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
node_pids=()
stop_nodes() {
  for p in "${node_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${node_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  node_pids=()
  [[ -f "$out/nginx/nginx.pid" ]] && nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" -s quit 2>/dev/null || true
  sleep 0.5
}
cleanup() {
  stop_nodes
  scripts/garage.sh stop "$out/garage"
  scripts/postgres.sh stop "$out/pg"
}
trap cleanup EXIT
eval "$(scripts/postgres.sh start "$out/pg")"
eval "$(scripts/garage.sh start "$out/garage")"
export FLICK_S3_ACCESS_KEY_ID=$FLICK_TEST_S3_ACCESS_KEY_ID
export FLICK_S3_SECRET_ACCESS_KEY=$FLICK_TEST_S3_SECRET_ACCESS_KEY
cat > "$out/flick.toml" <<TOML
public_db = "$FLICK_TEST_POSTGRES_URL"
trusted_proxies = ["127.0.0.1/32"]
job_lease_secs = 3

[rate_limits]
signup = { burst = 100000, per_secs = 1 }
login = { burst = 100000, per_secs = 1 }
upload = { burst = 100000, per_secs = 1 }
impressions = { burst = 100000000, per_secs = 1 }

[media]
store = "s3"
endpoint = "$FLICK_TEST_S3_ENDPOINT"
bucket = "flick-public"
region = "garage"

[region_media]
local = "flick-local"
TOML
export FLICK_CONFIG=$out/flick.toml
"$bin" seed --data-dir "$out/seed" --clips 12 --seconds 4 > /dev/null
ffmpeg -loglevel error -f lavfi -i testsrc=size=720x1280:rate=30 -f lavfi -i sine=frequency=440 \
  -t 4 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$out/clip.mp4"
ffmpeg -loglevel error -f lavfi -i testsrc=size=1080x1920:rate=30 -f lavfi -i sine=frequency=440 \
  -t 20 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$out/long.mp4"

# Starts node $1 (its data dir is kept between counts); sets ADDR.
start_node() {
  local n=$1
  rm -f "$out/node$n.out"
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$out/node$n" > "$out/node$n.out" 2>> "$out/node$n.log" &
  node_pids+=($!)
  ADDR=""
  for _ in $(seq 300); do
    ADDR=$(grep -o 'http://[0-9.:]*' "$out/node$n.out" 2>/dev/null || true)
    [[ -n "$ADDR" ]] && return 0
    sleep 0.1
  done
  echo "node $n did not start; see $out/node$n.log" >&2
  exit 1
}

# Starts nodes 1..$1 and nginx over them; sets LB.
start_nodes() {
  local upstreams="" n
  for n in $(seq "$1"); do
    start_node "$n"
    upstreams+="server ${ADDR#http://}; "
  done
  local port
  port=$(free_port)
  mkdir -p "$out/nginx"
  cat > "$out/nginx/nginx.conf" <<NGINX
worker_processes 1;
$( [[ $(id -u) -eq 0 ]] && echo "user root;")
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $out/nginx/body;
  proxy_temp_path $out/nginx/proxy;
  upstream flick { $upstreams keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    client_max_body_size 110m;
    proxy_request_buffering off;
    location / {
      proxy_pass http://flick;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
NGINX
  nginx -p "$out/nginx" -c "$out/nginx/nginx.conf"
  LB=http://127.0.0.1:$port
}

video_status() {
  curl -sf -H "Authorization: Bearer $2" "$LB/api/v1/videos/$1" | grep -o '"status":"[a-z]*"' | cut -d'"' -f4
}
upload() {
  curl -sf -H "Authorization: Bearer $1" -F caption="bench clip" -F "file=@$2" "$LB/api/v1/videos" | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2
}
wait_ready() {
  local token=$1; shift
  for id in "$@"; do
    until [[ $(video_status "$id" "$token") == ready ]]; do sleep 0.2; done
  done
}

echo "| nodes | For You pages/s | p99 | 6 uploads to ready | pages/s vs 1 node | upload time vs 1 node |"
echo "|---:|---:|---:|---:|---:|---:|"
for nodes in 1 2 3; do
  start_nodes "$nodes"
  FLICK_URL=$LB
  : > "$out/tokens-$nodes.txt"
  for i in $(seq 64); do token_for "viewer$i" >> "$out/tokens-$nodes.txt"; done
  TOKENS="$out/tokens-$nodes.txt" wrk -t2 -c32 -d"${secs}s" --latency -s bench/tokens.lua \
    "$LB/api/v1/feed/for-you?limit=10" > "$out/for-you-$nodes.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/for-you-$nodes.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out/for-you-$nodes.txt")
  token=$(token_for "uploader$nodes")
  started=$(date +%s.%N)
  ids=()
  for _ in 1 2 3 4 5 6; do ids+=("$(upload "$token" "$out/clip.mp4")"); done
  wait_ready "$token" "${ids[@]}"
  took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  [[ $nodes == 1 ]] && { base_rps=$rps; base_took=$took; }
  echo "| $nodes | $rps | $p99 | $took s | $(awk -v a="$rps" -v b="$base_rps" 'BEGIN {printf "%.2f", a / b}') | $(awk -v a="$took" -v b="$base_took" 'BEGIN {printf "%.2f", a / b}') |"
  if [[ $nodes == 3 ]]; then
    # Node 1 alone takes a long clip and starts transcoding it; nodes 2 and
    # 3 join; node 1 is killed. Another takes the job over once node 1's
    # lease (3 s here) lapses.
    stop_nodes
    start_node 1
    LB=$ADDR
    id=$(upload "$token" "$out/long.mp4")
    until compgen -G "$out/node1/work/*" > /dev/null; do sleep 0.1; done
    start_node 2
    start_node 3
    LB=$ADDR
    kill -9 "${node_pids[0]}"
    killed=$(date +%s.%N)
    wait_ready "$token" "$id"
    failover=$(awk -v a="$killed" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  fi
  stop_nodes
done
echo
echo "A node killed while transcoding (a 20 s 1080x1920 clip, lease 3 s): published by another node $failover s after the kill."
