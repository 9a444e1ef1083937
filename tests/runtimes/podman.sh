#!/bin/bash
# runtimes.podman: podman 4 with its CNI network backend and a network "cnikit" whose
# conflist chains cnikit and the reference portmap plugin. Two containers get addresses
# from cnikit's pool (podman reports the same ones), ping each other, a published port of
# one is reached from another namespace, and `podman rm -f` releases everything.
#
#   podman.sh CNIKIT CNIKITD CNIKITCTL BACKEND_DIR
#
# podman keeps private configuration (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF) and
# storage under the temp dir; it runs in a private mount namespace (its CNI cache in
# /var/lib/cni, /run) and in one test network namespace with the agent (the "node").
set -euo pipefail
RT_NAME=podman
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
rt_private_mounts_reexec "$@"

cnikit=$1 cnikitd=$2 cnikitctl=$3 backendDir=$4
rt_require_root_and_tools podman conmon runc ip nsenter jq curl unshare iptables /usr/lib/cni/portmap /bin/busybox
rt_install_trap
rt_make_tmp

poolCidr=10.99.0.0/16
image=localhost/cnikit/busybox:test
hostPort=18081
podPort=8080

mkdir -p "$RT_TMP/net.d"
rt_cni_bin "$RT_TMP/bin" "$cnikit"
rt_private_runtime_dirs "$RT_TMP/net.d" "$RT_TMP/bin"

hostNs="" peerNs=""  # set by rt_netns
rt_netns hostNs host
rt_netns peerNs peer
rt_in "$hostNs" sysctl -qw net.ipv4.ip_forward=1
rt_link "$hostNs" to-peer 192.168.232.1/24 "$peerNs" to-host 192.168.232.2/24
rt_start_agent "$hostNs" "$cnikitd" "$cnikitctl" "$backendDir" "$poolCidr"

jq -n --arg sock "$RT_AGENT_SOCKET" '{
  cniVersion: "1.0.0", name: "cnikit",
  plugins: [
    {type: "cnikit", agentSocket: $sock},
    {type: "portmap", capabilities: {portMappings: true}}
  ]}' >"$RT_TMP/net.d/cnikit.conflist"

podmanDir="$RT_TMP/podman"
mkdir -p "$podmanDir/tmp" "$podmanDir/graph" "$podmanDir/run"
cat >"$podmanDir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
log_driver = "k8s-file"

[network]
network_backend = "cni"
cni_plugin_dirs = ["$RT_TMP/bin"]
network_config_dir = "$RT_TMP/net.d"
default_network = "cnikit"

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
tmp_dir = "$podmanDir/tmp"
image_copy_tmp_dir = "$podmanDir/tmp"
EOF
cat >"$podmanDir/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$podmanDir/graph"
runroot = "$podmanDir/run"
EOF

pm() {
  CONTAINERS_CONF="$podmanDir/containers.conf" CONTAINERS_STORAGE_CONF="$podmanDir/storage.conf" TMPDIR="$podmanDir/tmp" \
    rt_in "$hostNs" podman "$@"
}

# Removes what podman left (it stops conmon too); then any conmon still alive, by the PID
# it recorded. It takes everything as arguments: the EXIT trap may run inside any
# function, whose locals shadow globals. stopContainers NETNS PODMAN_DIR
stopContainers() {
  local pidFile
  CONTAINERS_CONF="$2/containers.conf" CONTAINERS_STORAGE_CONF="$2/storage.conf" TMPDIR="$2/tmp" \
    nsenter --net="/run/netns/$1" -- podman rm -f -t 0 -a
  for pidFile in "$2"/graph/overlay-containers/*/userdata/conmon.pid "$2"/run/overlay-containers/*/userdata/conmon.pid; do
    [[ -s $pidFile ]] && kill -KILL "$(cat "$pidFile")" 2>/dev/null
  done
  return 0
}
rt_on_exit "$(printf 'stopContainers %q %q' "$hostNs" "$podmanDir")"

"$here/make-oci-image.sh" "$RT_TMP/image.tar" "$image"
pm load -i "$RT_TMP/image.tar" >"$RT_TMP/podman-load.log" 2>&1 ||
  rt_fail "podman load failed: $(cat "$RT_TMP/podman-load.log")"
pm image exists "$image" || rt_fail "image $image missing after podman load: $(pm images)"

grep -qx cnikit <<<"$(pm network ls --format '{{.Name}}')" ||
  rt_fail "podman does not list the network cnikit: $(pm network ls 2>&1)"

# c1 serves its /etc (podman writes /etc/hostname) on a published port; c2 only sleeps.
pm run -d --name c1 --hostname pod-c1 --network cnikit -p "$hostPort:$podPort" "$image" \
  httpd -f -p "$podPort" -h /etc >"$RT_TMP/podman-run-c1.log" 2>&1 ||
  rt_fail "podman run c1 failed: $(cat "$RT_TMP/podman-run-c1.log")"
