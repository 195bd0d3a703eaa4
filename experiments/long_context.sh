#!/usr/bin/env bash
# Long-context cost: decode tokens/s, bytes per token, cache bytes and peak RSS vs context length for the 3:1
# hybrid and the transformer at the same parameter count (experiments/configs/), through `hybrid bench decode`.
# The hybrid's cache is 1/4 attention KV (grows with context) + fixed GDN states; the transformer's is all KV.
# Writes long_context.csv and long_context.png. Exits 77 (skipped) when the binary has no `bench` command.
# Usage: experiments/long_context.sh [--smoke] [--out DIR] [--bin build/hybrid] [--threads 2]
source "$(dirname "$0")/common.sh"
study_out long_context

if ! "$BIN" bench decode --help > /dev/null 2>&1; then
  echo "long_context: this hybrid binary has no 'bench decode' command; skipped" >&2
  exit 77
fi
if [ "$SMOKE" = 1 ]; then
  CONTEXTS="128 256"; TOKENS=4; CONFIGS="hybrid-2m transformer-2m"
else
  CONTEXTS="1024 2048 4096 8192 16384 32768"; TOKENS=32; CONFIGS="hybrid-10m transformer-10m"
fi
for c in $CONFIGS; do
  for ctx in $CONTEXTS; do
    f=$OUT/$c-ctx$ctx.json
    [ -f "$f" ] && continue
    echo "  bench $c context $ctx"
    "$BIN" bench decode --config experiments/configs/$c.json --dtype bf16 --context $ctx --tokens $TOKENS \
      --threads $THREADS --json > "$f.tmp" && mv "$f.tmp" "$f"
  done
done
$PY experiments/analyze.py long-context "$OUT"
finish
