#!/usr/bin/env bash
# Flick as several machines would run it, on this one: PostgreSQL (Debian's
# package), Garage (an S3-compatible store), three `flick serve` nodes
# sharing them, and nginx spreading requests over the nodes round-robin.
# Seeds the demo clips on first run and prints the address; ctrl-c stops
# everything. State lives in DIR (default ./flick-cluster).
#   scripts/cluster.sh [DIR]
#   CLUSTER_LISTEN=127.0.0.1:8090 scripts/cluster.sh    # nginx's address (default 127.0.0.1:8080)
#   scripts/cluster.sh --smoke [DIR]    # start, check every node answers through nginx, stop
#   FLICK_BIN=target/debug/flick ...     # a built binary instead of a release build
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=false
if [[ ${1:-} == --smoke ]]; then
  smoke=true
  shift
fi
dir=${1:-flick-cluster}
listen=${CLUSTER_LISTEN:-127.0.0.1:8080}
$smoke && listen=127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

scripts/deps.sh --cluster
if [[ -z ${FLICK_BIN:-} ]]; then
  npm ci --prefix crates/flick-api/web-deps --no-audit --no-fund --loglevel=error
  cargo build --release --locked -p flick
fi
bin=$(realpath "${FLICK_BIN:-target/release/flick}")
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ -f "$dir/nginx/nginx.pid" ]] && nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -s quit 2>/dev/null || true
  scripts/garage.sh stop "$dir/garage"
  scripts/postgres.sh stop "$dir/pg"
}
trap stop_all EXIT

# Throwaway engines and nodes for this cluster (their data stays in DIR
# until the next run, which starts them all afresh: a node's recommender
# snapshot belongs to the database it was taken from).
rm -rf "$dir/pg" "$dir/garage" "$dir/seed" "$dir"/node[0-9]*
eval "$(scripts/postgres.sh start "$dir/pg")"
eval "$(scripts/garage.sh start "$dir/garage")"
export FLICK_S3_ACCESS_KEY_ID=$FLICK_TEST_S3_ACCESS_KEY_ID
export FLICK_S3_SECRET_ACCESS_KEY=$FLICK_TEST_S3_SECRET_ACCESS_KEY
cat > "$dir/flick.toml" <<TOML
public_db = "$FLICK_TEST_POSTGRES_URL"
# nginx is in front: the client address is its X-Forwarded-For.
trusted_proxies = ["127.0.0.1/32"]

[media]
store = "s3"
endpoint = "$FLICK_TEST_S3_ENDPOINT"
bucket = "flick-public"
region = "garage"

[region_media]
local = "flick-local"
TOML
export FLICK_CONFIG=$dir/flick.toml

echo "seeding the demo clips (PostgreSQL and the bucket, shared by every node)" >&2
"$bin" seed --data-dir "$dir/seed" --clips "$($smoke && echo 3 || echo 12)" --seconds 4 --if-empty > /dev/null

upstreams=""
for n in 1 2 3; do
  rm -f "$dir/node$n.out"
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$dir/node$n" > "$dir/node$n.out" 2> "$dir/node$n.log" &
  pids+=($!)
  for _ in $(seq 300); do
    addr=$(grep -o 'http://[0-9.:]*' "$dir/node$n.out" 2>/dev/null || true)
    [[ -n "$addr" ]] && break
    sleep 0.1
  done
  [[ -n "$addr" ]] || { echo "node $n did not start; see $dir/node$n.log" >&2; exit 1; }
  upstreams+="    server ${addr#http://};"$'\n'
done

mkdir -p "$dir/nginx/logs"
cat > "$dir/nginx/nginx.conf" <<NGINX
worker_processes 1;
$( [[ $(id -u) -eq 0 ]] && echo "user root;")
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/nginx/body;
  proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi;
  uwsgi_temp_path $dir/nginx/uwsgi;
  scgi_temp_path $dir/nginx/scgi;
  upstream flick {
$upstreams  }
  server {
    listen $listen;
    client_max_body_size 110m;
    # Uploads stream through to a node as they arrive.
    proxy_request_buffering off;
    location / {
      proxy_pass http://flick;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
NGINX
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf"

if $smoke; then
  # Every node answers through nginx (round-robin: three requests, three nodes),
  # and a page of the seeded clips comes back.
  for _ in 1 2 3; do curl -sf "http://$listen/healthz" > /dev/null; done
  curl -sf "http://$listen/api/v1/feed/for-you?limit=5" | grep -q '"items":\[{' || {
    echo "no seeded clips through nginx" >&2
    exit 1
  }
  # One transparency log: each node's start is in it (three release
  # records), and every node serves the same key.
  # A node reads the others' appends within a second.
  keys=$(for _ in 1 2 3; do curl -sf "http://$listen/api/v1/transparency/verifier-key" || true; done | sort -u | wc -l)
  for _ in $(seq 30); do
    size=$(curl -sf "http://$listen/api/v1/transparency/checkpoint" | sed -n 2p || true)
    [[ "${size:-0}" -ge 3 ]] && break
    sleep 0.1
  done
  if [[ "$keys" != 1 || "${size:-0}" -lt 3 ]]; then
    echo "the nodes do not share one transparency log ($keys keys, size $size)" >&2
    exit 1
  fi
  echo "cluster OK: PostgreSQL, Garage, 3 nodes behind nginx at http://$listen"
  exit 0
fi
echo "Flick on 3 nodes (PostgreSQL, Garage, nginx): http://$listen  — ctrl-c stops it all"
wait "${pids[@]}"
