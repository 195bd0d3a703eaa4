#!/usr/bin/env bash
# Builds the small model the server tests use: a 1024-token BPE tokenizer trained on Debian text
# (scripts/smoke-data.sh) and random weights (GQA, Hv > Hk, RoPE) from `hybrid init`, in WORK_DIR/model.
# usage: make_model.sh HYBRID_BIN REPO_ROOT WORK_DIR
set -euo pipefail
BIN=$1; ROOT=$2; W=$3
"$ROOT/scripts/smoke-data.sh" "$BIN" "$W/data" >/dev/null
cat > "$W/config.json" <<JSON
{"model_type": "olmo_hybrid", "vocab_size": 1024, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4,
 "num_attention_heads": 4, "num_key_value_heads": 2, "linear_num_key_heads": 2, "linear_num_value_heads": 4,
 "linear_key_head_dim": 16, "linear_value_head_dim": 16, "rope_theta": 10000, "max_position_embeddings": 4096,
 "eos_token_id": 1020, "pad_token_id": 1023}
JSON
"$BIN" init -c "$W/config.json" -o "$W/model" --seed 3 >/dev/null
cp "$W/data/tokenizer.json" "$W/data/tokenizer_config.json" "$W/model/"
