#!/usr/bin/env bash
# Prepares the data of configs/smoke.json from Debian text that scripts/setup.sh installs (fortunes, the common
# licenses): trains a 1024-token BPE tokenizer on it and writes token shards to build/smoke-data. Takes seconds.
# Usage: scripts/smoke-data.sh [HYBRID_BINARY] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/hybrid}
OUT=${2:-build/smoke-data}
FORTUNES=/usr/share/games/fortunes
INPUTS=()
for f in "$FORTUNES/fortunes" "$FORTUNES/literature" "$FORTUNES/people" "$FORTUNES/wisdom" \
         /usr/share/common-licenses/GPL-3 /usr/share/common-licenses/Apache-2.0; do
  [ -f "$f" ] && INPUTS+=("$f")
done
if [ ${#INPUTS[@]} -lt 2 ]; then
  echo "smoke-data: Debian text missing (run scripts/setup.sh, which installs fortunes)" >&2
  exit 1
fi
"$BIN" tokenizer train --vocab-size 1024 --input "${INPUTS[@]}" --out "$OUT/tokenizer" >/dev/null 2>&1
"$BIN" prepare --tokenizer "$OUT/tokenizer" --input "${INPUTS[@]}" --out "$OUT" --val-fraction 0.05 --seed 1
