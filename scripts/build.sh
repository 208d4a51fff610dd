#!/usr/bin/env bash
# Installs dependencies and builds everything into build/ (BPF objects,
# skeletons, agent, tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" 2>&1 | tail -n 20
test "${PIPESTATUS[0]}" -eq 0
