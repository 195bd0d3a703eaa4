#!/usr/bin/env bash
# Recall: multi-query associative recall (MQAR) as the number of key-value pairs grows past what a fixed-size state
# holds. One model per architecture and seed, trained on a mixture of pair counts (1..MAX_PAIRS, so the recall
# mechanism can be found on easy examples), then scored on fresh examples (another seed) for each (length, pairs)
# cell. GDN keeps a state of heads x key dim x value dim per layer, and the delta rule stores at most about key-dim
# pairs per head without interference; so GDN and the hybrid are trained at two key head dims (8 and 24), the
# transformer (whose KV cache grows with the pairs) once. Training asks every stored key back (in random order), so a
# model can answer later queries partly by elimination (which stored values are not given yet); the test examples
# ask one key each, so their accuracy is recall alone (chance, or "one of the stored values": 1/pairs). Cells at
# twice the training length (more pairs and more filler than seen in training) are reported separately: they mix
# recall with length generalisation.
# Writes recall_mqar.csv (per run) and recall_mqar_summary.csv (mean over seeds) and recall_mqar.png.
# Usage: experiments/recall_mqar.sh [--smoke] [--out DIR] [--bin build/hybrid] [--threads 1] [--jobs 2]
#   SEEDS="1 2 3 4" (environment, the default) picks the seeds. Measured here: 90 min with --jobs 2 --threads 1.
source "$(dirname "$0")/common.sh"
study_out recall_mqar

if [ "$SMOKE" = 1 ]; then
  TRAIN_LEN=32; MAX_PAIRS=6; EVAL="32:2,6 64:6,12"; D=32; KDS="8"; KEYS=16; STEPS=40; BATCH=8; WARMUP=5
  TRAIN_EX=2000; TEST_EX=64; SEEDS=${SEEDS:-1}
else
  # d_model 64, 4 layers (the hybrid: 3 GDN + 1 attention), 2 heads; 32 keys and 32 values, more keys than key
  # dims, so the keys cannot all be orthogonal in a head. 6000 steps x 32 records x 63 tokens per model.
  TRAIN_LEN=64; MAX_PAIRS=15; EVAL="64:2,4,6,8,10,12,15 128:8,15,24,31"; D=64; KDS="8 24"; KEYS=32; STEPS=6000
  BATCH=32; WARMUP=100; TRAIN_EX=200000; TEST_EX=1000; SEEDS=${SEEDS:-1 2 3 4}
fi
L=4; H=2; LR=0.003

data=$OUT/data/train-L$TRAIN_LEN
[ -f "$data/manifest.json" ] || "$BIN" synth --task mqar --min-pairs 1 --pairs $MAX_PAIRS --keys $KEYS --values $KEYS \
  --min-len $TRAIN_LEN --max-len $TRAIN_LEN --train-examples $TRAIN_EX --val-examples 256 --seed 0 --out "$data" > /dev/null
mkdir -p "$OUT/runs"

# train_and_score NAME MODEL_JSON SEED
train_and_score() {
  local run=$OUT/runs/$1
  write_run "$run.json" "$data" "$run" "$2" $STEPS $BATCH $((TRAIN_LEN - 1)) $LR $WARMUP $3 $((STEPS / 6)) 4
  train_once "$run.json" "$run"
  for cell in $EVAL; do
    local len=${cell%%:*} pairs=${cell#*:} p
    for p in ${pairs//,/ }; do
      local ev=$run/eval-L$len-n$p.json
      [ -f "$ev" ] || "$BIN" eval -m "$run/checkpoint" --task mqar --pairs $p --queries 1 --keys $KEYS \
        --values $KEYS --min-len $len --max-len $len --examples $TEST_EX --seed 12345 --threads $THREADS --json \
        > "$ev.tmp"
      [ -f "$ev" ] || mv "$ev.tmp" "$ev"
    done
  done
  echo "  done $1"
}

for seed in $SEEDS; do
  in_parallel train_and_score transformer-s$seed "$(model_json transformer $D $L $H)" $seed
  for kd in $KDS; do
    for arch in hybrid gdn; do
      in_parallel train_and_score $arch-k$kd-s$seed "$(model_json $arch $D $L $H "\"linear_key_head_dim\": $kd")" $seed
    done
  done
done
wait_all
$PY experiments/analyze.py recall-mqar "$OUT" --train-len $TRAIN_LEN
finish
