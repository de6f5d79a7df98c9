#!/usr/bin/env bash
# A throwaway single-node Garage (a real S3-compatible server) for the
# tests: its config, metadata and data in DIR, ports picked free.
#
#   eval "$(scripts/garage.sh start DIR)"   # prints the FLICK_TEST_S3_* exports
#   scripts/garage.sh restart DIR            # killed and started again, same data and ports
#   scripts/garage.sh stop DIR
#
# It makes one key and the buckets the tests use: the public one and one
# per test region (originals are protected and never share the public one).
# With FLICK_TEST_S3_ACCESS_KEY_ID and FLICK_TEST_S3_SECRET_ACCESS_KEY set,
# it imports that key instead, so a test's own Garage takes the suite's.
set -euo pipefail

cmd=${1:?usage: garage.sh start|restart|stop DIR}
dir=${2:?usage: garage.sh start|restart|stop DIR}
buckets=(flick-public flick-local flick-eu flick-us)

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_server() {
    if [[ -f "$dir/pid" ]]; then
        local pid
        pid=$(cat "$dir/pid")
        kill "-${1:-TERM}" "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        # Still there after 5 s: no more asking.
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$dir/pid"
    fi
}

g() { garage -c "$dir/garage.toml" "$@"; }

start_server() {
    nohup garage -c "$dir/garage.toml" server >>"$dir/log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        g status >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "garage did not start; its log:" >&2
    cat "$dir/log" >&2
    exit 1
}

case "$cmd" in
stop)
    stop_server
    exit 0
    ;;
restart)
    # As a crash would: killed, then started on the same data and ports.
    stop_server KILL
    start_server
    exit 0
    ;;
start) ;;
*)
    echo "usage: garage.sh start|restart|stop DIR" >&2
    exit 2
    ;;
esac

command -v garage >/dev/null || {
    echo "garage is not installed: scripts/deps.sh --test installs it (cargo install --locked garage)" >&2
    exit 1
}
mkdir -p "$dir/meta" "$dir/data"
dir=$(cd "$dir" && pwd)
s3_port=$(free_port)
rpc_port=$(free_port)
cat >"$dir/garage.toml" <<EOF
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"
EOF
: >"$dir/log"
start_server

node=$(g node id -q 2>/dev/null | cut -d@ -f1)
g layout assign -z dc1 -c 1G "$node" >/dev/null
g layout apply --version 1 >/dev/null
if [[ -n "${FLICK_TEST_S3_ACCESS_KEY_ID:-}" && -n "${FLICK_TEST_S3_SECRET_ACCESS_KEY:-}" ]]; then
    key_info=$(g key import --yes -n flick-test "$FLICK_TEST_S3_ACCESS_KEY_ID" "$FLICK_TEST_S3_SECRET_ACCESS_KEY")
    key_id=$FLICK_TEST_S3_ACCESS_KEY_ID
    secret=$FLICK_TEST_S3_SECRET_ACCESS_KEY
else
    key_info=$(g key create flick-test)
    key_id=$(sed -n 's/^Key ID: *//p' <<<"$key_info" | head -1)
    secret=$(sed -n 's/^Secret key: *//p' <<<"$key_info" | head -1)
fi
if [[ -z "$key_id" || -z "$secret" ]]; then
    echo "could not read the key garage made:" >&2
    echo "$key_info" >&2
    exit 1
fi
for b in "${buckets[@]}"; do
    g bucket create "$b" >/dev/null
    g bucket allow --read --write --owner "$b" --key flick-test >/dev/null
done

echo "export FLICK_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port"
echo "export FLICK_TEST_S3_ACCESS_KEY_ID=$key_id"
echo "export FLICK_TEST_S3_SECRET_ACCESS_KEY=$secret"
