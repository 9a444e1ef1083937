#!/usr/bin/env bash
# Sets up and runs cni_add_del_bench: cnikit (executable + cnikitd agent, flannel-like
# backend) against the reference bridge + host-local plugins, in namespaces of its own.
#
#   bench/run-cni-bench.sh <build dir> [--reference-only] [driver options...]
#
# Driver options go to cni_add_del_bench (e.g. --pods 50 --parallel 4 --samples-out F).
# CNKB_PODS sets the pod count (default 200). Everything it makes carries the prefix
# "cnkb-<pid>-" and is removed on exit, also on failure or Ctrl-C. Needs root.
set -euo pipefail

die() { echo "run-cni-bench: $*" >&2; exit 1; }

[[ $# -ge 1 ]] || die "usage: $0 <build dir> [--reference-only] [driver options...]"
build=$(realpath "$1")
shift
referenceOnly=0
if [[ "${1:-}" == "--reference-only" ]]; then referenceOnly=1; shift; fi
pods=${CNKB_PODS:-200}

[[ $EUID -eq 0 ]] || die "needs root (network namespaces)"
driver="$build/bin/cni_add_del_bench"
[[ -x "$driver" ]] || die "$driver missing: cmake --build $build --target cni_add_del_bench"
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] || die "reference plugins missing in /usr/lib/cni (containernetworking-plugins)"
if [[ $referenceOnly -eq 0 ]]; then
  for b in cnikit cnikitd cnikitctl; do
    [[ -x "$build/bin/$b" ]] || die "$build/bin/$b missing: cmake --build $build --target cnikit cnikitd cnikitctl"
  done
  compgen -G "$build/lib/cnikit/backends/*flannel*" >/dev/null ||
    die "no flannel-like backend in $build/lib/cnikit/backends: build the flannel-like backend target"
fi

prefix="cnkb-$$-"
hostNs="${prefix}host"
tmp=$(mktemp -d "/tmp/${prefix}XXXX")
agentPid=""
driverPid=""

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$driverPid" ]] && kill -0 "$driverPid" 2>/dev/null; then
    kill -TERM "$driverPid" 2>/dev/null || true
    wait "$driverPid" 2>/dev/null || true
  fi
  if [[ -n "$agentPid" ]] && kill -0 "$agentPid" 2>/dev/null; then
    kill -TERM "$agentPid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$agentPid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$agentPid" 2>/dev/null; then kill -KILL "$agentPid" 2>/dev/null || true; fi
    wait "$agentPid" 2>/dev/null || true
  fi
  # Only the namespaces this run made: their names carry our pid.
  local batch="$tmp/netns-del.batch" ns
  : >"$batch"
  for ns in /run/netns/"${prefix}"*; do
    [[ -e "$ns" ]] && echo "netns del $(basename "$ns")" >>"$batch"
  done
  if [[ -s "$batch" ]]; then ip -force -batch "$batch" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "run-cni-bench: making ${pods} pod namespaces + 1 host namespace (${prefix}*)" >&2
{
  echo "netns add $hostNs"
  for ((i = 0; i < pods; i++)); do echo "netns add ${prefix}p$i"; done
} >"$tmp/netns-add.batch"
ip -batch "$tmp/netns-add.batch"
ip -n "$hostNs" link set lo up

cat >"$tmp/ref.json" <<EOF
{"cniVersion":"1.0.0","name":"ref-bench","type":"bridge","bridge":"refb0","isGateway":true,
 "ipam":{"type":"host-local","subnet":"10.97.0.0/23","dataDir":"$tmp/host-local"}}
EOF

driverArgs=(--host-netns "/run/netns/$hostNs" --pod-netns-prefix "/run/netns/${prefix}p" --pods "$pods"
  --ref-config "$tmp/ref.json" --ref-cni-path /usr/lib/cni)

if [[ $referenceOnly -eq 0 ]]; then
  socket="$tmp/cnikitd.sock"
  cat >"$tmp/cnikitd.yaml" <<EOF
node: bench-node
socket: $socket
stateDir: $tmp/state
backendDir: $build/lib/cnikit/backends
gcIntervalSeconds: 0
logLevel: warn
backends:
  - name: default
    type: flannel-like
    options: {bridge: cnkb0, masquerade: false}
pools:
  - name: default
    backend: default
    cidrs: [10.98.0.0/16]
    nodeSubnetPrefix: {ipv4: 23}
EOF
  cat >"$tmp/cnikit.json" <<EOF
{"cniVersion":"1.0.0","name":"cnikit-bench","type":"cnikit","agentSocket":"$socket"}
EOF
  mkdir -p "$tmp/state"
  # nsenter execs the agent in place: $! is the agent's own pid.
  nsenter --net="/run/netns/$hostNs" "$build/bin/cnikitd" --config "$tmp/cnikitd.yaml" 2>"$tmp/cnikitd.log" &
  agentPid=$!
  ready=0
  for _ in $(seq 100); do
    kill -0 "$agentPid" 2>/dev/null || break
    if "$build/bin/cnikitctl" --socket "$socket" status >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.1
  done
  if [[ $ready -eq 0 ]]; then
    echo "run-cni-bench: cnikitd (pid $agentPid) did not become ready; its log:" >&2
    cat "$tmp/cnikitd.log" >&2
    exit 1
  fi
  driverArgs+=(--agent-pid "$agentPid" --cnikit-config "$tmp/cnikit.json" --cnikit-cni-path "$build/bin")
fi

# In the background so a signal to this script interrupts `wait` and cleanup stops it.
rc=0
"$driver" "${driverArgs[@]}" "$@" &
driverPid=$!
wait "$driverPid" || rc=$?
driverPid=""
if [[ $rc -ne 0 && -n "$agentPid" && -s "$tmp/cnikitd.log" ]]; then
  echo "run-cni-bench: cnikitd log (last 40 lines):" >&2
  tail -n 40 "$tmp/cnikitd.log" >&2
fi
exit "$rc"
