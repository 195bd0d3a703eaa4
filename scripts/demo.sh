#!/usr/bin/env bash
# The default end-to-end job: install dependencies (including an English corpus from Debian packages), build, check
# the engine against the Hugging Face golden data, train a BPE tokenizer and a ~5M-parameter hybrid on the corpus
# (about 3 minutes of training on 2 cores), report its validation loss against the unigram entropy of the validation data,
# generate a sample from the trained checkpoint, then create a random ~100M-parameter hybrid and time generation.
# Re-running resumes or reuses finished steps.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
G=../shared/golden/olmo_hybrid_tiny
if [ -d "$G" ]; then
  echo "== exactness vs HF transformers golden logits"
  ./build/hybrid logits -m "$G" --ids "$G/ids_prefill.npy" -o build/demo_logits.npy
  /usr/bin/python3 -c "import numpy as np; a=np.load('build/demo_logits.npy'); b=np.load('$G/logits_prefill.npy'); print('max |ours - HF| =', float(abs(a-b).max()))"
fi
echo "== English corpus from Debian packages (Jane Austen, fortunes, Devil's Dictionary)"
scripts/demo-data.sh build/demo-corpus
echo "== BPE tokenizer, 8192 tokens"
[ -f build/demo-tokenizer/tokenizer.json ] ||
  ./build/hybrid tokenizer train --vocab-size 8192 --input build/demo-corpus/*.txt --out build/demo-tokenizer
echo "== token shards with a 2% held-out validation split"
[ -f build/demo-data/manifest.json ] ||
  ./build/hybrid prepare --tokenizer build/demo-tokenizer --input build/demo-corpus/*.txt --out build/demo-data \
    --val-fraction 0.02 --seed 1
echo "== train a ~5M-parameter hybrid (configs/demo.json)"
STEPS=$(/usr/bin/python3 -c "import json; print(json.load(open('configs/demo.json'))['steps'])")
DONE=$(/usr/bin/python3 -c "import json; print(json.load(open('build/demo-run/checkpoint/trainer_state.json'))['step'])" 2>/dev/null || echo 0)
if [ "$DONE" = 0 ]; then rm -rf build/demo-run; ./build/hybrid train -c configs/demo.json
elif [ "$DONE" != "$STEPS" ]; then ./build/hybrid train -c configs/demo.json --resume
fi
/usr/bin/python3 - <<'PY'
import json
m = [json.loads(l) for l in open("build/demo-run/metrics.jsonl")]
ev = [r for r in m if "val_loss" in r]
h = json.load(open("build/demo-data/manifest.json"))["val_unigram_entropy"]
print(f"trained {m[-1]['step']} steps, {m[-1]['tokens']:,} tokens")
for r in ev: print(f"  step {r['step']:5d}  val_loss {r['val_loss']:.4f} nats/token")
v = ev[-1]["val_loss"]
print(f"validation loss {v:.4f} vs unigram entropy of the validation data {h:.4f} nats/token "
      f"({h - v:.2f} nats below; perplexity {2.718281828**v:.1f} vs {2.718281828**h:.1f})")
PY
echo "== sample from the trained checkpoint"
PROMPT="It is a truth universally acknowledged"
printf '%s' "$PROMPT"
./build/hybrid generate -m build/demo-run/checkpoint -p "$PROMPT" -n 80 --temperature 0.8 --top-k 40 --seed 2 \
  --ignore-eos
echo
echo "== a random 108M-parameter hybrid (9 GDN + 3 attention layers)"
[ -f build/demo-100m/model.safetensors ] || ./build/hybrid init -c configs/hybrid-100m.json -o build/demo-100m --seed 1
./build/hybrid info -m build/demo-100m
echo "== generate 32 tokens after a 128-token prompt"
./build/hybrid generate -m build/demo-100m --prompt-ids "$(seq -s, 1 128)" -n 32 --ignore-eos
