#!/usr/bin/env bash
# End-to-end test of `hybrid serve` (ctest): builds a small model with a real tokenizer, starts four servers on
# loopback ports (prefix cache on; cache off; with an API key; one slot and no queue), drives them with the
# official OpenAI Node client (openai_client.mjs) and compares greedy output with `hybrid generate`. Every server
# is stopped with SIGTERM and must exit 0. Bounded: each request is small, the whole test takes under a minute.
# usage: serve_test.sh HYBRID_BIN REPO_ROOT WORK_DIR
set -euo pipefail
BIN=$1; ROOT=$2; W=$3
NODE_MODULES=$ROOT/tools/node/node_modules
if [ ! -f "$NODE_MODULES/openai/package.json" ] || ! command -v node >/dev/null; then
  echo "serve_test: the openai Node client is missing (run scripts/setup.sh)"; exit 77
fi
rm -rf "$W"; mkdir -p "$W"
"$ROOT/tests/serve/make_model.sh" "$BIN" "$ROOT" "$W"
source "$ROOT/tests/serve/server_url.sh"

pids=()
start() {  # name, extra flags... (env MODEL: another model directory)
  local name=$1; shift
  "$BIN" serve -m "${MODEL:-$W/model}" --port 0 --threads 1 "$@" >"$W/$name.out" 2>"$W/$name.err" &
  pids+=($!)
  server_url "$W/$name.out" > "$W/$name.url" || { echo "server $name did not start"; cat "$W/$name.err"; exit 1; }
}
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
# Started in this shell (not in $(...)), so that pids holds every server for the SIGTERM check and the cleanup.
start a --parallel 8; URL_A=$(cat "$W/a.url")
start b --parallel 8 --cache-mb 0; URL_B=$(cat "$W/b.url")
start c --api-key sekret; URL_C=$(cat "$W/c.url")
start d --parallel 1 --max-queue 0; URL_D=$(cat "$W/d.url")
# The same weights with a 64k context, so that a request can run long enough to be walked away from.
cp -r "$W/model" "$W/model-long"
sed -i 's/"max_position_embeddings": *[0-9]*/"max_position_embeddings": 65536/' "$W/model-long/config.json"
MODEL=$W/model-long start e --parallel 1 --max-queue 0; URL_E=$(cat "$W/e.url")
[ ${#pids[@]} -eq 5 ] || { echo "expected 5 server processes, have ${#pids[@]}"; exit 1; }

# Greedy references from the CLI, same prompts as the client test uses.
PROMPT_SHORT="The quick brown fox"
PROMPT_LONG=$(head -c 2600 /usr/share/common-licenses/GPL-3 | tr -d '\000')
"$BIN" generate -m "$W/model" --prompt "$PROMPT_SHORT" -n 24 2>/dev/null > "$W/gen_short.txt"
"$BIN" generate -m "$W/model" --prompt "$PROMPT_LONG" -n 16 2>/dev/null > "$W/gen_long.txt"

export NODE_PATH=$NODE_MODULES URL_A URL_B URL_C URL_D PROMPT_SHORT PROMPT_LONG
export GEN_SHORT_FILE=$W/gen_short.txt GEN_LONG_FILE=$W/gen_long.txt
rc=0
node "$ROOT/tests/serve/openai_client.mjs" || rc=$?

# A request that declares a 10 GB body (and sends 10 bytes of it) is refused from its header at once: 413 within
# 3 s, not after the 30 s read timeout a drained body would take; the server still answers afterwards.
HOSTPORT=${URL_A#http://}
t0=$(date +%s%N)
status=$(exec 3<>"/dev/tcp/${HOSTPORT%:*}/${HOSTPORT#*:}"
         printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{"prompt":' >&3
         timeout 10 head -n 1 <&3 | tr -d '\r'; exec 3>&-)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$status" != "HTTP/1.1 413 Payload Too Large" ] || [ "$ms" -gt 3000 ]; then
  echo "10 GB Content-Length: got '$status' after $ms ms (want 413 within 3 s)"; rc=1
else
  echo "10 GB Content-Length: 413 in $ms ms"
fi
curl -sf -m 10 "$URL_A/health" >/dev/null || { echo "server stopped answering after the 10 GB request"; rc=1; }

# Bodies as curl -d sends them (form-encoded Content-Type) above the 8 KiB the HTTP library allows form data are
# still JSON to us; raw invalid UTF-8 is a 400 naming the cause, not a 500.
pad=$(printf '%*s' 9000 '')
code=$(curl -s -m 30 -o "$W/form.json" -w '%{http_code}' "$URL_A/v1/completions" -d "{\"prompt\": \"hi\", \"max_tokens\": 2 $pad}")
[ "$code" = 200 ] && grep -q '"text_completion"' "$W/form.json" || { echo "9 KB form-encoded body: HTTP $code"; rc=1; }
code=$(curl -s -m 30 -o "$W/utf8.json" -w '%{http_code}' "$URL_A/v1/completions" --data-binary $'{"prompt": "\xff\xfe", "max_tokens": 2}')
[ "$code" = 400 ] && grep -q 'UTF-8' "$W/utf8.json" || { echo "invalid UTF-8 body: HTTP $code $(cat "$W/utf8.json")"; rc=1; }
echo "9 KB form-encoded body: 200; invalid UTF-8: 400"

# logit_bias steers sampling (+100 on one id: every sampled token is it); what is not implemented is refused by
# name, never accepted and ignored.
curl -s -m 30 "$URL_A/v1/completions" -d '{"prompt": "hi", "max_tokens": 4, "temperature": 1, "seed": 5,
  "logit_bias": {"300": 100}, "return_token_ids": true}' > "$W/bias.json"
grep -q '"token_ids":\[300,300,300,300\]' "$W/bias.json" || { echo "logit_bias +100 on 300: $(cat "$W/bias.json")"; rc=1; }
refused() {  # path, body, param
  local code
  code=$(curl -s -m 30 -o "$W/refused.json" -w '%{http_code}' "$URL_A$1" -d "$2")
  [ "$code" = 400 ] && grep -qF "\"param\":\"$3\"" "$W/refused.json" || { echo "$3: HTTP $code $(cat "$W/refused.json")"; rc=1; }
}
CHAT='"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2'
refused /v1/chat/completions "{$CHAT, \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}], \"tool_choice\": \"required\"}" tool_choice
refused /v1/chat/completions "{$CHAT, \"tools\": [{\"type\": \"function\"}]}" "tools[0]"
refused /v1/chat/completions '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": null,
  "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]}' "messages[1].tool_calls"
refused /v1/chat/completions "{$CHAT, \"response_format\": {\"type\": \"json_object\"}}" response_format
# A "type" that is not a string (an object here) is a 400 naming the field, not a 500 (found by fuzzing).
refused /v1/chat/completions '{"messages": [{"role": "user", "content": [{"type": {"name": "f"}}]}]}' "messages[0].content"
refused /v1/chat/completions "{$CHAT, \"response_format\": {\"type\": {}}}" response_format
refused /v1/chat/completions "{$CHAT, \"tools\": [{\"type\": [1], \"function\": {\"name\": \"f\"}}]}" "tools[0]"
refused /v1/completions '{"prompt": "hi", "suffix": "x"}' suffix
refused /v1/completions '{"prompt": "hi", "logit_bias": {"x": 1}}' logit_bias
echo "logit_bias applied; tool_choice required, malformed tools and tool_calls, response_format json, non-string types, suffix, a bad logit_bias: 400"

# Tools reach the prompt (more prompt tokens than without), and a whole tool round trip (assistant tool_calls, the
# tool's answer) is accepted, streamed and not. A random model writes no calls; parsing them is test_serve's job.
TOOLS='"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
  "properties": {"city": {"type": "string"}}}}}]'
