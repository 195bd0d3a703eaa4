#!/usr/bin/env bash
# Post-training demo: base -> SFT -> DPO on the README demo model (scripts/demo.sh trains it; this script trains it
# too when it is missing), on instruction tasks whose success a program measures ("How many words: W1 W2 W3",
# "Is W in the list: ...?") over headwords of the Devil's Dictionary (dict-devil), held-out prompts using words no
# training prompt contains (scripts/posttrain-data.py). Each stage is scored on the held-out prompts: exact match of `hybrid generate --chat`
# (greedy) and pairwise accuracy (log-prob of the right answer above the wrong one, `hybrid logps`).
# Ends by chatting with the final model. Re-running starts the post-training stages afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/hybrid
[ -x "$B" ] || { cmake -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build; }
if [ ! -f build/demo-run/checkpoint/trainer_state.json ]; then
  echo "== base model: the README demo (corpus, tokenizer, 450 training steps)"
  scripts/demo-data.sh build/demo-corpus
  [ -f build/demo-tokenizer/tokenizer.json ] ||
    $B tokenizer train --vocab-size 8192 --input build/demo-corpus/*.txt --out build/demo-tokenizer
  [ -f build/demo-data/manifest.json ] ||
    $B prepare --tokenizer build/demo-tokenizer --input build/demo-corpus/*.txt --out build/demo-data \
      --val-fraction 0.02 --seed 1
  rm -rf build/demo-run
  $B train -c configs/demo.json -q
fi
echo "== data from dict-devil"
/usr/bin/python3 scripts/posttrain-data.py build/posttrain-data

score() {  # score NAME CHECKPOINT
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, subprocess, sys, time
name, ckpt = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open("build/posttrain-data/heldout.jsonl")]
t = time.time()
ok = 0
for r in rows:
    out = subprocess.run(["build/hybrid", "generate", "-m", ckpt, "--chat", "-p", r["prompt"], "-n", "8", "-t", "2"],
                         capture_output=True, text=True, check=True).stdout.strip()
    ok += out == r["answer"]
subprocess.run(["build/hybrid", "logps", "-m", ckpt, "--data", "build/posttrain-data/dpo_val.jsonl",
                "-o", "build/posttrain-data/lp.jsonl", "-t", "2"], check=True, capture_output=True)
lp = [json.loads(l) for l in open("build/posttrain-data/lp.jsonl")]
acc = sum(r["chosen_logp"] / r["chosen_tokens"] > r["rejected_logp"] / r["rejected_tokens"] for r in lp) / len(lp)
print(f"  {name:5s}  exact match {ok}/{len(rows)} = {ok / len(rows):.1%}   pairwise accuracy {acc:.1%}"
      f"   (held out; scored in {time.time() - t:.0f} s)")
PY
}

echo "== held-out scores of the base model"
score base build/demo-run/checkpoint
echo "== SFT (configs/sft-demo.json)"
rm -rf build/sft-run
start=$(date +%s)
$B sft -c configs/sft-demo.json
echo "  SFT wall time $(( $(date +%s) - start )) s"
score sft build/sft-run/checkpoint
echo "== DPO (configs/dpo-demo.json; reference = the SFT model)"
rm -rf build/dpo-run
start=$(date +%s)
$B dpo -c configs/dpo-demo.json
echo "  DPO wall time $(( $(date +%s) - start )) s"
/usr/bin/python3 - <<'PY'
import json
m = [json.loads(l) for l in open("build/dpo-run/metrics.jsonl")]
print("  reward accuracy (training batches) by step:", ", ".join(f"{r['step']}: {r['rewards/accuracies']:.2f}"
      for r in m if r["step"] % 15 == 0 or r["step"] == m[-1]["step"]))
print("  validation loss by step:", ", ".join(f"{r['step']}: {r['val_loss']:.4f}" for r in m if "val_loss" in r))
PY
score dpo build/dpo-run/checkpoint
echo "== chat with the final model"
for p in "How many words: whiskey lawyer ocean" "Is piano in the list: ocean reason piano?"; do
  echo "> $p"
  $B generate -m build/dpo-run/checkpoint --chat -p "$p" -n 24
done
