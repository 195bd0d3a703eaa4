#!/usr/bin/env bash
# Recall: multi-query associative recall (MQAR) at growing numbers of key-value pairs and sequence lengths. One model
# per architecture, trained on a mixture of pair counts (1..MAX_PAIRS, so the recall mechanism can be found on easy
# examples) at the training length, then scored on fresh examples (another seed) for each (length, pairs) cell,
# including lengths beyond training (more filler between the store and the queries).
# All-GDN keeps a fixed-size state per layer (heads x key dim x value dim) in which the pairs must share the key
# directions, so its accuracy should fall as the pairs grow; attention keeps every pair in its KV cache.
# Writes recall_mqar.csv and recall_mqar.png.
# Usage: experiments/recall_mqar.sh [--smoke] [--out DIR] [--bin build/hybrid] [--threads 2]
source "$(dirname "$0")/common.sh"
study_out recall_mqar

if [ "$SMOKE" = 1 ]; then
  TRAIN_LEN=32; MAX_PAIRS=6; EVAL="32:2,6 64:2,6"; D=32; L=4; H=2; KEYS=16; STEPS=40; BATCH=8; LR=0.01; WARMUP=5
  TRAIN_EX=2000; TEST_EX=64
else
  # d_model 128, 4 layers (the hybrid: 3 GDN + 1 attention), 2 heads: GDN state 2 x 48 x 96 per layer; 64 keys
  # (more than the 48 key dimensions of a head) and 64 values. 800 steps x 32 records x 127 tokens per model.
  TRAIN_LEN=128; MAX_PAIRS=31; EVAL="64:2,4,8,15 128:2,4,8,16,31 256:2,4,8,16,31"; D=128; L=4; H=2; KEYS=64
  STEPS=800; BATCH=32; LR=0.003; WARMUP=100; TRAIN_EX=60000; TEST_EX=500
fi

data=$OUT/data/train-L$TRAIN_LEN
[ -f "$data/manifest.json" ] || "$BIN" synth --task mqar --min-pairs 1 --pairs $MAX_PAIRS --keys $KEYS --values $KEYS \
  --min-len $TRAIN_LEN --max-len $TRAIN_LEN --train-examples $TRAIN_EX --val-examples 256 --seed 0 --out "$data" > /dev/null
mkdir -p "$OUT/runs"
for arch in transformer hybrid gdn; do
  run=$OUT/runs/$arch
  write_run "$run.json" "$data" "$run" "$(model_json $arch $D $L $H)" $STEPS $BATCH $((TRAIN_LEN - 1)) $LR $WARMUP 1 \
    $((STEPS / 5)) 4
  echo "  train $arch (length $TRAIN_LEN, 1-$MAX_PAIRS pairs)"
  train_once "$run.json" "$run"
  for cell in $EVAL; do
    len=${cell%%:*}
    pairs=${cell#*:}
    for p in ${pairs//,/ }; do
      ev=$run/eval-L$len-n$p.json
      [ -f "$ev" ] || "$BIN" eval -m "$run/checkpoint" --task mqar --pairs $p --keys $KEYS --values $KEYS \
        --min-len $len --max-len $len --examples $TEST_EX --seed 12345 --threads $THREADS --json > "$ev"
    done
  done
done
$PY experiments/analyze.py recall-mqar "$OUT"
finish
