#!/usr/bin/env bash
# Runs libFuzzer targets (fuzz/): scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags...]
#   TARGET   one of the names in fuzz/CMakeLists.txt (safetensors, tokenize, serve_request, ...), or "all"
#   SECONDS  time per target
# First replays fuzz/regressions/TARGET (inputs that once failed), then fuzzes from fuzz/corpus/TARGET plus the
# corpus grown by earlier runs (build-fuzz/corpus/TARGET, not committed). Builds build-fuzz with clang on first use.
# Limits: 10 s per input, 2 GiB RSS, 1 GiB per allocation. A finding stops the run, is saved under
# build-fuzz/artifacts/TARGET/ and makes the script exit non-zero. Ends with one summary line per target.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
target=$1 seconds=$2
shift 2
BUILD=${HYBRID_FUZZ_BUILD:-build-fuzz}
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHYBRID_FUZZ=ON \
    -DHYBRID_BUILD_TESTS=OFF >/dev/null
fi
all=$(sed -n '/set(HYBRID_FUZZ_TARGETS/,/)/p' fuzz/CMakeLists.txt | tr -d '()' | sed 's/set//; s/HYBRID_FUZZ_TARGETS//' | xargs)
if [ "$target" = all ]; then targets=$all; else
  case " $all " in *" $target "*) targets=$target ;; *) echo "fuzz.sh: unknown target '$target' (one of: $all)" >&2; exit 2 ;; esac
fi
cmake --build "$BUILD" --target $(for t in $targets; do echo "fuzz_$t"; done) >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary=()
status=0
for t in $targets; do
  bin="$BUILD/fuzz/fuzz_$t"
  work="$BUILD/corpus/$t" art="$BUILD/artifacts/$t/" log="$BUILD/logs/$t.log"
  mkdir -p "$work" "$art" "$(dirname "$log")" "fuzz/corpus/$t"
  # Dictionary: the target's own tokens, plus JSON syntax for the targets that read JSON.
  mkdir -p "$BUILD/dict"
  case $t in npy | tiktoken | tokenize) cat "fuzz/dict/$t.dict" ;; *) cat fuzz/dict/json.dict "fuzz/dict/$t.dict" ;; esac \
    >"$BUILD/dict/$t.dict"
  dict=(-dict="$BUILD/dict/$t.dict")
  flags=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -artifact_prefix="$art" -print_final_stats=1)
  if [ -d "fuzz/regressions/$t" ] && [ -n "$(ls -A "fuzz/regressions/$t")" ]; then
    if ! "$bin" "${flags[@]}" "fuzz/regressions/$t"/* >"$log.regressions" 2>&1; then
      echo "fuzz.sh: $t fails on a saved regression input (log: $log.regressions)" >&2
      tail -30 "$log.regressions" >&2
      status=1
      continue
    fi
  fi
  if "$bin" "${flags[@]}" "${dict[@]}" -max_total_time="$seconds" "$@" "$work" "fuzz/corpus/$t" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (log: $log; input saved in $art)"
    tail -40 "$log" >&2
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  summary+=("$(printf '%-18s %10s runs %8s exec/s  cov %6s  ft %7s  corpus %5s  %s' "$t" "${runs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "$(ls "$work" | wc -l)" "$result")")
  echo "${summary[-1]}"
done
if [ ${#summary[@]} -gt 1 ]; then
  echo "--- summary (${seconds} s per target)"
  printf '%s\n' "${summary[@]}"
fi
exit $status
