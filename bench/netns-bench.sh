# shellcheck shell=bash
# Sourced (not run) by the benchmark drivers that build their own network namespaces:
#
#   source "$(dirname "$0")/../netns-bench.sh"
#   netnsBenchInit cnkx      # prefix "cnkx-<pid>-", a temporary directory, the cleanup traps
#   newns a; ip -n "$(ns a)" ...; inns a CMD...
#   nsenter --net="/run/netns/$(ns a)" server ... & pids+=($!)
#
# netnsBenchInit sets $prefix, makes $tmp (/tmp/<prefix>XXXX) and an empty $pids, and installs
# the traps: on exit, failure, Ctrl-C or SIGTERM every pid in $pids gets SIGTERM and is reaped
# (processes are stopped by PID, never by name), every /run/netns/<prefix>* is deleted and
# $tmp removed; the exit status is kept. Every name carries the prefix, so nothing outside
# the run is touched; the namespace the script runs in is never changed (`ip -n`,
# `nsenter --net=`).

netnsBenchInit() {
  prefix="$1-$$-"
  tmp=$(mktemp -d "/tmp/${prefix}XXXX")
  pids=()
  trap netnsBenchCleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

netnsBenchCleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  local ns
  for ns in /run/netns/"${prefix}"*; do
    if [[ -e "$ns" ]]; then ip netns del "$(basename "$ns")" 2>/dev/null || true; fi
  done
  rm -rf "$tmp"
  exit "$rc"
}

ns() { echo "${prefix}$1"; }

newns() {
  ip netns add "$(ns "$1")"
  ip -n "$(ns "$1")" link set lo up
}

inns() {  # inns NS CMD...: run CMD in the namespace, keeping this process's mounts
  local n=$1
  shift
  nsenter --net="/run/netns/$(ns "$n")" "$@"
}
