#!/usr/bin/env bash
# Builds and runs Flick on this machine. On an empty data dir it first creates
# demo users and clips (`flick seed`), so the app is not empty.
#   FLICK_DATA_DIR (default ./flick-data), FLICK_LISTEN (default 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
npm ci --prefix crates/flick-api/web-deps --no-audit --no-fund --loglevel=error
cargo build --release --locked -p flick
bin=target/release/flick
"$bin" seed --if-empty
exec "$bin" serve "$@"
