#!/usr/bin/env bash
# A backend built against the ABI 1.0 headers (tests/unit/sdk/abi-1.0, frozen) loads in the
# current core and serves a pod through the real agent and CNI executable: the host sends it
# structs of the 1.0 sizes and treats its missing lifecycle table as "nothing to do".
#   abi-1.0-backend.sh <cxx> <sdk_load_backend> <cnikit> <cnikitd>
set -euo pipefail
cxx=$1 loader=$2 cnikit=$3 cnikitd=$4
here=$(cd "$(dirname "$0")" && pwd)
umask 022  # the loader refuses group/world-writable backends

work=$(mktemp -d /tmp/cnkt-abi10-$$-XXXXXX)
ns=cnkt-$$-abi10
agent_pid=""
cleanup() {
  if [[ -n $agent_pid ]]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  ip netns del "$ns-pod" 2>/dev/null || true
  ip netns del "$ns-agent" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/cnikitd.log ]] && cat "$work/cnikitd.log" >&2; exit 1; }

echo "== build LegacyPtpBackend.cpp against the 1.0 headers"
mkdir -p "$work/backends"
"$cxx" -std=c++20 -O1 -shared -fPIC -fvisibility=hidden -I"$here/abi-1.0/include" \
  "$here/abi-1.0/LegacyPtpBackend.cpp" -o "$work/backends/libcnikit-legacy-ptp.so"
grep -q '#define CNIKIT_ABI_MINOR 0' "$here/abi-1.0/include/cnikit/backend.h" || fail "abi-1.0 headers are not 1.0"

echo "== the loader sees a 1.0 backend"
out=$("$loader" "$work/backends/libcnikit-legacy-ptp.so")
echo "$out"
grep -q "^backend legacy-ptp 0.1.0 abi 1\.0 capabilities pod$" <<<"$out" || fail "unexpected identity"

echo "== the agent serves a pod with it"
ip netns add "$ns-agent"
ip netns add "$ns-pod"
cat >"$work/cnikitd.yaml" <<YAML
node: abi10-node
socket: $work/cnikitd.sock
stateDir: $work/agent-state
backendDir: $work/backends
gcIntervalSeconds: 0
backends: [{name: legacy, type: legacy-ptp}]
pools: [{name: legacy, backend: legacy, cidrs: [10.97.0.0/16, "fd97::/48"]}]
YAML
nsenter --net="/run/netns/$ns-agent" "$cnikitd" --config "$work/cnikitd.yaml" 2>"$work/cnikitd.log" &
agent_pid=$!
for _ in $(seq 200); do [[ -S $work/cnikitd.sock ]] && break; sleep 0.05; done
[[ -S $work/cnikitd.sock ]] || fail "the agent did not start"
netconf='{"cniVersion":"1.1.0","name":"abi10","type":"cnikit","agentSocket":"'"$work"'/cnikitd.sock","runtimeConfig":{"mac":"02:00:00:00:10:01"}}'
cni() { CNI_COMMAND=$1 CNI_CONTAINERID=abi10 CNI_NETNS=/run/netns/$ns-pod CNI_IFNAME=eth0 "$cnikit" <<<"$netconf"; }
result=$(cni ADD) || fail "ADD with a 1.0 backend: $result"
echo "$result"
grep -q '"address":"10.97.0.2/24"' <<<"$result" || fail "no IPv4 address in the ADD result"
grep -q '"address":"fd97::2/64"' <<<"$result" || fail "no IPv6 address in the ADD result"
ip netns exec "$ns-pod" ip -br addr show dev eth0 | grep -q "10.97.0.2/24" || fail "eth0 lacks its address"
ip netns exec "$ns-agent" ping -c1 -W2 10.97.0.2 >/dev/null || fail "the node cannot ping the pod"
cni CHECK || fail "CHECK with a 1.0 backend"
status=$(CNI_COMMAND=STATUS "$cnikit" <<<"$netconf") || fail "STATUS with a 1.0 backend: $status"
cni DEL || fail "DEL with a 1.0 backend"
if ip netns exec "$ns-pod" ip link show eth0 >/dev/null 2>&1; then fail "eth0 still there after DEL"; fi
echo "abi 1.0 backend: all good"
