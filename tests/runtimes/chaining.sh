#!/bin/bash
# runtimes.chaining: cnikit first in a conflist, the reference portmap and bandwidth
# plugins after it, run the way libcni runs a list (run-conflist.sh). Proves that cnikit's
# result carries what chained plugins need (addresses, the host veth, the container
# interface): a host port reaches a server in the pod from another namespace, bandwidth
# shapes the host veth, and DEL through the chain removes the port-forwarding rules, the
# shaping and the allocation.
#
#   chaining.sh CNIKIT CNIKITD CNIKITCTL BACKEND_DIR
set -euo pipefail
RT_NAME=chaining
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

cnikit=$1 cnikitd=$2 cnikitctl=$3 backendDir=$4
rt_require_root_and_tools ip nsenter jq curl iptables tc /usr/lib/cni/portmap /usr/lib/cni/bandwidth /bin/busybox
rt_install_trap
rt_make_tmp

hostPort=18080
podPort=8080
poolCidr=10.99.0.0/16
token="cnikit-chaining-$$-$RANDOM"

# host: where the agent and the plugins run (the "node"); peer: a client outside the
# node; pod: the container's namespace, as a runtime would make it.
hostNs="" peerNs="" podNs=""  # set by rt_netns
rt_netns hostNs host
rt_netns peerNs peer
rt_netns podNs pod
rt_in "$hostNs" sysctl -qw net.ipv4.ip_forward=1
rt_link "$hostNs" to-peer 192.168.231.1/24 "$peerNs" to-host 192.168.231.2/24

rt_start_agent "$hostNs" "$cnikitd" "$cnikitctl" "$backendDir" "$poolCidr"

rt_cni_bin "$RT_TMP/bin" "$cnikit"
conflist="$RT_TMP/cnikit.conflist"
jq -n --arg sock "$RT_AGENT_SOCKET" '{
  cniVersion: "1.0.0", name: "cnikit",
  plugins: [
    {type: "cnikit", agentSocket: $sock},
    {type: "portmap", capabilities: {portMappings: true}},
    {type: "bandwidth", capabilities: {bandwidth: true}}
  ]}' >"$conflist"
runtimeConfig=$(jq -nc --argjson hp "$hostPort" --argjson cp "$podPort" '{
  portMappings: [{hostPort: $hp, containerPort: $cp, protocol: "tcp"}],
  bandwidth: {ingressRate: 20000000, ingressBurst: 4000000, egressRate: 20000000, egressBurst: 4000000}}')
containerId="${RT_PREFIX}-chaining-c1"

chain() {
  CNI_PATH="$RT_TMP/bin" CNI_CACHE_DIR="$RT_TMP/cni-cache" \
    CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=chaining" \
    rt_in "$hostNs" "$here/run-conflist.sh" "$1" "$conflist" "$containerId" "/run/netns/$podNs" eth0 "$runtimeConfig"
}

# The root namespace must never see our rules: count its portmap rules for this container.
rootRulesFor() { { iptables -t nat -S 2>/dev/null || true; } | grep -c -- "$containerId" || true; }
rootBefore=$(rootRulesFor)

rt_log "ADD through cnikit -> portmap -> bandwidth"
result=$(chain ADD) || rt_fail "ADD through the chain failed"
rt_log "result: $(jq -c . <<<"$result")"