pm run -d --name c2 --hostname pod-c2 --network cnikit "$image" sleep 600 \
  >"$RT_TMP/podman-run-c2.log" 2>&1 ||
  rt_fail "podman run c2 failed: $(cat "$RT_TMP/podman-run-c2.log")"

declare -A addr
allocs=$(rt_allocations)
for name in c1 c2; do
  addr[$name]=$(pm exec "$name" ip -4 -o addr show dev eth0 | awk 'NR == 1 {print $4}')
  [[ ${addr[$name]} == 10.99.* ]] || rt_fail "$name has '${addr[$name]}' on eth0, not an address of pool $poolCidr"
  reported=$(pm inspect -f '{{(index .NetworkSettings.Networks "cnikit").IPAddress}}/{{(index .NetworkSettings.Networks "cnikit").IPPrefixLen}}' "$name")
  [[ $reported == "${addr[$name]}" ]] || rt_fail "podman reports $reported for $name, eth0 holds ${addr[$name]}"
  mac=$(pm inspect -f '{{(index .NetworkSettings.Networks "cnikit").MacAddress}}' "$name")
  [[ -n $mac ]] || rt_fail "podman has no MAC address for $name"
  id=$(pm inspect -f '{{.Id}}' "$name")
  jq -e --arg id "$id" --arg a "${addr[$name]%/*}" \
    'any(.[]; .containerId == $id and (.address | split("/")[0]) == $a and .ifname == "eth0")' <<<"$allocs" >/dev/null ||
    rt_fail "cnikitctl ipam list lacks $name ($id) with ${addr[$name]}: $allocs"
  rt_log "$name has ${addr[$name]} (mac $mac)"
done
[[ ${addr[c1]} != "${addr[c2]}" ]] || rt_fail "both containers got ${addr[c1]}"
[[ $(jq length <<<"$allocs") == 2 ]] || rt_fail "expected 2 allocations, got: $allocs"

pm exec c1 ping -c 3 -W 2 "${addr[c2]%/*}" >"$RT_TMP/ping-c1.log" 2>&1 ||
  rt_fail "c1 cannot ping c2 at ${addr[c2]%/*}: $(cat "$RT_TMP/ping-c1.log")"
pm exec c2 ping -c 3 -W 2 "${addr[c1]%/*}" >"$RT_TMP/ping-c2.log" 2>&1 ||
  rt_fail "c2 cannot ping c1 at ${addr[c1]%/*}: $(cat "$RT_TMP/ping-c2.log")"
rt_log "c1 and c2 ping each other"

# podman passed -p to portmap: the peer namespace reaches c1 through the node's address.
fetchHostname() { rt_in "$peerNs" curl -sf --max-time 3 "http://192.168.232.1:$hostPort/hostname"; }
rt_wait 10 "c1's httpd through host port $hostPort" fetchHostname
got=$(fetchHostname)
[[ $got == pod-c1 ]] || rt_fail "host port $hostPort answered '$got', wanted c1's hostname pod-c1"
rt_log "published port $hostPort reaches c1 from the peer namespace"

pm rm -f -t 0 c1 c2 >"$RT_TMP/podman-rm.log" 2>&1 || rt_fail "podman rm failed: $(cat "$RT_TMP/podman-rm.log")"
rt_expect_no_allocations 15
if grep -q -- "--dport $hostPort" <<<"$(rt_in "$hostNs" iptables -t nat -S)"; then
  rt_fail "portmap rules for $hostPort left after podman rm: $(rt_in "$hostNs" iptables -t nat -S)"
fi
rt_wait_reaped "$hostNs"
leftVeths=$(ip -n "$hostNs" -o link show type veth | grep -v 'to-peer' || true)
[[ -z $leftVeths ]] || rt_fail "pod veths left in the node namespace after podman rm: $leftVeths"
rt_log "both containers removed, allocations, veths and port rules released"

# A container that exits by itself: conmon runs podman's cleanup, which sends DEL.
c3=$(pm run -d --name c3 --network cnikit "$image" sleep 4 2>"$RT_TMP/podman-run-c3.log") ||
  rt_fail "podman run c3 failed: $(cat "$RT_TMP/podman-run-c3.log")"
allocs=$(rt_allocations)
jq -e --arg id "$c3" 'any(.[]; .containerId == $id)' <<<"$allocs" >/dev/null ||
  rt_fail "no allocation for c3 ($c3) while it runs: $allocs"
rt_expect_no_allocations 30
[[ $(pm inspect -f '{{.State.Status}}' c3) == exited ]] || rt_fail "c3 is not reported as exited"
rt_log "c3 exited by itself and its address was released"
