#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (Debian's postgresql package) for the
# tests and the local cluster: its data and socket in DIR, a free port.
#
#   eval "$(scripts/postgres.sh start DIR)"   # prints FLICK_TEST_POSTGRES_URL
#   scripts/postgres.sh stop DIR
#
# PostgreSQL refuses to run as root, so when run as root the cluster runs
# as the `postgres` user the package creates. Connections from 127.0.0.1
# are trusted: the cluster listens on the loopback only and lives for one
# run.
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n "$bin" ]] || {
    echo "PostgreSQL is not installed: scripts/deps.sh --test installs it (apt-get install postgresql)" >&2
    exit 1
}
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    exit 0
    ;;
restart)
    # For fault tests: the same cluster, stopped hard and started again.
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
    exit 0
    ;;
start) ;;
*)
    echo "usage: postgres.sh start|stop|restart DIR" >&2
    exit 2
    ;;
esac

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$dir"
    # runuser needs to reach DIR through its parents.
    chmod o+x "$(dirname "$dir")" 2>/dev/null || true
fi
as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = on
CONF
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null || {
    cat "$dir/log" >&2
    exit 1
}
echo "export FLICK_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
