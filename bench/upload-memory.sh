#!/usr/bin/env bash
# Peak memory (VmHWM) of the server while it receives uploads of 10 MB and
# 100 MB: streaming to disk keeps it flat instead of proportional to the file.
#   bench/upload-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
cargo build --release --locked -p flick -q
out=bench/out/upload-memory
rm -rf "$out"; mkdir -p "$out"

echo "| upload size | server peak RSS before | server peak RSS after | status |"
echo "|---:|---:|---:|---|"
for mb in 10 100; do
  head -c $((mb * 1000 * 1000)) /dev/urandom > "$out/upload-$mb.bin"
  start_flick "$out/data-$mb" --max-upload-bytes 300000000
  token=$(token_for "memory$mb")
  before=$(awk '/VmHWM/ {print $2}' /proc/$FLICK_PID/status)
  # Random bytes stream through exactly like a video; the check that follows
  # rejects them as not_a_video, after the whole body is on disk.
  status=$(curl -s -o "$out/resp-$mb.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -F caption=memory -F "file=@$out/upload-$mb.bin;type=video/mp4" "$FLICK_URL/api/v1/videos")
  after=$(awk '/VmHWM/ {print $2}' /proc/$FLICK_PID/status)
  echo "| $mb MB | $((before / 1024)) MiB | $((after / 1024)) MiB | $status $(sed -E 's/.*"code":"([a-z_]+)".*/\1/' "$out/resp-$mb.json") |"
  stop_flick
done
