#!/usr/bin/env bash
# Installs the system programs Flick needs, when they are missing.
#   scripts/deps.sh            ffmpeg and npm (to build and run Flick)
#   scripts/deps.sh --test     ffmpeg, npm, chromium, python3-venv, PostgreSQL, nginx and Garage (to run the tests)
#   scripts/deps.sh --cluster  ffmpeg, npm, PostgreSQL, nginx and Garage (scripts/cluster.sh)
set -euo pipefail

need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
# npm fetches hls.js, which the web app serves to browsers without native HLS.
command -v npm >/dev/null || need+=(nodejs npm)
if [[ "${1:-}" == "--test" || "${1:-}" == "--cluster" ]]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v psql >/dev/null || need+=(postgresql)
  command -v nginx >/dev/null || need+=(nginx)
fi
if [[ "${1:-}" == "--test" ]]; then
  command -v chromium >/dev/null || need+=(chromium)
  # The API fuzzer runs Schemathesis from a venv of its own.
  python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
fi

if [[ ${#need[@]} -gt 0 ]]; then
  echo "installing: ${need[*]}" >&2
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The S3 tests run against Garage, a real S3-compatible server, which no
# Debian package carries: built once from crates.io (about 7 minutes on 2
# cores) into ~/.cargo/bin, and reused from there.
if [[ "${1:-}" == "--test" || "${1:-}" == "--cluster" ]] && ! command -v garage >/dev/null; then
  echo "installing: garage (cargo install --locked garage; once, several minutes)" >&2
  cargo install --locked --quiet garage@2.5.0
fi
