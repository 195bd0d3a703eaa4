#!/usr/bin/env bash
# Same-run A/B comparison of two builds of `hybrid` (e.g. the commit before a change and after it), interleaved
# A B A B so drift of the machine hits both: training step (hybrid-10m, batch 8 x 512), decode tg128 and prefill
# pp512 (bench-0.4b-hybrid, BF16), 2 threads. Prints tokens/s per run and the median ratio B/A.
# usage: bench/ab_compare.sh BASE_BIN NEW_BIN [ROUNDS=2]
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-2}
CFG=${CFG:-$(dirname "$0")/../../shared/tools/configs}
declare -A cmd=(
  [train]="bench train --config $CFG/hybrid-10m.json --batch 8 --seq 512 --steps 3 --threads 2 --json"
  [decode]="bench decode --config $CFG/bench-0.4b-hybrid.json --dtype bf16 --tokens 128 --threads 2 --reps 2 --json"
  [prefill]="bench prefill --config $CFG/bench-0.4b-hybrid.json --dtype bf16 --tokens 512 --threads 2 --reps 2 --json"
)
tps() { "$1" $2 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])'; }
for name in train decode prefill; do
  ra=(); rb=()
  for ((i = 0; i < ROUNDS; i++)); do
    ra+=("$(tps "$A" "${cmd[$name]}")")
    rb+=("$(tps "$B" "${cmd[$name]}")")
  done
  python3 - "$name" "${ra[*]}" "${rb[*]}" <<'PY'
import statistics, sys
name, a, b = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
ratios = [y / x for x, y in zip(a, b)]
print(f"{name:8s} base {' '.join(f'{x:8.1f}' for x in a)} | new {' '.join(f'{x:8.1f}' for x in b)} tok/s | "
      f"new/base median {statistics.median(ratios):.3f} (pairs {' '.join(f'{r:.3f}' for r in ratios)})")
PY
done
