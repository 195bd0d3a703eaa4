#!/usr/bin/env bash
# Data-parallel training end to end on one host with 2 MPI ranks (1 thread each):
#   1. train: mpirun -np 2 equals one process with --grad-accum 2 bit for bit (metrics.jsonl, model, AdamW moments);
#   2. resume across world sizes: 2 ranks to step 20 then 1 process, and 1 process then 2 ranks, equal the straight run;
#   3. sft and dpo (pre-tokenized rows, packing, the DPO reference cache written by rank 0): 2 ranks equal 1 process;
#   4. a rank killed with SIGKILL ends the job (non-zero) in < 60 s, and the last checkpoint resumes to the
#      straight run's bits; a non-finite loss stops both ranks with the error.
# Usage: dp_test.sh HYBRID_BINARY REPO_DIR WORK_DIR [MPIRUN]
set -euo pipefail
BIN=$1; REPO=$2; W=$3; MPIRUN=${4:-mpirun}
command -v "$MPIRUN" >/dev/null || { echo "dp_test: $MPIRUN not found"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=${OMPI_MCA_pml:-ob1} \
       OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader} OMPI_MCA_btl_vader_single_copy_mechanism=none \
       OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
MPI=("$MPIRUN" -np 2 --bind-to none)
rm -rf "$W"; mkdir -p "$W"
fails=0
check() { if "$@"; then echo "ok: ${CHECK_NAME}"; else echo "FAIL: ${CHECK_NAME}"; fails=$((fails + 1)); fi; }
strip() { sed 's/, "tokens_per_s": [0-9.e+-]*//' "$1"; }
same_run() {  # same metrics (but the timing field) and the same checkpoint bytes
  local a=$1 b=$2
  diff <(strip "$a/metrics.jsonl") <(strip "$b/metrics.jsonl") >/dev/null &&
    [ -s "$a/metrics.jsonl" ] &&
    for f in model.safetensors optimizer.safetensors optimizer_sq.safetensors; do
      cmp -s "$a/checkpoint/$f" "$b/checkpoint/$f" || return 1
    done
}

"$REPO/scripts/smoke-data.sh" "$BIN" "$W/data" >/dev/null
CFG="$REPO/configs/smoke.json"
T=(train -c "$CFG" --data "$W/data" -t 1 -q)

# 1. Equivalence.
"$BIN" "${T[@]}" -o "$W/one" --grad-accum 2
"${MPI[@]}" "$BIN" "${T[@]}" -o "$W/two"
CHECK_NAME="train: 2 ranks == 1 process x grad-accum 2 (losses, model, moments bit-identical)" check same_run "$W/one" "$W/two"
grep -q '"val_loss"' "$W/two/metrics.jsonl"
CHECK_NAME="train: the 2-rank run wrote metrics.jsonl once (rank 0)" check test "$(wc -l < "$W/two/metrics.jsonl")" -eq 40

# 2. Resume across world sizes.
"${MPI[@]}" "$BIN" "${T[@]}" -o "$W/2to1" --until 20
"$BIN" "${T[@]}" -o "$W/2to1" --grad-accum 2 --resume
CHECK_NAME="train: 2 ranks to step 20, resumed by 1 process == straight" check same_run "$W/one" "$W/2to1"
"$BIN" "${T[@]}" -o "$W/1to2" --grad-accum 2 --until 20
"${MPI[@]}" "$BIN" "${T[@]}" -o "$W/1to2" --resume
CHECK_NAME="train: 1 process to step 20, resumed by 2 ranks == straight" check same_run "$W/one" "$W/1to2"

# 3. SFT and DPO on pre-tokenized rows, from the trained checkpoint.
python3 - "$W" <<'PY'
import json, random, sys
w = sys.argv[1]
rng = random.Random(5)
def ids(n): return [rng.randrange(4, 1000) for _ in range(n)]
with open(f"{w}/sft.jsonl", "w") as f:
    for _ in range(24):
        p, a = ids(rng.randrange(3, 20)), ids(rng.randrange(1, 12))
        f.write(json.dumps({"input_ids": p + a, "labels": [-100] * len(p) + a}) + "\n")
