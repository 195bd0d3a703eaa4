#!/usr/bin/env bash
# Starts `hybrid serve` on a small model (as serve_test.sh builds it) and runs soak.mjs against it.
# usage: soak.sh HYBRID_BIN REPO_ROOT WORK_DIR SECONDS CLIENTS
set -euo pipefail
BIN=$1; ROOT=$2; W=$3; SECS=$4; CLIENTS=$5
command -v node >/dev/null || { echo "soak: node missing"; exit 77; }
rm -rf "$W"; mkdir -p "$W"
"$ROOT/tests/serve/make_model.sh" "$BIN" "$ROOT" "$W"
"$BIN" serve -m "$W/model" --port 0 --threads 1 --parallel 8 --max-queue 1000 --cache-mb 64 >"$W/out" 2>"$W/err" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true' EXIT
source "$ROOT/tests/serve/server_url.sh"
URL=$(server_url "$W/out") || { cat "$W/err"; exit 1; }
rc=0
node "$ROOT/tests/serve/soak.mjs" "$URL" "$PID" "$SECS" "$CLIENTS" || rc=$?
kill -TERM $PID
wait $PID || { echo "server did not exit 0 on SIGTERM"; rc=1; }
trap - EXIT
exit $rc
