#!/usr/bin/env bash
# cnikit on one node, without a cluster store: installs what is needed, builds, then runs.
# A node agent (cnikitd) starts on the embedded SQLite store inside a demo network
# namespace; two pods are created through the real `cnikit` CNI executable, their
# addresses shown and pinged, then everything is deleted. Nothing touches the root netns.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${CNIKIT_SKIP_BUILD:-0} != 1 ]]; then
  "$root/scripts/install-deps.sh"
  "$root/scripts/build.sh"
fi
build=${CNIKIT_BUILD_DIR:-$root/build}
bin=$build/bin

prefix="cnikit-demo-$$"
host="$prefix-node"
work=$(mktemp -d /tmp/cnikit-demo.XXXXXX)
agent_pid=""
cleanup() {
  [[ -n $agent_pid ]] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
  for ns in "$host" "$prefix-pod-a" "$prefix-pod-b"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "node namespace $host with a cnikitd on the embedded store"
ip netns add "$host"
ip -n "$host" link set lo up
cat >"$work/cnikitd.yaml" <<YAML
node: demo-node
socket: $work/cnikitd.sock
stateDir: $work/state
backendDir: $build/lib/cnikit/backends
backends:
  - name: default
    type: flannel-like
    options: {bridge: cnikit0, masquerade: false}
pools:
  - name: default
    backend: default
    cidrs: [10.244.0.0/16, "fd00:10:244::/56"]
    nodeSubnetPrefix: {ipv4: 24, ipv6: 64}
YAML
nsenter --net="/run/netns/$host" "$bin/cnikitd" --config "$work/cnikitd.yaml" 2>"$work/cnikitd.log" &
agent_pid=$!
for _ in $(seq 100); do
  "$bin/cnikitctl" --socket "$work/cnikitd.sock" status >/dev/null 2>&1 && break
  kill -0 "$agent_pid" 2>/dev/null || { cat "$work/cnikitd.log"; exit 1; }
  sleep 0.05
done
"$bin/cnikitctl" --socket "$work/cnikitd.sock" status

netconf='{"cniVersion":"1.0.0","name":"demo","type":"cnikit","agentSocket":"'"$work"'/cnikitd.sock"}'
cni() { # cni COMMAND CONTAINER NETNS-NAME
  CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$3 CNI_IFNAME=eth0 CNI_PATH="$bin" \
    CNI_ARGS="K8S_POD_NAMESPACE=demo;K8S_POD_NAME=$2" "$bin/cnikit" <<<"$netconf"
}

for pod in a b; do
  step "ADD pod $pod through the cnikit CNI executable"
  ip netns add "$prefix-pod-$pod"
  cni ADD "pod-$pod" "$prefix-pod-$pod" | tee "$work/result-$pod.json"
  echo
done

step "addresses inside the pods"
for pod in a b; do ip -n "$prefix-pod-$pod" -br addr show dev eth0; done
addr_b=$(sed -n 's/.*"address":"\(10\.[0-9.]*\)\/.*/\1/p' "$work/result-b.json")
addr6_b=$(sed -n 's/.*"address":"\(fd00[0-9a-f:]*\)\/.*/\1/p' "$work/result-b.json")

step "ping pod b ($addr_b, $addr6_b) from pod a"
ip netns exec "$prefix-pod-a" ping -c 3 -i 0.2 "$addr_b"
ip netns exec "$prefix-pod-a" ping -6 -c 3 -i 0.2 "$addr6_b"

step "cnikitctl ipam list"
"$bin/cnikitctl" --socket "$work/cnikitd.sock" ipam list

step "CHECK and DEL both pods (DEL twice: it is idempotent)"
for pod in a b; do
  prev=$(cat "$work/result-$pod.json")
  CNI_COMMAND=CHECK CNI_CONTAINERID="pod-$pod" CNI_NETNS="/run/netns/$prefix-pod-$pod" CNI_IFNAME=eth0 \
    "$bin/cnikit" <<<"${netconf%\}},\"prevResult\":$prev}" && echo "CHECK pod-$pod: ok"
  cni DEL "pod-$pod" "$prefix-pod-$pod" && echo "DEL pod-$pod: ok"
  cni DEL "pod-$pod" "$prefix-pod-$pod" && echo "DEL pod-$pod again: ok"
done
echo "allocations left: $("$bin/cnikitctl" --socket "$work/cnikitd.sock" ipam list -o json | tr -d ' \n')"
step "done; cleaning up"
