#!/usr/bin/env bash
# Runs every libFuzzer target (or those named) for SECONDS each over its
# seeds, one after the other; a longer run than ctest's 20 s (label fuzz).
#   tests/fuzz/campaign.sh [-s SECONDS] [-b BUILD_DIR] [TARGET...]
# Targets: the <name> of tests/fuzz/<name>_fuzz.cc, built in BUILD_DIR
# (default build-fuzz; configure with CC=clang CXX=clang++ -DWEFT_FUZZ=ON).
# New inputs go to BUILD_DIR/tests/fuzz/campaign/<name>/corpus, crashes to
# .../artifacts; the repository's corpus is only read (add a regression
# input there by hand, with the fix). Prints each target's executions and
# whether it crashed; exits 1 if any did.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=300
build=build-fuzz
while getopts "s:b:" opt; do
  case "$opt" in
    s) seconds="$OPTARG" ;;
    b) build="$OPTARG" ;;
    *) sed -n '2,10p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in tests/fuzz/*_fuzz.cc; do
    name=$(basename "$src" _fuzz.cc)
    targets+=("$name")
  done
fi

failed=0
for name in "${targets[@]}"; do
  exe="$build/tests/fuzz/${name}_fuzz"
  if [ ! -x "$exe" ]; then
    echo "$name: $exe is not built (cmake --build $build --target ${name}_fuzz)" >&2
    failed=1
    continue
  fi
  out="$build/tests/fuzz/campaign/$name"
  mkdir -p "$out/corpus" "$out/artifacts"
  args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -malloc_limit_mb=256
        -print_final_stats=1 -artifact_prefix="$out/artifacts/")
  if [ -f "tests/fuzz/$name.dict" ]; then args+=(-dict="tests/fuzz/$name.dict"); fi
  status=0
  "$exe" "${args[@]}" "$out/corpus" "tests/fuzz/corpus/$name" > "$out/log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -n 1)
  if [ "$status" -eq 0 ]; then
    echo "$name: ${runs:-?} executions in ${seconds}s, no crash (log: $out/log)"
  else
    failed=1
    echo "$name: CRASHED (exit $status) after ${runs:-?} executions;" \
         "see $out/log and $out/artifacts/"
    grep -m 5 -E "ERROR: |does not hold|runtime error" "$out/log" || true
  fi
done
exit "$failed"
