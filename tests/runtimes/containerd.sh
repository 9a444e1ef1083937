#!/bin/bash
# runtimes.containerd: a private containerd 1.6 and `ctr run --rm --cni` with cnikit as
# the network in /etc/cni/net.d. Two containers get addresses from cnikit's pool, ping each
# other, and once they stop (ctr sends DEL with an empty CNI_NETNS) the addresses are free.
#
#   containerd.sh CNIKIT CNIKITD CNIKITCTL BACKEND_DIR
#
# ctr only knows /etc/cni/net.d and /opt/cni/bin, and libcni caches results in
# /var/lib/cni: the test re-runs itself in a private mount namespace and puts its own
# directories there. containerd, ctr, the plugins and the agent all run in one test
# network namespace (the "node").
set -euo pipefail
RT_NAME=containerd
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
rt_private_mounts_reexec "$@"

cnikit=$1 cnikitd=$2 cnikitctl=$3 backendDir=$4
rt_require_root_and_tools containerd ctr containerd-shim-runc-v2 runc ip nsenter jq unshare /bin/busybox
rt_install_trap
rt_make_tmp

poolCidr=10.99.0.0/16
image=localhost/cnikit/busybox:test
ctrNamespace=cnkt

mkdir -p "$RT_TMP/net.d"
rt_cni_bin "$RT_TMP/bin" "$cnikit"
rt_private_runtime_dirs "$RT_TMP/net.d" "$RT_TMP/bin"

hostNs=""  # set by rt_netns
rt_netns hostNs host
rt_start_agent "$hostNs" "$cnikitd" "$cnikitctl" "$backendDir" "$poolCidr"

# The single-plugin form; ctr reads the first file of /etc/cni/net.d only.
jq -n --arg sock "$RT_AGENT_SOCKET" \
  '{cniVersion: "1.0.0", name: "cnikit", type: "cnikit", agentSocket: $sock}' \
  >"$RT_TMP/net.d/10-cnikit.conf"
# A later file must be ignored: if ctr read it, ADD would fail on the missing plugin.
jq -n '{cniVersion: "1.0.0", name: "not-used", plugins: [{type: "cnikit-not-installed"}]}' \
  >"$RT_TMP/net.d/20-not-used.conflist"

ctrDir="$RT_TMP/containerd"
mkdir -p "$ctrDir/root" "$ctrDir/state"
cat >"$ctrDir/config.toml" <<EOF
version = 2
root = "$ctrDir/root"
state = "$ctrDir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$ctrDir/containerd.sock"
[ttrpc]
  address = "$ctrDir/containerd.sock.ttrpc"
[debug]
  level = "info"
EOF

ctrc() { rt_in "$hostNs" ctr --address "$ctrDir/containerd.sock" --namespace "$ctrNamespace" "$@"; }

