#!/usr/bin/env bash
# Recall: multi-query associative recall at growing numbers of key-value pairs and sequence lengths. One model per
# (architecture, length, pairs), trained on answer positions only and scored on fresh examples (another seed).
# All-GDN keeps a fixed-size state per layer (heads x key dim x value dim), so its accuracy should fall once the
# pairs outgrow it; attention keeps every pair in its KV cache. Writes recall_mqar.csv and recall_mqar.png.
# Usage: experiments/recall_mqar.sh [--smoke] [--out DIR] [--bin build/hybrid] [--threads 2]
source "$(dirname "$0")/common.sh"
study_out recall_mqar

if [ "$SMOKE" = 1 ]; then
  LENGTHS="32"; PAIRS="2 6"; D=32; L=4; H=2; KEYS=32; STEPS=40; BATCH=8; LR=0.01; WARMUP=5
  TRAIN_EX=2000; TEST_EX=64
else
  # d_model 128, 4 layers (the hybrid: 3 GDN + 1 attention), 2 heads: GDN state 2 x 48 x 96 per layer.
  # Pairs that do not fit a length (2 + 4 pairs > length) are skipped: 11 (length, pairs) cells x 3 models.
  LENGTHS="64 128 256"; PAIRS="4 8 16 30 60"; D=128; L=4; H=2; KEYS=256; STEPS=1000; BATCH=16; LR=0.003
  WARMUP=100; TRAIN_EX=20000; TEST_EX=1000
fi

for len in $LENGTHS; do
  for n in $PAIRS; do
    (( 2 + 4 * n <= len )) || continue
    data=$OUT/data/L$len-n$n
    [ -f "$data/manifest.json" ] || "$BIN" synth --task mqar --pairs $n --keys $KEYS --values $KEYS \
      --min-len $len --max-len $len --train-examples $TRAIN_EX --val-examples 256 --seed 0 --out "$data" > /dev/null
    for arch in transformer hybrid gdn; do
      run=$OUT/runs/$arch-L$len-n$n
      mkdir -p "$OUT/runs"
      write_run "$run.json" "$data" "$run" "$(model_json $arch $D $L $H)" $STEPS $BATCH $((len - 1)) $LR $WARMUP 1 \
        $((STEPS / 5)) 4
      echo "  train $arch length $len pairs $n"
      train_once "$run.json" "$run"
      [ -f "$run/eval.json" ] || "$BIN" eval -m "$run/checkpoint" --task mqar --pairs $n --keys $KEYS --values $KEYS \
        --min-len $len --max-len $len --examples $TEST_EX --seed 12345 --threads $THREADS --json > "$run/eval.json"
    done
  done
done
$PY experiments/analyze.py recall-mqar "$OUT"
finish
