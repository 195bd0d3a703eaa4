#!/usr/bin/env bash
# Training and decode throughput of hybrid.cpp next to the PyTorch reference on the same configs, same thread count,
# in the same run (timings on a shared machine are only comparable back to back).
#   bench/compare_torch.sh [CONFIG.json ...]
# Environment: HYBRID_BIN (default build/hybrid), HYBRID_SHARED_DIR (default ../shared beside the repo),
# REF_PYTHON (/usr/bin/python3), THREADS (2), BATCH (8), SEQ (512), STEPS (3 timed, 1 warm-up),
# PROMPT (128) and GEN (64) for decode.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${HYBRID_BIN:-build/hybrid}
SHARED=${HYBRID_SHARED_DIR:-../shared}
PY=${REF_PYTHON:-/usr/bin/python3}
REF="$SHARED/tools/ref_olmo_hybrid.py"
THREADS=${THREADS:-2} BATCH=${BATCH:-8} SEQ=${SEQ:-512} STEPS=${STEPS:-3} PROMPT=${PROMPT:-128} GEN=${GEN:-64}
[ -x "$BIN" ] || { echo "error: $BIN not built (cmake --build build)" >&2; exit 1; }
[ -f "$REF" ] || { echo "error: $REF not found (set HYBRID_SHARED_DIR)" >&2; exit 1; }
if [ $# -eq 0 ]; then set -- "$SHARED/tools/configs/hybrid-10m.json" "$SHARED/tools/configs/transformer-10m.json"; fi
export OMP_NUM_THREADS=$THREADS

json_field() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
ref_field() { awk -v k="$1" '$1 == k { print $2 }'; }

rows=()
for cfg in "$@"; do
  [ -f "$cfg" ] || { echo "error: $cfg: no such config" >&2; exit 1; }
  name=$(basename "$cfg" .json)
  echo "== $name: train (batch $BATCH x $SEQ, $STEPS steps, $THREADS threads)" >&2
  ours_train=$("$BIN" bench train --config "$cfg" --batch "$BATCH" --seq "$SEQ" --steps "$STEPS" --warmup 1 \
               --threads "$THREADS" --peak-n 0 --json | json_field tokens_per_s)
  ref_train=$("$PY" "$REF" bench-train --config "$cfg" --batch "$BATCH" --seq "$SEQ" --steps "$STEPS" --warmup 1 \
              --threads "$THREADS" | ref_field train_tokens_per_s)
  echo "== $name: decode (prompt $PROMPT, $GEN tokens)" >&2
  ours_dec=$("$BIN" bench decode --config "$cfg" --context "$PROMPT" --fill prefill --tokens "$GEN" \
             --threads "$THREADS" --json | json_field tokens_per_s)
  ref_dec=$("$PY" "$REF" bench-decode --config "$cfg" --prompt-len "$PROMPT" --gen "$GEN" --threads "$THREADS" |
            ref_field decode_tokens_per_s)
  rows+=("$name train $ours_train $ref_train" "$name decode $ours_dec $ref_dec")
done

printf '\n%-18s %-7s %12s %12s %8s\n' config bench "ours tok/s" "torch tok/s" ratio
for r in "${rows[@]}"; do
  set -- $r
  awk -v c="$1" -v b="$2" -v o="$3" -v t="$4" \
    'BEGIN { printf "%-18s %-7s %12.1f %12.1f %7.2fx\n", c, b, o, t, (t > 0 ? o / t : 0) }'
done
echo "($THREADS threads; ours/torch > 1 means hybrid.cpp is faster)"
