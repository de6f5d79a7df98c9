#!/usr/bin/env bash
# Serving published media from the folders against serving it from object
# storage (a single-node Garage on this machine), the same clips through
# the same release binary: an HLS segment and a 64 KiB range of the MP4,
# as players ask for them. The S3 data dir is a copy of the folder one,
# moved with `flick migrate`. Rounds alternate the two; medians and the
# ratio S3 / folders are printed.
#   bench/media.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rounds=${2:-3}
out=bench/out/media
rm -rf "$out" && mkdir -p "$out"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
scripts/deps.sh --test
cargo build --release --locked -p flick -q
flick=target/release/flick
source bench/lib.sh

garage_dir="$out/garage"
cleanup() {
  kill "${PID_folders:-}" "${PID_s3:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  scripts/garage.sh stop "$garage_dir"
}
trap cleanup EXIT
eval "$(scripts/garage.sh start "$garage_dir")"

"$flick" seed --clips 4 --seconds 8 --data-dir "$out/folders" > /dev/null
cat > "$out/s3.toml" <<EOF
[media]
store = "s3"
endpoint = "$FLICK_TEST_S3_ENDPOINT"
bucket = "flick-public"
region = "garage"
prefix = "bench"
[region_media]
local = "flick-local"
EOF
export FLICK_S3_ACCESS_KEY_ID=$FLICK_TEST_S3_ACCESS_KEY_ID FLICK_S3_SECRET_ACCESS_KEY=$FLICK_TEST_S3_SECRET_ACCESS_KEY
cp -a "$out/folders" "$out/s3"
"$flick" migrate --from "$out/s3" --to "$out/s3.toml"
# Nothing is left to serve from the folders in the S3 data dir.
rm -rf "$out/s3/media" "$out/s3/sounds"

video=$(ls "$out/folders/media" | head -1)
segment=$(cd "$out/folders/media/$video" && ls */seg_*.ts | head -1)

start_flick "$out/folders"
PID_folders=$FLICK_PID URL_folders=$FLICK_URL
FLICK_CONFIG="$out/s3.toml" start_flick "$out/s3"
PID_s3=$FLICK_PID URL_s3=$FLICK_URL

# wrk against one server; prints "req/s p50 p99".
measure() {
  local name=$1 label=$2 path=$3; shift 3
  local url="URL_$name" file="$out/$label-$name-$round.txt"
  wrk -t2 -c16 -d"${secs}s" --latency "$@" "${!url}$path" > "$file"
  echo "$(awk '/Requests\/sec/ {print $2}' "$file") $(awk '$1 == "50%" {print $2}' "$file") $(awk '$1 == "99%" {print $2}' "$file")"
}

declare -A rps
echo "| round | request | folders req/s | folders p50 / p99 | S3 req/s | S3 p50 / p99 | S3 / folders |"
echo "|---|---|---:|---:|---:|---:|---:|"
for round in $(seq "$rounds"); do
  for label in segment mp4-range; do
    case $label in
      segment) path="/media/$video/$segment" args=() ;;
      mp4-range) path="/media/$video/video.mp4" args=(-H "Range: bytes=0-65535") ;;
    esac
    read -r f_rps f_p50 f_p99 <<< "$(measure folders "$label" "$path" "${args[@]}")"
    read -r s_rps s_p50 s_p99 <<< "$(measure s3 "$label" "$path" "${args[@]}")"
    ratio=$(awk -v a="$s_rps" -v b="$f_rps" 'BEGIN {printf "%.3f", a / b}')
    rps[$label]+="$ratio "
    echo "| $round | $label | $f_rps | $f_p50 / $f_p99 | $s_rps | $s_p50 / $s_p99 | $ratio |"
  done
done
for label in segment mp4-range; do
  median=$(tr ' ' '\n' <<< "${rps[$label]}" | grep . | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  echo "median S3 / folders, $label: $median"
done
