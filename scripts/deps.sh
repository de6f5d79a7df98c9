#!/usr/bin/env bash
# Installs the system programs Flick needs, when they are missing.
#   scripts/deps.sh            ffmpeg and npm (to build and run Flick)
#   scripts/deps.sh --test     ffmpeg, npm, chromium and python3-venv (to run the tests)
set -euo pipefail

need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
# npm fetches hls.js, which the web app serves to browsers without native HLS.
command -v npm >/dev/null || need+=(nodejs npm)
if [[ "${1:-}" == "--test" ]]; then
  command -v chromium >/dev/null || need+=(chromium)
  # The API fuzzer runs Schemathesis from a venv of its own.
  python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
fi
[[ ${#need[@]} -eq 0 ]] && exit 0

echo "installing: ${need[*]}" >&2
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
