# Sourced by the scripts that start `hybrid serve --port 0` in the background (serve_test.sh, soak.sh,
# bench/serve_throughput.sh). server_url LOG [TENTHS]: waits up to TENTHS tenths of a second (default 300) for the
# server's "listening on http://HOST:PORT" line in LOG, prints the URL; returns 1 if it never came.
server_url() {
  local log=$1 tries=${2:-300}
  for _ in $(seq 1 "$tries"); do
    grep -q "listening on" "$log" 2>/dev/null && break
    sleep 0.1
  done
  grep -o "http://[0-9.:]*" "$log" 2>/dev/null | head -1 | grep .
}
