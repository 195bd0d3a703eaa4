# Shared by the experiment scripts (sourced, not run). Parses the common flags, writes run configs, times runs.
#   --smoke         the minutes-long version (CI): tiny models, few steps, small grids
#   --out DIR       results folder (default build/experiments/<study>[-smoke])
#   --bin PATH      the hybrid binary (default build/hybrid)
#   --threads N     threads per run (default 2)
#   --jobs N        runs trained side by side, for studies that support it (default 1; tiny models train faster as
#                   two 1-thread runs than as one 2-thread run: --jobs 2 --threads 1)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SMOKE=0
OUT=""
BIN=build/hybrid
THREADS=2
JOBS=1
PY=/usr/bin/python3
while (($#)); do
  case $1 in
    --smoke) SMOKE=1 ;;
    --out) OUT=$2; shift ;;
    --bin) BIN=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "$(basename "$0"): unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || { echo "$(basename "$0"): --threads: need a positive integer" >&2; exit 2; }
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "$(basename "$0"): --jobs: need a positive integer" >&2; exit 2; }
[ -x "$BIN" ] || { echo "$(basename "$0"): $BIN is not built (cmake --build build)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
study_out() {  # study_out NAME: sets OUT and creates it
  [ -n "$OUT" ] || OUT=build/experiments/$1$([ "$SMOKE" = 1 ] && echo -smoke || true)
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd)
  STUDY_START=$(date +%s)
  echo "$1: results in $OUT ($([ "$SMOKE" = 1 ] && echo smoke || echo full) mode, $THREADS threads per run, $JOBS at once)"
}

# write_run FILE DATA RUN_DIR MODEL_JSON STEPS BATCH SEQ LR WARMUP SEED EVAL_INTERVAL EVAL_BATCHES
# ($RUN_EXTRA, when set, is more JSON fields for every run, e.g. "eval_suite": "...")
write_run() {
  cat > "$1" <<JSON
{
  "model": $4,
  "data": "$2", "out": "$3",
  "steps": $5, "batch": $6, "seq_len": $7, "lr": $8, "warmup": $9,
  "schedule": "cosine", "weight_decay": 0.1, "grad_clip": 1.0, "z_loss": 1e-5,
  "seed": ${10}, "eval_interval": ${11}, "eval_batches": ${12}, "log_interval": 50, "threads": $THREADS${RUN_EXTRA:+,
  $RUN_EXTRA}
}
JSON
}

# model_json PRESET HIDDEN LAYERS HEADS [EXTRA_JSON_FIELDS]: a preset; transformer/gdn get the hybrid's size.
model_json() {
  echo "{\"preset\": \"$1\", \"hidden_size\": $2, \"num_hidden_layers\": $3, \"num_attention_heads\": $4${5:+, $5}}"
}

# train_once RUN_JSON RUN_DIR: trains unless RUN_DIR already holds a finished run (reruns resume cheaply);
# appends "RUN_DIR seconds" to $OUT/wall_times.txt.
train_once() {
  if [ -f "$2/DONE" ]; then return 0; fi
  rm -rf "$2"
  local t0=$(date +%s)
  "$BIN" train -c "$1" -o "$2" > "$2.log" 2>&1 || { echo "training failed: see $2.log" >&2; tail -3 "$2.log" >&2; return 1; }
  echo "$(basename "$2") $(( $(date +%s) - t0 ))" >> "$OUT/wall_times.txt"
  touch "$2/DONE"
}

# in_parallel CMD...: runs CMD in the background, keeping at most $JOBS at once; wait_all waits for the rest.
# A failed job makes the next in_parallel / wait_all fail (set -e stops the study).
in_parallel() {
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n; done
  "$@" &
}
wait_all() {
  local failed=0
  while (( $(jobs -rp | wc -l) > 0 )); do wait -n || failed=1; done
  wait || failed=1
  return $failed
}

finish() {
  echo "$(basename "$0" .sh): done in $(( $(date +%s) - STUDY_START )) s; CSV and PNG in $OUT"
}
