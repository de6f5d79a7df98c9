#!/usr/bin/env bash
# Installs the system programs Flick needs, when they are missing.
#   scripts/deps.sh            ffmpeg (to run Flick)
#   scripts/deps.sh --test     ffmpeg, chromium and npm (to run the tests)
set -euo pipefail

need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
if [[ "${1:-}" == "--test" ]]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v npm >/dev/null || need+=(nodejs npm)
fi
[[ ${#need[@]} -eq 0 ]] && exit 0

echo "installing: ${need[*]}" >&2
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
