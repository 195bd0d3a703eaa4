#!/usr/bin/env bash
# Smoke run of the evaluation suite: builds the offline benchmarks from Debian data (small), makes a tiny model
# with a tokenizer, runs `hybrid eval --suite default` and a suite file, and checks bad suites are refused.
# usage: suite_smoke.sh HYBRID_BIN REPO_ROOT WORK_DIR
set -euo pipefail
bin=$1 repo=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
if [ ! -f /usr/share/wordnet/data.noun ] || [ ! -f /usr/share/misc/countries.gz ] ||
   [ ! -d /usr/lib/R/site-library/tokenizers ]; then
  echo "SKIP: wordnet-base, miscfiles or r-cran-tokenizers not installed (scripts/setup.sh installs them)"; exit 0
fi
/usr/bin/python3 "$repo/scripts/build-mc-benchmarks.py" "$work/bench" --max-items 12 --dev-items 5 >/dev/null
for t in wn_example_cloze wn_gloss wn_hypernym wn_antonym capitals moby_lambada moby_next_sentence moby_word_order; do
  [ "$(wc -l < "$work/bench/$t.jsonl")" = 12 ] || { echo "FAIL: $t.jsonl does not have 12 items"; exit 1; }
done
zcat /usr/share/misc/countries.gz > "$work/text.txt"
head -c 200000 /usr/share/wordnet/data.noun | tail -c 150000 >> "$work/text.txt"
"$bin" tokenizer train --vocab-size 400 --input "$work/text.txt" --out "$work/model" -t 1 >/dev/null
cat > "$work/config.json" <<'JSON'
{"model_type": "olmo_hybrid", "vocab_size": 400, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
 "layer_types": ["linear_attention", "full_attention"], "num_attention_heads": 2, "num_key_value_heads": 2,
 "linear_num_key_heads": 2, "linear_num_value_heads": 2, "linear_key_head_dim": 8, "linear_value_head_dim": 8,
 "linear_conv_kernel_dim": 4, "max_position_embeddings": 1024, "eos_token_id": 396, "pad_token_id": 399}
JSON
"$bin" init -c "$work/config.json" -o "$work/model" -s 1 -t 1 >/dev/null
out=$("$bin" eval -m "$work/model" --suite default --bench-dir "$work/bench" -t 1 2>/dev/null)
echo "$out"
for t in wn_example_cloze wn_gloss wn_hypernym wn_antonym capitals moby_lambada moby_next_sentence moby_word_order; do
  grep -q "^$t " <<<"$out" || { echo "FAIL: no row for $t"; exit 1; }
done
grep -q "knowledge (5 tasks): mean correct-answer BPB" <<<"$out" || { echo "FAIL: no knowledge summary"; exit 1; }
grep -q "language (3 tasks): mean correct-answer BPB" <<<"$out" || { echo "FAIL: no language summary"; exit 1; }
# A suite file: relative paths, MC format, JSON output.
cat > "$work/bench/mine.json" <<'JSON'
{"tasks": [{"name": "caps-mc", "data": "capitals.jsonl", "dev": "capitals.dev.jsonl", "format": "mc", "shots": 2}]}
JSON
j=$("$bin" eval -m "$work/model" --suite "$work/bench/mine.json" --json -t 1)
/usr/bin/python3 -c 'import json,sys; r=json.loads(sys.argv[1]); t=r["tasks"][0]
assert t["name"]=="caps-mc" and t["items"]==12 and t["format"]=="mc" and t["shots"]==2, t
assert t["accuracy"]["pmi"] is None and 0 <= t["primary_accuracy"] <= 1, t' "$j"
# Bad suites: one-line errors naming the file, non-zero exit.
expect_fail() {
  printf '%s' "$1" > "$work/bad.json"
  if err=$("$bin" eval -m "$work/model" --suite "$work/bad.json" -t 1 2>&1); then echo "FAIL: accepted $1"; exit 1; fi
  grep -q "bad.json" <<<"$err" && grep -q "$2" <<<"$err" || { echo "FAIL: '$1' gave: $err"; exit 1; }
}
expect_fail '{"tasks": []}' "non-empty array"
expect_fail '{"tasks": [{"name": "x"}]}' "data"
expect_fail '{"tasks": [{"name": "x", "data": "capitals.jsonl", "shots": -1}]}' "shots"
expect_fail '{"tasks": [{"name": "x", "data": "capitals.jsonl", "primary": "best"}]}' "primary"
expect_fail '{"tasks": ' "not valid JSON"
if err=$("$bin" eval -m "$work/model" --suite default --bench-dir "$work/nowhere" 2>&1); then echo "FAIL: missing bench dir accepted"; exit 1; fi
grep -q "build-mc-benchmarks.py" <<<"$err" || { echo "FAIL: $err"; exit 1; }
echo "suite smoke: ok"
