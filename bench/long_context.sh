#!/usr/bin/env bash
# Decode speed and cache size against context length, hybrid (3 GDN : 1 attention) vs the all-attention
# transformer of the same shape: CSV plus a PNG plot.
#   bench/long_context.sh [OUT_DIR]     (default build/long_context)
# Environment: HYBRID_BIN (build/hybrid), HYBRID_SHARED_DIR (../shared), THREADS (2), DTYPE (bf16),
# CONTEXTS ("1024 4096 16384 65536"), TOKENS (16 decode steps per point), CONFIGS (the two bench-0.4b configs),
# KV (f32 | bf16: the K/V cache dtype, default f32). The 7B pair: CONFIGS="configs/olmo-hybrid-7b.json
# configs/olmo-transformer-7b.json" DTYPE=q4 KV=bf16 CONTEXTS="4096 16384 65536".
# Contexts above 2048 tokens get random K/V and GDN states (--fill random): a real prefill of 64k tokens takes
# many minutes and does not change the per-token decode cost.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${HYBRID_BIN:-build/hybrid}
SHARED=${HYBRID_SHARED_DIR:-../shared}
OUT=${1:-build/long_context}
THREADS=${THREADS:-2} DTYPE=${DTYPE:-bf16} TOKENS=${TOKENS:-16} KV=${KV:-f32}
CONTEXTS=${CONTEXTS:-"1024 4096 16384 65536"}
CONFIGS=${CONFIGS:-"$SHARED/tools/configs/bench-0.4b-hybrid.json $SHARED/tools/configs/bench-0.4b-transformer.json"}
[ -x "$BIN" ] || { echo "error: $BIN not built (cmake --build build)" >&2; exit 1; }
mkdir -p "$OUT"
CSV="$OUT/long_context.csv"
export OMP_NUM_THREADS=$THREADS

echo "model,context,fill,tokens_per_s,bytes_per_token,gb_per_s,cache_bytes,peak_rss_bytes" > "$CSV"
for cfg in $CONFIGS; do
  [ -f "$cfg" ] || { echo "error: $cfg: no such config" >&2; exit 1; }
  name=$(basename "$cfg" .json)
  for ctx in $CONTEXTS; do
    echo "== $name context $ctx" >&2
    # One process per point: peak RSS is per point, and a refused (too large) point does not stop the others.
    if ! j=$("$BIN" bench decode --config "$cfg" --dtype "$DTYPE" --context "$ctx" --tokens "$TOKENS" \
             --threads "$THREADS" --kv-cache-dtype "$KV" --read-probe-mb 0 --json); then
      echo "   skipped (see the error above)" >&2
      continue
    fi
    /usr/bin/python3 -c '
import json, sys
j = json.loads(sys.argv[2])
print(",".join(str(x) for x in [sys.argv[1], j["context"], j["fill"], j["tokens_per_s"], j["bytes_per_token"],
                                j["gb_per_s"], j["cache_bytes_used"], j["peak_rss_bytes"]]))' "$name" "$j" >> "$CSV"
  done
done
column -s, -t < "$CSV"
/usr/bin/python3 bench/plot_long_context.py "$CSV" "$OUT/long_context.png"
echo "wrote $CSV and $OUT/long_context.png"
