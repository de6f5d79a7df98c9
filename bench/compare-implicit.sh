#!/usr/bin/env bash
# Flick, ranked through the served path with the production configuration,
# vs popularity, ALS (implicit 0.7.x; factors and regularisation picked on a
# validation split carved from train) and EASE (lambda picked the same way),
# on the same MovieLens 100K split (positives >= 4, random 80/20, seed 42),
# same machine, same run, same metric definitions, one BLAS thread.
#
#   bench/compare-implicit.sh [path/to/ml-100k/u.data]
#
# The venv lives in bench/.venv and outputs in bench/out (both gitignored).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${1:-$root/../shared/data/ml-100k/u.data}"
out="$here/out"
mkdir -p "$out"
cores="$(nproc)"
export OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_NUM_THREADS=1

if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet 'implicit>=0.7,<0.8' numpy scipy threadpoolctl

cargo build --quiet --release --locked -p flick --manifest-path "$root/Cargo.toml"
flick="$root/target/release/flick"

# Flick: exports the split it evaluates on, then evaluates; the peers read
# that same split.
"$flick" eval movielens --path "$data" --export-split "$out/split" --dump-recs "$out/flick-recs.tsv" \
  --plot "$out/prequential.svg" > "$out/flick.txt"
flick_row="$(grep '^| Flick |' "$out/flick.txt" | head -1 | awk -F'|' '{printf "| Flick (%s) |%s|%s|%s|%s|%s|", "served path, production config", $3, $4, $5, $6, $7}')"
served_row="$(grep '^| Flick, as served |' "$out/flick.txt" | head -1 | awk -F'|' '{printf "| Flick (%s) |%s|%s|%s|%s|%s|", "as a server holds it after the stream: refits every 1,000 events, none at the end", $3, $4, $5, $6, $7}')"
peers="$("$here/.venv/bin/python" "$here/compare_implicit.py" "$out/split/train.tsv" "$out/split/test.tsv")"

echo "MovieLens 100K, positives >= 4, random 80/20 split seed 42, K = 20, $cores cores"
grep '^algorithm ' "$out/flick.txt"
echo "| model | Recall@20 | NDCG@20 | coverage | fit s | model MB |"
echo "|---|---|---|---|---|---|"
echo "$flick_row"
echo "$served_row"
echo "$peers"
echo
grep '^as served' "$out/flick.txt"
grep -A4 'prequential' "$out/flick.txt" || true
