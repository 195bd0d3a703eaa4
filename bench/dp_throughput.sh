#!/usr/bin/env bash
# Data-parallel throughput on one host: hybrid-10m (configs/hybrid-10m.json) at batch 8 x 512 on the demo data,
# 1 process x 2 threads against 2 MPI ranks x 1 thread, alternated ROUNDS times (A B A B ...) so that drift of
# the machine's speed hits both. Prints each run's tokens/s (the last metrics.jsonl line: all steps since start-up,
# not the checkpoint at the end), the 2-rank run's communication time per step, and the median ratio.
# Usage: bench/dp_throughput.sh [HYBRID_BINARY] [DATA_DIR] [STEPS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/hybrid}; DATA=${2:-build/demo-data}; STEPS=${3:-6}; ROUNDS=${4:-3}
[ -f "$DATA/manifest.json" ] || { echo "no prepared data in $DATA (scripts/demo.sh prepares build/demo-data)" >&2; exit 1; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cat > "$W/run.json" <<JSON
{"model": "$PWD/configs/hybrid-10m.json", "data": "$PWD/$DATA", "steps": $STEPS, "batch": 8, "seq_len": 512,
 "lr": 1e-3, "warmup": 0, "eval_batches": 0, "seed": 1}
JSON
tps() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])['tokens_per_s'])" "$1/metrics.jsonl"; }
one=(); two=(); comm=()
for r in $(seq "$ROUNDS"); do
  rm -rf "$W/a" "$W/b"
  "$BIN" train -c "$W/run.json" -o "$W/a" -t 2 -q
  one+=("$(tps "$W/a")")
  scripts/mpirun-local.sh 2 "$BIN" train -c "$W/run.json" -o "$W/b" -t 1 2> "$W/b.log"
  two+=("$(tps "$W/b")")
  comm+=("$(sed -n 's/.*communication .* (\([0-9.]*\)% of the run, \([0-9.]*\) ms per step).*/\1% \2ms/p' "$W/b.log")")
  echo "round $r: 1 rank x 2 threads ${one[-1]} tok/s | 2 ranks x 1 thread ${two[-1]} tok/s | communication ${comm[-1]}"
done
python3 - "${one[*]}" "${two[*]}" <<'PY'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
print(f"median: 1 rank x 2 threads {statistics.median(a):.0f} tok/s, 2 ranks x 1 thread {statistics.median(b):.0f} tok/s, "
      f"ratio 2 ranks / 1 rank = {statistics.median([y / x for x, y in zip(a, b)]):.2f}")
PY
