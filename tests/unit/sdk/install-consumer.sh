#!/usr/bin/env bash
# sdk.install_consumer: installs the SDK component of this build tree into a temporary
# prefix, builds examples/custom-backend out of tree against it, checks that the backend
# exports nothing but cnikit_backend_entry, loads it with the agent's loader and, as root,
# wires a pod with it between two test network namespaces and pings across.
# Finally the real agent loads it from backendDir and serves a pod through the real `cnikit`.
#   install-consumer.sh <build dir> <source dir> <sdk_load_backend> <cnikit> <cnikitd>
set -euo pipefail
build=$1 src=$2 loader=$3 cnikit=$4 cnikitd=$5
umask 022  # the loader refuses group/world-writable backends

work=$(mktemp -d /tmp/cnkt-sdk-$$-XXXXXX)
ns=cnkt-$$-sdk
agent_pid=""
cleanup() {
  [[ -n $agent_pid ]] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
  ip netns del "$ns-agentpod" 2>/dev/null || true
  ip netns del "$ns-agent" 2>/dev/null || true
  ip netns del "$ns-pod2" 2>/dev/null || true
  ip netns del "$ns-pod" 2>/dev/null || true
  ip netns del "$ns-host" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "install the sdk component into $work/prefix"
cmake --install "$build" --component sdk --prefix "$work/prefix"
test -f "$work/prefix/include/cnikit/backend.hpp" || fail "backend.hpp not installed"
config=$(find "$work/prefix" -name cnikitConfig.cmake)
test -n "$config" || fail "cnikitConfig.cmake not installed"

step "build examples/custom-backend out of tree"
cmake -S "$src/examples/custom-backend" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$work/build" -j2
lib=$work/build/libcnikit-custom-ptp.so
test -f "$lib" || fail "no $lib"

step "exported functions of $lib"
functions=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWwi]$/ {print $3}')
echo "$functions"
[[ $functions == cnikit_backend_entry ]] || fail "exports more than cnikit_backend_entry: $functions"

step "install the backend into the prefix"
cmake --install "$work/build" --prefix "$work/prefix"
installed=$work/prefix/lib/cnikit/backends/libcnikit-custom-ptp.so
test -f "$installed" || fail "not installed at $installed"
[[ $(stat -c %a "$installed") == 755 ]] || fail "installed with mode $(stat -c %a "$installed")"

if grep -q "CNIKIT_HAS_TOOLKIT TRUE" "$config"; then
  step "a consumer of cnikit::toolkit links"
  mkdir -p "$work/toolkit-consumer"
  cat >"$work/toolkit-consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(toolkit-consumer LANGUAGES CXX)
find_package(cnikit 1 REQUIRED COMPONENTS sdk toolkit)
cnikit_add_backend(toolkit-user SOURCES main.cpp LINK_LIBRARIES cnikit::toolkit)
CMAKE
  cat >"$work/toolkit-consumer/main.cpp" <<'CPP'
#include <cnikit/backend.hpp>
#include <cnikit/toolkit/NetlinkSocket.hpp>
class ToolkitUser {
 public:
  explicit ToolkitUser(const cnikit::sdk::CreateArgs&) { (void)&cnikit::toolkit::NetlinkSocket::open; }
};
CNIKIT_BACKEND(ToolkitUser, "toolkit-user", "0.0.1")
CPP
  cmake -S "$work/toolkit-consumer" -B "$work/toolkit-build" -DCMAKE_PREFIX_PATH="$work/prefix"
  cmake --build "$work/toolkit-build"
  "$loader" "$work/toolkit-build/libcnikit-toolkit-user.so" || fail "toolkit consumer does not load"
fi

if grep -q "CNIKIT_HAS_TOOLKIT_IPTABLES TRUE" "$config"; then
  step "a consumer of cnikit::toolkit_iptables links (libip4tc/libip6tc/libipset found again)"
  mkdir -p "$work/iptables-consumer"
  cat >"$work/iptables-consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(iptables-consumer LANGUAGES CXX)
find_package(cnikit 1 REQUIRED COMPONENTS sdk toolkit toolkit_iptables)
cnikit_add_backend(iptables-user SOURCES main.cpp LINK_LIBRARIES cnikit::toolkit_iptables)
CMAKE
  cat >"$work/iptables-consumer/main.cpp" <<'CPP'
#include <cnikit/backend.hpp>
#include <cnikit/toolkit/IptcTable.hpp>
#include <cnikit/toolkit/Ipset.hpp>
class IptablesUser {
 public:
  explicit IptablesUser(const cnikit::sdk::CreateArgs&) {
    (void)&cnikit::toolkit::IptcTable::open;
    (void)&cnikit::toolkit::Ipset::open;
  }
};
CNIKIT_BACKEND(IptablesUser, "iptables-user", "0.0.1")
CPP
  cmake -S "$work/iptables-consumer" -B "$work/iptables-build" -DCMAKE_PREFIX_PATH="$work/prefix"
  cmake --build "$work/iptables-build"
  "$loader" "$work/iptables-build/libcnikit-iptables-user.so" || fail "toolkit_iptables consumer does not load"
fi

step "load and create through BackendLibrary"
out=$("$loader" "$installed")
echo "$out"
grep -q "^backend custom-ptp 0.1.0 abi 1\.1 capabilities pod lifecycle$" <<<"$out" || fail "unexpected identity"

