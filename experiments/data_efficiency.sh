#!/usr/bin/env bash
# Data efficiency: all-attention transformer vs 3:1 hybrid vs all-GDN at matched parameter counts (the presets
# match the non-embedding count through the SwiGLU width; the vocabulary is shared), same tokenizer, data,
# schedule and token budget, several seeds. Validation is whole works never trained on (prepare --val-files).
# Writes data_efficiency.csv (val loss and the MMLU-analog vs tokens), data_efficiency_summary.csv (final held-out
# loss and the tokens the hybrid/GDN need to reach the transformer's final loss, with a bootstrap CI over seeds),
# data_efficiency_mmlu.csv (the same for the knowledge tasks' correct-answer BPB) and PNGs.
# SIZES="2m:128:8:2" (name:hidden:layers:heads) runs one size; SUITE_ITEMS=N scores N items per knowledge task.
# Usage: experiments/data_efficiency.sh [--smoke] [--out DIR] [--bin build/hybrid] [--threads 2] [--jobs 1]
source "$(dirname "$0")/common.sh"
study_out data_efficiency

if [ "$SMOKE" = 1 ]; then
  # Debian text (scripts/setup.sh): fortunes to train on, the Apache license held out whole.
  CORPUS=(/usr/share/games/fortunes/fortunes /usr/share/games/fortunes/literature /usr/share/games/fortunes/wisdom
          /usr/share/common-licenses/GPL-3)
  HELD_OUT=(/usr/share/common-licenses/Apache-2.0)
  VOCAB=512; SEEDS="1 2"; SIZES="tiny:32:4:2"; STEPS=30; BATCH=4; SEQ=64; LR=0.003; WARMUP=3
  EVAL_INTERVAL=10; EVAL_BATCHES=2; EVAL_TOKENS=2000; SUITE_ITEMS=8
else
  # The demo corpus (scripts/demo-data.sh): Austen, fortunes, the Devil's Dictionary. Held out whole: Persuasion
  # (Austen's last novel) and Northanger Abbey - the other four novels stay in training, so this measures
  # generalisation to unseen works of a seen author plus everything else.
  scripts/demo-data.sh build/demo-corpus >/dev/null
  CORPUS=(build/demo-corpus/austen-sensesensibility.txt build/demo-corpus/austen-prideprejudice.txt
          build/demo-corpus/austen-mansfieldpark.txt build/demo-corpus/austen-emma.txt
          build/demo-corpus/fortunes.txt build/demo-corpus/devils-dictionary.txt)
  HELD_OUT=(build/demo-corpus/austen-persuasion.txt build/demo-corpus/austen-northangerabbey.txt)
  # name:hidden:layers:heads. ~1.8M and ~10.6M non-embedding parameters for the hybrid (printed per run).
  # 400 steps x 8 x 256 = 0.82M tokens per run, about half a pass over the training text: the 18 runs take ~2 hours
  # on 2 cores (measured: 2M runs ~2.5 min each, 10M runs ~9.5 min each, 2 threads).
  VOCAB=4096; SEEDS="1 2 3"; SIZES=${SIZES:-"2m:128:8:2 10m:256:12:4"}; STEPS=400; BATCH=8; SEQ=256; LR=0.003; WARMUP=40
  EVAL_INTERVAL=50; EVAL_BATCHES=8; EVAL_TOKENS=100000; SUITE_ITEMS=${SUITE_ITEMS:-200}
fi

# The MMLU-analog: the knowledge tasks of scripts/build-mc-benchmarks.py (WordNet, capitals), decontaminated
# against the training files, scored in-loop at every validation point ("eval_suite": 5-shot RC; the first
# SUITE_ITEMS items of each task), so each run's metrics.jsonl has the correct-answer BPB and accuracy vs tokens.
BENCH=$OUT/mc-benchmarks
if [ ! -f "$BENCH/knowledge.json" ]; then
  $PY scripts/build-mc-benchmarks.py "$BENCH" --train "${CORPUS[@]}" > "$OUT/mc-benchmarks.txt"
fi
RUN_EXTRA="\"eval_suite\": \"$BENCH/knowledge.json\", \"eval_suite_items\": $SUITE_ITEMS"

DATA=$OUT/data
if [ ! -f "$DATA/manifest.json" ]; then
  # The tokenizer sees only the training files: nothing about the held-out works leaks into it.
  "$BIN" tokenizer train --vocab-size $VOCAB --input "${CORPUS[@]}" --out "$OUT/tokenizer" > /dev/null
  "$BIN" prepare --tokenizer "$OUT/tokenizer" --input "${CORPUS[@]}" "${HELD_OUT[@]}" \
    --val-files "$(IFS=,; echo "${HELD_OUT[*]}")" --val-fraction 0 --out "$DATA" | tee "$OUT/prepare.txt"
fi

one() {  # one RUN: train, then the final checkpoint on the held-out works, in disjoint windows of the training length
  train_once "$1.json" "$1"
  [ -f "$1/eval.json" ] || "$BIN" eval -m "$1/checkpoint" --shards "$DATA" --seq $SEQ \
    --max-tokens $EVAL_TOKENS --threads $THREADS --json > "$1/eval.json.tmp"
  [ -f "$1/eval.json" ] || mv "$1/eval.json.tmp" "$1/eval.json"
}
mkdir -p "$OUT/runs"
for size in $SIZES; do
  IFS=: read -r name D L H <<< "$size"
  for seed in $SEEDS; do  # seed-major: a study cut short still has every architecture at the first seeds
    for arch in transformer hybrid gdn; do
      run=$OUT/runs/$name-$arch-s$seed
      write_run "$run.json" "$DATA" "$run" "$(model_json $arch $D $L $H)" $STEPS $BATCH $SEQ $LR $WARMUP $seed \
        $EVAL_INTERVAL $EVAL_BATCHES
      in_parallel one "$run"
      echo "  train $name $arch seed $seed"
    done
  done
done
wait_all
$PY experiments/analyze.py data-efficiency "$OUT"
finish
