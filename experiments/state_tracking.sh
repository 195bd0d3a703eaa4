#!/usr/bin/env bash
# State tracking: the word problem of Z2 (parity), S3 and S5 - the answer at every position is the running product
# of the group elements so far. Trained on short sequences, tested on sequences up to several times longer
# (length generalisation, accuracy per position bucket). Compares the transformer, the hybrid, all-GDN with
# linear_allow_neg_eigval (beta in (0, 2): the transition can flip sign, which parity needs) and all-GDN without it
# (beta in (0, 1)). Writes state_tracking.csv and state_tracking.png.
# Usage: [TASKS="parity s3 s5"] experiments/state_tracking.sh [--smoke] [--out DIR] [--bin build/hybrid] [--threads 2] [--jobs 1]
source "$(dirname "$0")/common.sh"
study_out state_tracking

if [ "$SMOKE" = 1 ]; then
  TASKS="parity"; TRAIN_MAX=8; TEST_MAX=24; BUCKET=4; D=32; L=4; H=2; STEPS=60; BATCH=16; LR=0.01; WARMUP=5
  TRAIN_EX=2000; TEST_EX=64
else
  # The default budget runs parity (4 runs, ~11 min); TASKS="parity s3 s5" adds the permutation groups S3 and S5
  # (~12 min each, same models and schedule).
  TASKS=${TASKS:-parity}; TRAIN_MAX=32; TEST_MAX=128; BUCKET=16; D=128; L=4; H=2; STEPS=2000; BATCH=32; LR=0.003
  WARMUP=100; TRAIN_EX=50000; TEST_EX=500
fi

# train_and_score TASK ARCH MODEL_JSON
train_and_score() {
  local run=$OUT/runs/$1-$2
  write_run "$run.json" "$OUT/data/$1" "$run" "$3" $STEPS $BATCH $TRAIN_MAX $LR $WARMUP 1 $((STEPS / 5)) 4
  train_once "$run.json" "$run"
  [ -f "$run/eval.json" ] || "$BIN" eval -m "$run/checkpoint" --task $1 --min-len $TEST_MAX --max-len $TEST_MAX \
    --examples $TEST_EX --seed 12345 --bucket $BUCKET --threads $THREADS --json > "$run/eval.json.tmp"
  [ -f "$run/eval.json" ] || mv "$run/eval.json.tmp" "$run/eval.json"
  echo "  done $1 $2"
}

mkdir -p "$OUT/runs"
for task in $TASKS; do
  data=$OUT/data/$task
  [ -f "$data/manifest.json" ] || "$BIN" synth --task $task --min-len 1 --max-len $TRAIN_MAX \
    --train-examples $TRAIN_EX --val-examples 256 --seed 0 --out "$data" > /dev/null
  for arch in transformer hybrid gdn gdn-noneg; do
    case $arch in
      gdn-noneg) model=$(model_json gdn $D $L $H '"linear_allow_neg_eigval": false') ;;
      *) model=$(model_json $arch $D $L $H) ;;
    esac
    in_parallel train_and_score $task $arch "$model"
  done
done
wait_all
$PY experiments/analyze.py state-tracking "$OUT" --train-len $TRAIN_MAX
finish
