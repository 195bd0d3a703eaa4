#!/usr/bin/env bash
# RULER at small scale: transformer vs 3:1 hybrid vs all-GDN at matched parameter counts, pretrained on the same
# text with RULER-style retrieval documents mixed in (`hybrid synth --task ruler`: needles hidden in the training
# novels, each followed by its answer) so that a base model can learn the tasks, then scored by forced choice
# (`hybrid eval --task ruler --no-generate`: the right value against three decoys) at 1x, 4x and 16x the training
# length, with needles hidden in a work never trained on (Persuasion). Writes ruler.csv (accuracy per model, task
# and length), ruler_summary.csv (the mean over tasks) and ruler.png.
# Usage: experiments/ruler.sh [--smoke] [--out DIR] [--bin build/hybrid] [--threads 1] [--jobs 2]
source "$(dirname "$0")/common.sh"
study_out ruler

if [ "$SMOKE" = 1 ]; then
  scripts/demo-data.sh build/demo-corpus >/dev/null
  CORPUS=(/usr/share/games/fortunes/fortunes /usr/share/games/fortunes/literature)
  HAY_TRAIN=build/demo-corpus/austen-emma.txt; HAY_TEST=build/demo-corpus/austen-persuasion.txt
  VOCAB=512; SEEDS="1"; SIZE="32:4:2"; STEPS=20; BATCH=2; SEQ=1024; LR=0.003; WARMUP=2; VAL=0.2
  DOCS=60; DOC_MIN=400; DOC_MAX=512; LENGTHS="512,2048"; EXAMPLES=2
else
  # The demo corpus (scripts/demo-data.sh). The needles of the training documents hide in the four training
  # novels; those of the test items in Persuasion, held out of training whole.
  scripts/demo-data.sh build/demo-corpus >/dev/null
  CORPUS=(build/demo-corpus/austen-sensesensibility.txt build/demo-corpus/austen-prideprejudice.txt
          build/demo-corpus/austen-mansfieldpark.txt build/demo-corpus/austen-emma.txt
          build/demo-corpus/fortunes.txt build/demo-corpus/devils-dictionary.txt)
  HAY_TRAIN=$OUT/haystack-train.txt; HAY_TEST=build/demo-corpus/austen-persuasion.txt
  cat "${CORPUS[@]:0:4}" > "$HAY_TRAIN"
  # d=64, 4 layers, 2 heads (~0.2M non-embedding parameters); windows of 1024 tokens holding whole documents of
  # 256-512 tokens (document_boundaries: each its own sequence, RoPE from 0), so the training length is 512.
  VOCAB=4096; SEEDS=${SEEDS:-"1"}; SIZE=${SIZE:-"64:4:2"}; STEPS=${STEPS:-600}; BATCH=8; SEQ=1024; LR=0.003
  WARMUP=30; VAL=0.01; DOCS=${DOCS:-8000}; DOC_MIN=256; DOC_MAX=512; LENGTHS="512,2048,8192"; EXAMPLES=${EXAMPLES:-12}
fi

DATA=$OUT/data
if [ ! -f "$DATA/manifest.json" ]; then
  "$BIN" tokenizer train --vocab-size $VOCAB --input "${CORPUS[@]}" --out "$OUT/tokenizer" > /dev/null
  "$BIN" synth --task ruler --haystack "$HAY_TRAIN" --tokenizer "$OUT/tokenizer" --min-len $DOC_MIN \
    --max-len $DOC_MAX --train-examples $DOCS --seed 0 --out "$OUT/ruler-train.txt" | tee "$OUT/synth.txt"
  "$BIN" prepare --tokenizer "$OUT/tokenizer" --input "${CORPUS[@]}" "$OUT/ruler-train.txt" --val-fraction $VAL \
    --out "$DATA" | tee "$OUT/prepare.txt"
fi

IFS=: read -r D L H <<< "$SIZE"
RUN_EXTRA='"document_boundaries": true'
mkdir -p "$OUT/runs"
one() {  # one ARCH SEED: train, then score at every length
  local run=$OUT/runs/$1-s$2
  train_once "$run.json" "$run"
  [ -f "$run/ruler.json" ] || "$BIN" eval -m "$run/checkpoint" --task ruler --haystack "$HAY_TEST" \
    --length $LENGTHS --examples $EXAMPLES --no-generate --threads $THREADS --json > "$run/ruler.json.tmp" 2> "$run/ruler.log"
  [ -f "$run/ruler.json" ] || mv "$run/ruler.json.tmp" "$run/ruler.json"
}
for arch in transformer hybrid gdn; do
  for seed in $SEEDS; do
    write_run "$OUT/runs/$arch-s$seed.json" "$DATA" "$OUT/runs/$arch-s$seed" "$(model_json $arch $D $L $H)" $STEPS \
      $BATCH $SEQ $LR $WARMUP $seed 100 4
    echo "  train + RULER $arch seed $seed"
    in_parallel one $arch $seed
  done
done
wait_all
$PY experiments/analyze.py ruler "$OUT" --train-len $DOC_MAX
finish
