#!/usr/bin/env bash
# The default end-to-end job: install dependencies, build, check the engine against the Hugging Face golden data,
# create a ~100M-parameter hybrid model and generate from it with the cache, printing speed.
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
echo "== a random 108M-parameter hybrid (9 GDN + 3 attention layers)"
[ -f build/demo-100m/model.safetensors ] || ./build/hybrid init -c configs/hybrid-100m.json -o build/demo-100m --seed 1
./build/hybrid info -m build/demo-100m
echo "== generate 32 tokens after a 128-token prompt"
./build/hybrid generate -m build/demo-100m --prompt-ids "$(seq -s, 1 128)" -n 32 --ignore-eos
