#!/usr/bin/env bash
# The README's main job on a cluster: a 3-node `cnikitctl lab` (etcd, one cnikitd per node,
# flannel-like VXLAN), pods on every node through the real `cnikit` executable, the probe
# matrix of real connections and the routes each node holds, then `lab down`. Everything
# lives in network namespaces cnikit-lab-<name>-*; nothing touches the root namespace.
#   CNIKIT_SKIP_BUILD=1   use an existing build
#   CNIKIT_BUILD_DIR=DIR  the build directory (default <repo>/build)
#   LAB_MODE=host-gw      the other flannel-like mode (default vxlan)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${CNIKIT_SKIP_BUILD:-0} != 1 ]]; then
  "$root/scripts/install-deps.sh"
  "$root/scripts/build.sh"
fi
build=${CNIKIT_BUILD_DIR:-$root/build}
ctl=$build/bin/cnikitctl
mode=${LAB_MODE:-vxlan}
lab="demo$$"

cleanup() { "$ctl" lab down --name "$lab" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "lab $lab: 3 nodes, flannel-like $mode"
"$ctl" lab up --name "$lab" --nodes 3 --mode "$mode"

step "pods on every node (examples/lab/pods.yaml)"
"$ctl" lab apply --name "$lab" -f "$root/examples/lab/pods.yaml"
"$ctl" --lab "$lab" get pods -A

step "probe matrix: real TCP and UDP connections from every pod to every pod ('.' connected, 'X' blocked)"
"$ctl" lab probe --name "$lab"

step "routes to the other nodes' pod subnets (the backend's routes, proto 202)"
for node in node1 node2 node3; do
  echo "-- $node"
  ip -n "cnikit-lab-$lab-$node" route show proto 202
  if [[ $mode == vxlan ]]; then
    bridge -n "cnikit-lab-$lab-$node" fdb show dev flannel.1 | sed 's/^/   fdb: /'
  fi
done

step "a pod's view: x/a reaches y/c on node3"
"$ctl" lab exec --name "$lab" x/a -- ping -c 2 -W 1 "$("$ctl" --lab "$lab" get pods -n y -o json | sed -n 's/.*"podIP": "\(.*\)".*/\1/p' | head -1)"

step "lab down"
trap - EXIT
"$ctl" lab down --name "$lab"