ROUND='"messages": [{"role": "user", "content": "Weather in Oslo?"}, {"role": "assistant", "content": null,
  "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]},
  {"role": "tool", "tool_call_id": "c1", "content": "-3 C"}], "max_tokens": 3'
p0=$(curl -s -m 30 "$URL_A/v1/chat/completions" -d "{$CHAT}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).usage.prompt_tokens))')
p1=$(curl -s -m 30 "$URL_A/v1/chat/completions" -d "{$CHAT, $TOOLS}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).usage.prompt_tokens))')
[ -n "$p0" ] && [ -n "$p1" ] && [ "$p1" -gt "$p0" ] || { echo "tools in the prompt: $p0 -> $p1 prompt tokens"; rc=1; }
code=$(curl -s -m 30 -o "$W/round.json" -w '%{http_code}' "$URL_A/v1/chat/completions" -d "{$ROUND, $TOOLS}")
[ "$code" = 200 ] || { echo "tool round trip: HTTP $code $(cat "$W/round.json")"; rc=1; }
curl -s -m 30 "$URL_A/v1/chat/completions" -d "{$ROUND, $TOOLS, \"stream\": true}" > "$W/round.sse"
grep -q 'data: \[DONE\]' "$W/round.sse" || { echo "tool round trip, streamed: $(tail -3 "$W/round.sse")"; rc=1; }
echo "tools: $p0 -> $p1 prompt tokens; tool round trip 200, streamed to [DONE]"

# A non-streamed client that gives up frees its slot within ~2 s (the server writes a newline each second while
# it waits, which shows the client is gone): the one-slot, no-queue server e takes the next request (a 429 if the
# abandoned one were still running toward its 60,000 tokens).
curl -s -m 2 -o /dev/null "$URL_E/v1/completions" -d '{"prompt": "hi", "max_tokens": 60000, "ignore_eos": true}' || true
sleep 3
code=$(curl -s -m 30 -o "$W/after.json" -w '%{http_code}' "$URL_E/v1/completions" -d '{"prompt": "hi", "max_tokens": 2}')
if [ "$code" = 200 ] && grep -q "| cancelled" "$W/e.err"; then
  echo "non-streamed client gone after 2 s: cancelled, slot free for the next request"
else
  echo "non-streamed client gone: next request HTTP $code (want 200); server log:"; cat "$W/e.err"; rc=1
fi

# SIGTERM: every server stops and exits 0.
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do
  if ! wait "$p"; then echo "a server did not exit 0 on SIGTERM"; rc=1; fi
done
pids=()
grep -q "cached" "$W/a.err" || { echo "no per-request log lines"; rc=1; }
exit $rc
