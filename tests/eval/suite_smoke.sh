#!/usr/bin/env bash
# Smoke run of the evaluation suite: builds the offline benchmarks from Debian data (small), makes a tiny model
# with a tokenizer, runs `hybrid eval --suite default` and a suite file, and checks bad suites are refused; then
# trains a tiny run with the knowledge suite in-loop ("eval_suite") and checks that its last evaluation equals
# `hybrid eval --suite` on the final checkpoint (training weights in memory vs the checkpoint read back).
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
# In-loop downstream evaluation during training.
[ -f "$work/bench/knowledge.json" ] || { echo "FAIL: build-mc-benchmarks.py wrote no knowledge.json"; exit 1; }
head -c 60000 "$work/text.txt" > "$work/val.txt"
"$bin" prepare --tokenizer "$work/model" --input "$work/text.txt" "$work/val.txt" --val-files "$work/val.txt" \
  --val-fraction 0 --out "$work/data" -t 1 >/dev/null
cat > "$work/run.json" <<JSON
{"model": {"preset": "hybrid", "hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2},
 "data": "$work/data", "out": "$work/run", "steps": 6, "batch": 2, "seq_len": 64, "lr": 0.003, "eval_interval": 3,
 "eval_batches": 1, "threads": 1, "eval_suite": "$work/bench/knowledge.json", "eval_suite_items": 0}
JSON
"$bin" train -c "$work/run.json" -q
grep -c '"suite"' "$work/run/metrics.jsonl" | grep -qx 2 || { echo "FAIL: expected 2 in-loop evaluations"; exit 1; }
j=$("$bin" eval -m "$work/run/checkpoint" --suite "$work/bench/knowledge.json" --no-pmi --json -t 1 2>/dev/null)
/usr/bin/python3 - "$work/run/metrics.jsonl" "$j" <<'PY'
import json, sys
last = [json.loads(l) for l in open(sys.argv[1]) if '"suite"' in l][-1]["suite"]
ref = json.loads(sys.argv[2])
for t in ref["tasks"]:
    got = last["tasks"][t["name"]]
    assert abs(got["bpb"] - t["answer_bpb"]) < 1e-9 and abs(got["acc"] - t["primary_accuracy"]) < 1e-12, (t, got)
g, rg = last["groups"]["knowledge"], ref["groups"]["knowledge"]
assert abs(g["bpb"] - rg["mean_answer_bpb"]) < 1e-9 and abs(g["acc"] - rg["mean_primary_accuracy"]) < 1e-12
print("in-loop knowledge bpb %.6f = eval --suite %.6f" % (g["bpb"], rg["mean_answer_bpb"]))
PY
sed -i 's|knowledge.json|missing.json|' "$work/run.json"
if err=$("$bin" train -c "$work/run.json" -o "$work/run2" -q 2>&1); then echo "FAIL: missing eval_suite accepted"; exit 1; fi
grep -q "missing.json" <<<"$err" || { echo "FAIL: missing eval_suite gave: $err"; exit 1; }
echo "suite smoke: ok"
