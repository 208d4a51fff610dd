#!/usr/bin/env bash
# The whole test suite: unit tests (no root), BPF_PROG_TEST_RUN tests and
# veth/netns tests with real traffic (both need root: they fail under CI
# without it and are skipped, with a reason, elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 "$@"
