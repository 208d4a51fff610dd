#!/usr/bin/env bash
# Installs dependencies and builds everything (BPF objects, skeletons, agent,
# tests) into a build directory.
#   scripts/build.sh                       build/, RelWithDebInfo
#   scripts/build.sh DIR [CMAKE_ARGS...]   DIR, with extra configure arguments
#                                          (scripts/test.sh builds build-asan/ so)
# The configure output goes to DIR.log (build.log for build/).
# WEFT_BUILD_TARGETS (space-separated target names), when set, builds only
# those targets and what they need instead of everything.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
shift $(( $# > 0 ? 1 : 0 ))
log="${build_dir%/}.log"
scripts/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" > "$log" 2>&1 || { cat "$log"; exit 1; }
targets=()
[ -n "${WEFT_BUILD_TARGETS:-}" ] && targets=(--target ${WEFT_BUILD_TARGETS})
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}" 2>&1 | tail -n 20
test "${PIPESTATUS[0]}" -eq 0