# Stops what ctr left: tasks first (a stopped ctr does not stop its task), then shims
# and container processes by the PIDs containerd recorded. It takes everything as
# arguments: the EXIT trap may run inside any function, whose locals shadow globals.
# stopContainers NETNS SOCKET NAMESPACE STATE_DIR
stopContainers() {
  local ctr=(nsenter --net="/run/netns/$1" -- ctr --address "$2" --namespace "$3") id pidFile
  for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
    "${ctr[@]}" tasks kill -s SIGKILL "$id" 2>/dev/null
  done
  sleep 1
  for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
    "${ctr[@]}" tasks delete -f "$id" 2>/dev/null
  done
  for id in $("${ctr[@]}" containers ls -q 2>/dev/null); do
    "${ctr[@]}" containers delete "$id" 2>/dev/null
  done
  for pidFile in "$4"/io.containerd.runtime.v2.task/"$3"/*/{init,shim}.pid; do
    [[ -s $pidFile ]] && kill -KILL "$(cat "$pidFile")" 2>/dev/null
  done
  return 0
}

rt_spawn "$hostNs" "$RT_TMP/containerd.log" containerd --config "$ctrDir/config.toml"
containerdPid=$RT_SPAWNED_PID
rt_on_exit "$(printf 'stopContainers %q %q %q %q' "$hostNs" "$ctrDir/containerd.sock" "$ctrNamespace" "$ctrDir/state")"
rt_wait 30 "containerd on $ctrDir/containerd.sock" ctrc version
rt_log "containerd ready (pid $containerdPid)"

"$here/make-oci-image.sh" "$RT_TMP/image.tar" "$image"
ctrc images import "$RT_TMP/image.tar" >"$RT_TMP/import.log" 2>&1 ||
  rt_fail "ctr images import failed: $(cat "$RT_TMP/import.log")"
grep -qx "$image" <<<"$(ctrc images ls -q)" || rt_fail "image $image not listed after import: $(ctrc images ls)"

declare -A ctrPid
startContainer() {
  local name=$1
  rt_spawn "$hostNs" "$RT_TMP/ctr-run-$name.log" \
    ctr --address "$ctrDir/containerd.sock" --namespace "$ctrNamespace" run --rm --cni "$image" "$name" sleep 600
  ctrPid[$name]=$RT_SPAWNED_PID
}

execSeq=0
inContainer() {
  local name=$1
  shift
  execSeq=$((execSeq + 1))
  ctrc tasks exec --exec-id "e$execSeq" "$name" "$@"
}

taskRunning() { ctrc tasks ls | awk -v n="$1" '$1 == n && $3 == "RUNNING" {found = 1} END {exit !found}'; }

# The address of eth0 in a container, as the container sees it.
containerAddr() {
  inContainer "$1" ip -4 -o addr show dev eth0 | awk 'NR == 1 {print $4}'
}
hasAddr() { [[ -n $(containerAddr "$1") ]]; }

declare -A addr
for name in c1 c2; do
  startContainer "$name"
  rt_wait 60 "task $name running" taskRunning "$name"
  # ctr sets the network up before it starts the task; retry anyway, exec may race start.
  rt_wait 10 "eth0 address in $name" hasAddr "$name"
  addr[$name]=$(containerAddr "$name")
  [[ -n ${addr[$name]} ]] || rt_fail "$name has no IPv4 address on eth0 (see ctr-run-$name.log)"
  [[ ${addr[$name]} == 10.99.* ]] || rt_fail "$name got ${addr[$name]}, not from pool $poolCidr"
  rt_log "$name has ${addr[$name]}"
done
[[ ${addr[c1]} != "${addr[c2]}" ]] || rt_fail "both containers got ${addr[c1]}"

# The agent knows both, under the IDs ctr gives CNI ("<namespace>-<container>").
allocs=$(rt_allocations)
for name in c1 c2; do
  jq -e --arg id "$ctrNamespace-$name" --arg a "${addr[$name]%/*}" \
    'any(.[]; .containerId == $id and (.address | split("/")[0]) == $a and .ifname == "eth0")' <<<"$allocs" >/dev/null ||
    rt_fail "cnikitctl ipam list lacks $ctrNamespace-$name with ${addr[$name]}: $allocs"
done
[[ $(jq length <<<"$allocs") == 2 ]] || rt_fail "expected 2 allocations, got: $allocs"

inContainer c1 ping -c 3 -W 2 "${addr[c2]%/*}" >"$RT_TMP/ping-c1.log" 2>&1 ||
  rt_fail "c1 cannot ping c2 at ${addr[c2]%/*}: $(cat "$RT_TMP/ping-c1.log")"
inContainer c2 ping -c 3 -W 2 "${addr[c1]%/*}" >"$RT_TMP/ping-c2.log" 2>&1 ||
  rt_fail "c2 cannot ping c1 at ${addr[c1]%/*}: $(cat "$RT_TMP/ping-c2.log")"
rt_log "c1 and c2 ping each other"

# Stop: kill the task; `ctr run --rm` then removes the network (DEL, empty CNI_NETNS)
# and the container.
for name in c1 c2; do
  ctrc tasks kill -s SIGKILL "$name"
  deadline=$((SECONDS + 30))
  while kill -0 "${ctrPid[$name]}" 2>/dev/null; do
    ((SECONDS < deadline)) || rt_fail "ctr run $name did not return 30s after its task was killed"
    sleep 0.2
  done
  rc=0
  wait "${ctrPid[$name]}" || rc=$?
  # 137: the task's SIGKILL status; anything else is ctr failing.
  ((rc == 137)) || rt_fail "ctr run $name exited $rc: $(cat "$RT_TMP/ctr-run-$name.log")"
  if grep -qi 'error' "$RT_TMP/ctr-run-$name.log"; then
    rt_fail "ctr run $name reported an error on exit: $(cat "$RT_TMP/ctr-run-$name.log")"
  fi
  # ctr's DEL runs before ctr returns (and the agent's GC is off): the address is free now.
  allocs=$(rt_allocations)
  jq -e --arg id "$ctrNamespace-$name" 'any(.[]; .containerId == $id) | not' <<<"$allocs" >/dev/null ||
    rt_fail "ctr run $name returned but its allocation is still held: $allocs"
done
[[ -z $(ctrc containers ls -q) ]] || rt_fail "containers left after ctr run --rm: $(ctrc containers ls)"
rt_expect_no_allocations 1
rt_wait_reaped "$hostNs"
leftVeths=$(ip -n "$hostNs" -o link show type veth)
[[ -z $leftVeths ]] || rt_fail "veths left in the node namespace after DEL: $leftVeths"
rt_log "both containers stopped, allocations and veths released"
