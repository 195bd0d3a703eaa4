#!/usr/bin/env bash
# Larger agreement check than CI: encode whole Debian text files with ours and with npm tiktoken (cl100k_base
# encode_ordinary), compare ids file by file and check exact decode. Sources: Python docs sources, fortunes, and
# the Linux kernel documentation (decompressed to a temporary directory).
# usage: scripts/tokenizer_corpus_check.sh [MEGABYTES=25] [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-25}
BUILD=${2:-build}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DOCS=/usr/share/doc/linux-doc-6.1/Documentation
[ -d "$DOCS" ] || { echo "missing $DOCS: run scripts/setup.sh" >&2; exit 1; }
python3 - "$DOCS" "$TMP/linux-doc" <<'PY'
import gzip, os, sys
src, dst = sys.argv[1:]
for root, _, files in os.walk(src):
    for f in files:
        if f.endswith(('.rst.gz', '.txt.gz')):
            out = os.path.join(dst, os.path.relpath(root, src), f[:-3])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with gzip.open(os.path.join(root, f), 'rb') as i, open(out, 'wb') as o:
                o.write(i.read())
PY
HYB_TOK_CORPUS_BYTES=$((MB * 1000000)) HYB_TOK_CORPUS_DIRS="$TMP/linux-doc" \
  "$BUILD/tests/test_tokenizer" --gtest_filter='Reference.CorpusFilesMatchTiktoken:Reference.EdgeCasesMatchTiktoken'
