#!/usr/bin/env bash
# Installs everything cnikit needs to build, test and run its demo on Debian 12, from
# Debian's archive only. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  # build
  build-essential cmake pkg-config clang-format
  libboost-dev libboost-filesystem-dev nlohmann-json3-dev libnl-3-dev libnl-route-3-dev
  libsqlite3-dev libcurl4-openssl-dev libcli11-dev libspdlog-dev libyaml-cpp-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev abigail-tools libvalijson-dev
  # the iptables/ipset NetworkPolicy provider: libiptc (legacy tables) and libipset
  libip4tc-dev libip6tc-dev libipset-dev
  # the iptables service proxy: deleting UDP conntrack entries of removed backends
  libnetfilter-conntrack-dev
  # run and test: netlink tools, the reference CNI plugins, container runtimes
  iproute2 iptables ipset iputils-ping procps util-linux sqlite3
  containernetworking-plugins containerd runc podman busybox-static
  # the cluster store (etcd 3.4, v3 API)
  etcd-server etcd-client
  # benchmarks
  iperf3
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
fi