with open(f"{w}/dpo.jsonl", "w") as f:
    for _ in range(24):
        f.write(json.dumps({"prompt_ids": ids(rng.randrange(3, 15)), "chosen_ids": ids(rng.randrange(1, 10)),
                            "rejected_ids": ids(rng.randrange(1, 10))}) + "\n")
for kind, extra in (("sft", {}), ("dpo", {"loss": "dpo_norm", "beta": 2.0})):
    cfg = {"init_from": f"{w}/one/checkpoint", "data": f"{w}/{kind}.jsonl", "epochs": 2, "batch": 4, "max_len": 64,
           "pack": 48, "lr": 1e-3, "schedule": "linear", "lr_final_ratio": 0.0, "warmup_ratio": 0.1,
           "weight_decay": 0.0, "seed": 3, "threads": 1, **extra}
    json.dump(cfg, open(f"{w}/{kind}.json", "w"))
PY
for kind in sft dpo; do
  "$BIN" "$kind" -c "$W/$kind.json" -o "$W/$kind-one" -q --grad-accum 2
  "${MPI[@]}" "$BIN" "$kind" -c "$W/$kind.json" -o "$W/$kind-two" -q
  CHECK_NAME="$kind: 2 ranks == 1 process x grad-accum 2 (bit-identical)" check same_run "$W/$kind-one" "$W/$kind-two"
done
CHECK_NAME="dpo: metrics carry the TRL fields" check grep -q '"rewards/accuracies"' "$W/dpo-two/metrics.jsonl"

# 4. Failure. A longer run (checkpoints every 10 steps); rank 1 is killed once a checkpoint exists.
python3 - "$CFG" "$W/long.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c.update(steps=400, checkpoint_interval=10, eval_interval=0, eval_batches=0)
json.dump(c, open(sys.argv[2], "w"))
PY
L=(train -c "$W/long.json" --data "$W/data" -t 1 -q)
"${MPI[@]}" "$BIN" "${L[@]}" -o "$W/killed" & MPID=$!
for _ in $(seq 600); do [ -f "$W/killed/checkpoint/trainer_state.json" ] && break; sleep 0.05; done
victim=""
for p in $(pgrep -P "$MPID"); do
  grep -qz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2>/dev/null && victim=$p
done
[ -n "$victim" ] || { echo "FAIL: no rank-1 process found under mpirun"; kill "$MPID"; exit 1; }
t0=$(date +%s.%N)
kill -9 "$victim"
set +e; wait "$MPID"; rc=$?; set -e
dt=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$t0" "$(date +%s.%N)")
echo "killed rank 1: mpirun exited with $rc after $dt s"
CHECK_NAME="kill -9 of a rank ends the job non-zero in < 60 s ($dt s)" check python3 -c "import sys; sys.exit(not ($rc != 0 and $dt < 60))"
step=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step'])" "$W/killed/checkpoint/trainer_state.json")
echo "last checkpoint: step $step of 400"
"$BIN" "${L[@]}" -o "$W/killed" --grad-accum 2 --resume
"$BIN" "${L[@]}" -o "$W/long-one" --grad-accum 2
CHECK_NAME="the killed run resumed from step $step equals the straight run" check same_run "$W/long-one" "$W/killed"

python3 - "$CFG" "$W/nan.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c.update(steps=12, lr=1e30, warmup=0, grad_clip=0.0, checkpoint_interval=1)
json.dump(c, open(sys.argv[2], "w"))
PY
set +e
out=$(timeout 120 "${MPI[@]}" "$BIN" train -c "$W/nan.json" --data "$W/data" -t 1 -q -o "$W/nan" 2>&1); rc=$?
set -e
CHECK_NAME="a non-finite loss stops every rank with the error (rc $rc)" check \
  bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'is not finite' <<< \"\$1\"" _ "$out"

echo "dp_test: $fails failure(s)"
exit $((fails > 0))
