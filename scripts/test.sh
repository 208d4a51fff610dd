#!/usr/bin/env bash
# The whole test suite: unit tests (no root), BPF_PROG_TEST_RUN tests and
# veth/netns tests with real traffic (both need root: they fail under CI
# without it and are skipped, with a reason, elsewhere), then the same
# processes once more from the sanitizer build (docs/DEVELOPING.md
# "Sanitizer build"). Arguments go to both ctest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
(cd build && ctest --output-on-failure --timeout 900 "$@")

# --- the sanitizer build: ASan + UBSan, clang, with the fuzz targets ---------
# -O1 with line tables only: what the sanitizers need for readable reports,
# at less compile time than -O2 -g (the build is part of the suite's budget).
scripts/build.sh build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DWEFT_SANITIZE=ON -DWEFT_FUZZ=ON \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG"

# Every instrumented process (test binaries, and the agents, controllers and
# weftctl the netns tests start) writes a finding to $reports/<tool>.<pid>
# and exits non-zero. The directory is checked after ctest as well, because
# some of these processes' exit statuses are not looked at (an agent stopped
# at a class's teardown) or a failure is what the test expects (weftctl
# refused), so the exit status alone would let a finding pass.
reports="$(mktemp -d /tmp/weft-sanitizer.XXXXXX)"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_string_checks=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"

# What runs under the sanitizers, chosen by measurement (DEVELOPING.md,
# "Sanitizer build"): sanitized netns modules take 2 to 9 times their normal
# time, so the suite keeps to 30 minutes on 2 cores only with a subset:
#   unit   every unit test, in one process (one process per test, as ctest
#          runs them, cost 143 s of sanitized start-ups);
#   bpf    the BPF_PROG_TEST_RUN process and the short packet fuzz;
#   fuzz   each libFuzzer target over its seed corpus, bounded in time;
#   netns  the modules whose agents, controllers and weftctl run code the
#          others do not: lifecycle and reload (test_agent), sync over TLS
#          and the Admin API (test_control_plane),
#          metrics and health (test_metrics), adoption of pins
#          (test_restart), policy reloads (test_firewall). Named, not
#          excluded, so that a new module is a choice here.
status=0
(cd build-asan && ./weft_unit_tests --gtest_brief=1) || status=$?
(cd build-asan && ctest --output-on-failure --timeout 900 -R \
  '^(bpf\..*|fuzz\..*|netns\.test_(agent|control_plane|metrics|restart|firewall))$' \
  "$@") || status=$?

if [ -n "$(ls -A "$reports")" ]; then
  echo "sanitizer findings (in $reports):" >&2
  cat "$reports"/* >&2
  exit 1
fi
rmdir "$reports"
exit "$status"
