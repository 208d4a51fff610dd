#!/usr/bin/env bash
# Installs the Debian 12 packages Weft builds, tests and runs with. Idempotent:
# does nothing when everything is present. Both README commands call it.
set -euo pipefail
packages=(
  build-essential cmake pkg-config make clang llvm
  libbpf-dev linux-libc-dev bpftool libelf-dev zlib1g-dev
  libabsl-dev libyaml-dev libgtest-dev libgmock-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc prometheus-cpp-dev libssl-dev
  iproute2 iputils-ping iperf3 tcpdump ethtool nftables procps python3 python3-yaml netcat-openbsd
  prometheus  # promtool and a real server for tests/netns/test_metrics.py
  golang-github-osrg-gobgp-dev gobgpd  # GoBGP API protos (built) and the edge's BGP daemon
  bird2  # the provider router in tests/netns/test_bgp_speaker.py
  etcd-server etcd-client  # the replicas' store (tests/store/, the replica tests and bench)
  # etcd's v3 API protos (built) and the packages holding their imports
  golang-etcd-server-dev golang-github-gogo-protobuf-dev golang-github-grpc-ecosystem-grpc-gateway-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
