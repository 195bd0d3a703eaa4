#!/usr/bin/env bash
# Starts `hybrid serve` on a small model (as serve_test.sh builds it) and runs soak.mjs against it.
# usage: soak.sh HYBRID_BIN REPO_ROOT WORK_DIR SECONDS CLIENTS
set -euo pipefail
BIN=$1; ROOT=$2; W=$3; SECS=$4; CLIENTS=$5
command -v node >/dev/null || { echo "soak: node missing"; exit 77; }
rm -rf "$W"; mkdir -p "$W"
"$ROOT/scripts/smoke-data.sh" "$BIN" "$W/data" >/dev/null
cat > "$W/config.json" <<JSON
{"model_type": "olmo_hybrid", "vocab_size": 1024, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4,
 "num_attention_heads": 4, "num_key_value_heads": 2, "linear_num_key_heads": 2, "linear_num_value_heads": 4,
 "linear_key_head_dim": 16, "linear_value_head_dim": 16, "rope_theta": 10000, "max_position_embeddings": 4096,
 "eos_token_id": 1020, "pad_token_id": 1023}
JSON
"$BIN" init -c "$W/config.json" -o "$W/model" --seed 3 >/dev/null
cp "$W/data/tokenizer.json" "$W/data/tokenizer_config.json" "$W/model/"
"$BIN" serve -m "$W/model" --port 0 --threads 1 --parallel 8 --max-queue 1000 --cache-mb 64 >"$W/out" 2>"$W/err" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do grep -q "listening on" "$W/out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o "http://[0-9.:]*" "$W/out") || { cat "$W/err"; exit 1; }
rc=0
node "$ROOT/tests/serve/soak.mjs" "$URL" "$PID" "$SECS" "$CLIENTS" || rc=$?
kill -TERM $PID
wait $PID || { echo "server did not exit 0 on SIGTERM"; rc=1; }
trap - EXIT
exit $rc
