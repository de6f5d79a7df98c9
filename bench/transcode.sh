#!/usr/bin/env bash
# Flick's transcode of a 60 s 1080×1920 clip vs the bare ffmpeg commands of the
# same ladder, side by side under hyperfine. Prints medians and their ratio.
#   bench/transcode.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
out=bench/out/transcode
mkdir -p "$out"
command -v hyperfine >/dev/null && command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine jq >/dev/null; }
cargo build --release --locked -p flick -q
flick=target/release/flick

clip="$out/clip-60s-1080x1920.mp4"
if [[ ! -f "$clip" ]]; then
  ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1080x1920:rate=30:duration=60" \
    -f lavfi -i "sine=frequency=330:duration=60" -c:v libx264 -preset veryfast -crf 20 \
    -pix_fmt yuv420p -c:a aac -shortest "$clip"
fi

# The baseline is exactly the ffmpeg commands Flick runs, without Flick.
"$flick" bench transcode --input "$clip" --out "$out/bare" --print-commands > "$out/bare.sh"

hyperfine --runs "$runs" --warmup 1 --export-json "$out/result.json" --export-markdown "$out/result.md" \
  --prepare "rm -rf $out/flick $out/bare" \
  -n flick "$flick bench transcode --input $clip --out $out/flick" \
  -n bare-ffmpeg "bash $out/bare.sh"

cat "$out/result.md"
jq -r '.results | map({(.command): .median}) | add | "median flick \(.flick | .*100|round/100) s, bare ffmpeg \(.["bare-ffmpeg"] | .*100|round/100) s, ratio \(.flick / .["bare-ffmpeg"] | .*1000|round/1000)"' "$out/result.json"