if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
  echo "not root: skipping the pod datapath check"
  exit 0
fi

step "wire two pods between namespaces $ns-host and $ns-pod*"
ip netns add "$ns-host"
ip netns add "$ns-pod"
# ping from iputils, or busybox's (busybox-static is a project dependency).
if command -v ping >/dev/null; then pinger=(ping); else pinger=(busybox ping); fi
png() { local n=$1; shift; ip netns exec "$n" "${pinger[@]}" -c1 -W2 "$@" >/dev/null; }
hx() { ip netns exec "$ns-host" "$@"; }
px() { ip netns exec "$ns-pod" "$@"; }
hx ip link set lo up
px ip link set lo up
out=$(hx "$loader" "$installed" add "/var/run/netns/$ns-pod" c1 eth0 \
      10.99.0.5/24 10.99.0.1 10.99.0.0/24 10.99.0.0/16 fd99::5/64 fd99::1 fd99::/64 fd99::/48)
echo "$out"
grep -q "^result cnp[0-9a-f]\{8\} ..:..:..:..:..:.. eth0 ..:..:..:..:..:.. 1400$" <<<"$out" || fail "bad result"
grep -q 'cnikit_custom_ptp_pods_added_total{backend_instance="consumer"} 1' <<<"$out" || fail "metric not counted"
hostif=$(awk '/^result/ {print $2}' <<<"$out")
px ip -br addr show dev eth0
px ip route
px ip -6 route
hx ip route
png "$ns-host" 10.99.0.5 || fail "host cannot ping the pod"
png "$ns-pod" 10.99.0.1 || fail "pod cannot ping its gateway"
png "$ns-host" -6 fd99::5 || fail "host cannot ping the pod over IPv6"
[[ $(px cat /sys/class/net/eth0/mtu) == 1400 ]] || fail "pod MTU not 1400"

# A second pod in its own namespace shares the gateway; pod-to-pod goes through the host.
ip netns add "$ns-pod2"
hx "$loader" "$installed" add "/var/run/netns/$ns-pod2" c2 eth0 10.99.0.6/24 10.99.0.1 10.99.0.0/24 10.99.0.0/16
hx sysctl -qw net.ipv4.ip_forward=1
png "$ns-pod2" 10.99.0.5 || fail "pod2 cannot reach pod1 through the host"

hx "$loader" "$installed" check "/var/run/netns/$ns-pod" c1 eth0 || fail "check of a wired pod failed"
hx "$loader" "$installed" del "/var/run/netns/$ns-pod" c1 eth0
if hx ip link show "$hostif" >/dev/null 2>&1; then fail "host end $hostif still there after del"; fi
if px ip link show eth0 >/dev/null 2>&1; then fail "pod end still there after del"; fi
hx "$loader" "$installed" del "" c1 eth0 || fail "a second del (empty netns) must succeed"
if hx "$loader" "$installed" check "/var/run/netns/$ns-pod" c1 eth0 2>"$work/err"; then fail "check after del passed"; fi
grep -q "status 2" "$work/err" || fail "check after del: expected NOT_FOUND, got $(cat "$work/err")"
# The other pod is untouched by c1's removal, including the shared gateway address.
png "$ns-pod2" 10.99.0.1 || fail "pod2 lost its gateway when pod1 left"

step "the agent loads the out-of-tree backend from backendDir and serves a pod with it"
ip netns add "$ns-agent"
ip netns add "$ns-agentpod"
cat >"$work/cnikitd.yaml" <<YAML
node: sdk-node
socket: $work/cnikitd.sock
stateDir: $work/agent-state
backendDir: $work/prefix/lib/cnikit/backends
gcIntervalSeconds: 0
backends: [{name: ptp, type: custom-ptp}]
pools: [{name: ptp, backend: ptp, cidrs: [10.98.0.0/16]}]
YAML
nsenter --net="/run/netns/$ns-agent" "$cnikitd" --config "$work/cnikitd.yaml" 2>"$work/cnikitd.log" &
agent_pid=$!
for _ in $(seq 100); do [[ -S $work/cnikitd.sock ]] && break; sleep 0.05; done
netconf='{"cniVersion":"1.0.0","name":"sdk","type":"cnikit","agentSocket":"'"$work"'/cnikitd.sock"}'
result=$(CNI_COMMAND=ADD CNI_CONTAINERID=sdk1 CNI_NETNS=/run/netns/$ns-agentpod CNI_IFNAME=eth0 \
         "$cnikit" <<<"$netconf") || { cat "$work/cnikitd.log"; fail "ADD through the agent: $result"; }
echo "$result"
grep -q '"address":"10.98.0.2/24"' <<<"$result" || fail "unexpected ADD result"
png "$ns-agent" 10.98.0.2 || fail "the agent's node cannot ping the pod it wired"
CNI_COMMAND=DEL CNI_CONTAINERID=sdk1 CNI_NETNS=/run/netns/$ns-agentpod CNI_IFNAME=eth0 "$cnikit" <<<"$netconf" \
  || fail "DEL through the agent"
if ip netns exec "$ns-agentpod" ip link show eth0 >/dev/null 2>&1; then fail "pod end still there after DEL"; fi
echo "install consumer: all good"