podAddr=$(jq -r '.ips[0].address // empty' <<<"$result")
[[ -n $podAddr ]] || rt_fail "the chain's result has no address: $result"
podIp=${podAddr%/*}
[[ $podIp == 10.99.* ]] || rt_fail "pod address $podAddr is not from pool $poolCidr"
grep -q "inet $podAddr" <<<"$(ip -n "$podNs" -4 -o addr show dev eth0)" ||
  rt_fail "eth0 in the pod does not hold $podAddr: $(ip -n "$podNs" -4 -o addr show)"
# The host end of the pod's veth, found in the kernel, must be in the result: bandwidth
# looks it up there.
peerIndex=$(ip -n "$podNs" -o link show dev eth0 | sed -n 's/^[0-9]*: eth0@if\([0-9]*\):.*/\1/p')
[[ -n $peerIndex ]] || rt_fail "eth0 in the pod is not a veth: $(ip -n "$podNs" -o link show)"
hostVeth=$(ip -n "$hostNs" -o link show | awk -F': ' -v i="$peerIndex" '$1 == i {sub(/@.*/, "", $2); print $2}')
[[ -n $hostVeth ]] || rt_fail "the peer of the pod's eth0 (ifindex $peerIndex) is not in the node namespace"
jq -e --arg n "$hostVeth" '.interfaces | any(.name == $n and (.sandbox // "") == "")' <<<"$result" >/dev/null ||
  rt_fail "host veth $hostVeth is not in the result's interfaces: $result"
jq -e '.interfaces | any(.name == "eth0" and (.sandbox // "") != "" and (.mac // "") != "")' <<<"$result" >/dev/null ||
  rt_fail "the result lacks the container interface eth0 with sandbox and mac: $result"
ifb=$(jq -r '[.interfaces[] | select(.name | startswith("bwp"))] | first | .name // empty' <<<"$result")
[[ -n $ifb ]] || rt_fail "bandwidth added no ifb device to the result (egress shaping missing): $result"

# The allocation carries the pod identity the runtime passed in CNI_ARGS.
[[ $(rt_allocations | jq --arg id "$containerId" --arg ip "$podIp" \
  '[.[] | select(.containerId == $id and (.address | split("/")[0]) == $ip and .ifname == "eth0"
                 and .podNamespace == "default" and .podName == "chaining")] | length') == 1 ]] ||
  rt_fail "cnikitctl ipam list does not show $podIp for $containerId (default/chaining): $(rt_allocations)"

# portmap wrote its rules in the node namespace, and only there.
natRules=$(rt_in "$hostNs" iptables -t nat -S)
grep -q -- "--dport $hostPort -j DNAT --to-destination $podIp:$podPort" <<<"$natRules" ||
  rt_fail "no DNAT rule for $hostPort -> $podIp:$podPort in the node namespace: $natRules"
[[ $(rootRulesFor) == "$rootBefore" ]] || rt_fail "portmap rules for $containerId appeared in the root namespace"

# bandwidth: ingress shaping on the host veth, egress through the ifb device.
grep -q '^qdisc tbf' <<<"$(rt_in "$hostNs" tc qdisc show dev "$hostVeth")" ||
  rt_fail "no tbf qdisc on host veth $hostVeth: $(rt_in "$hostNs" tc qdisc show)"
grep -q '^qdisc tbf' <<<"$(rt_in "$hostNs" tc qdisc show dev "$ifb")" ||
  rt_fail "no tbf qdisc on $ifb: $(rt_in "$hostNs" tc qdisc show)"

# A server in the pod, reached through the host port from the peer namespace (PREROUTING)
# and from the node itself (OUTPUT).
mkdir -p "$RT_TMP/www"
echo "$token" >"$RT_TMP/www/token"
rt_spawn "$podNs" "$RT_TMP/httpd.log" /bin/busybox httpd -f -p "$podPort" -h "$RT_TMP/www"
fetch() { rt_in "$1" curl -sf --max-time 3 "http://$2/token"; }
rt_wait 10 "httpd in the pod" fetch "$hostNs" "$podIp:$podPort"

got=$(fetch "$peerNs" "192.168.231.1:$hostPort") || rt_fail "peer could not reach 192.168.231.1:$hostPort"
[[ $got == "$token" ]] || rt_fail "peer got '$got' through the host port, wanted '$token'"
got=$(fetch "$hostNs" "192.168.231.1:$hostPort") || rt_fail "node could not reach its own host port"
[[ $got == "$token" ]] || rt_fail "node got '$got' through the host port, wanted '$token'"
rt_log "host port $hostPort reaches $podIp:$podPort from the peer and from the node"

rt_log "DEL through the chain"
chain DEL || rt_fail "DEL through the chain failed"

natRules=$(rt_in "$hostNs" iptables -t nat -S)
if grep -q -- "$podIp:$podPort\|$containerId\|--dport $hostPort" <<<"$natRules"; then
  rt_fail "portmap rules left after DEL: $natRules"
fi
rt_wait_reaped "$hostNs"
rt_in "$hostNs" ip link show dev "$hostVeth" >/dev/null 2>&1 && rt_fail "host veth $hostVeth left after DEL"
rt_in "$hostNs" ip link show dev "$ifb" >/dev/null 2>&1 && rt_fail "ifb device $ifb left after DEL"
ip -n "$podNs" link show dev eth0 >/dev/null 2>&1 && rt_fail "eth0 left in the pod after DEL"
rt_expect_no_allocations 5
if fetch "$peerNs" "192.168.231.1:$hostPort" >/dev/null 2>&1; then
  rt_fail "host port $hostPort still answers after DEL"
fi

# A second DEL (no cached result any more) must succeed too: runtimes retry DEL.
chain DEL || rt_fail "a repeated DEL through the chain failed"
rt_expect_no_allocations 1
