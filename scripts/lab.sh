#!/usr/bin/env bash
# The main job: builds Weft, then a lab of hypervisors in network namespaces
# (two Weft hosts and one plain Linux vxlan host), starts an agent on each
# Weft host, sends real traffic between two tenants' VMs, prints what
# reached what, and tears it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec /usr/bin/python3 lab/run_lab.py --build-dir build "$@"
