#!/usr/bin/env bash
# Runs the whole test suite: Rust unit and black-box API tests, the API
# fuzzer, then the web app's tests in headless Chromium. Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
npm ci --prefix crates/flick-api/web-deps --no-audit --no-fund --loglevel=error

# A throwaway S3 server (Garage) for the object-storage tests and a
# throwaway PostgreSQL for the second run of the black-box suite, both
# stopped on the way out whatever happens.
garage_dir=$(mktemp -d)
pg_dir=$(mktemp -d)
trap 'scripts/garage.sh stop "$garage_dir"; scripts/postgres.sh stop "$pg_dir"; rm -rf "$garage_dir" "$pg_dir"' EXIT
eval "$(scripts/garage.sh start "$garage_dir")"
eval "$(scripts/postgres.sh start "$pg_dir")"

cargo test --workspace --locked
# The black-box API suite again with every database on PostgreSQL: each
# test gets a fresh database of the throwaway cluster.
FLICK_TEST_DB=postgres cargo test --locked -p flick --test api

# The browser tests, the API fuzzer and the cluster check drive the same
# debug binary the API tests used.
cargo build --locked -p flick
# The README's cluster command: PostgreSQL, Garage, three nodes and nginx
# start, and every node answers through nginx.
cluster_dir=$(mktemp -d)
FLICK_BIN="$PWD/target/debug/flick" scripts/cluster.sh --smoke "$cluster_dir"
rm -rf "$cluster_dir"
# The whole API under a property-based fuzzer (Schemathesis, from PyPI, in a
# venv the script creates): no request may get a 5xx or take the server down.
FLICK_BIN="$PWD/target/debug/flick" scripts/fuzz-api.sh
(cd web-tests && npm ci --no-audit --no-fund --loglevel=error)
FLICK_BIN="$PWD/target/debug/flick" npm --prefix web-tests test
